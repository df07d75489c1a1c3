"""status decides each secret's state and the go-live gate from what AWS returns, without showing a value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from support.fake_aws import offline_client

from generator import tagging
from generator.catalogue import ALPHAVANTAGE
from generator.environments import ENVIRONMENTS
from generator.ops.live.status import secret_status

PROD = ENVIRONMENTS["prod"]
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _described(tags: dict[str, str]) -> dict[str, Any]:
    return {
        "ARN": "arn:aws:secretsmanager:us-east-1:111111111111:secret:trading/prod/alphavantage-AbCdEf",
        "Name": "trading/prod/alphavantage",
        "KmsKeyId": "arn:aws:kms:us-east-1:111111111111:key/k",
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }


def _status(stored: dict[str, Any] | None, age_days: float = 1, **tag_overrides: str):
    client = offline_client()
    tags = {**tagging.secret_tags(PROD, ALPHAVANTAGE), **tag_overrides}
    with Stubber(client) as stub:
        stub.add_response("describe_secret", _described(tags))
        created = NOW - timedelta(days=age_days)
        versions = (
            []
            if stored is None
            else [
                {
                    "VersionId": "c" * 32,
                    "VersionStages": ["AWSCURRENT"],
                    "CreatedDate": created,
                }
            ]
        )
        stub.add_response("list_secret_version_ids", {"Versions": versions})
        if stored is not None:
            stub.add_response("get_secret_value", {"VersionId": "c" * 32, **stored})
        return secret_status(PROD, ALPHAVANTAGE, "us-east-1", client, now=NOW)


@pytest.mark.parametrize(
    "stored, age_days, tag_overrides, state, gate",
    [
        (None, 1, {}, "EMPTY", ["EMPTY in prod: put the real value before go-live"]),
        (
            {"SecretString": '{"apiKey":"PLACEHOLDER-x"}'},
            1,
            {},
            "PLACEHOLDER",
            ["PLACEHOLDER in prod: put the real value before go-live"],
        ),
        # Written out of band in lower case: still a placeholder (the gate once passed it).
        (
            {"SecretString": '{"apiKey":"placeholder-typed-by-hand"}'},
            1,
            {},
            "PLACEHOLDER",
            ["PLACEHOLDER in prod: put the real value before go-live"],
        ),
        ({"SecretString": '{"apiKey":"FAKE-ok"}'}, 1, {}, "SET", []),
        (
            {"SecretString": '{"apiKey":"FAKE-ok"}'},
            91,
            {},
            "SET",
            [
                "AWSCURRENT is 91.0 days old, over its RotationIntervalDays of 90: rotate it"
            ],
        ),
        (
            {"SecretString": "not json"},
            1,
            {},
            "INVALID",
            [
                "value does not match the schema: not a JSON document (Expecting value at line 1 column 1)"
            ],
        ),
        (
            {"SecretBinary": b"\x00\x01"},
            1,
            {},
            "INVALID",
            [
                "value does not match the schema: the value is binary (SecretBinary), not a JSON document"
            ],
        ),
        (
            {"SecretString": '{"apiKey":"FAKE-ok"}'},
            1,
            {"RotationIntervalDays": "soon"},
            "SET",
            ["no valid RotationIntervalDays tag, so rotation cannot be tracked"],
        ),
    ],
    ids=[
        "empty",
        "placeholder",
        "lower-case-placeholder",
        "set",
        "overdue",
        "not-json",
        "binary",
        "bad-interval-tag",
    ],
)
def test_status_decides_state_and_gate_from_what_aws_returns(
    stored, age_days, tag_overrides, state, gate
):
    status = _status(stored, age_days, **tag_overrides)
    assert status.state.value == state
    assert list(status.gate_problems) == gate
    assert "FAKE-ok" not in json.dumps(
        status.as_json()
    ) and "typed-by-hand" not in json.dumps(status.as_json())
    assert status.tag_drift == ()


def test_status_reports_tags_that_drifted_from_the_template():
    client = offline_client()
    tags = {**tagging.secret_tags(PROD, ALPHAVANTAGE), "Owner": "someone-else"}
    del tags["CostCenter"]
    with Stubber(client) as stub:
        stub.add_response("describe_secret", _described(tags))
        stub.add_response("list_secret_version_ids", {"Versions": []})
        status = secret_status(PROD, ALPHAVANTAGE, "us-east-1", client)
    assert status.tag_drift == (
        "tag Owner is 'someone-else', expected 'platform-engineering'",
        "tag CostCenter is missing",
    )


def test_a_region_that_does_not_answer_by_the_deadline_is_unknown_and_the_gate_exits_11(
    monkeypatch, capsys
):
    import threading
    import time

    from generator.ops import cli
    from generator.ops.live import status as live_status
    from generator.ops.live.alerts import DeadLetters
    from generator.ops.live.deployed import Placement

    released = threading.Event()

    def region_status(env, region, aws, now=None):
        if region == "us-west-2":
            released.wait(30)  # hung, as a frozen endpoint leaves a call
        rows = tuple(
            live_status.SecretStatus(
                f"trading/prod/{name}", region, live_status.State.SET
            )
            for name in ("alphavantage", "alpaca")
        )
        return live_status.RegionStatus(
            region,
            rows,
            Placement(region, "trading-prod-secrets"),
            DeadLetters("q", region, 0),
        )

    monkeypatch.setattr(live_status, "_region_status", region_status)
    started = time.monotonic()
    try:
        code = cli.status(
            PROD, PROD.regions, None, as_json=False, deadline=started + 0.5
        )
    finally:
        released.set()
    assert time.monotonic() - started < 5
    assert code == 11
    out = capsys.readouterr().out
    assert [
        line.split()[1:3]
        for line in out.splitlines()
        if line.startswith("trading/prod/")
    ] == [
        ["us-east-1", "SET"],
        ["us-west-2", "UNKNOWN"],
        ["us-east-1", "SET"],
        ["us-west-2", "UNKNOWN"],
    ]
    assert out.splitlines()[-1] == (
        "prod: UNKNOWN: us-west-2 did not answer by the deadline, so the gate cannot be decided there; "
        "all 2 secret(s) pass the go-live gate in the regions that did"
    )


@pytest.mark.parametrize(
    "message, kind, says",
    [
        (
            {
                "Body": "{}",
                "MessageAttributes": {
                    "RULE_ARN": {
                        "StringValue": "arn:aws:events:us-east-1:1:rule/trading-prod-secrets-changes"
                    },
                    "ERROR_CODE": {"StringValue": "NO_PERMISSIONS"},
                },
            },
            "undelivered",
            "an alert of trading-prod-secrets-changes EventBridge could not deliver (NO_PERMISSIONS)",
        ),
        (
            {
                "Body": json.dumps(
                    {
                        "detail": {
                            "eventSource": "sns.amazonaws.com",
                            "eventName": "Unsubscribe",
                            "eventTime": "2026-12-06T10:00:00Z",
                            "userIdentity": {
                                "arn": "arn:aws:sts::1:assumed-role/ops/mallory"
                            },
                        }
                    }
                )
            },
            "change",
            "Unsubscribe on the alert topic by arn:aws:sts::1:assumed-role/ops/mallory at 2026-12-06T10:00:00Z",
        ),
        (
            {"Body": json.dumps({"Type": "Notification", "Message": "..."})},
            "undelivered",
            "an alert email SNS could not deliver",
        ),
        ({"Body": "not json"}, "undelivered", "a message that is not an event"),
    ],
    ids=["eventbridge-dead-letter", "alert-path-change", "sns-redrive", "garbage"],
)
def test_each_dead_letter_is_said_for_what_it_is(message, kind, says):
    from generator.ops.live.alerts import describe_message

    assert describe_message(message) == (kind, says)


@pytest.mark.parametrize(
    ("confirmed", "pending", "says"),
    [
        # The committed parameter files' address: no link can ever confirm it.
        (
            (),
            ("email trading-prod-alerts@example.invalid",),
            [
                "is the committed placeholder, which can never receive mail",
                "has no confirmed subscriber",
            ],
        ),
        (
            (),
            ("email oncall@trading-desk.internal",),
            [
                "oncall@trading-desk.internal has not confirmed its subscription",
                "has no confirmed subscriber",
            ],
        ),
        # Someone still pending beside a confirmed subscriber: alerts reach one person, not the other.
        (
            ("email oncall@trading-desk.internal",),
            ("email second@trading-desk.internal",),
            ["second@trading-desk.internal has not confirmed its subscription"],
        ),
        (("email oncall@trading-desk.internal",), (), []),
    ],
)
def test_alerts_that_may_reach_nobody_are_named(confirmed, pending, says):
    from generator.ops.live.deployed import Subscriptions, _unheard

    unheard = _unheard(
        "topic t in us-east-1",
        "arn:aws:sns:us-east-1:111111111111:t",
        Subscriptions(confirmed, pending),
    )
    assert len(unheard) == len(says)
    for line, expected in zip(unheard, says, strict=True):
        assert expected in line
