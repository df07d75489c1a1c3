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


@dataclass(frozen=True)
class DeadLetters:
    """How many alerts EventBridge could not deliver, waiting in one region's dead-letter queue."""

    queue: str
    region: str
    # None: the queue does not exist, or could not be read (then `error` says why).
    messages: int | None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "region": self.region,
            "messages": self.messages,
            "error": self.error,
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
    except AwsError as error:
        return DeadLetters(name, region, None, str(error))
    depth = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return DeadLetters(name, region, depth)


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
    sqs, sns = aws.client("sqs", region), aws.client("sns", region)
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
