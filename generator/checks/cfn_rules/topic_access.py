"""What the alert topic must let EventBridge do: publish without a source condition, and encrypt with its key.

Rules E9111 and E9105, each with its AWS source."""

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


def _lets_eventbridge_encrypt(statement: Any) -> bool:
    """An unconditional Allow for events.amazonaws.com to make data keys and decrypt."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return False
    services = service_principals(statement)
    actions = lowered_actions(statement)
    return (
        "events.amazonaws.com" in services
        and "Condition" not in statement
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
            document = key.get("Properties", {}).get("KeyPolicy")
            statements = (
                as_list(document.get("Statement", []))
                if isinstance(document, dict)
                else []
            )
            if not any(_lets_eventbridge_encrypt(s) for s in statements):
                matches.append(
                    RuleMatch(
                        ["Resources", key_id, "Properties", "KeyPolicy"],
                        f"{key_id} encrypts {topic_id}, which alert rules target, but its policy does not let "
                        "events.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt without a Condition: "
                        "no alert would be delivered",
                    )
                )
        return matches
