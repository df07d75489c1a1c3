"""cfn-lint rules: alerts that EventBridge cannot deliver, or whose failed delivery nobody would see.

Self-contained on purpose (cfn-lint and the standard library only): plain
`cfn-lint`, editors and pre-commit load this file through `.cfnlintrc`
(`append_rules`) without the rest of this project.
"""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.checks.cfn_rules.reading import (
    as_list,
    lowered_actions,
    referenced,
    resources_of_type,
    service_principals,
)


def _source_arns(document: Any) -> list[Any]:
    """Every aws:SourceArn value in the conditions of a policy document."""
    values: list[Any] = []
    for statement in (
        as_list(document.get("Statement", [])) if isinstance(document, dict) else []
    ):
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
