"""Credential operations on deployed secrets: status, put (also manual rotation) and rollback.

The library behind the `trading-secrets` command. Values pass through memory
only: no function here returns, logs or raises a value, and every AWS error is
turned into one line that names the secret, the region and what failed.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from generator import tagging
from generator.catalogue import SecretSpec
from generator.environments import Environment
from generator.errors import GeneratorError
from generator.naming import secret_name
from generator.values import ValueRefused, is_placeholder, schema_problems, value_problems

log = logging.getLogger("trading-secrets")

CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"
_KMS_ERRORS = {
    "KMSAccessDeniedException", "KMSDisabledException", "KMSInvalidStateException", "KMSNotFoundException",
    "DecryptionFailure", "EncryptionFailure",
}
_ACCESS_ERRORS = {"AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidSignatureException"}


class AwsError(GeneratorError):
    """AWS refused or could not be reached: not deployed, access denied, KMS, network (exit 4). Nothing was written."""

    exit_code = 4


class NothingToRollBack(AwsError):
    """The secret has no AWSPREVIOUS version."""


class State(str, enum.Enum):
    MISSING = "MISSING"          # no such secret in this region: the stack is not deployed there
    EMPTY = "EMPTY"              # the secret exists without an AWSCURRENT value (prod as deployed)
    PLACEHOLDER = "PLACEHOLDER"  # a valid value that is still the deploy's placeholder
    SET = "SET"                  # a valid, real value
    INVALID = "INVALID"          # a value that does not match the secret's schema


@dataclass(frozen=True)
class SecretStatus:
    secret: str
    region: str
    state: State
    arn: str | None = None
    kms_key_id: str | None = None
    tag_problems: tuple[str, ...] = ()
    version_count: int = 0
    current_version: str | None = None
    current_age_days: float | None = None
    rotation_interval_days: int | None = None
    overdue: bool = False
    value_problems: tuple[str, ...] = ()
    gate_problems: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data


@dataclass(frozen=True)
class VersionChange:
    """The outcome of a put or a rollback in one region: version ids only."""

    secret: str
    region: str
    current_version: str
    previous_version: str | None


def secrets_client(region: str):
    # Standard retry mode backs off on throttling and transient errors; the
    # number of attempts follows AWS_MAX_ATTEMPTS (default 3).
    return boto3.client("secretsmanager", region_name=region, config=Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=30))


def caller_identity(region: str) -> str:
    """Who is acting, for the log; 'unknown caller' when STS will not say."""
    try:
        return boto3.client("sts", region_name=region).get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError):
        return "unknown caller"


@contextlib.contextmanager
def aws_errors(action: str, secret: str, region: str) -> Iterator[None]:
    """Turn botocore's exceptions into one line that says what failed, without a traceback."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException":
            raise AwsError(f"{secret} is not deployed in {region}: deploy the {secret.split('/')[1]} stack first") from None
        if code in _KMS_ERRORS:
            raise AwsError(f"KMS refused to {action} {secret} in {region} ({code}): check the key's state and policy") from None
        if code in _ACCESS_ERRORS:
            raise AwsError(f"access denied: cannot {action} {secret} in {region} ({code}): {message}") from None
        raise AwsError(f"cannot {action} {secret} in {region}: {code}: {message}") from None
    except NoCredentialsError:
        raise AwsError("no AWS credentials found: configure a profile or role, then retry") from None
    except EndpointConnectionError as error:
        raise AwsError(f"cannot reach Secrets Manager in {region} at {error.kwargs.get('endpoint_url', '')}: check the network or endpoint") from None
    except BotoCoreError as error:
        raise AwsError(f"cannot {action} {secret} in {region}: {error.__class__.__name__}") from None


def _versions(client, secret: str) -> list[dict[str, Any]]:
    # Paged by hand: the botocore that taskcat pins has no paginator for this call.
    versions, token = [], None
    while True:
        page = client.list_secret_version_ids(SecretId=secret, IncludeDeprecated=True, **({"NextToken": token} if token else {}))
        versions += page["Versions"]
        token = page.get("NextToken")
        if not token:
            return versions


def _version_with(versions: list[dict[str, Any]], stage: str) -> dict[str, Any] | None:
    return next((version for version in versions if stage in version.get("VersionStages", [])), None)


def _tag_problems(env: Environment, spec: SecretSpec, tags: dict[str, str]) -> list[str]:
    problems = []
    for key, expected in tagging.secret_tags(env, spec).items():
        if key not in tags:
            problems.append(f"tag {key} is missing")
        elif tags[key] != expected and key != "RotationIntervalDays":
            problems.append(f"tag {key} is {tags[key]!r}, expected {expected!r}")
    return problems


def _interval_days(tags: dict[str, str]) -> int | None:
    try:
        days = int(tags["RotationIntervalDays"])
    except (KeyError, ValueError):
        return None
    return days if days >= 0 else None


def secret_status(env: Environment, spec: SecretSpec, region: str, client, now: datetime | None = None) -> SecretStatus:
    """Everything `status` reports about one secret in one region; the value is read, judged and dropped."""
    name = secret_name(env, spec)
    now = now or datetime.now(timezone.utc)
    with aws_errors("describe", name, region):
        try:
            described = client.describe_secret(SecretId=name)
        except client.exceptions.ResourceNotFoundException:
            return SecretStatus(name, region, State.MISSING, gate_problems=(f"not deployed in {region}",))
        versions = _versions(client, name)
    tags = {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}
    current = _version_with(versions, CURRENT)
    problems: list[str] = []
    state, found = State.EMPTY, []
    if current is not None:
        with aws_errors("read", name, region):
            secret_string = client.get_secret_value(SecretId=name, VersionId=current["VersionId"]).get("SecretString")
        try:
            value = json.loads(secret_string) if secret_string is not None else None
        except json.JSONDecodeError:
            value, found = None, ["the value is not a JSON document"]
        found = found or schema_problems(env, spec, value)
        state = State.INVALID if found else State.PLACEHOLDER if is_placeholder(value) else State.SET
    age_days = (now - current["CreatedDate"]).total_seconds() / 86400 if current else None
    interval = _interval_days(tags)
    overdue = state in (State.SET, State.INVALID) and interval is not None and age_days is not None and age_days > interval
    if state is State.INVALID:
        problems.append("value does not match the schema: " + "; ".join(found))
    if overdue:
        problems.append(f"AWSCURRENT is {age_days:.1f} days old, over its RotationIntervalDays of {interval}: rotate it")
    if interval is None:
        problems.append("no valid RotationIntervalDays tag, so rotation cannot be tracked")
    if not env.seed_placeholders and state in (State.EMPTY, State.PLACEHOLDER):
        problems.append(f"{state.value} in {env.name}: put the real value before go-live")
    return SecretStatus(
        secret=name,
        region=region,
        state=state,
        arn=described["ARN"],
        kms_key_id=described.get("KmsKeyId"),
        tag_problems=tuple(_tag_problems(env, spec, tags)),
        version_count=len(versions),
        current_version=current["VersionId"] if current else None,
        current_age_days=round(age_days, 2) if age_days is not None else None,
        rotation_interval_days=interval,
        overdue=overdue,
        value_problems=tuple(found),
        gate_problems=tuple(problems),
    )


def put_value(env: Environment, spec: SecretSpec, value: Any, regions: tuple[str, ...], client_for: Callable[[str], Any] = secrets_client) -> list[VersionChange]:
    """Validate `value`, then write it as the new AWSCURRENT version in each region, in order.

    Nothing is written unless the value passes and the secret exists in every
    region. One ClientRequestToken per put makes a retried call idempotent and
    gives the new version the same id in every region. It is random on
    purpose: the version id is visible to anyone who can describe the secret, so
    it must not be derived from the value.
    """
    name = secret_name(env, spec)
    problems = value_problems(env, spec, value)
    if problems:
        raise ValueRefused(name, problems)
    previous = {}
    for region in regions:
        with aws_errors("describe", name, region):
            previous[region] = _version_with(_versions(client_for(region), name), CURRENT)
    token = str(uuid.uuid4())
    secret_string = json.dumps(value, sort_keys=True, separators=(",", ":"))
    changes = []
    for region in regions:
        try:
            with aws_errors("write", name, region):
                written = client_for(region).put_secret_value(SecretId=name, SecretString=secret_string, ClientRequestToken=token)
        except AwsError as error:
            done = ", ".join(change.region for change in changes)
            raise AwsError(f"{error} (already written in: {done}; rerun with --region {region})" if done else str(error)) from None
        before = previous[region]["VersionId"] if previous[region] else None
        changes.append(VersionChange(name, region, written["VersionId"], before))
        log.info("put %s in %s by %s: version %s is AWSCURRENT, previous %s", name, region, caller_identity(region), written["VersionId"], before or "none")
    return changes


def rollback_plan(env: Environment, spec: SecretSpec, regions: tuple[str, ...], client_for: Callable[[str], Any] = secrets_client) -> list[VersionChange]:
    """What a rollback would do in each region (current_version becomes the restored one); changes nothing."""
    name = secret_name(env, spec)
    plan = []
    for region in regions:
        with aws_errors("describe", name, region):
            versions = _versions(client_for(region), name)
        current, previous = _version_with(versions, CURRENT), _version_with(versions, PREVIOUS)
        if current is None or previous is None:
            raise NothingToRollBack(f"{name} in {region} has no {PREVIOUS} version to roll back to; nothing changed")
        plan.append(VersionChange(name, region, previous["VersionId"], current["VersionId"]))
    return plan


def roll_back(plan: list[VersionChange], client_for: Callable[[str], Any] = secrets_client) -> list[VersionChange]:
    """Move AWSCURRENT back to the AWSPREVIOUS version; Secrets Manager labels the replaced version AWSPREVIOUS."""
    for change in plan:
        with aws_errors("roll back", change.secret, change.region):
            client_for(change.region).update_secret_version_stage(
                SecretId=change.secret,
                VersionStage=CURRENT,
                MoveToVersionId=change.current_version,
                RemoveFromVersionId=change.previous_version,
            )
        log.info(
            "rollback %s in %s by %s: version %s is AWSCURRENT again, %s replaced",
            change.secret, change.region, caller_identity(change.region), change.current_version, change.previous_version,
        )
    return plan
