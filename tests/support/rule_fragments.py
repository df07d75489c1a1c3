"""Template fragments for the AWS-semantics rules' tests, and the rules themselves, found as .cfnlintrc loads them."""

from __future__ import annotations

import copy
import importlib
import pkgutil
from types import SimpleNamespace
from typing import Any

from generator.checks import cfn_rules
from generator.checks.cfn_rules import (
    cloudtrail,
)
from support.repository import ROOT

BEFORE = ROOT / "tests" / "fixtures" / "templates-before-aws-checks"
# Every module of the rules' directory, as .cfnlintrc's append_rules loads them: a rule in a new module is here too.
RULE_MODULES = [
    importlib.import_module(f"generator.checks.cfn_rules.{module.name}")
    for module in pkgutil.iter_modules(cfn_rules.__path__)
]
RULES = {
    rule.id: rule
    for module in RULE_MODULES
    for rule in vars(module).values()
    if isinstance(rule, type) and getattr(rule, "id", "").startswith("E91")
}


def findings(rule_id: str, template: dict[str, Any]) -> list[str]:
    """What one rule says about a template (a dict, as cfn-lint decodes it)."""
    return [
        match.message
        for match in RULES[rule_id]().match(SimpleNamespace(template=template))
    ]


def resources(**by_id: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": by_id}


def rule(
    pattern: dict[str, Any], state: str = "ENABLED", targets: list[Any] | None = None
) -> dict[str, Any]:
    properties: dict[str, Any] = {"EventPattern": pattern, "State": state}
    if targets is not None:
        properties["Targets"] = targets
    return {"Type": "AWS::Events::Rule", "Properties": properties}


def trail(service: str, *names: str, **detail: Any) -> dict[str, Any]:
    return {
        "source": [f"aws.{service}"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventName": list(names), **detail},
    }


def resource_policy(
    *statements: dict[str, Any], deletion: str | None = None
) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "Type": "AWS::SecretsManager::ResourcePolicy",
        "Properties": {
            "SecretId": {"Ref": "Secret"},
            "ResourcePolicy": {"Statement": list(statements)},
        },
    }
    if deletion:
        policy["DeletionPolicy"] = deletion
    return policy


def deny(sid: str, actions: list[str], **condition: Any) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        "Resource": "*",
        "Condition": condition,
    }


SECRET = {
    "Type": "AWS::SecretsManager::Secret",
    "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
}
KEY = {"Type": "AWS::KMS::Key", "Properties": {}}
ALL_MUTATIONS = sorted(cloudtrail.SECRETS_MANAGER_MUTATIONS)
KEY_CALLS = sorted(cloudtrail.KEY_BREAKING_CALLS)
ROLE = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${RoleName}"
ROLE_ANY_PATH = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*/${RoleName}"
ANY_ACCOUNT_DEPLOYERS = {
    "Fn::Join": [
        "",
        [
            "arn:*:iam::*:role*/",
            {
                "Fn::Join": [
                    ",arn:*:iam::*:role*/",
                    {"Fn::Split": [",", {"Ref": "DeployerRoleNames"}]},
                ]
            },
        ],
    ]
}
OUTSIDE_ACCOUNT_DENY = {
    "Sid": "Outside",
    "Effect": "Deny",
    "Principal": "*",
    "Action": ["secretsmanager:*"],
    "Resource": ["*"],
    "Condition": {
        "StringNotEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}
    },
}
DLQ_TARGET = {
    "Id": "T",
    "Arn": "arn:aws:sns:us-east-1:1:t",
    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
}
DLQ_POLICY = {
    "Type": "AWS::SQS::QueuePolicy",
    "Properties": {
        "Queues": [{"Ref": "Dlq"}],
        "PolicyDocument": {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": "*",
                    "Condition": {
                        "ArnEquals": {"aws:SourceArn": [{"Fn::GetAtt": ["R", "Arn"]}]}
                    },
                }
            ]
        },
    },
}
EVENTBRIDGE_KEY_USE = {
    "Effect": "Allow",
    "Principal": {"Service": ["events.amazonaws.com"]},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": "*",
}


CLOUDWATCH_KEY_USE = {
    "Effect": "Allow",
    "Principal": {"Service": ["cloudwatch.amazonaws.com"]},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": "*",
}


def alarm(
    namespace: str,
    metric: str,
    dimension: str,
    value: Any,
    threshold: float = 1,
    actions: list[Any] | None = None,
) -> dict[str, Any]:
    """An alarm on one metric that notifies topic T, firing at `threshold` or more."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": dimension, "Value": value}],
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": "T"}] if actions is None else actions,
        },
    }


def topic_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {
            "Topics": [{"Ref": "T"}],
            "PolicyDocument": {"Statement": list(statements)},
        },
    }


def encrypted_alert_topic(*key_statements: dict[str, Any]) -> dict[str, Any]:
    """A rule that targets a topic under this template's key, whose policy holds `key_statements`."""
    return resources(
        Key={
            "Type": "AWS::KMS::Key",
            "Properties": {"KeyPolicy": {"Statement": list(key_statements)}},
        },
        Topic={
            "Type": "AWS::SNS::Topic",
            "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
        R=rule(
            trail("kms", "DisableKey"),
            targets=[{"Id": "T", "Arn": {"Ref": "Topic"}}],
        ),
    )


TOPIC_POLICY_ALLOW = {
    "Effect": "Allow",
    "Principal": {"Service": ["events.amazonaws.com"]},
    "Action": ["sns:Publish"],
    "Resource": "*",
}


def email_alerts(queue_policy: dict[str, Any] | None) -> dict[str, Any]:
    """An email subscription to topic T with queue Dlq as its dead-letter queue, and `queue_policy` on Dlq."""
    found = resources(
        S={
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "T"},
                "Protocol": "email",
                "Endpoint": "alerts@example.com",
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}
                },
            },
        }
    )
    if queue_policy is not None:
        found["Resources"]["P"] = queue_policy
    return found


def queue_policy_for(service: str, source: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": "Dlq"}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": [service]},
                        "Action": ["sqs:SendMessage"],
                        "Resource": "*",
                        "Condition": {"ArnEquals": {"aws:SourceArn": source}},
                    }
                ]
            },
        },
    }


def without_eventbridge_key_use(template: dict[str, Any]) -> dict[str, Any]:
    """Today's template with the key policy's EventBridge statement taken out."""
    planted = copy.deepcopy(template)
    policy = planted["Resources"]["AlertsKey"]["Properties"]["KeyPolicy"]
    kept = [
        statement
        for statement in policy["Statement"]
        if statement.get("Sid") != "AllowEventBridgeToPublishToEncryptedTopic"
    ]
    assert len(kept) == len(policy["Statement"]) - 1
    policy["Statement"] = kept
    return planted
