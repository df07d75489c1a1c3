"""The alert path and the go-live gate on a deployed staging stack: what the rules match, that an alert arrives,
and that tampering which leaves every value intact fails the gate until it is undone.

The engine does not turn API calls into CloudTrail events, so the events are
written here after AWS's own examples (tests/support/alert_events.py), and
matched with EventBridge's TestEventPattern against each rule's pattern as
CloudFormation resolved it. The self-test (`trading-secrets alerts-test`) then
runs for real: the test injects the CloudTrail event the engine cannot
produce, and the rest of the path (rule, topic, subscription, queue) is the
engine's.

Then `status` on staging as deployed (placeholders pass its gate): a secret
moved to another key; a key disabled, pending deletion, or with rotation off;
a statement cut from a resource policy, or the whole policy; an alert rule
disabled. Each is made, seen, undone and seen again. One stack, in an account
of its own, serves every test here; each test puts back what it changed.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from support.alert_events import (
    ALERT_PATH_CASES,
    ALERTS_KEY_CASES,
    CASES,
    REGION,
    alert_path_call,
    key_call,
    secret_call,
)
from support.engine import TAMPERING, confirm_alert_subscriptions, deployed
from support.repository import ROOT, commands_in_code_blocks
from support.tool_runs import run_tool

from generator.environments import ENVIRONMENTS
from generator.ops import cli as ops_cli
from generator.ops.live.alerts import SELF_TEST_TAG

STAGING = ENVIRONMENTS["staging"]
ACCOUNT = TAMPERING
SECRET = "trading/staging/alpaca"
RULE = "trading-staging-secrets-changes"
ALARM = "trading-staging-secrets-undelivered-alerts"
SUBSCRIBER = "trading-staging-alerts@example.invalid"
# An allow-list, so that the resource policy holds its conditional statement too.
READERS = "quote-fetcher"
SECRETS_KEY, ALERTS_KEY = (
    "alias/trading-staging-secrets",
    "alias/trading-staging-secrets-alerts",
)


@pytest.fixture(scope="module")
def staging() -> Iterator[dict[str, Any]]:
    """staging, deployed in this module's own account: its rules' patterns as deployed, and its keys."""
    with deployed(ACCOUNT, STAGING, ReaderRoleNames=READERS) as stacks:
        # Its alerts reach a person only once the subscription is confirmed: the gate wants that first.
        assert confirm_alert_subscriptions(ACCOUNT) == [SUBSCRIBER]
        cloudformation = ACCOUNT.client("cloudformation")
        resources = cloudformation.describe_stack_resources(StackName=stacks[REGION])[
            "StackResources"
        ]
        events = ACCOUNT.client("events")
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
        alerts_key_arn = ACCOUNT.client("kms").describe_key(KeyId=alerts_key)[
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
    staging, what, event_name, expected
):
    events = ACCOUNT.client("events")
    body = json.dumps(key_call(event_name, staging["alerts_key_arn"]))
    matched = {
        rule
        for rule, pattern in staging["patterns"].items()
        if events.test_event_pattern(EventPattern=json.dumps(pattern), Event=body)[
            "Result"
        ]
    }
    assert matched == expected, what


@pytest.mark.parametrize(
    "what, event, expected", CASES, ids=[case[0] for case in CASES]
)
def test_each_rule_matches_its_events_and_no_other_rule_does(
    staging, what, event, expected
):
    events = ACCOUNT.client("events")
    body = json.dumps(event(staging["key_arn"]))
    matched = {
        rule
        for rule, pattern in staging["patterns"].items()
        if events.test_event_pattern(EventPattern=json.dumps(pattern), Event=body)[
            "Result"
        ]
    }
    assert matched == expected, what


@pytest.mark.parametrize(
    "what, event, expected",
    ALERT_PATH_CASES,
    ids=[case[0] for case in ALERT_PATH_CASES],
)
def test_the_alert_path_rule_sees_its_changes_but_never_cloudformations_or_the_tools_own(
    staging, what, event, expected
):
    """Recorded CloudTrail shapes against the deployed patterns: the engine delivers no CloudTrail event, so only this shows it."""
    events = ACCOUNT.client("events")
    matched = {
        rule
        for rule, pattern in staging["patterns"].items()
        if events.test_event_pattern(
            EventPattern=json.dumps(pattern), Event=json.dumps(event)
        )["Result"]
    }
    assert matched == expected, what


def test_the_rules_that_watch_reads_receive_read_only_events(staging):
    states = {
        rule["Name"]: rule["State"]
        for rule in ACCOUNT.client("events").list_rules()["Rules"]
    }
    for name in (
        "trading-staging-secrets-denied-reads",
        "trading-staging-secrets-pending-deletion-reads",
    ):
        assert states[name] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", name


def _inject_the_cloudtrail_event_once_the_tag_is_on(injected: list[bool]) -> None:
    """What CloudTrail would deliver for the self-test's TagResource, sent when the tag appears."""
    secrets, events = ACCOUNT.client("secretsmanager"), ACCOUNT.client("events")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tags = {
            t["Key"]: t["Value"]
            for t in secrets.describe_secret(
                SecretId="trading/staging/alphavantage"
            ).get("Tags", [])
        }
        if SELF_TEST_TAG in tags:
            record = secret_call(
                "TagResource",
                "trading/staging/alphavantage",
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
    for name, value in ACCOUNT.credentials.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = ops_cli.main(["alerts-test", "--env", "staging", "--timeout", str(timeout)])
    return code, capsys.readouterr().out


def _leftovers() -> tuple[list[str], dict[str, str]]:
    queues = (
        ACCOUNT.client("sqs")
        .list_queues(QueueNamePrefix="trading-staging-alerts-self-test")
        .get("QueueUrls", [])
    )
    tags = {
        t["Key"]: t["Value"]
        for t in ACCOUNT.client("secretsmanager")
        .describe_secret(SecretId="trading/staging/alphavantage")
        .get("Tags", [])
    }
    return queues, tags


def test_the_self_test_sees_its_alert_arrive_and_removes_what_it_made(
    staging, monkeypatch, capsys
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
    assert "staging in us-east-1: the alert arrived after" in out
    queues, tags = _leftovers()
    assert queues == [] and SELF_TEST_TAG not in tags
    subscriptions = ACCOUNT.client("sns").list_subscriptions()["Subscriptions"]
    assert not [s for s in subscriptions if "alerts-self-test" in s["Endpoint"]]


def test_without_an_alert_the_self_test_exits_1_and_says_what_to_check(
    staging, monkeypatch, capsys
):
    code, out = _alerts_test(monkeypatch, capsys, timeout=2)
    assert code == 1
    assert "staging in us-east-1: no alert within" in out
    assert "a CloudTrail trail logs management events in us-east-1" in out
    assert "the FailedInvocations metric of SecretChangeRule" in out
    assert (
        "the dead-letter queue trading-staging-secrets-alerts-dlq: 0 undelivered alert(s)"
        in out
    )
    queues, tags = _leftovers()
    assert queues == [] and SELF_TEST_TAG not in tags


def test_status_tells_a_change_to_the_alert_path_from_an_undelivered_alert_and_dead_letters_clears_both(
    staging, monkeypatch, capsys
):
    """Both kinds of message the dead-letter queue gets fail the gate, each said for what it is; read and purged by the tool."""
    sqs = ACCOUNT.client("sqs")
    url = sqs.get_queue_url(QueueName="trading-staging-secrets-alerts-dlq")["QueueUrl"]
    for name, value in ACCOUNT.credentials.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert ops_cli.main(["status", "--env", "staging"]) == 0
    assert (
        "dead-letter queue trading-staging-secrets-alerts-dlq in us-east-1: 0 message(s)"
        in capsys.readouterr().out
    )
    # What EventBridge puts there when it cannot deliver to the topic (EventBridge User Guide,
    # "Using dead-letter queues"), and what AlertPathChangeRule delivers there itself.
    rule_arn = f"arn:aws:events:us-east-1:{ACCOUNT.account_id}:rule/{RULE}"
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(secret_call("PutSecretValue", SECRET)),
        MessageAttributes={
            "RULE_ARN": {"DataType": "String", "StringValue": rule_arn},
            "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
        },
    )
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(alert_path_call("RemoveTargets", rule=RULE)),
    )
    try:
        code = ops_cli.main(["status", "--env", "staging", "--json"])
        document = json.loads(capsys.readouterr().out)
        table_code = ops_cli.main(["status", "--env", "staging"])
        table = capsys.readouterr().out
        listed = ops_cli.main(["dead-letters", "--env", "staging"])
        letters = capsys.readouterr().out
    finally:
        purged = ops_cli.main(["dead-letters", "--env", "staging", "--purge", "--yes"])
    assert code == table_code == 1 and document["ok"] is False
    [queue] = document["dead_letter_queues"]
    assert queue["messages"] == 2
    assert queue["undelivered"] == [
        f"an alert of {RULE} EventBridge could not deliver (SDK_CLIENT_ERROR)"
    ]
    assert queue["changes"] == [
        f"RemoveTargets on an alert rule by arn:aws:sts::{ACCOUNT.account_id}:assumed-role/ops/alice at "
        "2026-11-29T12:00:00Z"
    ]
    assert "1 change(s) to the alert path (RemoveTargets on an alert rule by " in table
    assert "1 alert(s) not delivered (an alert of " in table
    assert (
        "`trading-secrets dead-letters --env staging --region us-east-1 --purge`"
        in table
    )
    assert (
        listed == 1
        and "change to the alert path: RemoveTargets on an alert rule" in letters
    )
    assert purged == 0
    assert ops_cli.main(["status", "--env", "staging"]) == 0


def status(monkeypatch, capsys, caplog, *extra: str):
    return run_tool(
        monkeypatch,
        capsys,
        caplog,
        ["status", "--env", "staging", *extra],
        {**ACCOUNT.credentials},
    )


def topic_arn() -> str:
    return f"arn:aws:sns:us-east-1:{ACCOUNT.account_id}:trading-staging-secrets-alerts"


def key_id(alias: str) -> str:
    return str(ACCOUNT.client("kms").describe_key(KeyId=alias)["KeyMetadata"]["KeyId"])


def policy_of(secret: str) -> str:
    return str(
        ACCOUNT.client("secretsmanager").get_resource_policy(SecretId=secret)[
            "ResourcePolicy"
        ]
    )


@dataclass
class Tampering:
    make: Callable[[], object]
    undo: Callable[[], object]
    # Each line the failing status must print: what changed, named.
    says: tuple[str, ...]
    # How docs/operations.md puts it back: the finding's `where` and `what` in the status JSON, and the
    # documented command, given the file the documented python3 -c line writes from that finding.
    documented: tuple[str, str, Callable[[str], object]] | None = None


def _moved_to_another_key() -> Tampering:
    secrets, kms = ACCOUNT.client("secretsmanager"), ACCOUNT.client("kms")
    moved: dict[str, str] = {}

    def make():
        moved["to"] = kms.create_key(Description="not the stack's")["KeyMetadata"][
            "KeyId"
        ]
        secrets.update_secret(SecretId=SECRET, KmsKeyId=moved["to"])

    return Tampering(
        make,
        lambda: secrets.update_secret(SecretId=SECRET, KmsKeyId=SECRETS_KEY),
        (
            f"FAIL: {SECRET} in us-east-1: KMS key differs from the deployed template:",
            "encrypted with ",
        ),
    )


def _key(alias: str, make: str, undo: list[str], says: str) -> Tampering:
    kms = ACCOUNT.client("kms")

    def run(calls: list[str]) -> None:
        for call in calls:
            arguments = {"KeyId": key_id(alias)}
            if call == "schedule_key_deletion":
                arguments["PendingWindowInDays"] = 7
            getattr(kms, call)(**arguments)

    return Tampering(lambda: run([make]), lambda: run(undo), (says,))


def _secret_policy(edit: Callable[[dict], object], *says: str) -> Tampering:
    """The secret's resource policy changed by `edit`, as `put-resource-policy` would; put back whole."""
    secrets = ACCOUNT.client("secretsmanager")
    whole: dict[str, str] = {}

    def make():
        whole["policy"] = policy_of(SECRET)
        document = json.loads(whole["policy"])
        edit(document)
        secrets.put_resource_policy(
            SecretId=SECRET, ResourcePolicy=json.dumps(document)
        )

    return Tampering(
        make,
        lambda: secrets.put_resource_policy(
            SecretId=SECRET, ResourcePolicy=whole["policy"]
        ),
        (
            f"FAIL: {SECRET} in us-east-1: resource policy differs from the deployed template:",
            *says,
        ),
        (
            f"{SECRET} in us-east-1",
            "resource policy",
            # aws secretsmanager put-resource-policy --resource-policy file://policy.json --block-public-policy
            lambda policy: secrets.put_resource_policy(
                SecretId=SECRET, ResourcePolicy=policy, BlockPublicPolicy=True
            ),
        ),
    )


def _statement(document: dict, sid: str | None) -> dict:
    return next(s for s in document["Statement"] if s.get("Sid") == sid)


def _without(sid: str | None) -> Callable[[dict], None]:
    def cut(document: dict) -> None:
        document["Statement"].remove(_statement(document, sid))

    return cut


def _guard_widened(document: dict) -> None:
    _statement(document, "DenyDeleteOrCrossAccountCopyExceptBreakGlass")[
        "Condition"
    ] = {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}


def _another_account_inside(document: dict) -> None:
    _statement(document, "DenyPrincipalsOutsideAccount")["Condition"] = {
        "StringNotEquals": {"aws:PrincipalAccount": "999999999999"}
    }


def _deleted_policy() -> Tampering:
    secrets = ACCOUNT.client("secretsmanager")
    whole: dict[str, str] = {}

    def make():
        whole["policy"] = policy_of(SECRET)
        secrets.delete_resource_policy(SecretId=SECRET)

    return Tampering(
        make,
        lambda: secrets.put_resource_policy(
            SecretId=SECRET, ResourcePolicy=whole["policy"]
        ),
        ("it has no resource policy: its guards are gone",),
    )


def _disabled_rule() -> Tampering:
    events = ACCOUNT.client("events")
    return Tampering(
        lambda: events.disable_rule(Name=RULE),
        lambda: events.enable_rule(Name=RULE),
        (f"FAIL: alert rule {RULE} in us-east-1 is DISABLED, not ENABLED",),
    )


def _read_rule_blinded() -> Tampering:
    """The read rule set to plain ENABLED, where it never sees a read; put back as docs/operations.md shows."""
    events = ACCOUNT.client("events")
    name = "trading-staging-secrets-denied-reads"
    before: dict[str, object] = {}

    def as_documented(state: str) -> None:
        # `describe-rule --query '{Name, EventPattern, Description}'`, then `put-rule --cli-input-json`.
        rule = events.describe_rule(Name=name)
        before.setdefault("rule", rule)
        events.put_rule(
            Name=rule["Name"],
            EventPattern=rule["EventPattern"],
            Description=rule["Description"],
            State=state,
        )

    def undo() -> None:
        as_documented("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
        rule, was = events.describe_rule(Name=name), before["rule"]
        assert isinstance(was, dict)
        assert (rule["EventPattern"], rule["Description"]) == (
            was["EventPattern"],
            was["Description"],
        )

    return Tampering(
        lambda: as_documented("ENABLED"),
        undo,
        (
            f"FAIL: alert rule {name} in us-east-1 is ENABLED, not ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
        ),
    )


def _rule_targets(change: Callable[[Any, list[dict]], object], *says: str) -> Tampering:
    """The change rule's targets changed by `change(events, targets)`; put back as they were."""
    events = ACCOUNT.client("events")
    before: dict[str, list[dict]] = {}

    def make():
        before["targets"] = events.list_targets_by_rule(Rule=RULE)["Targets"]
        change(events, before["targets"])

    return Tampering(
        make,
        lambda: events.put_targets(Rule=RULE, Targets=before["targets"]),
        (
            f"FAIL: alert rule {RULE} in us-east-1: targets differs from the deployed template:",
            *says,
        ),
        (
            f"alert rule {RULE} in us-east-1",
            "targets",
            # aws events put-targets --rule R --targets file://targets.json
            lambda targets: events.put_targets(Rule=RULE, Targets=json.loads(targets)),
        ),
    )


def _target_moved(events: Any, targets: list[dict]) -> None:
    elsewhere = ACCOUNT.client("sns").create_topic(Name="not-the-alert-topic")[
        "TopicArn"
    ]
    events.put_targets(Rule=RULE, Targets=[{**targets[0], "Arn": elsewhere}])


def _pattern_changed() -> Tampering:
    events = ACCOUNT.client("events")
    before: dict[str, Any] = {}

    def make():
        before["rule"] = events.describe_rule(Name=RULE)
        pattern = json.loads(before["rule"]["EventPattern"])
        pattern["detail"]["eventName"] = ["PutSecretValue"]
        events.put_rule(
            Name=RULE,
            EventPattern=json.dumps(pattern),
            Description=before["rule"]["Description"],
            State=before["rule"]["State"],
        )

    def undo():
        rule = before["rule"]
        events.put_rule(
            Name=RULE,
            EventPattern=rule["EventPattern"],
            Description=rule["Description"],
            State=rule["State"],
        )

    def as_documented(pattern: str) -> None:
        # describe-rule --query '{Name: Name, Description: Description}' > rule.json, then
        # put-rule --cli-input-json file://rule.json --event-pattern file://pattern.json --state ENABLED
        rule = events.describe_rule(Name=RULE)
        events.put_rule(
            Name=rule["Name"],
            Description=rule["Description"],
            EventPattern=pattern,
            State="ENABLED",
        )

    return Tampering(
        make,
        undo,
        (
            f"FAIL: alert rule {RULE} in us-east-1: event pattern differs from the deployed template:",
            'detail.eventName lost "AssociateCrossAccountReplica"',
        ),
        (f"alert rule {RULE} in us-east-1", "event pattern", as_documented),
    )


def _subscription() -> dict[str, str]:
    sns = ACCOUNT.client("sns")
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=topic_arn())[
        "Subscriptions"
    ]
    return subscription


def _resubscribed(confirmed: bool) -> None:
    """The template's subscription made again, by hand, with the dead-letter queue it had."""
    sns = ACCOUNT.client("sns")
    arn = sns.subscribe(
        TopicArn=topic_arn(),
        Protocol="email",
        Endpoint=SUBSCRIBER,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    queue = (
        f"arn:aws:sqs:us-east-1:{ACCOUNT.account_id}:trading-staging-secrets-alerts-dlq"
    )
    sns.set_subscription_attributes(
        SubscriptionArn=arn,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": queue}),
    )
    if confirmed:
        assert confirm_alert_subscriptions(ACCOUNT) == [SUBSCRIBER]


def _unsubscribed() -> Tampering:
    sns = ACCOUNT.client("sns")

    def as_documented(attributes: str) -> None:
        # aws sns subscribe --protocol email --notification-endpoint E --attributes file://subscription-attributes.json
        sns.subscribe(
            TopicArn=topic_arn(),
            Protocol="email",
            Endpoint=SUBSCRIBER,
            Attributes=json.loads(attributes),
        )
        assert confirm_alert_subscriptions(ACCOUNT) == [SUBSCRIBER]

    return Tampering(
        lambda: sns.unsubscribe(SubscriptionArn=_subscription()["SubscriptionArn"]),
        lambda: _resubscribed(confirmed=True),
        (
            f"the template's subscription of email {SUBSCRIBER} is gone",
            "has no confirmed subscriber, so no alert reaches anyone",
        ),
        (
            "topic trading-staging-secrets-alerts in us-east-1",
            "subscriptions",
            as_documented,
        ),
    )


def _unconfirmed() -> Tampering:
    sns = ACCOUNT.client("sns")

    def make():
        sns.unsubscribe(SubscriptionArn=_subscription()["SubscriptionArn"])
        _resubscribed(confirmed=False)

    return Tampering(
        make,
        lambda: confirm_alert_subscriptions(ACCOUNT),
        (
            f"email {SUBSCRIBER} is the committed placeholder, which can never receive mail",
        ),
    )


def _topic_policy_opened() -> Tampering:
    sns = ACCOUNT.client("sns")
    before: dict[str, str] = {}

    def make():
        before["policy"] = sns.get_topic_attributes(TopicArn=topic_arn())["Attributes"][
            "Policy"
        ]
        document = json.loads(before["policy"])
        _statement(document, "AllowEventBridgeToPublish")["Principal"] = "*"
        sns.set_topic_attributes(
            TopicArn=topic_arn(),
            AttributeName="Policy",
            AttributeValue=json.dumps(document),
        )

    return Tampering(
        make,
        lambda: sns.set_topic_attributes(
            TopicArn=topic_arn(),
            AttributeName="Policy",
            AttributeValue=before["policy"],
        ),
        (
            "topic policy differs from the deployed template:",
            "statement AllowEventBridgeToPublish: Principal lost Service:events.amazonaws.com",
            "statement AllowEventBridgeToPublish: Principal gained AWS:*",
        ),
        (
            "topic trading-staging-secrets-alerts in us-east-1",
            "topic policy",
            # aws sns set-topic-attributes --attribute-name Policy --attribute-value file://topic-policy.json
            lambda policy: sns.set_topic_attributes(
                TopicArn=topic_arn(), AttributeName="Policy", AttributeValue=policy
            ),
        ),
    )


def _key_policy_widened() -> Tampering:
    kms = ACCOUNT.client("kms")
    before: dict[str, str] = {}

    def make():
        before["policy"] = kms.get_key_policy(
            KeyId=key_id(SECRETS_KEY), PolicyName="default"
        )["Policy"]
        document = json.loads(before["policy"])
        _statement(document, "AllowUseThroughSecretsManagerOnly")["Principal"] = {
            "AWS": "*"
        }
        kms.put_key_policy(
            KeyId=key_id(SECRETS_KEY), PolicyName="default", Policy=json.dumps(document)
        )

    return Tampering(
        make,
        lambda: kms.put_key_policy(
            KeyId=key_id(SECRETS_KEY), PolicyName="default", Policy=before["policy"]
        ),
        (
            f"{SECRETS_KEY} in us-east-1: key policy differs from the deployed template:",
            "statement AllowUseThroughSecretsManagerOnly: Principal gained AWS:*",
        ),
        (
            f"{SECRETS_KEY} in us-east-1",
            "key policy",
            # aws kms put-key-policy --policy-name default --policy file://key-policy.json
            lambda policy: kms.put_key_policy(
                KeyId=key_id(SECRETS_KEY), PolicyName="default", Policy=policy
            ),
        ),
    )


_ALARM_SETTINGS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "Dimensions",
    "Period",
    "EvaluationPeriods",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
)


def _alarm_silenced() -> Tampering:
    cloudwatch = ACCOUNT.client("cloudwatch")
    before: dict[str, dict] = {}

    def put(**changes: object) -> None:
        settings = {k: v for k, v in before["alarm"].items() if k in _ALARM_SETTINGS}
        cloudwatch.put_metric_alarm(**{**settings, **changes})

    def make():
        [before["alarm"]] = cloudwatch.describe_alarms(AlarmNames=[ALARM])[
            "MetricAlarms"
        ]
        put(AlarmActions=[])

    return Tampering(
        make,
        put,
        (
            f"alarm {ALARM} in us-east-1: alarm differs from the deployed template:",
            "AlarmActions are none, not ",
        ),
        (
            f"alarm {ALARM} in us-east-1",
            "alarm",
            # aws cloudwatch put-metric-alarm --cli-input-json file://alarm.json
            lambda alarm: cloudwatch.put_metric_alarm(**json.loads(alarm)),
        ),
    )


TAMPERINGS = {
    "secret-on-another-key": _moved_to_another_key,
    "secrets-key-disabled": lambda: _key(
        SECRETS_KEY,
        "disable_key",
        ["enable_key"],
        f"FAIL: {SECRETS_KEY} in us-east-1 is Disabled",
    ),
    "secrets-key-pending-deletion": lambda: _key(
        SECRETS_KEY,
        "schedule_key_deletion",
        ["cancel_key_deletion", "enable_key"],
        f"FAIL: {SECRETS_KEY} in us-east-1 is scheduled for deletion",
    ),
    "secrets-key-rotation-off": lambda: _key(
        SECRETS_KEY,
        "disable_key_rotation",
        ["enable_key_rotation"],
        f"FAIL: {SECRETS_KEY} in us-east-1 has rotation off",
    ),
    "alerting-key-disabled": lambda: _key(
        ALERTS_KEY,
        "disable_key",
        ["enable_key"],
        f"FAIL: {ALERTS_KEY} in us-east-1 is Disabled",
    ),
    "policy-statement-cut": lambda: _secret_policy(
        _without("DenyDeleteOrCrossAccountCopyExceptBreakGlass"),
        "statement DenyDeleteOrCrossAccountCopyExceptBreakGlass (Deny) was removed",
    ),
    "guard-condition-widened": lambda: _secret_policy(
        _guard_widened,
        "statement DenyDeleteOrCrossAccountCopyExceptBreakGlass: condition ArnNotLike aws:principalarn "
        f"gained arn:aws:iam::*:role/* and lost arn:aws:iam::{ACCOUNT.account_id}:role*/trading-staging-break-glass",
    ),
    "another-account-inside": lambda: _secret_policy(
        _another_account_inside,
        "statement DenyPrincipalsOutsideAccount: condition StringNotEquals aws:principalaccount "
        f"gained 999999999999 and lost {ACCOUNT.account_id}",
    ),
    "allow-list-deleted": lambda: _secret_policy(
        _without("DenyReadOutsideAllowList"),
        "statement DenyReadOutsideAllowList (Deny) was removed",
    ),
    "policy-deleted": _deleted_policy,
    "alert-rule-disabled": _disabled_rule,
    "read-rule-blinded": _read_rule_blinded,
    "rule-target-removed": lambda: _rule_targets(
        lambda events, targets: events.remove_targets(
            Rule=RULE, Ids=[t["Id"] for t in targets]
        ),
        f"target AlertTopic ({topic_arn()}) was removed",
    ),
    "rule-target-moved": lambda: _rule_targets(
        _target_moved,
        f"target AlertTopic goes to arn:aws:sns:us-east-1:{ACCOUNT.account_id}:not-the-alert-topic, not {topic_arn()}",
    ),
    "rule-pattern-changed": _pattern_changed,
    "subscriber-unsubscribed": _unsubscribed,
    "subscriber-unconfirmed": _unconfirmed,
    "topic-policy-opened": _topic_policy_opened,
    "key-policy-widened": _key_policy_widened,
    "alarm-silenced": _alarm_silenced,
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_status_fails_the_gate_for_tampering_and_passes_once_it_is_undone(
    staging, monkeypatch, capsys, caplog, name
):
    tampering = TAMPERINGS[name]()
    before = status(monkeypatch, capsys, caplog)
    assert before.code == 0, before.said
    tampering.make()
    try:
        seen = status(monkeypatch, capsys, caplog)
    finally:
        tampering.undo()
    assert seen.code == 1, seen.said
    for line in tampering.says:
        assert line in seen.out, (line, seen.out)
    after = status(monkeypatch, capsys, caplog)
    assert after.code == 0, after.said


def _documented_extraction() -> str:
    """The python3 -c program docs/operations.md gives to write a finding's `expected` to a file."""
    [program] = [
        shlex.split(command)[2]
        for _, command in commands_in_code_blocks(
            ROOT / "docs" / "operations.md",
            re.compile(r"^```sh\n(.*?)^```", re.M | re.S),
        )
        if command.startswith("python3 -c") and "status.json" in command
    ]
    return program


# The tamperings with a document to put back (Tampering.documented); each is undone the documented way too.
DOCUMENTED = (
    "alarm-silenced",
    "allow-list-deleted",
    "another-account-inside",
    "guard-condition-widened",
    "key-policy-widened",
    "policy-statement-cut",
    "rule-pattern-changed",
    "rule-target-moved",
    "rule-target-removed",
    "subscriber-unsubscribed",
    "topic-policy-opened",
)


@pytest.mark.parametrize("name", DOCUMENTED)
def test_what_status_prints_puts_it_back_the_documented_way(
    staging, monkeypatch, capsys, caplog, tmp_path, name
):
    """Undone from the status JSON with docs/operations.md's own python3 -c line, then the documented call."""
    tampering = TAMPERINGS[name]()
    assert tampering.documented is not None
    # Every tampering with a document to put back is in DOCUMENTED.
    assert {
        n for n in TAMPERINGS if n not in DOCUMENTED and TAMPERINGS[n]().documented
    } == set()
    where, what, put_back = tampering.documented
    tampering.make()
    try:
        seen = status(monkeypatch, capsys, caplog, "--json")
        assert seen.code == 1, seen.said
        (tmp_path / "status.json").write_text(seen.out)
        written = subprocess.run(
            [sys.executable, "-c", _documented_extraction(), where, what],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        put_back(written)
        after = status(monkeypatch, capsys, caplog)
    except BaseException:
        tampering.undo()
        raise
    if after.code != 0:
        tampering.undo()
    assert after.code == 0, after.said


def test_the_json_carries_the_keys_the_rules_and_when_each_secret_was_last_read(
    staging, monkeypatch, capsys, caplog
):
    ACCOUNT.client("secretsmanager").get_secret_value(SecretId=SECRET)
    document = json.loads(status(monkeypatch, capsys, caplog, "--json").out)
    assert document["ok"] is True
    assert [(k["alias"], k["state"], k["rotation"]) for k in document["keys"]] == [
        (SECRETS_KEY, "Enabled", True),
        (ALERTS_KEY, "Enabled", True),
    ]
    assert {rule["name"]: rule["state"] for rule in document["alert_rules"]}[
        "trading-staging-secrets-denied-reads"
    ] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    rows = {row["secret"]: row for row in document["secrets"]}
    assert rows[SECRET]["key_problem"] is None and rows[SECRET]["policy_problems"] == []
    assert "last_read" in rows[SECRET]
