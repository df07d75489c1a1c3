"""The go-live gate: what `status` reports about each secret in each region, without showing a value.

One row per secret and region, judged on its own (its state, version, tags,
key and policy), then the rows of every region put together, with the keys
and alert rules beside them.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from generator import tagging
from generator.catalogue import CATALOGUE, SecretSpec
from generator.environments import Environment
from generator.errors import AwsError, ValueRefused
from generator.naming import secret_name
from generator.ops.aws import AwsClients, aws_errors, list_versions
from generator.ops.change.values import parse_document, schema_problems
from generator.ops.change.versions import CURRENT, UNCHECKED, RegionVersions
from generator.ops.live.deployed import (
    Expected,
    KeyCheck,
    RuleCheck,
    expected_of,
    key_checks,
    last_read,
    policy_problems,
    rule_checks,
    secret_key_problem,
)
from generator.template import build_template, render


class State(enum.StrEnum):
    MISSING = (
        "MISSING"  # no such secret in this region: the stack is not deployed there
    )
    PENDING_DELETION = (
        "PENDING_DELETION"  # scheduled for deletion: restore it or lose it
    )
    EMPTY = "EMPTY"  # the secret exists without an AWSCURRENT value (prod as deployed)
    PLACEHOLDER = "PLACEHOLDER"  # a valid value that is still the deploy's placeholder
    SET = "SET"  # a valid, real value
    INVALID = "INVALID"  # a value that does not match the secret's schema
    DIVERGED = "DIVERGED"  # AWSCURRENT is another version in another region
    ERROR = "ERROR"  # a call failed: this row could not be checked


@dataclass(frozen=True)
class SecretStatus:
    secret: str
    region: str
    state: State
    arn: str | None = None
    kms_key_id: str | None = None
    # How the deployed tags differ from the template's (not AWS's tag rules).
    tag_drift: tuple[str, ...] = ()
    version_count: int = 0
    current_version: str | None = None
    # A staged version that is not current: a change left half done.
    pending_version: str | None = None
    current_age_days: float | None = None
    rotation_interval_days: int | None = None
    overdue: bool = False
    # The state of the value itself, kept when DIVERGED takes the row's state.
    value_state: State | None = None
    value_problems: tuple[str, ...] = ()
    # What the deploy put in place: the secret's key, and its resource policy.
    key_problem: str | None = None
    policy_problems: tuple[str, ...] = ()
    # The day anything last read it: whether a consumer still does.
    last_read: str | None = None
    # AWSCURRENT was put with --skip-provider-check and no provider has vouched for it since.
    provider_unchecked: bool = False
    gate_problems: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        data["value_state"] = (self.value_state or self.state).value
        return data


def tag_drift(env: Environment, spec: SecretSpec, tags: dict[str, str]) -> list[str]:
    """How `tags` differ from the template's; RotationIntervalDays may be tuned by hand."""
    drift = []
    for key, expected in tagging.secret_tags(env, spec).items():
        if key not in tags:
            drift.append(f"tag {key} is missing")
        elif tags[key] != expected and key != "RotationIntervalDays":
            drift.append(f"tag {key} is {tags[key]!r}, expected {expected!r}")
    return drift


def _interval_days(tags: dict[str, str]) -> int | None:
    try:
        days = int(tags["RotationIntervalDays"])
    except (KeyError, ValueError):
        return None
    return days if days >= 0 else None


def _judge(
    env: Environment, spec: SecretSpec, name: str, secret_string: str | None
) -> tuple[State, list[str]]:
    """The state of a stored value, and why it is invalid; the value is parsed, judged and dropped."""
    if secret_string is None:
        return State.INVALID, [
            "the value is binary (SecretBinary), not a JSON document"
        ]
    try:
        value = parse_document(secret_string, name)
    except ValueRefused as refused:  # its problems never quote the value
        return State.INVALID, refused.problems
    found = schema_problems(env, spec, value)
    if found:
        return State.INVALID, found
    return (State.PLACEHOLDER if spec.is_placeholder(env, value) else State.SET), []


def _gate_problems(
    env: Environment,
    state: State,
    found: list[str],
    overdue_note: str | None,
    interval: int | None,
) -> list[str]:
    problems = []
    if state is State.INVALID:
        problems.append("value does not match the schema: " + "; ".join(found))
    if overdue_note:
        problems.append(overdue_note)
    if interval is None:
        problems.append(
            "no valid RotationIntervalDays tag, so rotation cannot be tracked"
        )
    if not env.seed_placeholders and state in (State.EMPTY, State.PLACEHOLDER):
        problems.append(
            f"{state.value} in {env.name}: put the real value before go-live"
        )
    return problems


@dataclass(frozen=True)
class Placed:
    """What one region's secrets are held to: the stack's key as read back, and the template's policy statements."""

    secrets_key: KeyCheck
    want: Expected
    aws: AwsClients


def _placement(
    spec: SecretSpec,
    described: dict[str, Any],
    region: str,
    client: Any,
    placed: Placed | None,
) -> dict[str, Any]:
    if placed is None:
        return {}
    return {
        "key_problem": secret_key_problem(
            described, region, placed.secrets_key, placed.aws
        ),
        "policy_problems": tuple(
            policy_problems(spec, described["Name"], region, client, placed.want)
        ),
    }


def secret_status(
    env: Environment,
    spec: SecretSpec,
    region: str,
    client: Any,
    now: datetime | None = None,
    placed: Placed | None = None,
) -> SecretStatus:
    """Everything `status` reports about one secret in one region.

    With `placed`, it also checks the secret's key and resource policy
    against what the deploy put in place.
    """
    name = secret_name(env, spec)
    now = now or datetime.now(UTC)
    with aws_errors("describe", name, region):
        try:
            described = client.describe_secret(SecretId=name)
        except client.exceptions.ResourceNotFoundException:
            return SecretStatus(
                name,
                region,
                State.MISSING,
                gate_problems=(f"not deployed in {region}",),
            )
    tags = {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}
    common = {
        "arn": described["ARN"],
        "kms_key_id": described.get("KmsKeyId"),
        "tag_drift": tuple(tag_drift(env, spec, tags)),
        "last_read": last_read(described),
    }
    if deleted := described.get("DeletedDate"):
        restore = (
            f"aws secretsmanager restore-secret --secret-id {name} --region {region}"
        )
        problem = f"scheduled for deletion since {deleted:%Y-%m-%d}: restore it with `{restore}` if it is still needed"
        return SecretStatus(
            name, region, State.PENDING_DELETION, gate_problems=(problem,), **common
        )
    with aws_errors("list the versions of", name, region):
        versions = list_versions(client, name)
    labels = RegionVersions(
        region, {v["VersionId"]: tuple(v.get("VersionStages", [])) for v in versions}
    )
    current = next((v for v in versions if CURRENT in v.get("VersionStages", [])), None)
    state, found, age_days = State.EMPTY, list[str](), None
    if current is not None:
        with aws_errors("read", name, region):
            secret_string = client.get_secret_value(
                SecretId=name, VersionId=current["VersionId"]
            ).get("SecretString")
        state, found = _judge(env, spec, name, secret_string)
        age_days = (now - current["CreatedDate"]).total_seconds() / 86400
    interval = _interval_days(tags)
    overdue = (
        state in (State.SET, State.INVALID)
        and interval is not None
        and age_days is not None
        and age_days > interval
    )
    overdue_note = (
        f"AWSCURRENT is {age_days:.1f} days old, over its RotationIntervalDays of {interval}: rotate it"
        if overdue
        else None
    )
    unchecked = current is not None and UNCHECKED in current.get("VersionStages", [])
    unchecked_note = (
        [
            f"version {labels.current} was put with --skip-provider-check and no provider has checked it "
            f"since: run `trading-secrets verify --env {env.name} --secret {spec.name_suffix}`"
        ]
        if unchecked
        else []
    )
    placement = _placement(spec, described, region, client, placed)
    tampering = [placement["key_problem"]] if placement.get("key_problem") else []
    tampering += placement.get("policy_problems", ())
    return SecretStatus(
        secret=name,
        region=region,
        state=state,
        version_count=len(versions),
        current_version=labels.current,
        pending_version=labels.pending,
        current_age_days=round(age_days, 2) if age_days is not None else None,
        rotation_interval_days=interval,
        overdue=overdue,
        value_problems=tuple(found),
        provider_unchecked=unchecked,
        gate_problems=(
            *_gate_problems(env, state, found, overdue_note, interval),
            *unchecked_note,
            *tampering,
        ),
        **placement,
        **common,
    )


def mark_diverged(rows: list[SecretStatus]) -> list[SecretStatus]:
    """Rows of one secret: when AWSCURRENT differs between regions, every row of it is DIVERGED."""
    currents = {
        row.region: row.current_version
        for row in rows
        if row.state not in (State.ERROR, State.MISSING)
    }
    if len(set(currents.values())) <= 1:
        return rows
    split = ", ".join(
        f"{region}: {version or 'none'}" for region, version in currents.items()
    )
    problem = (
        f"AWSCURRENT differs between regions ({split}): make one version current everywhere with "
        "`trading-secrets put --resume <version>` or `trading-secrets rollback --to <version>`"
    )
    return [
        dataclasses.replace(
            row,
            state=State.DIVERGED,
            value_state=row.state,
            gate_problems=(*row.gate_problems, problem),
        )
        if row.region in currents
        else row
        for row in rows
    ]


@dataclass(frozen=True)
class EnvironmentStatus:
    """The go-live gate's inputs: every secret in every region, and the keys and alert rules beside them."""

    rows: list[SecretStatus]
    keys: list[KeyCheck]
    rules: list[RuleCheck]

    @property
    def placement_problems(self) -> list[str]:
        """What is wrong with the keys and the alert rules: each fails the gate."""
        return [p for key in self.keys for p in key.problems] + [
            p for rule in self.rules for p in rule.problems
        ]


@functools.cache
def _expected(env: Environment) -> Expected:
    """What the template this generator makes for `env` puts in place (made once per process)."""
    return expected_of(json.loads(render(build_template(env))))


def environment_status(
    env: Environment, regions: tuple[str, ...], aws: AwsClients
) -> EnvironmentStatus:
    """Every secret in every region; one failing call costs its own row, never the table.

    Held to the template this version of the generator makes for `env`.
    """
    want = _expected(env)
    keys: list[KeyCheck] = []
    rules: list[RuleCheck] = []
    placed = {}
    for region in regions:
        region_keys = key_checks(env, region, aws)
        keys += region_keys
        rules += rule_checks(env, region, aws, want)
        placed[region] = Placed(region_keys[0], want, aws)
    by_secret: dict[str, list[SecretStatus]] = defaultdict(list)
    for spec in CATALOGUE:
        for region in regions:
            try:
                row = secret_status(
                    env, spec, region, aws.secrets(region), placed=placed[region]
                )
            except AwsError as error:
                row = SecretStatus(
                    secret_name(env, spec),
                    region,
                    State.ERROR,
                    gate_problems=(str(error),),
                )
            by_secret[row.secret].append(row)
    rows = [row for rows in by_secret.values() for row in mark_diverged(rows)]
    return EnvironmentStatus(rows, keys, rules)
