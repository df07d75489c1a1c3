"""Good and bad fragments for the rules on alert delivery and on the secrets' policies (E9101-E9105, E9111-E9116, E9119).

rule id -> (good template, bad template, a phrase the finding on the bad one holds)
"""

from __future__ import annotations

from typing import Any

from support.rule_fragments import (
    ALL_MUTATIONS,
    ANY_ACCOUNT_DEPLOYERS,
    DLQ_POLICY,
    DLQ_TARGET,
    EVENTBRIDGE_KEY_USE,
    KEY,
    KEY_CALLS,
    OUTSIDE_ACCOUNT_DENY,
    ROLE,
    ROLE_ANY_PATH,
    SECRET,
    TOPIC_POLICY_ALLOW,
    deny,
    email_alerts,
    encrypted_alert_topic,
    queue_policy_for,
    resource_policy,
    resources,
    rule,
    trail,
)

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
