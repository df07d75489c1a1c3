"""What the deploy put in place, read back: the keys, each secret's key and resource policy, the alert rules.

Tampering can leave every value intact and still undo the design: a secret
moved to another key, the key disabled or pending deletion or its rotation
off, a guard statement cut from a resource policy, an alert rule disabled.
Each is compared with what the template of this environment says, so that
`status` fails the gate until it is undone. Nothing here reads a value.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from generator import naming
from generator.catalogue import SecretSpec
from generator.environments import Environment
from generator.errors import AwsError
from generator.ops.aws import AwsClients, aws_errors

KEYS = (("secrets", naming.key_alias), ("alerting", naming.alerts_key_alias))


@dataclass(frozen=True)
class KeyCheck:
    """One of the stack's keys in one region: its state and rotation, and what is wrong with them."""

    alias: str
    region: str
    key_id: str | None
    state: str | None
    rotation: bool | None
    problems: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"problems": list(self.problems)}


@dataclass(frozen=True)
class RuleCheck:
    """One alert rule in one region: the state the template sets, and the one it has."""

    name: str
    region: str
    expected: str
    state: str | None
    problems: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"problems": list(self.problems)}


@dataclass(frozen=True)
class Expected:
    """What the template puts in place: each secret's resource-policy statements, and each rule's state."""

    statements: dict[
        str, dict[str, tuple[str, tuple[str, ...]]]
    ]  # secret logical id -> Sid -> (effect, actions)
    rule_states: dict[str, str]  # rule name -> state


# CloudFormation updates only the resources whose template or parameters change,
# so running the same deploy again leaves a tampered resource as it is.
NOT_BY_REDEPLOY = "a redeploy does not restore it"
UNDOING_TAMPERING = "docs/operations.md, 'Undoing tampering'"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def expected_of(template: dict[str, Any]) -> Expected:
    """Read from the environment's template: the statements it always gives (the allow-list depends on parameters)."""
    statements: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}
    rules: dict[str, str] = {}
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::SecretsManager::ResourcePolicy":
            secret = properties["SecretId"]["Ref"]
            statements[secret] = {
                statement["Sid"]: (
                    statement["Effect"],
                    tuple(sorted(_as_list(statement["Action"]))),
                )
                for statement in properties["ResourcePolicy"]["Statement"]
                if "Sid" in statement
            }
        elif resource["Type"] == "AWS::Events::Rule":
            rules[properties["Name"]] = properties["State"]
    return Expected(statements, rules)


def key_check(env: Environment, region: str, alias: str, aws: AwsClients) -> KeyCheck:
    """The key behind `alias`: Enabled, with rotation on, or why not and how to undo it."""
    kms = aws.client("kms", region)
    try:
        with aws_errors("describe the key", alias, region):
            try:
                metadata = kms.describe_key(KeyId=alias)["KeyMetadata"]
            except kms.exceptions.NotFoundException:
                return KeyCheck(
                    alias,
                    region,
                    None,
                    None,
                    None,
                    (f"{alias} not found in {region}: deploy the stack",),
                )
            rotation = bool(
                kms.get_key_rotation_status(KeyId=metadata["KeyId"])[
                    "KeyRotationEnabled"
                ]
            )
    except AwsError as error:
        return KeyCheck(alias, region, None, None, None, (str(error),))
    key_id, state = str(metadata["KeyId"]), str(metadata["KeyState"])
    problems = []
    if state == "PendingDeletion":
        problems.append(
            f"{alias} in {region} is scheduled for deletion: `aws kms cancel-key-deletion --key-id {key_id} "
            f"--region {region}`, then `aws kms enable-key`"
        )
    elif state != "Enabled":
        problems.append(
            f"{alias} in {region} is {state}: `aws kms enable-key --key-id {key_id} --region {region}`"
        )
    if not rotation:
        problems.append(
            f"{alias} in {region} has rotation off: `aws kms enable-key-rotation --key-id {key_id} --region {region}`"
        )
    return KeyCheck(alias, region, key_id, state, rotation, tuple(problems))


def key_checks(env: Environment, region: str, aws: AwsClients) -> tuple[KeyCheck, ...]:
    """Both of the stack's keys in `region`: the secrets' first."""
    return tuple(key_check(env, region, alias(env), aws) for _, alias in KEYS)


def rule_checks(
    env: Environment, region: str, aws: AwsClients, want: Expected
) -> tuple[RuleCheck, ...]:
    """Every alert rule in `region`, in the state its template sets, or why not."""
    events = aws.client("events", region)
    checks = []
    for name, state in sorted(want.rule_states.items()):
        try:
            with aws_errors("describe the alert rule", name, region):
                try:
                    found: str | None = str(events.describe_rule(Name=name)["State"])
                except events.exceptions.ResourceNotFoundException:
                    found = None
        except AwsError as error:
            checks.append(RuleCheck(name, region, state, None, (str(error),)))
            continue
        problems: tuple[str, ...] = ()
        if found is None:
            problems = (f"alert rule {name} not found in {region}: deploy the stack",)
        elif found != state:
            problems = (
                f"alert rule {name} in {region} is {found}, not {state}: {NOT_BY_REDEPLOY}; "
                f"put it back with `aws events put-rule` ({UNDOING_TAMPERING})",
            )
        checks.append(RuleCheck(name, region, state, found, problems))
    return tuple(checks)


def secret_key_problem(
    described: dict[str, Any], region: str, secrets_key: KeyCheck, aws: AwsClients
) -> str | None:
    """Why the secret is not encrypted with the stack's key, if it is not."""
    name = described["Name"]
    if secrets_key.key_id is None:
        return None  # the key check already says why it cannot be read
    given = described.get("KmsKeyId")
    if not given:
        return f"is encrypted with the AWS-managed key, not {secrets_key.alias}: {_re_encrypt(name, region, secrets_key)}"
    if given == secrets_key.key_id or given.endswith(f":key/{secrets_key.key_id}"):
        return (
            None  # the key's own id or ARN, as CloudFormation gives it: no call needed
        )
    try:
        with aws_errors("describe the key of", name, region):
            key_id = aws.client("kms", region).describe_key(KeyId=given)["KeyMetadata"][
                "KeyId"
            ]
    except AwsError as error:
        return f"its key cannot be read ({error})"
    if key_id != secrets_key.key_id:
        return f"is encrypted with key {key_id}, not {secrets_key.alias}: {_re_encrypt(name, region, secrets_key)}"
    return None


def _re_encrypt(name: str, region: str, key: KeyCheck) -> str:
    return f"`aws secretsmanager update-secret --secret-id {name} --kms-key-id {key.alias} --region {region}`"


def policy_problems(
    spec: SecretSpec, name: str, region: str, client: Any, want: Expected
) -> list[str]:
    """Every statement the template gives the secret's resource policy that it no longer holds."""
    wanted = want.statements.get(spec.logical_id, {})
    try:
        with aws_errors("read the resource policy of", name, region):
            text = client.get_resource_policy(SecretId=name).get("ResourcePolicy")
    except AwsError as error:
        return [str(error)]
    if not text:
        return [
            f"has no resource policy: its guards are gone; {NOT_BY_REDEPLOY}; put it back as the break-glass "
            f"role ({UNDOING_TAMPERING})"
        ]
    try:
        held = {
            statement.get("Sid"): (
                statement.get("Effect"),
                tuple(sorted(_as_list(statement.get("Action", [])))),
            )
            for statement in _as_list(json.loads(text).get("Statement", []))
            if isinstance(statement, dict)
        }
    except (ValueError, AttributeError):
        return ["has a resource policy that is not a policy document"]
    return [
        f"resource policy lacks {sid} as the template gives it: {NOT_BY_REDEPLOY}; put the policy back as "
        f"the break-glass role ({UNDOING_TAMPERING})"
        for sid, form in sorted(wanted.items())
        if held.get(sid) != form
    ]


def last_read(described: dict[str, Any]) -> str | None:
    """When anything last read the secret (a day, as Secrets Manager keeps it): whether it is still used."""
    accessed = described.get("LastAccessedDate")
    return f"{accessed:%Y-%m-%d}" if accessed else None
