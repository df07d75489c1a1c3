"""The deployed alert rules against CloudTrail events in the shape AWS delivers them, and the alert self-test.

The engine does not turn API calls into CloudTrail events, so the events are
written here after AWS's own examples, and matched with EventBridge's
TestEventPattern against each rule's pattern as CloudFormation resolved it.
The self-test (`trading-secrets alerts-test`) then runs for real: the test
injects the CloudTrail event the engine cannot produce, and the rest of the
path (rule, topic, subscription, queue) is the engine's.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from support.alert_events import ALERTS_KEY_CASES, CASES, REGION, key_call, secret_call
from support.engine import ALERTS, deployed

from generator.environments import ENVIRONMENTS
from generator.ops import cli as ops_cli
from generator.ops.live.alerts import SELF_TEST_TAG

DEV, STAGING = ENVIRONMENTS["dev"], ENVIRONMENTS["staging"]


@pytest.fixture(scope="module")
def dev_stack() -> dict[str, Any]:
    """dev, deployed in this module's own account: its rules' patterns as deployed, and its key."""
    with deployed(ALERTS, DEV) as stacks:
        cloudformation = ALERTS.client("cloudformation")
        resources = cloudformation.describe_stack_resources(StackName=stacks[REGION])[
            "StackResources"
        ]
        events = ALERTS.client("events")
        patterns = {
            r["LogicalResourceId"]: json.loads(
                events.describe_rule(Name=r["PhysicalResourceId"])["EventPattern"]
            )
            for r in resources
            if r["ResourceType"] == "AWS::Events::Rule"
        }
        outputs = cloudformation.describe_stacks(StackName=stacks[REGION])["Stacks"][0][
            "Outputs"
        ]
        key_arn = next(
            o["OutputValue"] for o in outputs if o["OutputKey"] == "SecretsKeyArn"
        )
        alerts_key = next(
            r["PhysicalResourceId"]
            for r in resources
            if r["LogicalResourceId"] == "AlertsKey"
        )
        alerts_key_arn = ALERTS.client("kms").describe_key(KeyId=alerts_key)[
            "KeyMetadata"
        ]["Arn"]
        yield {
            "patterns": patterns,
            "key_arn": key_arn,
            "alerts_key_arn": alerts_key_arn,
        }


@pytest.mark.parametrize(
    "what, event_name, expected", ALERTS_KEY_CASES, ids=[c[0] for c in ALERTS_KEY_CASES]
)
def test_the_alerting_keys_tampering_goes_to_its_own_rule_only(
    dev_stack, what, event_name, expected
):
    events = ALERTS.client("events")
    body = json.dumps(key_call(event_name, dev_stack["alerts_key_arn"]))
    matched = {
        rule
        for rule, pattern in dev_stack["patterns"].items()
        if events.test_event_pattern(EventPattern=json.dumps(pattern), Event=body)[
            "Result"
        ]
    }
    assert matched == expected, what


@pytest.mark.parametrize(
    "what, event, expected", CASES, ids=[case[0] for case in CASES]
)
def test_each_rule_matches_its_events_and_no_other_rule_does(
    dev_stack, what, event, expected
):
    events = ALERTS.client("events")
    body = json.dumps(event(dev_stack["key_arn"]))
    matched = {
        rule
        for rule, pattern in dev_stack["patterns"].items()
        if events.test_event_pattern(EventPattern=json.dumps(pattern), Event=body)[
            "Result"
        ]
    }
    assert matched == expected, what


def test_the_rules_that_watch_reads_receive_read_only_events(dev_stack):
    states = {
        rule["Name"]: rule["State"]
        for rule in ALERTS.client("events").list_rules()["Rules"]
    }
    for name in (
        "trading-dev-secrets-denied-reads",
        "trading-dev-secrets-pending-deletion-reads",
    ):
        assert states[name] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", name


def _inject_the_cloudtrail_event_once_the_tag_is_on(injected: list[bool]) -> None:
    """What CloudTrail would deliver for the self-test's TagResource, sent when the tag appears."""
    secrets, events = ALERTS.client("secretsmanager"), ALERTS.client("events")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tags = {
            t["Key"]: t["Value"]
            for t in secrets.describe_secret(SecretId="trading/dev/alphavantage").get(
                "Tags", []
            )
        }
        if SELF_TEST_TAG in tags:
            record = secret_call(
                "TagResource",
                "trading/dev/alphavantage",
                tags=[{"key": SELF_TEST_TAG, "value": tags[SELF_TEST_TAG]}],
            )
            entry = {
                "Source": record["source"],
                "DetailType": record["detail-type"],
                "Detail": json.dumps(record["detail"]),
            }
            injected.append(events.put_events(Entries=[entry])["FailedEntryCount"] == 0)
            return
        time.sleep(0.2)


def _alerts_test(monkeypatch, capsys, timeout: int) -> tuple[int, str]:
    for name, value in ALERTS.credentials.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = ops_cli.main(["alerts-test", "--env", "dev", "--timeout", str(timeout)])
    return code, capsys.readouterr().out


def _leftovers() -> tuple[list[str], dict[str, str]]:
    queues = (
        ALERTS.client("sqs")
        .list_queues(QueueNamePrefix="trading-dev-alerts-self-test")
        .get("QueueUrls", [])
    )
    tags = {
        t["Key"]: t["Value"]
        for t in ALERTS.client("secretsmanager")
        .describe_secret(SecretId="trading/dev/alphavantage")
        .get("Tags", [])
    }
    return queues, tags


def test_the_self_test_sees_its_alert_arrive_and_removes_what_it_made(
    dev_stack, monkeypatch, capsys
):
    injected: list[bool] = []
    injector = threading.Thread(
        target=_inject_the_cloudtrail_event_once_the_tag_is_on, args=(injected,)
    )
    injector.start()
    code, out = _alerts_test(monkeypatch, capsys, timeout=30)
    injector.join()
    assert injected == [True]
    assert code == 0, out
    assert "dev in us-east-1: the alert arrived after" in out
    queues, tags = _leftovers()
    assert queues == [] and SELF_TEST_TAG not in tags
    subscriptions = ALERTS.client("sns").list_subscriptions()["Subscriptions"]
    assert not [s for s in subscriptions if "alerts-self-test" in s["Endpoint"]]


def test_without_an_alert_the_self_test_exits_1_and_says_what_to_check(
    dev_stack, monkeypatch, capsys
):
    code, out = _alerts_test(monkeypatch, capsys, timeout=2)
    assert code == 1
    assert "dev in us-east-1: no alert within" in out
    assert "a CloudTrail trail logs management events in us-east-1" in out
    assert "the FailedInvocations metric of SecretChangeRule" in out
    assert (
        "the dead-letter queue trading-dev-secrets-alerts-dlq: 0 undelivered alert(s)"
        in out
    )
    queues, tags = _leftovers()
    assert queues == [] and SELF_TEST_TAG not in tags


def test_status_fails_the_gate_while_an_alert_waits_in_the_dead_letter_queue(
    dev_stack, monkeypatch, capsys
):
    sqs = ALERTS.client("sqs")
    url = sqs.get_queue_url(QueueName="trading-dev-secrets-alerts-dlq")["QueueUrl"]
    for name, value in ALERTS.credentials.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert ops_cli.main(["status", "--env", "dev"]) == 0
    assert (
        "dead-letter queue trading-dev-secrets-alerts-dlq in us-east-1: 0 undelivered alert(s)"
        in capsys.readouterr().out
    )
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps({"detail-type": "AWS API Call via CloudTrail"}),
    )
    try:
        code = ops_cli.main(["status", "--env", "dev", "--json"])
        document = json.loads(capsys.readouterr().out)
    finally:
        sqs.purge_queue(QueueUrl=url)
    assert code == 1 and document["ok"] is False
    assert document["dead_letter_queues"] == [
        {
            "queue": "trading-dev-secrets-alerts-dlq",
            "region": "us-east-1",
            "messages": 1,
            "error": None,
        }
    ]
