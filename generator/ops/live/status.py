"""The go-live gate: what `status` reports about each secret in each region, without showing a value.

One row per secret and region, judged on its own (its state, version, tags,
key and policy), then the rows of every region put together, with the keys
and alert rules beside them.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from generator import tagging
from generator.catalogue import CATALOGUE, SecretSpec
from generator.environments import Environment
from generator.errors import AwsError, ValueRefused
from generator.naming import secret_name
from generator.ops.aws import AwsClients, aws_errors, list_versions, region_of
from generator.ops.change.values import (
    parse_document,
    refused_problems,
    schema_problems,
)
from generator.ops.change.versions import CURRENT, UNCHECKED, RegionVersions
from generator.ops.live.alerts import DeadLetters, dead_letters
from generator.ops.live.deployed import (
    Finding,
    KeyCheck,
    Placement,
    RuleCheck,
    last_read,
    placement,
)


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
    UNKNOWN = "UNKNOWN"  # its region did not answer by the deadline


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
    # The day anything last read it, operators' own reads included: a lower bound, never who.
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
    found = schema_problems(env, spec, value) + refused_problems(spec, value)
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


def secret_status(
    env: Environment,
    spec: SecretSpec,
    region: str,
    client: Any,
    now: datetime | None = None,
    held: tuple[Finding, ...] = (),
) -> SecretStatus:
    """Everything `status` reports about one secret in one region.

    `held` is what comparing the secret with the deployed template found
    (its key, its resource policy): each fails the gate.

    The secret is described before its value is read, so its "last read"
    is the day of the last read before this one (this tool's included).
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
        restore = f"aws secretsmanager restore-secret --secret-id {name} --region {region_of(region)}"
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
    key_finding = next((f for f in held if f.what == "KMS key"), None)
    tampering = [line for f in held for line in f.report(where=False)]
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
        key_problem="; ".join(key_finding.lines) if key_finding else None,
        policy_problems=tuple(
            line for f in held if f.what != "KMS key" for line in f.lines
        ),
        **common,
    )


def mark_diverged(rows: list[SecretStatus]) -> list[SecretStatus]:
    """Rows of one secret: when AWSCURRENT differs between regions, every row of it is DIVERGED."""
    currents = {
        row.region: row.current_version
        for row in rows
        if row.state not in (State.ERROR, State.MISSING, State.UNKNOWN)
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
class RegionStatus:
    """One region, checked whole: its secrets' rows, what the deploy put in place, and its dead-letter queue."""

    region: str
    rows: tuple[SecretStatus, ...]
    placement: Placement
    dead_letters: DeadLetters


@dataclass(frozen=True)
class EnvironmentStatus:
    """The go-live gate's inputs: every secret in every region, what is live beside them, and the regions that did not answer."""

    rows: list[SecretStatus]
    regions: list[RegionStatus]
    # Regions that did not answer by the deadline: the gate cannot be decided there.
    unknown: tuple[str, ...] = ()
    deadline_seconds: float | None = None

    @property
    def keys(self) -> list[KeyCheck]:
        return [key for region in self.regions for key in region.placement.keys]

    @property
    def rules(self) -> list[RuleCheck]:
        return [rule for region in self.regions for rule in region.placement.rules]

    @property
    def queues(self) -> list[DeadLetters]:
        return [region.dead_letters for region in self.regions]

    @property
    def placement_problems(self) -> list[str]:
        """What is wrong beside the secrets' own rows: each fails the gate."""
        return [p for region in self.regions for p in region.placement.gate_problems()]


def _region_status(
    env: Environment, region: str, aws: AwsClients, now: datetime | None = None
) -> RegionStatus:
    """Everything `status` checks in one region; one failing call costs its own row or part, never the region."""
    placed = placement(env, region, aws)
    rows = []
    for spec in CATALOGUE:
        try:
            rows.append(
                secret_status(
                    env,
                    spec,
                    region,
                    aws.secrets(region),
                    now,
                    held=placed.secrets.get(spec.logical_id, ()),
                )
            )
        except AwsError as error:
            rows.append(
                SecretStatus(
                    secret_name(env, spec),
                    region,
                    State.ERROR,
                    gate_problems=(str(error),),
                )
            )
    return RegionStatus(region, tuple(rows), placed, dead_letters(env, region, aws))


def environment_status(
    env: Environment,
    regions: tuple[str, ...],
    aws: AwsClients,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> EnvironmentStatus:
    """Every region at once, each in a thread of its own; a region not done by `deadline` (a monotonic time) is UNKNOWN.

    The threads are daemons: one hung in a call never keeps the process
    alive once the verdict is given.
    """
    done: dict[str, RegionStatus] = {}
    failed: dict[str, BaseException] = {}

    def check(region: str) -> None:
        try:
            done[region] = _region_status(env, region, aws)
        except BaseException as error:  # handed to the main thread, which raises it
            failed[region] = error

    threads = {
        region: threading.Thread(
            target=check, args=(region,), daemon=True, name=f"status {region}"
        )
        for region in regions
    }
    for thread in threads.values():
        thread.start()
    for thread in threads.values():
        thread.join(None if deadline is None else max(0.0, deadline - clock()))
    for error in failed.values():
        raise error
    unknown = tuple(region for region in regions if region not in done)
    seconds = None if deadline is None else max(0.0, deadline - clock())
    by_secret: dict[str, list[SecretStatus]] = defaultdict(list)
    for region in regions:
        if region in done:
            rows: tuple[SecretStatus, ...] = done[region].rows
        else:
            rows = tuple(
                SecretStatus(
                    secret_name(env, spec),
                    region,
                    State.UNKNOWN,
                    gate_problems=(
                        f"{region} did not answer by the deadline: nothing there could be checked",
                    ),
                )
                for spec in CATALOGUE
            )
        for row in rows:
            by_secret[row.secret].append(row)
    return EnvironmentStatus(
        [row for rows in by_secret.values() for row in mark_diverged(rows)],
        [done[region] for region in regions if region in done],
        unknown,
        seconds,
    )
