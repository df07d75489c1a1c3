"""Whether the stack's alerts really arrive: the self-test for a first real deploy, and the dead-letter queue.

The self-test makes a harmless change that the change rule matches (a tag on a
secret, removed again), and waits for the alert on a temporary queue
subscribed to the stack's topic. It proves the whole path that the local
engine cannot: CloudTrail, EventBridge, the topic's policy and its key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator.catalogue import CATALOGUE
from generator.environments import Environment
from generator.errors import AwsError
from generator.naming import alert_dead_letter_queue_name, alert_topic_name, secret_name
from generator.ops.aws import AwsClients, aws_errors

LOG = logging.getLogger(__name__)
SELF_TEST_TAG = "trading-secrets:alerts-test"
LONGEST_RECEIVE_WAIT_SECONDS = 10


# A message EventBridge could not deliver to its target carries these attributes
# (EventBridge User Guide, "Using dead-letter queues to process undelivered events").
_UNDELIVERED_ATTRIBUTES = ("RULE_ARN", "ERROR_CODE", "ERROR_MESSAGE")
# Services whose calls change the alert path; their events reach the queue directly.
_WATCHED_SOURCES = {
    "kms.amazonaws.com": "the alerting key",
    "events.amazonaws.com": "an alert rule",
    "sns.amazonaws.com": "the alert topic",
    "sqs.amazonaws.com": "the dead-letter queue",
    "monitoring.amazonaws.com": "an alarm",
}
# What one status run looks at: enough to say what happened, never a reason to page through a flood.
PEEK_MESSAGES = 10


def describe_message(message: dict[str, Any]) -> tuple[str, str]:
    """("change" or "undelivered", what it says): a change to the alert path, or an alert that was not delivered.

    Built from the event's names, times and who made the call; never from a
    secret's value, which no event of these rules holds.
    """
    attributes = message.get("MessageAttributes", {})
    if any(name in attributes for name in _UNDELIVERED_ATTRIBUTES):
        rule = attributes.get("RULE_ARN", {}).get("StringValue", "a rule")
        code = attributes.get("ERROR_CODE", {}).get("StringValue", "an error")
        return (
            "undelivered",
            f"an alert of {rule.rsplit('/', 1)[-1]} EventBridge could not deliver ({code})",
        )
    try:
        body = json.loads(message.get("Body", ""))
    except ValueError:
        return "undelivered", "a message that is not an event"
    detail = body.get("detail", {}) if isinstance(body, dict) else {}
    source = detail.get("eventSource") if isinstance(detail, dict) else None
    if source in _WATCHED_SOURCES:
        who = (detail.get("userIdentity") or {}).get("arn", "an unknown caller")
        return (
            "change",
            f"{detail.get('eventName')} on {_WATCHED_SOURCES[source]} by {who} at {detail.get('eventTime')}",
        )
    if isinstance(body, dict) and body.get("Type") == "Notification":
        return "undelivered", "an alert email SNS could not deliver"
    return "undelivered", "a message that is not one of this stack's events"


@dataclass(frozen=True)
class DeadLetters:
    """What waits in one region's dead-letter queue: alerts that were not delivered, and changes to the alert path."""

    queue: str
    region: str
    # None: the queue does not exist, or could not be read (then `error` says why).
    messages: int | None
    error: str | None = None
    # Of the messages looked at (at most PEEK_MESSAGES): the changes to the alert
    # path, and the alerts that were not delivered, each said in one line.
    changes: tuple[str, ...] = ()
    undelivered: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "region": self.region,
            "messages": self.messages,
            "error": self.error,
            "changes": list(self.changes),
            "undelivered": list(self.undelivered),
        }


@dataclass(frozen=True)
class SelfTestResult:
    arrived: bool
    seconds: float
    marker: str
    dead_letters: DeadLetters


def dead_letters(env: Environment, region: str, aws: AwsClients) -> DeadLetters:
    """How many alerts wait undelivered; a failing call is reported in the result, not raised."""
    name = alert_dead_letter_queue_name(env)
    sqs = aws.client("sqs", region)
    try:
        with aws_errors("read the dead-letter queue", name, region):
            try:
                url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            except sqs.exceptions.QueueDoesNotExist:
                return DeadLetters(name, region, None)
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            depth = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
            # Looked at, not taken: a visibility timeout of 0 leaves each message where it was.
            seen = (
                sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=PEEK_MESSAGES,
                    VisibilityTimeout=0,
                    WaitTimeSeconds=0,
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if depth
                else []
            )
    except AwsError as error:
        return DeadLetters(name, region, None, str(error))
    described = [describe_message(message) for message in seen]
    return DeadLetters(
        name,
        region,
        depth,
        changes=tuple(text for kind, text in described if kind == "change"),
        undelivered=tuple(text for kind, text in described if kind == "undelivered"),
    )


def _topic_arn(env: Environment, region: str, aws: AwsClients) -> str:
    name = alert_topic_name(env)
    with aws_errors("find the alert topic", name, region):
        for page in aws.client("sns", region).get_paginator("list_topics").paginate():
            for topic in page["Topics"]:
                if topic["TopicArn"].endswith(f":{name}"):
                    return str(topic["TopicArn"])
    raise AwsError(
        f"{name} does not exist in {region}: deploy the {env.name} stack first"
    )


@contextlib.contextmanager
def _listening_queue(
    env: Environment, region: str, topic_arn: str, aws: AwsClients
) -> Iterator[str]:
    """A temporary encrypted queue subscribed to the topic; unsubscribed and deleted on the way out."""
    # Its subscription is the tool's own step on the alert path: the rule that
    # watches the path leaves it out by the tool's user agent.
    sqs, sns = aws.client("sqs", region), aws.client("sns", region, alert_path=True)
    name = f"{env.project}-{env.name}-alerts-self-test-{uuid.uuid4().hex[:8]}"
    with aws_errors("create a temporary queue", name, region):
        url = sqs.create_queue(
            QueueName=name, Attributes={"SqsManagedSseEnabled": "true"}
        )["QueueUrl"]
    try:
        with aws_errors("subscribe a temporary queue to", topic_arn, region):
            queue_arn = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            only_the_topic = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                    }
                ],
            }
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(only_the_topic)}
            )
            subscription = sns.subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=queue_arn,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        try:
            yield url
        finally:
            with aws_errors("unsubscribe the temporary queue from", topic_arn, region):
                sns.unsubscribe(SubscriptionArn=subscription)
    finally:
        with aws_errors("delete the temporary queue", name, region):
            sqs.delete_queue(QueueUrl=url)


@contextlib.contextmanager
def _tagged(secret: str, region: str, marker: str, aws: AwsClients) -> Iterator[None]:
    """The harmless change: a tag on the secret, removed again on the way out (which alerts too)."""
    secrets = aws.secrets(region)
    with aws_errors("tag", secret, region):
        secrets.tag_resource(
            SecretId=secret, Tags=[{"Key": SELF_TEST_TAG, "Value": marker}]
        )
    try:
        yield
    finally:
        with aws_errors("untag", secret, region):
            secrets.untag_resource(SecretId=secret, TagKeys=[SELF_TEST_TAG])


def _wait_for(
    marker: str, url: str, region: str, deadline: float, aws: AwsClients
) -> bool:
    sqs = aws.client("sqs", region)
    while (remaining := deadline - time.monotonic()) > 0:
        with aws_errors("read the temporary queue", url, region):
            wait = max(1, min(LONGEST_RECEIVE_WAIT_SECONDS, int(remaining)))
            messages = sqs.receive_message(
                QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=10
            )
        if any(marker in message["Body"] for message in messages.get("Messages", [])):
            return True
    return False


def self_test(
    env: Environment, region: str, aws: AwsClients, timeout_seconds: float
) -> SelfTestResult:
    """Make a change the change rule matches and wait, at most `timeout_seconds`, for its alert."""
    topic_arn = _topic_arn(env, region, aws)
    secret = secret_name(env, CATALOGUE[0])
    marker = uuid.uuid4().hex[:12]
    started = time.monotonic()
    with (
        _listening_queue(env, region, topic_arn, aws) as url,
        _tagged(secret, region, marker, aws),
    ):
        LOG.info(
            "tagged %s in %s with %s=%s; waiting up to %.0f s for the alert",
            secret,
            region,
            SELF_TEST_TAG,
            marker,
            timeout_seconds,
        )
        arrived = _wait_for(marker, url, region, started + timeout_seconds, aws)
    return SelfTestResult(
        arrived, time.monotonic() - started, marker, dead_letters(env, region, aws)
    )


def purge_dead_letters(env: Environment, region: str, aws: AwsClients) -> int:
    """Empty the dead-letter queue once what it held has been read and its cause fixed; returns how many messages it held.

    The tool's own step on the alert path: the rule that watches the path
    leaves it out by the tool's user agent, so the purge leaves no new message.
    """
    name = alert_dead_letter_queue_name(env)
    sqs = aws.client("sqs", region, alert_path=True)
    with aws_errors("purge the dead-letter queue", name, region):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        held = int(
            sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        sqs.purge_queue(QueueUrl=url)
    LOG.info(
        "purged %s in %s (%d message(s)) by %s", name, region, held, aws.caller(region)
    )
    return held
