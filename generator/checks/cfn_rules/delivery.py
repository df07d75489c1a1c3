"""cfn-lint rules: alerts that EventBridge or CloudWatch cannot deliver, or whose failed delivery nobody would see.

What the alert topic must let EventBridge and CloudWatch do (publish, and
encrypt with its key), and a dead-letter queue behind every target and
subscription. Each rule names its AWS source.
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
lowered_actions: Callable[[dict[str, Any]], set[str]] = _READING["lowered_actions"]
referenced: Callable[[Any], str | None] = _READING["referenced"]
resources_of_type: Callable[[Any, str], Iterator[tuple[str, dict[str, Any]]]] = (
    _READING["resources_of_type"]
)
service_principals: Callable[[dict[str, Any]], list[Any]] = _READING[
    "service_principals"
]
statements: Callable[[Any], list[dict[str, Any]]] = _READING["statements"]


def _source_arns(document: Any) -> list[Any]:
    """Every aws:SourceArn value in the conditions of a policy document."""
    values: list[Any] = []
    for statement in statements(document):
        for tests in (statement.get("Condition") or {}).values():
            for key, value in tests.items():
                if key.lower() == "aws:sourcearn":
                    values.extend(as_list(value))
    return values


def _is_a_dead_letter_queue(cfn: Any, target: Any) -> bool:
    """Whether `target` is a queue that a rule of this template uses as its dead-letter queue."""
    arn = target.get("Arn") if isinstance(target, dict) else None
    return arn is not None and any(
        isinstance(other, dict) and other.get("DeadLetterConfig", {}).get("Arn") == arn
        for _, properties in resources_of_type(cfn, "AWS::Events::Rule")
        for other in as_list(properties.get("Targets", []))
    )


class RuleTargetsHaveDeadLetterQueue(CloudFormationLintRule):
    id = "E9104"
    shortdesc = (
        "Every alert rule target needs a dead-letter queue that lets the rule send"
    )
    description = (
        "A target EventBridge cannot deliver to shows only in the rule's FailedInvocations metric unless the "
        "target has a dead-letter queue (DeadLetterConfig) whose queue policy lets the rule send. Source: "
        "EventBridge User Guide, 'Using dead-letter queues to process undelivered events'."
    )
    source_url = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html#eb-rule-dlq"
    tags = ["resources", "events", "sqs"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        policies = [
            properties
            for _, properties in resources_of_type(cfn, "AWS::SQS::QueuePolicy")
        ]
        matches = []
        for logical_id, properties in resources_of_type(cfn, "AWS::Events::Rule"):
            rule_arn = {"Fn::GetAtt": [logical_id, "Arn"]}
            for index, target in enumerate(as_list(properties.get("Targets", []))):
                path = ["Resources", logical_id, "Properties", "Targets", index]
                queue = (
                    target.get("DeadLetterConfig", {}).get("Arn")
                    if isinstance(target, dict)
                    else None
                )
                if queue is None and _is_a_dead_letter_queue(cfn, target):
                    # Delivering there is what a dead-letter queue is for.
                    continue
                if queue is None:
                    matches.append(
                        RuleMatch(
                            path, f"{logical_id} target {index} has no DeadLetterConfig"
                        )
                    )
                    continue
                attribute = queue.get("Fn::GetAtt") if isinstance(queue, dict) else None
                if isinstance(attribute, list) and not any(
                    {"Ref": attribute[0]} in as_list(policy.get("Queues", []))
                    and rule_arn in _source_arns(policy.get("PolicyDocument"))
                    for policy in policies
                ):
                    matches.append(
                        RuleMatch(
                            path,
                            f"the dead-letter queue of {logical_id} has no queue policy that lets it send",
                        )
                    )
        return matches


def _lets_service_send(document: Any, service: str, source: Any) -> bool:
    """An Allow in `document` for `service` to send, limited to `source` (or unconditioned)."""
    statements = (
        as_list(document.get("Statement", [])) if isinstance(document, dict) else []
    )
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        services = service_principals(statement)
        actions = lowered_actions(statement)
        sources = _source_arns({"Statement": [statement]})
        if (
            service in services
            and actions & {"sqs:sendmessage", "sqs:*", "*"}
            and (not sources or source in sources)
        ):
            return True
    return False


class SubscriptionsHaveDeadLetterQueue(CloudFormationLintRule):
    id = "E9119"
    shortdesc = (
        "Every alert subscription needs a dead-letter queue that lets its topic send"
    )
    description = (
        "When SNS has used up a subscription's delivery retries it discards the message, unless the "
        "subscription has a dead-letter queue (RedrivePolicy deadLetterTargetArn) whose queue policy lets "
        "sns.amazonaws.com send for that topic; an undeliverable alert email would vanish. Source: Amazon SNS "
        "Developer Guide, 'Amazon SNS message delivery retries' and 'Configuring an Amazon SNS dead-letter "
        "queue for a subscription'."
    )
    source_url = (
        "https://docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html"
    )
    tags = ["resources", "sns", "sqs"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        policies = [
            properties
            for _, properties in resources_of_type(cfn, "AWS::SQS::QueuePolicy")
        ]
        matches = []
        for logical_id, properties in resources_of_type(cfn, "AWS::SNS::Subscription"):
            path = ["Resources", logical_id, "Properties"]
            redrive = properties.get("RedrivePolicy")
            queue = (
                redrive.get("deadLetterTargetArn")
                if isinstance(redrive, dict)
                else None
            )
            if queue is None:
                matches.append(
                    RuleMatch(
                        path,
                        f"{logical_id} has no RedrivePolicy: SNS discards an alert it cannot deliver",
                    )
                )
                continue
            queue_id = referenced(queue)
            if queue_id is not None and not any(
                {"Ref": queue_id} in as_list(policy.get("Queues", []))
                and _lets_service_send(
                    policy.get("PolicyDocument"),
                    "sns.amazonaws.com",
                    properties.get("TopicArn"),
                )
                for policy in policies
            ):
                matches.append(
                    RuleMatch(
                        [*path, "RedrivePolicy"],
                        f"the dead-letter queue of {logical_id} has no queue policy that lets its topic send",
                    )
                )
        return matches


class EventBridgeTopicStatementHasNoCondition(CloudFormationLintRule):
    id = "E9111"
    shortdesc = "The topic policy statement for EventBridge must have no Condition"
    description = (
        "SNS topic policies for EventBridge cannot use Condition blocks; AWS's examples and CDK's SnsTopic "
        "target grant events.amazonaws.com sns:Publish without one. Source: EventBridge User Guide, 'Using "
        "resource-based policies for Amazon EventBridge', Amazon SNS permissions."
    )
    source_url = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions"
    tags = ["resources", "sns", "events"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for logical_id, properties in resources_of_type(cfn, "AWS::SNS::TopicPolicy"):
            document = properties.get("PolicyDocument")
            statements = (
                as_list(document.get("Statement", []))
                if isinstance(document, dict)
                else []
            )
            for index, statement in enumerate(statements):
                services = service_principals(statement)
                actions = lowered_actions(statement)
                if (
                    statement.get("Effect") == "Allow"
                    and "events.amazonaws.com" in services
                    and actions & {"sns:publish", "sns:*", "*"}
                    and "Condition" in statement
                ):
                    matches.append(
                        RuleMatch(
                            [
                                "Resources",
                                logical_id,
                                "Properties",
                                "PolicyDocument",
                                "Statement",
                                index,
                                "Condition",
                            ],
                            f"{logical_id}: the statement that lets EventBridge publish has a Condition, "
                            "which SNS topic policies for EventBridge do not support",
                        )
                    )
        return matches


def _lets_service_encrypt(
    statement: dict[str, Any], service: str, *, unconditionally: bool = False
) -> bool:
    """An Allow for `service` to make data keys and decrypt; with `unconditionally`, one without a Condition."""
    actions = lowered_actions(statement)
    return (
        statement.get("Effect") == "Allow"
        and service in service_principals(statement)
        and not (unconditionally and "Condition" in statement)
        and bool(
            actions & {"kms:generatedatakey*", "kms:generatedatakey", "kms:*", "*"}
        )
        and bool(actions & {"kms:decrypt", "kms:*", "*"})
    )


class EncryptedAlertTopicKeyLetsEventBridgeEncrypt(CloudFormationLintRule):
    id = "E9105"
    shortdesc = (
        "The key of an encrypted topic that a rule targets must let EventBridge encrypt"
    )
    description = (
        "EventBridge can publish to a KMS-encrypted SNS topic only if the key policy lets the service principal "
        "events.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt, and source conditions are not supported "
        "there; otherwise every alert fails delivery, silently. Source: Amazon SNS Developer Guide, 'Key "
        "management' (compatibility between event sources from AWS services and encrypted topics)."
    )
    source_url = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
    tags = ["resources", "sns", "kms", "events"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = cfn.template.get("Resources", {})
        targeted = {
            referenced(target.get("Arn"))
            for _, properties in resources_of_type(cfn, "AWS::Events::Rule")
            for target in as_list(properties.get("Targets", []))
            if isinstance(target, dict)
        }
        matches = []
        for topic_id, properties in resources_of_type(cfn, "AWS::SNS::Topic"):
            key_id = referenced(properties.get("KmsMasterKeyId"))
            key = resources.get(key_id) if key_id else None
            # A key outside this template (an alias, an ARN) cannot be read here.
            if topic_id not in targeted or not isinstance(key, dict):
                continue
            if key.get("Type") != "AWS::KMS::Key":
                continue
            if not any(
                _lets_service_encrypt(s, "events.amazonaws.com", unconditionally=True)
                for s in statements(key.get("Properties", {}).get("KeyPolicy"))
            ):
                matches.append(
                    RuleMatch(
                        ["Resources", key_id, "Properties", "KeyPolicy"],
                        f"{key_id} encrypts {topic_id}, which alert rules target, but its policy does not let "
                        "events.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt without a Condition: "
                        "no alert would be delivered",
                    )
                )
        return matches


class AlarmTopicKeyLetsCloudWatchEncrypt(CloudFormationLintRule):
    id = "E9109"
    shortdesc = (
        "The key of an encrypted topic that alarms notify must let CloudWatch encrypt"
    )
    description = (
        "CloudWatch can publish an alarm to a KMS-encrypted SNS topic only if the key policy lets "
        "cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*; otherwise the alarm changes state "
        "and nobody hears of it. Source: Amazon SNS Developer Guide, 'Key management' (compatibility between "
        "event sources from AWS services and encrypted topics)."
    )
    source_url = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
    tags = ["resources", "sns", "kms", "cloudwatch"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = cfn.template.get("Resources", {})
        notified = {
            referenced(action)
            for _, properties in resources_of_type(cfn, "AWS::CloudWatch::Alarm")
            for action in as_list(properties.get("AlarmActions", []))
        } - {None}
        matches = []
        for topic_id in sorted(t for t in notified if t):
            topic = resources.get(topic_id, {})
            key_id = referenced(topic.get("Properties", {}).get("KmsMasterKeyId"))
            key = resources.get(key_id) if key_id else None
            if not isinstance(key, dict) or key.get("Type") != "AWS::KMS::Key":
                continue
            if not any(
                _lets_service_encrypt(s, "cloudwatch.amazonaws.com")
                for s in statements(key.get("Properties", {}).get("KeyPolicy"))
            ):
                matches.append(
                    RuleMatch(
                        ["Resources", key_id, "Properties", "KeyPolicy"],
                        f"{key_id} encrypts {topic_id}, which alarms notify, but its policy does not let "
                        "cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*: no alarm would be heard",
                    )
                )
        return matches


def _lets_cloudwatch_publish(statement: dict[str, Any]) -> bool:
    services = service_principals(statement)
    actions = lowered_actions(statement)
    return (
        statement.get("Effect") == "Allow"
        and "cloudwatch.amazonaws.com" in services
        and bool(actions & {"sns:publish", "sns:*", "*"})
    )


class AlarmTopicPolicyLetsCloudWatchPublish(CloudFormationLintRule):
    id = "E9110"
    shortdesc = (
        "A topic policy must let CloudWatch publish when alarms notify that topic"
    )
    description = (
        "A topic policy replaces the topic's default one: when alarms notify the topic, it must allow "
        "cloudwatch.amazonaws.com sns:Publish (scoped with aws:SourceAccount and aws:SourceArn), or every alarm "
        "notification is refused. Source: Amazon SNS Developer Guide, 'Amazon SNS access control case examples' "
        "(CloudWatch alarms publishing to a topic)."
    )
    source_url = (
        "https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html"
    )
    tags = ["resources", "sns", "cloudwatch"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        notified = {
            referenced(action)
            for _, properties in resources_of_type(cfn, "AWS::CloudWatch::Alarm")
            for action in as_list(properties.get("AlarmActions", []))
        } - {None}
        matches = []
        for policy_id, properties in resources_of_type(cfn, "AWS::SNS::TopicPolicy"):
            topics = {
                referenced(topic) for topic in as_list(properties.get("Topics", []))
            }
            if not topics & notified:
                continue
            if not any(
                _lets_cloudwatch_publish(s)
                for s in statements(properties.get("PolicyDocument"))
            ):
                matches.append(
                    RuleMatch(
                        ["Resources", policy_id, "Properties", "PolicyDocument"],
                        f"{policy_id} sets the policy of a topic that alarms notify, but does not let "
                        "cloudwatch.amazonaws.com publish: every alarm notification would be refused",
                    )
                )
        return matches
