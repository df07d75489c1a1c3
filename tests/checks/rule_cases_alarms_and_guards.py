"""Good and bad fragments for the rules on alarms, key watchers and the delete guard (E9106-E9110, E9117, E9118, E9121, E9122).

rule id -> (good template, bad template, a phrase the finding on the bad one holds)
"""

from __future__ import annotations

from typing import Any

from support.rule_fragments import (
    ALL_MUTATIONS,
    CLOUDWATCH_KEY_USE,
    DLQ_TARGET,
    EVENTBRIDGE_KEY_USE,
    SECRET,
    alarm,
    deny,
    resource_policy,
    resources,
    rule,
    topic_policy,
    trail,
)

from generator.checks.cfn_rules import (
    cloudtrail,
)

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
}
