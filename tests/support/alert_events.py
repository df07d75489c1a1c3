"""CloudTrail and Secrets Manager events as EventBridge delivers them, written after AWS's examples, and the cases each alert rule must match."""

from __future__ import annotations

import uuid
from typing import Any

from generator.naming import TOOL_USER_AGENT
from support.engine import TAMPERING as ACCOUNT

REGION = "us-east-1"
# The environment whose stack the rules are tested on, and another one, whose events they must not match.
ENV, OTHER_ENV = "staging", "dev"


def cloudtrail_event(
    source: str, event_name: str, read_only: bool, **record: Any
) -> dict[str, Any]:
    """An "AWS API Call via CloudTrail" event as EventBridge delivers it: the CloudTrail record is its detail."""
    service = source.removeprefix("aws.")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "account": ACCOUNT.account_id,
        "time": "2026-11-29T12:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": f"arn:aws:sts::{ACCOUNT.account_id}:assumed-role/ops/alice",
            },
            "eventTime": "2026-11-29T12:00:00Z",
            "eventSource": f"{service}.amazonaws.com",
            "eventName": event_name,
            "awsRegion": REGION,
            "sourceIPAddress": "192.0.2.0",
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "recipientAccountId": ACCOUNT.account_id,
            **record,
        },
    }


def secret_call(
    event_name: str,
    secret_id: str,
    read_only: bool = False,
    tags: list[dict[str, str]] | None = None,
    **record: Any,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "secretId": secret_id,
        **({"tags": tags} if tags else {}),
    }
    return cloudtrail_event(
        "aws.secretsmanager", event_name, read_only, requestParameters=request, **record
    )


def key_call(event_name: str, key_arn: str) -> dict[str, Any]:
    # CloudTrail names the key in `resources`; the request may name it by id only.
    return cloudtrail_event(
        "aws.kms",
        event_name,
        False,
        requestParameters={"keyId": key_arn.rsplit("/", 1)[1]},
        resources=[
            {"accountId": ACCOUNT.account_id, "type": "AWS::KMS::Key", "ARN": key_arn}
        ],
    )


ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT.account_id}:secret:trading/{ENV}/alpaca-AbCdEf"


def service_event(event_name: str, secret_arn: str = ARN) -> dict[str, Any]:
    """An "AWS Service Event via CloudTrail" of Secrets Manager's own, after AWS's rotation and deletion examples."""
    event = cloudtrail_event(
        "aws.secretsmanager",
        event_name,
        False,
        userIdentity={
            "accountId": ACCOUNT.account_id,
            "invokedBy": "secretsmanager.amazonaws.com",
        },
        eventType="AwsServiceEvent",
        additionalEventData={"SecretId": secret_arn},
        serviceEventDetails={"secretId": secret_arn},
    )
    event["detail-type"] = "AWS Service Event via CloudTrail"
    return event


DENIED = {
    "errorCode": "AccessDenied",
    "errorMessage": "User is not authorized to perform: secretsmanager:GetSecretValue",
}


PENDING = {
    "errorCode": "InvalidRequestException",
    "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
}


OTHER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT.account_id}:key/00000000-0000-0000-0000-000000000000"


# (what happened, the event, the rules that must match it; every other rule must not)
CASES = [
    (
        "PutSecretValue by name",
        lambda key: secret_call("PutSecretValue", f"trading/{ENV}/alpaca"),
        {"SecretChangeRule"},
    ),
    (
        "PutSecretValue by ARN",
        lambda key: secret_call("PutSecretValue", ARN),
        {"SecretChangeRule"},
    ),
    (
        "ReplicateSecretToRegions",
        lambda key: secret_call("ReplicateSecretToRegions", f"trading/{ENV}/alpaca"),
        {"SecretChangeRule"},
    ),
    (
        "denied GetSecretValue",
        lambda key: secret_call(
            "GetSecretValue", f"trading/{ENV}/alpaca", True, **DENIED
        ),
        {"SecretAccessDeniedRule"},
    ),
    (
        "GetSecretValue on a secret pending deletion",
        lambda key: secret_call("GetSecretValue", ARN, True, **PENDING),
        {"PendingDeletionAccessRule"},
    ),
    (
        "DisableKey on the stack's key",
        lambda key: key_call("DisableKey", key),
        {"KeyChangeRule"},
    ),
    (
        "ScheduleKeyDeletion on the stack's key",
        lambda key: key_call("ScheduleKeyDeletion", key),
        {"KeyChangeRule"},
    ),
    (
        "PutKeyPolicy on the stack's key",
        lambda key: key_call("PutKeyPolicy", key),
        {"KeyChangeRule"},
    ),
    (
        "another environment's secret",
        lambda key: secret_call("PutSecretValue", f"trading/{OTHER_ENV}/alpaca"),
        set(),
    ),
    (
        "another environment's secret, denied",
        lambda key: secret_call(
            "GetSecretValue", f"trading/{OTHER_ENV}/alpaca", True, **DENIED
        ),
        set(),
    ),
    ("another key", lambda key: key_call("ScheduleKeyDeletion", OTHER_KEY), set()),
    (
        "AssociateCrossAccountReplica: a copy of the value into another account",
        lambda key: secret_call("AssociateCrossAccountReplica", ARN),
        {"SecretChangeRule"},
    ),
    (
        "DisassociateCrossAccountReplica",
        lambda key: secret_call(
            "DisassociateCrossAccountReplica", f"trading/{ENV}/alpaca"
        ),
        {"SecretChangeRule"},
    ),
    (
        "EndSecretVersionDelete: a version gone for good",
        lambda key: service_event("EndSecretVersionDelete"),
        {"SecretServiceEventRule"},
    ),
    (
        "StartSecretVersionDelete",
        lambda key: service_event("StartSecretVersionDelete"),
        {"SecretServiceEventRule"},
    ),
    (
        "RotationFailed",
        lambda key: service_event("RotationFailed"),
        {"SecretServiceEventRule"},
    ),
    (
        "another environment's service event",
        lambda key: service_event(
            "EndSecretVersionDelete",
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT.account_id}:secret:trading/{OTHER_ENV}/alpaca-AbCdEf",
        ),
        set(),
    ),
    (
        "a successful read",
        lambda key: secret_call("GetSecretValue", f"trading/{ENV}/alpaca", True),
        set(),
    ),
]


# Cases on the alerting's own key: its events go to the rule that writes to the dead-letter queue.
ALERTS_KEY_CASES = [
    ("DisableKey on the alerting key", "DisableKey", {"AlertsKeyChangeRule"}),
    (
        "ScheduleKeyDeletion on the alerting key",
        "ScheduleKeyDeletion",
        {"AlertsKeyChangeRule"},
    ),
]


# The alert path's own calls, as CloudTrail records them: by a person with the AWS CLI, by
# CloudFormation on a deploy (userIdentity.invokedBy), and by trading-secrets' own steps
# (its user agent names it: generator/naming.py, TOOL_USER_AGENT).
A_PERSON = "aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.8"
THE_TOOL = f"Boto3/1.40.55 md/Botocore#1.40.55 ua/2.1 os/linux#6.1 lang/python#3.11.7 {TOOL_USER_AGENT}"
_EVENT_SOURCES = {"cloudwatch": "monitoring.amazonaws.com"}


def alert_path_call(
    event_name: str,
    service: str = "events",
    *,
    by_cloudformation: bool = False,
    user_agent: str = A_PERSON,
    **request: Any,
) -> dict[str, Any]:
    """One call on the alert path as EventBridge delivers it from CloudTrail."""
    event = cloudtrail_event(
        f"aws.{service}", event_name, False, requestParameters=request
    )
    event["detail"]["eventSource"] = _EVENT_SOURCES.get(
        service, f"{service}.amazonaws.com"
    )
    event["detail"]["userAgent"] = (
        "cloudformation.amazonaws.com" if by_cloudformation else user_agent
    )
    if by_cloudformation:
        # CloudFormation acts with the deployer's credentials, and says so.
        event["detail"]["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com"
        event["detail"]["sourceIPAddress"] = "cloudformation.amazonaws.com"
    return event


_NAME = f"trading-{ENV}-secrets"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT.account_id}:{_NAME}-alerts"
QUEUE = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT.account_id}/{_NAME}-alerts-dlq"
SUBSCRIPTION = f"{TOPIC}:2d985378-1672-446f-bd94-9eceb49d2a20"
CHANGES = {"AlertPathChangeRule"}

# (what happened, the event, the rules that must match it; every other rule must not)
ALERT_PATH_CASES = [
    (
        "RemoveTargets of a stack rule",
        alert_path_call("RemoveTargets", rule=f"{_NAME}-changes", ids=["AlertTopic"]),
        CHANGES,
    ),
    (
        "PutTargets on a stack rule",
        alert_path_call("PutTargets", rule=f"{_NAME}-changes"),
        CHANGES,
    ),
    (
        "DisableRule of a stack rule",
        alert_path_call("DisableRule", name=f"{_NAME}-key-changes"),
        CHANGES,
    ),
    (
        "PutRule on a stack rule",
        alert_path_call("PutRule", name=f"{_NAME}-changes"),
        CHANGES,
    ),
    (
        "DeleteRule of a stack rule",
        alert_path_call("DeleteRule", name=f"{_NAME}-changes"),
        CHANGES,
    ),
    (
        "PutRule by CloudFormation, on a deploy",
        alert_path_call("PutRule", by_cloudformation=True, name=f"{_NAME}-changes"),
        set(),
    ),
    (
        "PutRule on another environment's rule",
        alert_path_call("PutRule", name=f"trading-{OTHER_ENV}-secrets-changes"),
        set(),
    ),
    (
        "SetTopicAttributes of the alert topic",
        alert_path_call("SetTopicAttributes", "sns", topicArn=TOPIC),
        CHANGES,
    ),
    (
        "SetTopicAttributes of another topic",
        alert_path_call("SetTopicAttributes", "sns", topicArn=f"{TOPIC}-elsewhere"),
        set(),
    ),
    (
        "DeleteTopic of the alert topic",
        alert_path_call("DeleteTopic", "sns", topicArn=TOPIC),
        CHANGES,
    ),
    (
        "AddPermission on the alert topic",
        alert_path_call("AddPermission", "sns", topicArn=TOPIC),
        CHANGES,
    ),
    (
        "Subscribe to the alert topic, by a person",
        alert_path_call(
            "Subscribe",
            "sns",
            topicArn=TOPIC,
            protocol="https",
            endpoint="https://example.com/x",
        ),
        CHANGES,
    ),
    (
        "Subscribe by trading-secrets alerts-test",
        alert_path_call(
            "Subscribe", "sns", user_agent=THE_TOOL, topicArn=TOPIC, protocol="sqs"
        ),
        set(),
    ),
    (
        "Subscribe by CloudFormation, on a deploy",
        alert_path_call(
            "Subscribe", "sns", by_cloudformation=True, topicArn=TOPIC, protocol="email"
        ),
        set(),
    ),
    (
        "Unsubscribe from the alert topic",
        alert_path_call("Unsubscribe", "sns", subscriptionArn=SUBSCRIPTION),
        CHANGES,
    ),
    (
        "Unsubscribe by trading-secrets alerts-test",
        alert_path_call(
            "Unsubscribe", "sns", user_agent=THE_TOOL, subscriptionArn=SUBSCRIPTION
        ),
        set(),
    ),
    (
        "SetSubscriptionAttributes: a filter policy",
        alert_path_call(
            "SetSubscriptionAttributes",
            "sns",
            subscriptionArn=SUBSCRIPTION,
            attributeName="FilterPolicy",
        ),
        CHANGES,
    ),
    (
        "PurgeQueue of the dead-letter queue, by a person",
        alert_path_call("PurgeQueue", "sqs", queueUrl=QUEUE),
        CHANGES,
    ),
    (
        "PurgeQueue by trading-secrets dead-letters --purge",
        alert_path_call("PurgeQueue", "sqs", user_agent=THE_TOOL, queueUrl=QUEUE),
        set(),
    ),
    (
        "SetQueueAttributes of the dead-letter queue",
        alert_path_call(
            "SetQueueAttributes", "sqs", queueUrl=QUEUE, attributes={"Policy": "..."}
        ),
        CHANGES,
    ),
    (
        "SetQueueAttributes of the self-test's own temporary queue",
        alert_path_call(
            "SetQueueAttributes",
            "sqs",
            queueUrl=QUEUE.replace("secrets-alerts-dlq", "alerts-self-test-1a2b3c4d"),
        ),
        set(),
    ),
    (
        "DeleteAlarms of a stack alarm",
        alert_path_call(
            "DeleteAlarms", "cloudwatch", alarmNames=[f"{_NAME}-undelivered-alerts"]
        ),
        CHANGES,
    ),
    (
        "DisableAlarmActions of a stack alarm",
        alert_path_call(
            "DisableAlarmActions", "cloudwatch", alarmNames=[f"{_NAME}-changes-failed"]
        ),
        CHANGES,
    ),
    (
        "PutMetricAlarm on a stack alarm",
        alert_path_call(
            "PutMetricAlarm", "cloudwatch", alarmName=f"{_NAME}-undelivered-alerts"
        ),
        CHANGES,
    ),
    (
        "PutMetricAlarm by CloudFormation, on a deploy",
        alert_path_call(
            "PutMetricAlarm",
            "cloudwatch",
            by_cloudformation=True,
            alarmName=f"{_NAME}-undelivered-alerts",
        ),
        set(),
    ),
]
