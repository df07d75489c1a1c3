"""CloudTrail and Secrets Manager events as EventBridge delivers them, written after AWS's examples, and the cases each alert rule must match."""

from __future__ import annotations

import uuid
from typing import Any

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
