"""Template fragments for the AWS-semantics rules' tests, and the rules themselves, found as .cfnlintrc loads them."""

from __future__ import annotations

import copy
import importlib
import pkgutil
from types import SimpleNamespace
from typing import Any

from generator.checks import cfn_rules
from generator.checks.cfn_rules import cloudtrail, watchers
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


ALL_ALERT_PATH_CALLS = sorted(
    {call for calls in watchers.ALERT_PATH_CALLS.values() for call in calls}
)


def alert_path(calls: list[str], to: str) -> dict[str, Any]:
    """An alert rule R on topic T, and a rule Watch on `calls` to the alert path, delivering to `to`."""
    target = {"Ref": "T"} if to == "T" else {"Fn::GetAtt": [to, "Arn"]}
    return resources(
        T={"Type": "AWS::SNS::Topic", "Properties": {}},
        Q={"Type": "AWS::SQS::Queue", "Properties": {}},
        R=rule(
            trail("secretsmanager", "PutSecretValue"),
            targets=[{"Id": "T", "Arn": {"Ref": "T"}}],
        ),
        Watch=rule(
            {
                "source": ["aws.events", "aws.sns", "aws.sqs", "aws.cloudwatch"],
                "detail-type": ["AWS API Call via CloudTrail"],
                "detail": {
                    "userIdentity": {
                        "invokedBy": [
                            {"anything-but": "cloudformation.amazonaws.com"},
                            {"exists": False},
                        ]
                    },
                    "$or": [{"eventName": calls}],
                },
            },
            targets=[{"Id": "W", "Arn": target}],
        ),
    )


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


# Each rule on a good fragment and a bad one: rule id -> (good template, bad template,
# a phrase the finding on the bad one holds). The bad ones are also planted for plain
# cfn-lint (tests/checks/test_cfn_lint_cli.py).
DELIVERY_AND_POLICY_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
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
}


ALARM_AND_GUARD_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
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
    "E9124": (
        resources(
            K={
                "Type": "AWS::KMS::Key",
                "DeletionPolicy": "RetainExceptOnCreate",
                "UpdateReplacePolicy": "Retain",
            },
            A={
                "Type": "AWS::KMS::Alias",
                "DeletionPolicy": "RetainExceptOnCreate",
                "UpdateReplacePolicy": "Retain",
                "Properties": {"AliasName": "alias/a", "TargetKeyId": {"Ref": "K"}},
            },
        ),
        resources(
            K={
                "Type": "AWS::KMS::Key",
                "DeletionPolicy": "RetainExceptOnCreate",
                "UpdateReplacePolicy": "Retain",
            },
            A={
                "Type": "AWS::KMS::Alias",
                "Properties": {"AliasName": "alias/a", "TargetKeyId": {"Ref": "K"}},
            },
        ),
        "A is deleted with the stack while the key it names, K, is retained",
    ),
    "E9123": (
        alert_path(ALL_ALERT_PATH_CALLS, to="Q"),
        alert_path([c for c in ALL_ALERT_PATH_CALLS if c != "RemoveTargets"], to="T"),
        "Watch watches the alert path but misses (it must deliver straight to a queue), RemoveTargets",
    ),
}

CASES = {**DELIVERY_AND_POLICY_CASES, **ALARM_AND_GUARD_CASES}
