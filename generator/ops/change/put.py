"""put (also the manual rotation) as a two-phase change across regions, the way rotation works.

Stage: in every region, write the new value with one client request token and
only the AWSPENDING label; no consumer sees it. Promote: in every region, move
AWSCURRENT to it from the version that was current when the command started,
a compare-and-swap that fails, rather than overwrites, if another writer got
there first. Any failure is judged from what the regions hold afterwards
(`settle`), and a change left half done is finished by `put --resume`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from generator.catalogue import SecretSpec
from generator.environments import Environment
from generator.errors import AwsError, ConfigurationError, Conflict, ValueRefused
from generator.naming import secret_name
from generator.ops.aws import AwsClients, across, aws_errors
from generator.ops.change.provider import CheckedValue
from generator.ops.change.settle import Change, bookkeeping, settle, verified
from generator.ops.change.values import parse_document, value_problems
from generator.ops.change.versions import (
    PENDING,
    UNCHECKED,
    RegionVersions,
    describe,
    disagreement,
    drop_pending,
    move_current,
    read_all,
)

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class PutResult:
    """A put in one region: the version it made AWSCURRENT and the one it replaced (version ids only)."""

    secret: str
    region: str
    new_version: str
    replaced_version: str | None


def resume_command(env: Environment, spec: SecretSpec, version: str) -> str:
    return f"trading-secrets put --env {env.name} --secret {spec.name_suffix} --resume {version}"


def _stage(
    aws: AwsClients,
    secret: str,
    region: str,
    version: str,
    secret_string: str,
    state: RegionVersions,
    marks: tuple[str, ...] = (),
) -> None:
    """Write the value as `version`, staged only; where the secret has no value yet, Secrets Manager makes it current at once.

    `marks` are labels of our own (UNCHECKED) that go with the version.
    """
    if state.has(version):
        return
    arguments: dict[str, Any] = {
        "SecretId": secret,
        "SecretString": secret_string,
        "ClientRequestToken": version,
    }
    if state.current is not None:
        arguments["VersionStages"] = [PENDING, *marks]
    elif marks:
        # The first version gets AWSCURRENT whatever the stages (PutSecretValue).
        arguments["VersionStages"] = list(marks)
    with aws_errors("write", secret, region):
        aws.secrets(region).put_secret_value(**arguments)
    LOG.info("staged %s in %s as version %s", secret, region, version)


def _promote_everywhere(
    change: Change,
    aws: AwsClients,
    secret_string: str | None,
    marks: tuple[str, ...] = (),
) -> dict[str, RegionVersions]:
    """Stage where missing, then promote where not yet current; any failure is settled from the read-back state."""
    target = change.target

    def stage(region: str) -> None:
        if secret_string is not None:
            with verified(aws, change, region, lambda state: state.has(target)):
                _stage(
                    aws,
                    change.secret,
                    region,
                    target,
                    secret_string,
                    change.before[region],
                    marks,
                )

    def promote(region: str) -> None:
        origin = change.before[region].current
        if origin in (None, target):
            return
        with verified(aws, change, region, lambda state: state.current == target):
            move_current(aws, change.secret, region, target, origin)
        LOG.info(
            "%s in %s: version %s is AWSCURRENT, replacing %s",
            change.secret,
            region,
            target,
            origin,
        )

    try:
        # Staged everywhere before it is promoted anywhere: a place that cannot stage stops the promotion.
        across(change.regions, stage)
        across(change.regions, promote)
    except (AwsError, KeyboardInterrupt) as failure:
        return settle(change, aws, failure)
    return read_all(aws, change.secret, change.regions)


def _tidy(change: Change, aws: AwsClients, after: dict[str, RegionVersions]) -> None:
    """Take AWSPENDING off the version now current; a failure here only leaves a label, never a wrong value."""

    def tidy(region: str) -> None:
        if after[region].with_label(PENDING) == change.target:
            with contextlib.suppress(AwsError):
                drop_pending(aws, change.secret, region, change.target)

    across(after, tidy)


def _results(change: Change) -> list[PutResult]:
    return [
        PutResult(change.secret, region, change.target, change.before[region].current)
        for region in change.regions
    ]


def put_value(
    env: Environment,
    spec: SecretSpec,
    checked: CheckedValue,
    regions: tuple[str, ...],
    aws: AwsClients,
) -> list[PutResult]:
    """Make a value that passed `check_before_put` the AWSCURRENT version in every region, with one version id everywhere.

    The version id is random on purpose: anyone who can describe the secret
    sees it, so it must not be derived from the value.
    """
    name = secret_name(env, spec)
    value = checked.value
    # Checked again, for free: a CheckedValue made by hand cannot smuggle in a wrong shape.
    problems = value_problems(env, spec, value)
    if problems:
        raise ValueRefused(name, problems)
    marks = (UNCHECKED,) if checked.unchecked else ()
    before = read_all(aws, name, regions)
    if split := disagreement(before):
        raise Conflict(
            f"{name}: AWSCURRENT differs between regions ({split}): another change is in progress or was left "
            "half done, so nothing was written; finish it (the status line says how), then put again",
            describe(before),
        )
    version = str(uuid.uuid4())
    # Who is acting, looked up once and before anything is written.
    LOG.info("put %s as version %s by %s", name, version, aws.caller(regions[0]))
    change = Change(name, regions, version, resume_command(env, spec, version), before)
    after = _promote_everywhere(
        change, aws, json.dumps(value, sort_keys=True, separators=(",", ":")), marks
    )
    with bookkeeping(change):
        _tidy(change, aws, after)
    return _results(change)


def resume_put(
    env: Environment,
    spec: SecretSpec,
    version: str,
    regions: tuple[str, ...],
    aws: AwsClients,
) -> list[PutResult]:
    """Finish a put left half done: copy `version` to the regions that lack it, then make it current everywhere.

    Safe to run any number of times: where `version` is already current, nothing is done.
    """
    name = secret_name(env, spec)
    before = read_all(aws, name, regions)
    holders = [region for region in regions if before[region].has(version)]
    if not holders:
        raise ConfigurationError(
            f"{name} has no version {version} in {', '.join(regions)}; nothing to resume"
        )
    secret_string = None
    if len(holders) < len(regions):
        with aws_errors("read the staged version of", name, holders[0]):
            secret_string = aws.secrets(holders[0]).get_secret_value(
                SecretId=name, VersionId=version
            )["SecretString"]
        problems = value_problems(env, spec, parse_document(secret_string, name))
        if problems:
            raise ValueRefused(name, problems)
    LOG.info("resume put of %s version %s by %s", name, version, aws.caller(regions[0]))
    change = Change(name, regions, version, resume_command(env, spec, version), before)
    # A version put unchecked stays marked in the regions it is copied to.
    marks = (
        (UNCHECKED,)
        if any(before[region].with_label(UNCHECKED) == version for region in holders)
        else ()
    )
    after = _promote_everywhere(change, aws, secret_string, marks)
    with bookkeeping(change):
        _tidy(change, aws, after)
    return _results(change)
