"""cfn-lint rules: EventBridge alert rules that never fire, or miss what they are for, in real AWS.

Self-contained on purpose (cfn-lint and the standard library only): plain
`cfn-lint`, editors and pre-commit load this file through `.cfnlintrc`
(`append_rules`) without the rest of this project.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeGuard

from cfnlint.rules import CloudFormationLintRule, RuleMatch

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
ALL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
READ_ONLY_PREFIXES = ("Get", "List", "Describe", "BatchGet")
# Secrets Manager User Guide, "AWS CloudTrail entries for Secrets Manager":
# the calls that change a secret and take a SecretId.
SECRETS_MANAGER_MUTATIONS = frozenset(
    {
        "CancelRotateSecret",
        "DeleteResourcePolicy",
        "DeleteSecret",
        "PutResourcePolicy",
        "PutSecretValue",
        "RemoveRegionsFromReplication",
        "ReplicateSecretToRegions",
        "RestoreSecret",
        "RotateSecret",
        "StopReplicationToReplica",
        "TagResource",
        "UntagResource",
        "UpdateSecret",
        "UpdateSecretVersionStage",
        # Copies the value into a replica in another account, and ends it
        # (Secrets Manager API, in botocore's service model).
        "AssociateCrossAccountReplica",
        "DisassociateCrossAccountReplica",
    }
)
SERVICE_EVENT_DETAIL_TYPE = "AWS Service Event via CloudTrail"
# Secrets Manager User Guide, "Log AWS Secrets Manager events with AWS CloudTrail":
# what Secrets Manager itself does to a secret, reported as service events.
SECRETS_MANAGER_SERVICE_EVENTS = frozenset(
    {
        "CancelSecretVersionDelete",
        "EndSecretVersionDelete",
        "RotationAbandoned",
        "RotationFailed",
        "RotationStarted",
        "RotationSucceeded",
        "StartSecretVersionDelete",
    }
)
# Each makes every secret under the key unreadable, or changes who may use it.
KEY_BREAKING_CALLS = frozenset(
    {"DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "DisableKeyRotation"}
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _rules(cfn: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in cfn.template.get("Resources", {}).items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Events::Rule":
            yield logical_id, resource.get("Properties", {})


def _cloudtrail(pattern: Any, service: str) -> TypeGuard[dict[str, Any]]:
    """Whether `pattern` matches CloudTrail API calls of `service` (e.g. "secretsmanager")."""
    return (
        isinstance(pattern, dict)
        and f"aws.{service}" in _as_list(pattern.get("source"))
        and CLOUDTRAIL_DETAIL_TYPE in _as_list(pattern.get("detail-type"))
    )


def _event_names(pattern: dict[str, Any]) -> list[Any]:
    """The event names `pattern` matches, those of its `$or` branches too; [] when any call matches."""
    detail = pattern.get("detail", {})
    if not isinstance(detail, dict):
        return []
    if "eventName" in detail:
        return _as_list(detail["eventName"])
    branches = [b for b in _as_list(detail.get("$or", [])) if isinstance(b, dict)]
    if not branches or any("eventName" not in branch for branch in branches):
        return []
    return [name for branch in branches for name in _as_list(branch["eventName"])]


def _read_only_names(pattern: dict[str, Any]) -> list[str]:
    """The read-only calls `pattern` matches; ["(any call)"] when it does not restrict eventName."""
    names = _event_names(pattern)
    if not names:
        return ["(any call)"]
    read_only = []
    for name in names:
        text = (
            name
            if isinstance(name, str)
            else name.get("prefix")
            if isinstance(name, dict)
            else None
        )
        if isinstance(text, str) and text.startswith(READ_ONLY_PREFIXES):
            read_only.append(text)
    return read_only


def _mentions(node: Any, logical_id: str) -> bool:
    """Whether `node` refers to the resource `logical_id` through Ref or Fn::GetAtt."""
    if isinstance(node, dict):
        if node.get("Ref") == logical_id:
            return True
        attribute = node.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute[:1] == [logical_id]:
            return True
        return any(_mentions(value, logical_id) for value in node.values())
    if isinstance(node, list):
        return any(_mentions(item, logical_id) for item in node)
    return False


class ReadOnlyEventsNeedAllManagementEventsState(CloudFormationLintRule):
    id = "E9101"
    shortdesc = "A rule on read-only CloudTrail events must be ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    description = (
        "EventBridge delivers read-only management events (Get*, List*, Describe*, failed ones included) "
        "only to rules in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS; an ENABLED rule on them never "
        "fires. Source: EventBridge User Guide, 'Receiving read-only management events from AWS services'."
    )
    source_url = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html"
    tags = ["resources", "events", "cloudtrail"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for logical_id, properties in _rules(cfn):
            pattern = properties.get("EventPattern")
            if not isinstance(pattern, dict) or CLOUDTRAIL_DETAIL_TYPE not in _as_list(
                pattern.get("detail-type")
            ):
                continue
            read_only = _read_only_names(pattern)
            state = properties.get("State", "ENABLED")
            if read_only and state != ALL_MANAGEMENT_EVENTS:
                matches.append(
                    RuleMatch(
                        ["Resources", logical_id, "Properties", "State"],
                        f"{logical_id} matches read-only calls ({', '.join(read_only)}) in state {state}, "
                        f"so it never fires: use {ALL_MANAGEMENT_EVENTS}",
                    )
                )
        return matches


class SecretChangeRuleCoversEveryMutation(CloudFormationLintRule):
    id = "E9102"
    shortdesc = "A Secrets Manager change rule must match every mutating call"
    description = (
        "A rule that alerts on changes to secrets must match every mutating Secrets Manager call that takes a "
        "SecretId, replication included (it copies a value to another region). Source: Secrets Manager User "
        "Guide, 'AWS CloudTrail entries for Secrets Manager'."
    )
    source_url = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-cloudtrail.html"
    tags = ["resources", "events", "secretsmanager"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for logical_id, properties in _rules(cfn):
            pattern = properties.get("EventPattern")
            if not _cloudtrail(pattern, "secretsmanager"):
                continue
            names = {name for name in _event_names(pattern) if isinstance(name, str)}
            missing = SECRETS_MANAGER_MUTATIONS - names
            if names & SECRETS_MANAGER_MUTATIONS and missing:
                matches.append(
                    RuleMatch(
                        [
                            "Resources",
                            logical_id,
                            "Properties",
                            "EventPattern",
                            "detail",
                            "eventName",
                        ],
                        f"{logical_id} alerts on secret changes but misses {', '.join(sorted(missing))}",
                    )
                )
        return matches


class KeyChangesRaiseAnAlert(CloudFormationLintRule):
    id = "E9103"
    shortdesc = "A key that encrypts secrets must have an alert on being disabled, deleted or re-permissioned"
    description = (
        "Disabling a KMS key, scheduling its deletion, replacing its policy or turning off its rotation makes "
        "every secret under it unreadable, or changes who may use it; a rule must match DisableKey, "
        "ScheduleKeyDeletion, PutKeyPolicy and DisableKeyRotation on that key (CloudTrail names it in "
        "`resources`). Source: AWS KMS Developer Guide, 'Logging AWS KMS API calls with AWS CloudTrail'."
    )
    source_url = "https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html"
    tags = ["resources", "events", "kms"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = cfn.template.get("Resources", {})
        keys = {
            logical_id
            for logical_id, resource in resources.items()
            if isinstance(resource, dict) and resource.get("Type") == "AWS::KMS::Key"
        }
        secret_keys = {
            key
            for key in keys
            for resource in resources.values()
            if isinstance(resource, dict)
            and resource.get("Type") == "AWS::SecretsManager::Secret"
            and _mentions(resource.get("Properties", {}).get("KmsKeyId"), key)
        }
        watched = {
            key
            for key in secret_keys
            for _, properties in _rules(cfn)
            if _cloudtrail(pattern := properties.get("EventPattern"), "kms")
            and set(_event_names(pattern)) >= KEY_BREAKING_CALLS
            and _mentions(pattern, key)
        }
        return [
            RuleMatch(
                ["Resources", key],
                f"{key} encrypts secrets but no rule alerts on {', '.join(sorted(KEY_BREAKING_CALLS))} of it",
            )
            for key in sorted(secret_keys - watched)
        ]


class SecretServiceEventsRaiseAnAlert(CloudFormationLintRule):
    id = "E9118"
    shortdesc = (
        "Alerts on secret changes must include Secrets Manager's own service events"
    )
    description = (
        "Secrets Manager reports what it does itself, a version deleted for good or a rotation, as 'AWS Service "
        "Event via CloudTrail', which no rule on API calls matches: a template that alerts on changes to secrets "
        "needs a rule on those service events too. Source: Secrets Manager User Guide, 'Log AWS Secrets Manager "
        "events with AWS CloudTrail'."
    )
    source_url = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-cloudtrail.html"
    tags = ["resources", "events", "secretsmanager"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        change_rules = []
        covered: set[str] = set()
        for logical_id, properties in _rules(cfn):
            pattern = properties.get("EventPattern")
            if (
                _cloudtrail(pattern, "secretsmanager")
                and set(_event_names(pattern)) & SECRETS_MANAGER_MUTATIONS
            ):
                change_rules.append(logical_id)
            if (
                isinstance(pattern, dict)
                and "aws.secretsmanager" in _as_list(pattern.get("source"))
                and SERVICE_EVENT_DETAIL_TYPE in _as_list(pattern.get("detail-type"))
            ):
                covered |= {
                    name for name in _event_names(pattern) if isinstance(name, str)
                }
        missing = SECRETS_MANAGER_SERVICE_EVENTS - covered
        if not change_rules or not missing:
            return []
        return [
            RuleMatch(
                ["Resources", change_rules[0]],
                f"{change_rules[0]} alerts on API calls to secrets, but no rule matches Secrets Manager's service "
                f"events {', '.join(sorted(missing))}",
            )
        ]
