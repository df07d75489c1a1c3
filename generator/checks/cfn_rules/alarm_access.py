"""What the alarms' topic must let CloudWatch do: encrypt with its key, and publish.

Rules E9109 and E9110, each with its AWS source."""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.checks.cfn_rules.reading import (
    as_list,
    lowered_actions,
    referenced,
    resources_of_type,
    service_principals,
    statements,
)


def _lets_cloudwatch_encrypt(statement: dict[str, Any]) -> bool:
    services = service_principals(statement)
    actions = lowered_actions(statement)
    return (
        statement.get("Effect") == "Allow"
        and "cloudwatch.amazonaws.com" in services
        and bool(
            actions & {"kms:generatedatakey*", "kms:generatedatakey", "kms:*", "*"}
        )
        and bool(actions & {"kms:decrypt", "kms:*", "*"})
    )


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
                _lets_cloudwatch_encrypt(s)
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
