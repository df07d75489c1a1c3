"""verify: each region's AWSCURRENT value checked at its provider, and the UNCHECKED mark taken off one it vouched for."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Callable

from generator.catalogue import SecretSpec
from generator.environments import Environment
from generator.errors import ExitCode
from generator.naming import secret_name
from generator.ops.aws import (
    AwsClients,
    across,
    aws_errors,
    list_versions,
    version_with,
)
from generator.ops.change import provider
from generator.ops.change.provider import Verdict, current_value
from generator.ops.change.values import refused_problems, schema_problems
from generator.ops.change.versions import CURRENT, UNCHECKED

# What verify exits with when regions disagree: the first of these any region got.
# (An AWS error stops it with exit 4 and one line.)
SEVERITY = (ExitCode.VALUE_REFUSED, ExitCode.FAILED, ExitCode.PROVIDER_UNCHECKED)


class OnceEach:
    """The provider's verdict on each distinct value, asked once per command: every place usually holds the same."""

    def __init__(self) -> None:
        self._verdicts: dict[str, provider.Check] = {}
        self._lock = threading.Lock()

    def check(self, spec: SecretSpec, value: dict[str, str]) -> provider.Check:
        # Keyed by a digest, never kept as text: nothing of the value outlives the check.
        key = hashlib.sha256(
            f"{spec.name_suffix}:{json.dumps(value, sort_keys=True)}".encode()
        ).hexdigest()
        with self._lock:
            if key not in self._verdicts:
                self._verdicts[key] = provider.check(spec, value)
            return self._verdicts[key]


def _verify_region(
    env: Environment,
    spec: SecretSpec,
    region: str,
    aws: AwsClients,
    say: Callable[[str], None],
    verdicts: OnceEach | None = None,
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
    checked = (verdicts or OnceEach()).check(spec, value)
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


def _verify_each(
    env: Environment,
    spec: SecretSpec,
    aws: AwsClients,
    said: dict[str, list[str]],
    verdicts: OnceEach,
    region: str,
) -> ExitCode:
    """One place, its lines kept apart, so that they print in the places' order."""
    return _verify_region(env, spec, region, aws, said[region].append, verdicts)


def verify(
    env: Environment,
    specs: list[SecretSpec],
    regions: tuple[str, ...],
    aws: AwsClients,
    say: Callable[[str], None],
) -> ExitCode:
    """Check each place's AWSCURRENT value at its provider; one line each, never a value nor a provider's answer.

    The places are read at once; a value several of them hold is checked once.
    """
    verdicts = OnceEach()
    outcomes = []
    for spec in specs:
        said: dict[str, list[str]] = {region: [] for region in regions}
        codes = across(
            regions,
            functools.partial(_verify_each, env, spec, aws, said, verdicts),
        )
        for region in regions:
            for line in said[region]:
                say(line)
            outcomes.append(codes[region])
    return next((code for code in SEVERITY if code in outcomes), ExitCode.OK)
