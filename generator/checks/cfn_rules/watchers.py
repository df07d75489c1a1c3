"""cfn-lint rules: alerts that could not be sent about what they watch, and failures of the alert path nobody sees.

Self-contained on purpose (cfn-lint and the standard library only): plain
`cfn-lint`, editors and pre-commit load this file through `.cfnlintrc`
(`append_rules`) without the rest of this project.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

# cfn-lint loads each rule file by path, outside any package (.cfnlintrc, append_rules), so the
# helpers the rules share are read the same way, from beside this file: the rules need cfn-lint
# and the standard library alone, wherever cfn-lint runs (tests/checks/test_cfn_lint_cli.py).
_READING = runpy.run_path(str(Path(__file__).with_name("reading.py")))
as_list: Callable[[Any], list[Any]] = _READING["as_list"]
referenced: Callable[[Any], str | None] = _READING["referenced"]
resources_of_type: Callable[[Any, str], Iterator[tuple[str, dict[str, Any]]]] = (
    _READING["resources_of_type"]
)

# The calls after which a key refuses GenerateDataKey: its state is Disabled or PendingDeletion.
KEY_SILENCING_CALLS = frozenset({"DisableKey", "ScheduleKeyDeletion"})


def _mentions(node: Any, logical_id: str) -> bool:
    if isinstance(node, dict):
        return referenced(node) == logical_id or any(
            _mentions(v, logical_id) for v in node.values()
        )
    if isinstance(node, list):
        return any(_mentions(item, logical_id) for item in node)
    return False


def _fires_at_the_first(properties: dict[str, Any]) -> bool:
    """Threshold and comparison that fire on one datapoint of 1: one undelivered alert is one too many."""
    try:
        threshold = float(properties.get("Threshold", "nan"))
    except (TypeError, ValueError):
        return False
    operator = properties.get("ComparisonOperator")
    return (operator == "GreaterThanOrEqualToThreshold" and threshold <= 1) or (
        operator == "GreaterThanThreshold" and threshold < 1
    )


def _alarms_on(
    cfn: Any, namespace: str, metric: str, dimension: str
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(dimension value, properties) for each alarm on `metric` that notifies someone and fires at the first."""
    for _, properties in resources_of_type(cfn, "AWS::CloudWatch::Alarm"):
        if (
            properties.get("Namespace") == namespace
            and properties.get("MetricName") == metric
            and properties.get("AlarmActions")
            and _fires_at_the_first(properties)
        ):
            for item in as_list(properties.get("Dimensions", [])):
                if isinstance(item, dict) and item.get("Name") == dimension:
                    yield item.get("Value"), properties


class AlertOnKeyMustNotDependOnThatKey(CloudFormationLintRule):
    id = "E9106"
    shortdesc = "A rule that reports a key's disabling must not deliver to a topic encrypted with that key"
    description = (
        "A disabled key, or one pending deletion, refuses GenerateDataKey, which SNS needs to publish to a topic "
        "encrypted with it: the alert that the key was disabled or scheduled for deletion could then never be "
        "published. Encrypt the alert topic with another key. Source: AWS KMS Developer Guide, 'Key states of "
        "AWS KMS keys'; Amazon SNS Developer Guide, 'Key management'."
    )
    source_url = "https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html"
    tags = ["resources", "events", "kms", "sns"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = cfn.template.get("Resources", {})
        keys = [logical_id for logical_id, _ in resources_of_type(cfn, "AWS::KMS::Key")]
        matches = []
        for rule_id, properties in resources_of_type(cfn, "AWS::Events::Rule"):
            pattern = properties.get("EventPattern")
            detail = pattern.get("detail", {}) if isinstance(pattern, dict) else {}
            names = (
                set(as_list(detail.get("eventName", [])))
                if isinstance(detail, dict)
                else set()
            )
            if not isinstance(pattern, dict) or "aws.kms" not in as_list(
                pattern.get("source")
            ):
                continue
            if not names & KEY_SILENCING_CALLS:
                continue
            for index, target in enumerate(as_list(properties.get("Targets", []))):
                topic_id = (
                    referenced(target.get("Arn")) if isinstance(target, dict) else None
                )
                topic = resources.get(topic_id) if topic_id else None
                if (
                    not isinstance(topic, dict)
                    or topic.get("Type") != "AWS::SNS::Topic"
                ):
                    continue
                key_id = referenced(topic.get("Properties", {}).get("KmsMasterKeyId"))
                if key_id in keys and _mentions(pattern, key_id):
                    matches.append(
                        RuleMatch(
                            ["Resources", rule_id, "Properties", "Targets", index],
                            f"{rule_id} reports the disabling of {key_id} to {topic_id}, which {key_id} encrypts: "
                            "a disabled key cannot encrypt the alert that it was disabled",
                        )
                    )
        return matches


class DeadLetterQueueHasAnAlarm(CloudFormationLintRule):
    id = "E9107"
    shortdesc = "An alert rule's dead-letter queue needs an alarm on its depth that notifies someone"
    description = (
        "An alert that EventBridge could not deliver waits in the dead-letter queue, seen by nobody unless an "
        "alarm watches the queue's ApproximateNumberOfMessagesVisible (dimension QueueName) and fires at the "
        "first message. Source: Amazon SQS Developer Guide, 'Available CloudWatch metrics for Amazon SQS'."
    )
    source_url = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html"
    tags = ["resources", "events", "sqs", "cloudwatch"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = cfn.template.get("Resources", {})
        watched = []
        for value, _ in _alarms_on(
            cfn, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"
        ):
            watched.append(referenced(value) or value)
        queues = {
            referenced(target.get("DeadLetterConfig", {}).get("Arn"))
            for _, properties in resources_of_type(cfn, "AWS::Events::Rule")
            for target in as_list(properties.get("Targets", []))
            if isinstance(target, dict)
            and isinstance(target.get("DeadLetterConfig"), dict)
        } - {None}
        matches = []
        for queue_id in sorted(q for q in queues if q):
            literal = resources.get(queue_id, {}).get("Properties", {}).get("QueueName")
            if queue_id not in watched and (literal is None or literal not in watched):
                matches.append(
                    RuleMatch(
                        ["Resources", queue_id],
                        f"{queue_id} holds undelivered alerts, but no alarm on its "
                        "ApproximateNumberOfMessagesVisible fires at the first one and notifies anyone",
                    )
                )
        return matches


class RuleFailuresHaveAnAlarm(CloudFormationLintRule):
    id = "E9108"
    shortdesc = (
        "Every alert rule needs an alarm on its FailedInvocations that notifies someone"
    )
    description = (
        "EventBridge reports an event it matched but could not deliver only in the rule's FailedInvocations "
        "metric (namespace AWS/Events, dimension RuleName): without an alarm that fires at the first one, a "
        "broken alert path stays silent. Source: Amazon EventBridge User Guide, 'Monitoring Amazon EventBridge'."
    )
    source_url = (
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html"
    )
    tags = ["resources", "events", "cloudwatch"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        watched = {
            referenced(value) or value
            for value, _ in _alarms_on(
                cfn, "AWS/Events", "FailedInvocations", "RuleName"
            )
        }
        matches = []
        for rule_id, properties in resources_of_type(cfn, "AWS::Events::Rule"):
            if not properties.get("Targets"):
                continue
            if rule_id not in watched and properties.get("Name") not in watched:
                matches.append(
                    RuleMatch(
                        ["Resources", rule_id],
                        f"{rule_id} has no alarm on its FailedInvocations (dimension RuleName) that fires at the "
                        "first one and notifies anyone",
                    )
                )
        return matches


# The calls that change the alert path itself, by service: literal here, since
# this file loads with cfn-lint alone; tests/checks/test_cfn_rules.py holds it
# to the generator's own list and to botocore's service models.
ALERT_PATH_CALLS: dict[str, frozenset[str]] = {
    "events": frozenset(
        {"DeleteRule", "DisableRule", "PutRule", "PutTargets", "RemoveTargets"}
    ),
    "sns": frozenset(
        {
            "AddPermission",
            "DeleteTopic",
            "RemovePermission",
            "SetSubscriptionAttributes",
            "SetTopicAttributes",
            "Subscribe",
            "Unsubscribe",
        }
    ),
    "sqs": frozenset(
        {
            "AddPermission",
            "DeleteQueue",
            "PurgeQueue",
            "RemovePermission",
            "SetQueueAttributes",
        }
    ),
    "cloudwatch": frozenset({"DeleteAlarms", "DisableAlarmActions", "PutMetricAlarm"}),
}
CLOUDFORMATION = "cloudformation.amazonaws.com"


def _pattern_event_names(detail: dict[str, Any]) -> set[str]:
    """Event names a pattern's detail matches, in its `$or` branches too."""
    names = {n for n in as_list(detail.get("eventName", [])) if isinstance(n, str)}
    for branch in as_list(detail.get("$or", [])):
        if isinstance(branch, dict):
            names |= {
                n for n in as_list(branch.get("eventName", [])) if isinstance(n, str)
            }
    return names


def _leaves_out_cloudformation(detail: dict[str, Any]) -> bool:
    """Whether userIdentity.invokedBy excludes CloudFormation's own calls (every deploy makes some)."""
    identity = detail.get("userIdentity")
    invoked_by = identity.get("invokedBy") if isinstance(identity, dict) else None
    return any(
        isinstance(test, dict) and CLOUDFORMATION in as_list(test.get("anything-but"))
        for test in as_list(invoked_by)
    )


class AlertPathChangesRaiseAnAlert(CloudFormationLintRule):
    id = "E9123"
    shortdesc = "Changes to the alert path itself must raise an alert that does not go through it"
    description = (
        "RemoveTargets leaves a rule ENABLED with nothing to invoke, so FailedInvocations never moves; an "
        "Unsubscribe or a changed topic policy or key silences every alert, and none of them touches a secret. "
        "A rule must match these calls (EventBridge, SNS, SQS and CloudWatch) and deliver straight to a "
        "queue, not through the topic it watches, leaving out CloudFormation's own calls (userIdentity "
        "invokedBy), which every deploy makes. Source: Amazon EventBridge API Reference, 'RemoveTargets'; "
        "AWS CloudTrail User Guide, 'CloudTrail userIdentity element'."
    )
    source_url = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RemoveTargets.html"
    tags = ["resources", "events", "sns", "sqs", "cloudwatch"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = cfn.template.get("Resources", {})
        rules = list(resources_of_type(cfn, "AWS::Events::Rule"))
        alerting = [
            rule_id
            for rule_id, properties in rules
            for target in as_list(properties.get("Targets", []))
            if isinstance(target, dict)
            and resources.get(referenced(target.get("Arn")) or "", {}).get("Type")
            == "AWS::SNS::Topic"
        ]
        if not alerting:
            return []  # no alert path here to watch
        wanted = {call for calls in ALERT_PATH_CALLS.values() for call in calls}
        sources = {f"aws.{service}" for service in ALERT_PATH_CALLS}
        best: tuple[str, set[str]] | None = None
        for rule_id, properties in rules:
            pattern = properties.get("EventPattern")
            if not isinstance(pattern, dict):
                continue
            detail = pattern.get("detail")
            if not isinstance(detail, dict) or not sources & set(
                as_list(pattern.get("source"))
            ):
                continue
            missing = wanted - _pattern_event_names(detail)
            missing |= {
                f"(source {source})"
                for source in sources - set(as_list(pattern.get("source")))
            }
            problems = set(missing)
            if not _leaves_out_cloudformation(detail):
                problems.add("(CloudFormation's own calls are not left out)")
            targets = [
                t for t in as_list(properties.get("Targets", [])) if isinstance(t, dict)
            ]
            if not targets or any(
                resources.get(referenced(t.get("Arn")) or "", {}).get("Type")
                != "AWS::SQS::Queue"
                for t in targets
            ):
                problems.add("(it must deliver straight to a queue)")
            if best is None or len(problems) < len(best[1]):
                best = (rule_id, problems)
        if best is None:
            return [
                RuleMatch(
                    ["Resources"],
                    "no rule matches changes to the alert path itself (EventBridge, SNS, SQS and CloudWatch "
                    "calls): RemoveTargets or an Unsubscribe would silence every alert unseen",
                )
            ]
        rule_id, problems = best
        if not problems:
            return []
        return [
            RuleMatch(
                ["Resources", rule_id],
                f"{rule_id} watches the alert path but misses {', '.join(sorted(problems))}",
            )
        ]
