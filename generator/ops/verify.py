"""The provider check around Secrets Manager: before `put` writes, and `verify` on what is live.

`vet_before_put` refuses a value the provider refuses (exit 3), one no provider
answer vouches for (exit 10), and an Alpaca key of another account than the
current one unless --new-account says it is meant. `verify` checks each region's
AWSCURRENT value and takes the UNCHECKED mark off a version it vouched for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from generator.catalogue import SecretSpec
from generator.environments import Environment
from generator.errors import ExitCode, ProviderUnchecked, ValueRefused
from generator.naming import secret_name
from generator.ops import provider
from generator.ops.aws import AwsClients, aws_errors, list_versions, version_with
from generator.ops.provider import Check, Verdict
from generator.ops.values import parse_document, schema_problems
from generator.ops.versions import CURRENT, UNCHECKED

LOG = logging.getLogger(__name__)
ALPACA = "alpaca"


def _current_value(
    aws: AwsClients, name: str, region: str, version: str | None = None
) -> Any | None:
    """The AWSCURRENT value (or that of `version`) as a document, or None where the secret holds none."""
    client = aws.secrets(region)
    which = {"VersionId": version} if version else {"VersionStage": CURRENT}
    with aws_errors("read the current value of", name, region):
        try:
            secret_string = client.get_secret_value(SecretId=name, **which).get(
                "SecretString"
            )
        except client.exceptions.ResourceNotFoundException:
            return None
    return None if secret_string is None else parse_document(secret_string, name)


def _same_account(
    env: Environment, spec: SecretSpec, checked: Check, current: Any, name: str
) -> None:
    """The new Alpaca key must be of the current key's account: a key of another account is refused."""
    if current is None or spec.is_placeholder(env, current):
        return
    if schema_problems(env, spec, current):
        return  # nothing to compare with: the current value is broken anyway
    before = provider.check(ALPACA, current)
    if not before.vouches:
        raise ValueRefused(
            name,
            [
                f"the current key cannot be checked ({before.verdict}: {before.reason}), so the new key's "
                "account cannot be compared with it; check in Alpaca's dashboard that the new key is of the "
                "intended account, then put it with --new-account"
            ],
        )
    if before.account != checked.account:
        raise ValueRefused(
            name,
            [
                "the new key belongs to another Alpaca account than the current one; put it with "
                "--new-account if that is meant"
            ],
        )


def vet_before_put(
    env: Environment,
    spec: SecretSpec,
    regions: tuple[str, ...],
    aws: AwsClients,
    *,
    skip: bool,
    new_account: bool,
) -> Callable[[Any], bool]:
    """The `vet` of put_value: True when the version is to be marked UNCHECKED."""
    name = secret_name(env, spec)

    def vet(value: Any) -> bool:
        if skip:
            LOG.warning(
                "%s: the provider check is skipped (--skip-provider-check, by %s); the version is marked %s "
                "until `trading-secrets verify --env %s --secret %s` checks it",
                name,
                aws.caller(regions[0]),
                UNCHECKED,
                env.name,
                spec.name_suffix,
            )
            return True
        checked = provider.check(spec.name_suffix, value)
        LOG.info("%s: provider check %s: %s", name, checked.verdict, checked.reason)
        if checked.verdict is Verdict.REJECTED:
            raise ValueRefused(name, [f"the provider refused it: {checked.reason}"])
        if not checked.vouches:
            raise ProviderUnchecked(
                f"{name}: refused, nothing written: the value could not be checked ({checked.verdict}: "
                f"{checked.reason}); from a machine that cannot reach the provider, put it with "
                f"--skip-provider-check and run `trading-secrets verify --env {env.name} --secret "
                f"{spec.name_suffix}` from one that can"
            )
        if spec.name_suffix == ALPACA and not new_account:
            _same_account(
                env, spec, checked, _current_value(aws, name, regions[0]), name
            )
        return False

    return vet


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
    value = _current_value(aws, name, region, version)
    if value is None or schema_problems(env, spec, value):
        say(
            f"{name} in {region}: version {version}: INVALID: not a value to send to a provider"
        )
        return ExitCode.FAILED
    if spec.is_placeholder(env, value):
        say(f"{name} in {region}: version {version}: PLACEHOLDER: not a credential")
        return ExitCode.OK if env.seed_placeholders else ExitCode.FAILED
    checked = provider.check(spec.name_suffix, value)
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
