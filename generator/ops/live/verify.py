"""verify: each region's AWSCURRENT value checked at its provider, and the UNCHECKED mark taken off one it vouched for."""

from __future__ import annotations

from collections.abc import Callable

from generator.catalogue import SecretSpec
from generator.environments import Environment
from generator.errors import ExitCode
from generator.naming import secret_name
from generator.ops.aws import AwsClients, aws_errors, list_versions, version_with
from generator.ops.change import provider
from generator.ops.change.provider import Verdict, current_value
from generator.ops.change.values import refused_problems, schema_problems
from generator.ops.change.versions import CURRENT, UNCHECKED

# What verify exits with when regions disagree: the first of these any region got.
# (An AWS error stops it with exit 4 and one line.)
SEVERITY = (ExitCode.VALUE_REFUSED, ExitCode.FAILED, ExitCode.PROVIDER_UNCHECKED)


def _verify_region(
    env: Environment,
    spec: SecretSpec,
    region: str,
    aws: AwsClients,
    say: Callable[[str], None],
) -> ExitCode:
    name = secret_name(env, spec)
    client = aws.secrets(region)
    with aws_errors("list the versions of", name, region):
        current = version_with(list_versions(client, name), CURRENT)
    if current is None:
        say(f"{name} in {region}: EMPTY: no value to check")
        return ExitCode.FAILED
    version = current["VersionId"]
    # The version listed as current, by its id: the value checked is the one the line names.
    value = current_value(aws, name, region, version)
    if (
        value is None
        or schema_problems(env, spec, value)
        or refused_problems(spec, value)
    ):
        say(
            f"{name} in {region}: version {version}: INVALID: not a value to send to a provider"
        )
        return ExitCode.FAILED
    if spec.is_placeholder(env, value):
        say(f"{name} in {region}: version {version}: PLACEHOLDER: not a credential")
        return ExitCode.OK if env.seed_placeholders else ExitCode.FAILED
    checked = provider.check(spec, value)
    say(f"{name} in {region}: version {version}: {checked.verdict}: {checked.reason}")
    if checked.verdict is Verdict.REJECTED:
        return ExitCode.VALUE_REFUSED
    if not checked.vouches:
        return ExitCode.PROVIDER_UNCHECKED
    if UNCHECKED in current.get("VersionStages", []):
        with aws_errors("take the UNCHECKED mark off", name, region):
            client.update_secret_version_stage(
                SecretId=name, VersionStage=UNCHECKED, RemoveFromVersionId=version
            )
        say(f"{name} in {region}: version {version}: the {UNCHECKED} mark is taken off")
    return ExitCode.OK


def verify(
    env: Environment,
    specs: list[SecretSpec],
    regions: tuple[str, ...],
    aws: AwsClients,
    say: Callable[[str], None],
) -> ExitCode:
    """Check each region's AWSCURRENT value at its provider; one line each, never a value nor a provider's answer."""
    outcomes = [
        _verify_region(env, spec, region, aws, say)
        for spec in specs
        for region in regions
    ]
    return next((code for code in SEVERITY if code in outcomes), ExitCode.OK)
