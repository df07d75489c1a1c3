"""The AWS-semantics rules (generator/checks/cfn_rules, E91xx): each on a good and a bad fragment,
each catching its defect in the templates as they were before the rules existed, and all of them
loaded by plain cfn-lint through .cfnlintrc.
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from generator.checks import cfn_rules
from generator.checks.cfn_rules import (
    cloudtrail,
)
from generator.checks.lint import LintJob, custom_rule_files
from generator.checks.lint_cache import LintVerdictCache
from generator.parameter_files import load_parameter_file
from helpers import ROOT

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


# rule id -> (good template, bad template, a phrase the finding on the bad one holds)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "E9101": (
        resources(
            R=rule(
                trail("secretsmanager", "GetSecretValue"),
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
            )
        ),
        resources(R=rule(trail("secretsmanager", "GetSecretValue"))),
        "matches read-only calls (GetSecretValue) in state ENABLED, so it never fires",
    ),
    "E9102": (
        resources(R=rule(trail("secretsmanager", *ALL_MUTATIONS))),
        resources(
            R=rule(
                trail(
                    "secretsmanager",
                    *[name for name in ALL_MUTATIONS if "Replicat" not in name],
                )
            )
        ),
        "misses RemoveRegionsFromReplication, ReplicateSecretToRegions, StopReplicationToReplica",
    ),
    "E9103": (
        resources(
            Key=KEY,
            Secret=SECRET,
            R=rule(
                trail(
                    "kms",
                    *KEY_CALLS,
                    resources={"ARN": [{"Fn::GetAtt": ["Key", "Arn"]}]},
                )
            ),
        ),
        resources(
            Key=KEY,
            Secret=SECRET,
            R=rule(
                trail(
                    "kms",
                    "DisableKey",
                    resources={"ARN": [{"Fn::GetAtt": ["Key", "Arn"]}]},
                )
            ),
        ),
        "Key encrypts secrets but no rule alerts on",
    ),
    "E9104": (
        resources(
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]), P=DLQ_POLICY
        ),
        resources(R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET])),
        "has no queue policy that lets it send",
    ),
    "E9119": (
        email_alerts(queue_policy_for("sns.amazonaws.com", {"Ref": "T"})),
        # The queue lets EventBridge send, not SNS: the email's dead letter is refused.
        email_alerts(queue_policy_for("events.amazonaws.com", {"Ref": "T"})),
        "the dead-letter queue of S has no queue policy that lets its topic send",
    ),
    "E9105": (
        encrypted_alert_topic(EVENTBRIDGE_KEY_USE),
        # Decrypt alone: EventBridge cannot make the data key it encrypts with.
        encrypted_alert_topic({**EVENTBRIDGE_KEY_USE, "Action": ["kms:Decrypt"]}),
        "Key encrypts Topic, which alert rules target, but its policy does not let events.amazonaws.com",
    ),
    "E9111": (
        resources(
            P={
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {"PolicyDocument": {"Statement": [TOPIC_POLICY_ALLOW]}},
            }
        ),
        resources(
            P={
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {
                                **TOPIC_POLICY_ALLOW,
                                "Condition": {
                                    "ArnEquals": {
                                        "aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"
                                    }
                                },
                            }
                        ]
                    }
                },
            }
        ),
        "the statement that lets EventBridge publish has a Condition",
    ),
    "E9112": (
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={
                        "aws:PrincipalArn": [
                            {"Fn::Sub": ROLE},
                            {"Fn::Sub": ROLE_ANY_PATH},
                        ]
                    },
                )
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": {"Fn::Sub": ROLE}},
                )
            )
        ),
        "role pattern role/${RoleName} misses the role under a path",
    ),
    "E9113": (
        resources(
            P=resource_policy(
                deny(
                    "Read",
                    ["secretsmanager:GetSecretValue"],
                    ArnNotLike={
                        "aws:PrincipalArn": {
                            "Fn::Split": [
                                ",",
                                {
                                    "Fn::Join": [
                                        ",",
                                        [
                                            {"Ref": "ReaderRoleNames"},
                                            {"Ref": "OperatorRoleNames"},
                                            {"Ref": "DeployerRoleNames"},
                                        ],
                                    ]
                                },
                            ]
                        }
                    },
                )
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Read",
                    ["secretsmanager:GetSecretValue"],
                    ArnNotLike={
                        "aws:PrincipalArn": {
                            "Fn::Split": [
                                ",",
                                {
                                    "Fn::Join": [
                                        ",",
                                        [
                                            {"Ref": "ReaderRoleNames"},
                                            {"Ref": "OperatorRoleNames"},
                                        ],
                                    ]
                                },
                            ]
                        }
                    },
                )
            )
        ),
        "denies GetSecretValue outside an allow-list that does not exempt DeployerRoleNames",
    ),
    "E9114": (
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
                deny(
                    "Keep",
                    [
                        "secretsmanager:PutResourcePolicy",
                        "secretsmanager:DeleteResourcePolicy",
                    ],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
                # Denies every call, but only to other accounts: no help against this account's admins.
                deny(
                    "Outside",
                    ["secretsmanager:*"],
                    StringNotEquals={"aws:PrincipalAccount": "1"},
                ),
            )
        ),
        "denies DeleteSecret but not DeleteResourcePolicy, PutResourcePolicy",
    ),
    "E9115": (
        resources(
            P=resource_policy(
                OUTSIDE_ACCOUNT_DENY,
                deny(
                    "Keep",
                    ["secretsmanager:PutResourcePolicy"],
                    ArnNotLike={"aws:PrincipalArn": ANY_ACCOUNT_DEPLOYERS},
                ),
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Keep",
                    ["secretsmanager:PutResourcePolicy"],
                    ArnNotLike={"aws:PrincipalArn": ANY_ACCOUNT_DEPLOYERS},
                ),
                # Denies other accounts only some calls: their same-named roles keep the exemption elsewhere.
                deny(
                    "Outside",
                    ["secretsmanager:GetSecretValue"],
                    StringNotEquals={"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}},
                ),
            )
        ),
        "statement Keep exempts roles of any account, and no statement denies principals outside this account",
    ),
    "E9116": (
        resources(
            P=resource_policy(
                deny(
                    "Keep",
                    [
                        "secretsmanager:PutResourcePolicy",
                        "secretsmanager:DeleteResourcePolicy",
                    ],
                    ArnNotLike={
                        "aws:PrincipalArn": [{"Fn::Sub": ROLE}, ANY_ACCOUNT_DEPLOYERS]
                    },
                )
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Keep",
                    ["secretsmanager:DeleteResourcePolicy"],
                    ArnNotLike={"aws:PrincipalArn": [{"Fn::Sub": ROLE}]},
                )
            )
        ),
        "denies changing the resource policy without exempting DeployerRoleNames: CloudFormation would be "
        "locked out of its own stack",
    ),
    "E9106": (
        resources(
            Key={"Type": "AWS::KMS::Key", "Properties": {}},
            Other={"Type": "AWS::KMS::Key", "Properties": {}},
            T={
                "Type": "AWS::SNS::Topic",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Other", "Arn"]}},
            },
            R=rule(
                trail(
                    "kms",
                    "DisableKey",
                    resources={"ARN": [{"Fn::GetAtt": ["Key", "Arn"]}]},
                ),
                targets=[{"Id": "T", "Arn": {"Ref": "T"}}],
            ),
        ),
        resources(
            Key={"Type": "AWS::KMS::Key", "Properties": {}},
            T={
                "Type": "AWS::SNS::Topic",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            },
            R=rule(
                trail(
                    "kms",
                    "ScheduleKeyDeletion",
                    resources={"ARN": [{"Fn::GetAtt": ["Key", "Arn"]}]},
                ),
                targets=[{"Id": "T", "Arn": {"Ref": "T"}}],
            ),
        ),
        "R reports the disabling of Key to T, which Key encrypts",
    ),
    "E9107": (
        resources(
            Dlq={"Type": "AWS::SQS::Queue", "Properties": {}},
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]),
            A=alarm(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                {"Fn::GetAtt": ["Dlq", "QueueName"]},
            ),
        ),
        resources(
            Dlq={"Type": "AWS::SQS::Queue", "Properties": {}},
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]),
            # Fires only at the tenth message: nine alerts go unseen.
            A=alarm(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                {"Fn::GetAtt": ["Dlq", "QueueName"]},
                threshold=10,
            ),
        ),
        "Dlq holds undelivered alerts, but no alarm on its ApproximateNumberOfMessagesVisible fires at the first one",
    ),
    "E9108": (
        resources(
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]),
            A=alarm("AWS/Events", "FailedInvocations", "RuleName", {"Ref": "R"}),
        ),
        resources(
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]),
            A=alarm(
                "AWS/Events", "FailedInvocations", "RuleName", {"Ref": "R"}, actions=[]
            ),
        ),
        "R has no alarm on its FailedInvocations (dimension RuleName) that fires at the first one and notifies anyone",
    ),
    "E9109": (
        resources(
            Key={
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": {"Statement": [CLOUDWATCH_KEY_USE]}},
            },
            T={
                "Type": "AWS::SNS::Topic",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            },
            A=alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"),
        ),
        resources(
            Key={
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": {"Statement": [EVENTBRIDGE_KEY_USE]}},
            },
            T={
                "Type": "AWS::SNS::Topic",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            },
            A=alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"),
        ),
        "Key encrypts T, which alarms notify, but its policy does not let cloudwatch.amazonaws.com use kms:Decrypt",
    ),
    "E9110": (
        resources(
            T={"Type": "AWS::SNS::Topic", "Properties": {}},
            P=topic_policy(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                }
            ),
            A=alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"),
        ),
        resources(
            T={"Type": "AWS::SNS::Topic", "Properties": {}},
            P=topic_policy(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                }
            ),
            A=alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"),
        ),
        "P sets the policy of a topic that alarms notify, but does not let cloudwatch.amazonaws.com publish",
    ),
    "E9117": (
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
                deny(
                    "Copies",
                    ["secretsmanager:AssociateCrossAccountReplica"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
            )
        ),
        "P guards DeleteSecret but lets anyone AssociateCrossAccountReplica, which copies the value into another account",
    ),
    "E9118": (
        resources(
            C=rule(trail("secretsmanager", *ALL_MUTATIONS)),
            S=rule(
                {
                    "source": ["aws.secretsmanager"],
                    "detail-type": ["AWS Service Event via CloudTrail"],
                    "detail": {
                        "eventName": sorted(cloudtrail.SECRETS_MANAGER_SERVICE_EVENTS)
                    },
                }
            ),
        ),
        resources(
            C=rule(trail("secretsmanager", *ALL_MUTATIONS)),
            S=rule(
                {
                    "source": ["aws.secretsmanager"],
                    "detail-type": ["AWS Service Event via CloudTrail"],
                    "detail": {"eventName": ["RotationFailed"]},
                }
            ),
        ),
        "C alerts on API calls to secrets, but no rule matches Secrets Manager's service events CancelSecretVersionDelete",
    ),
    "E9121": (
        resources(
            Secret={
                **SECRET,
                "DeletionPolicy": "RetainExceptOnCreate",
                "UpdateReplacePolicy": "Retain",
            }
        ),
        resources(
            Secret={
                **SECRET,
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
            }
        ),
        "has DeletionPolicy Retain, which also keeps it after a failed create",
    ),
    "E9122": (
        resources(
            Secret={**SECRET, "DeletionPolicy": "RetainExceptOnCreate"},
            P=resource_policy(deletion="RetainExceptOnCreate"),
        ),
        resources(
            Secret={**SECRET, "DeletionPolicy": "RetainExceptOnCreate"},
            P=resource_policy(),
        ),
        "P is deleted with the stack while the secret it guards, Secret, is retained",
    ),
}


def test_every_rule_has_a_case_a_source_and_a_description_that_names_it():
    assert sorted(CASES) == sorted(RULES)
    for rule_id, rule_class in RULES.items():
        assert rule_class.source_url.startswith("https://docs.aws.amazon.com/"), rule_id
        assert "Source: " in rule_class.description, rule_id


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_each_rule_passes_the_good_fragment_and_names_the_fault_in_the_bad_one(rule_id):
    good, bad, phrase = CASES[rule_id]
    assert findings(rule_id, good) == []
    found = findings(rule_id, bad)
    assert found and all(phrase in message for message in found), found


def test_a_source_condition_on_eventbridge_key_use_is_a_fault_and_an_untargeted_topic_is_not_checked():
    conditioned = {
        **EVENTBRIDGE_KEY_USE,
        "Condition": {
            "ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"}
        },
    }
    assert findings("E9105", encrypted_alert_topic(conditioned))
    untargeted = encrypted_alert_topic()
    del untargeted["Resources"]["R"]
    assert findings("E9105", untargeted) == []


def test_a_subscription_without_a_redrive_policy_or_with_another_topics_queue_is_a_fault():
    bare = email_alerts(queue_policy_for("sns.amazonaws.com", {"Ref": "T"}))
    del bare["Resources"]["S"]["Properties"]["RedrivePolicy"]
    assert findings("E9119", bare) == [
        "S has no RedrivePolicy: SNS discards an alert it cannot deliver"
    ]
    other_topic = email_alerts(queue_policy_for("sns.amazonaws.com", {"Ref": "Other"}))
    assert findings("E9119", other_topic) == [
        "the dead-letter queue of S has no queue policy that lets its topic send"
    ]
    assert findings("E9119", email_alerts(None)) == [
        "the dead-letter queue of S has no queue policy that lets its topic send"
    ]


def test_a_second_rule_state_or_any_path_variant_does_not_hide_a_fault():
    """The root-path pattern is a fault on its own; an unrelated any-path role does not excuse it."""
    other = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*/someone-else"
    template = resources(
        P=resource_policy(
            deny(
                "Guard",
                ["secretsmanager:DeleteSecret"],
                ArnNotLike={
                    "aws:PrincipalArn": [{"Fn::Sub": ROLE}, {"Fn::Sub": other}]
                },
            )
        )
    )
    assert findings("E9112", template)


# The templates as they were, one set per round of rules; each set keeps its own parameter files.
FIXTURES = ROOT / "tests" / "fixtures"
BEFORE_ROLE_NAMES = FIXTURES / "templates-before-role-names"
BEFORE_ALERT_KEY = FIXTURES / "templates-before-alert-key"
# The defect each rule is named for, in the templates as they were (set, env, rule id, how many findings).
BEFORE_FINDINGS = [
    ("before-aws-checks", "dev", "E9101", 2),
    ("before-aws-checks", "dev", "E9102", 1),
    ("before-aws-checks", "dev", "E9103", 1),
    ("before-aws-checks", "dev", "E9104", 3),
    ("before-aws-checks", "dev", "E9111", 1),
    ("before-aws-checks", "dev", "E9113", 2),
    ("before-aws-checks", "prod", "E9112", 4),
    ("before-aws-checks", "prod", "E9114", 2),
    ("before-aws-checks", "prod", "E9121", 3),
    ("before-aws-checks", "prod", "E9122", 2),
    ("before-aws-checks", "staging", "E9121", 3),
    ("before-aws-checks", "staging", "E9122", 2),
    # Operators named by ARN, no deployer: CloudFormation locked out of its own stacks.
    ("before-role-names", "dev", "E9113", 2),
    ("before-role-names", "staging", "E9113", 2),
    ("before-role-names", "staging", "E9116", 2),
    ("before-role-names", "prod", "E9113", 2),
    ("before-role-names", "prod", "E9116", 2),
    # The alert topic under the key it reports on; nothing watching the alert path; no cross-account guard.
    ("before-alert-key", "dev", "E9102", 1),
    ("before-alert-key", "dev", "E9106", 1),
    ("before-alert-key", "dev", "E9107", 1),
    ("before-alert-key", "dev", "E9108", 4),
    ("before-alert-key", "dev", "E9118", 1),
    ("before-alert-key", "staging", "E9117", 2),
    ("before-alert-key", "prod", "E9106", 1),
    ("before-alert-key", "prod", "E9117", 2),
    # An alert email SNS cannot deliver is discarded: no dead-letter queue on the subscription.
    ("before-alert-key", "dev", "E9119", 1),
    ("before-alert-key", "staging", "E9119", 1),
    ("before-alert-key", "prod", "E9119", 1),
]


def _fixture_parameters() -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    old = {"AlertEmail": "", "ReaderPrincipalArns": ""}
    guarded = {**old, "BreakGlassRoleName": "bg"}
    found = {
        ("before-aws-checks", "dev"): old,
        ("before-aws-checks", "staging"): guarded,
        ("before-aws-checks", "prod"): guarded,
    }
    for env in ("dev", "staging", "prod"):
        for name, directory in (
            ("before-role-names", BEFORE_ROLE_NAMES),
            ("before-alert-key", BEFORE_ALERT_KEY),
        ):
            found[(name, env)] = load_parameter_file(directory / f"{env}.params.json")
    return {
        key: (str(FIXTURES / f"templates-{key[0]}" / f"{key[1]}.json"), values)
        for key, values in found.items()
    }


# The tests that read every old template's findings run in one test process,
# which lints those nine templates once.
ON_ONE_PROCESS = pytest.mark.xdist_group("before-findings")


@pytest.fixture(scope="module")
def before_findings(linter) -> dict[tuple[str, str], list[str]]:
    """cfn-lint (the build's linter, rules and all) over each template as it was."""
    return {
        key: linter.lint(
            LintJob(Path(path).read_text(), ("us-east-1",), parameters, "p.json")
        )
        for key, (path, parameters) in _fixture_parameters().items()
    }


@ON_ONE_PROCESS
@pytest.mark.parametrize(
    "fixture_set, env, rule_id, count",
    BEFORE_FINDINGS,
    ids=[f"{f}-{e}-{r}" for f, e, r, _ in BEFORE_FINDINGS],
)
def test_each_rule_catches_its_defect_in_the_templates_as_they_were(
    before_findings, fixture_set, env, rule_id, count
):
    found = before_findings[(fixture_set, env)]
    assert sum(finding.startswith(f"cfn-lint {rule_id} ") for finding in found) == count


# Rules that guard something no template as it was got wrong; each is shown
# to catch its defect planted into today's template, below.
GUARDS_WHAT_WAS_ALREADY_RIGHT = {"E9105", "E9109", "E9110", "E9115"}


@ON_ONE_PROCESS
def test_every_rule_fires_on_the_templates_as_they_were(before_findings):
    fired = {
        finding.split()[1] for found in before_findings.values() for finding in found
    }
    assert set(RULES) - GUARDS_WHAT_WAS_ALREADY_RIGHT <= fired
    assert not GUARDS_WHAT_WAS_ALREADY_RIGHT & fired


def test_e9115_catches_todays_template_without_its_outside_account_deny():
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    assert findings("E9115", template) == []
    planted = copy.deepcopy(template)
    for resource in planted["Resources"].values():
        if resource["Type"] == "AWS::SecretsManager::ResourcePolicy":
            statements = resource["Properties"]["ResourcePolicy"]["Statement"]
            statements[:] = [
                s for s in statements if s.get("Sid") != "DenyPrincipalsOutsideAccount"
            ]
    found = findings("E9115", planted)
    # Both secrets, the policy-change guard and the allow-list (inside its Fn::If).
    assert len(found) == 4 and all("exempts roles of any account" in f for f in found)


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


def test_e9105_catches_a_key_policy_that_shuts_eventbridge_out_of_todays_template():
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    assert findings("E9105", template) == []
    found = findings("E9105", without_eventbridge_key_use(template))
    assert found == [
        "AlertsKey encrypts AlertTopic, which alert rules target, but its policy does not let "
        "events.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt without a Condition: "
        "no alert would be delivered"
    ]


def test_plain_cfn_lint_with_the_repositorys_config_reports_the_rules(tmp_path):
    """As an editor or pre-commit runs it: the CLI, from the repository root, on a planted template."""
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    planted = copy.deepcopy(template)
    planted["Resources"]["SecretAccessDeniedRule"]["Properties"]["State"] = "ENABLED"
    planted["Resources"]["AlpacaCredentials"]["DeletionPolicy"] = "Retain"
    planted = without_eventbridge_key_use(planted)
    path = tmp_path / "planted.json"
    path.write_text(json.dumps(planted, indent=2))
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint
    done = subprocess.run(
        [cfn_lint, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "E9101 SecretAccessDeniedRule matches read-only calls" in done.stdout
    assert "E9121 AlpacaCredentials has DeletionPolicy Retain" in done.stdout
    assert "E9105 AlertsKey encrypts AlertTopic" in done.stdout
    # That the same command passes on the committed templates is the pre-commit
    # hook's test (tests/test_release.py).


def test_the_rule_files_are_part_of_the_lint_cache_key(tmp_path):
    config = tmp_path / ".cfnlintrc"
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "extra.py").write_text("# a rule\n")
    config.write_text("append_rules:\n  - rules\n")
    assert custom_rule_files(config) == [rules / "extra.py"]
    job = LintJob("{}", ("us-east-1",), {}, "p")
    before = LintVerdictCache(tmp_path / "cache", config).key(job)
    (rules / "extra.py").write_text("# a changed rule\n")
    assert LintVerdictCache(tmp_path / "cache", config).key(job) != before


def without_statement(
    template: dict[str, Any], logical_id: str, sid: str
) -> dict[str, Any]:
    """Today's template with one policy statement taken out of one resource."""
    planted = copy.deepcopy(template)
    properties = planted["Resources"][logical_id]["Properties"]
    document = properties.get("KeyPolicy") or properties["PolicyDocument"]
    kept = [s for s in document["Statement"] if s.get("Sid") != sid]
    assert len(kept) == len(document["Statement"]) - 1
    document["Statement"] = kept
    return planted


@pytest.mark.parametrize(
    "rule_id, logical_id, sid, phrase",
    [
        (
            "E9109",
            "AlertsKey",
            "AllowStackAlarmsToPublishToEncryptedTopic",
            "AlertsKey encrypts AlertTopic, which alarms notify, but its policy does not let cloudwatch",
        ),
        (
            "E9110",
            "AlertTopicPolicy",
            "AllowStackAlarmsToPublish",
            "AlertTopicPolicy sets the policy of a topic that alarms notify, but does not let cloudwatch",
        ),
    ],
)
def test_the_alarm_path_rules_catch_todays_template_without_its_statement(
    rule_id, logical_id, sid, phrase
):
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    assert findings(rule_id, template) == []
    found = findings(rule_id, without_statement(template, logical_id, sid))
    assert len(found) == 1 and phrase in found[0]
