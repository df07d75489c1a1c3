"""Alert delivery: the encrypted topic, its e-mail subscription and policy, and the dead-letter queue."""

from __future__ import annotations

from typing import Any

from awacs import aws
from awacs import sns as sns_actions
from awacs import sqs as sqs_actions
from troposphere import AWSHelperFn, GetAtt, Output, Ref, Tags
from troposphere.events import Rule
from troposphere.kms import Key
from troposphere.sns import SubscriptionResource, Topic, TopicPolicy
from troposphere.sqs import Queue, QueuePolicy

from generator import naming, stack_parameters, tagging
from generator.environments import Environment
from generator.policies import POLICY_VERSION, this_stacks_alarms
from generator.resources import exported_output

TOPIC_LOGICAL_ID = "AlertTopic"
DEAD_LETTER_QUEUE_LOGICAL_ID = "AlertDeadLetterQueue"
EVENTBRIDGE = aws.Principal("Service", ["events.amazonaws.com"])
CLOUDWATCH = aws.Principal("Service", ["cloudwatch.amazonaws.com"])
SNS = aws.Principal("Service", ["sns.amazonaws.com"])
# Why the queue is under no customer-managed key: the alerts it must catch
# include those that fail because a key was disabled or scheduled for deletion,
# and the alerting key's own tampering, which goes straight here.
DEAD_LETTER_ENCRYPTION_REASON = (
    "Encrypted with SQS-managed keys (SqsManagedSseEnabled), which this check does not recognise; "
    "under neither of the stack's KMS keys, so that alerts still land here when either key is "
    "disabled or pending deletion."
)
# SQS's longest retention: an undelivered alert stays visible for two weeks.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600


def alert_topic(env: Environment, key: Key) -> Topic:
    """The encrypted topic every secret alert goes to."""
    return Topic(
        TOPIC_LOGICAL_ID,
        TopicName=naming.alert_topic_name(env),
        DisplayName=f"{env.project} {env.name} secrets alerts",
        KmsMasterKeyId=GetAtt(key, "Arn"),
        Tags=Tags(**tagging.common_tags(env)),
    )


def email_subscription(topic: Topic, dead_letters: Queue) -> SubscriptionResource:
    """Present only when an address is given.

    SNS retries an email it cannot deliver, then discards it unless the
    subscription has a dead-letter queue; with one, the queue's alarm and
    `status` show the alert that never arrived.
    """
    return SubscriptionResource(
        "AlertEmailSubscription",
        Condition=stack_parameters.HAS_ALERT_EMAIL,
        TopicArn=Ref(topic),
        Protocol="email",
        Endpoint=Ref(stack_parameters.ALERT_EMAIL),
        RedrivePolicy={"deadLetterTargetArn": GetAtt(dead_letters, "Arn")},
    )


def dead_letter_queue(env: Environment) -> Queue:
    """Where EventBridge puts an alert it could not publish, and SNS an email it could not deliver.

    Otherwise the first shows only in a metric and the second is discarded.
    """
    return Queue(
        DEAD_LETTER_QUEUE_LOGICAL_ID,
        QueueName=naming.alert_dead_letter_queue_name(env),
        # SQS-managed encryption: EventBridge can send to it without a key grant,
        # and an operator can read what failed.
        SqsManagedSseEnabled=True,
        MessageRetentionPeriod=DEAD_LETTER_RETENTION_SECONDS,
        Tags=Tags(**tagging.common_tags(env)),
        # Undelivered alerts are not data to keep past the stack, and its fixed
        # name would block a new stack if it stayed behind.
        DeletionPolicy="Delete",
        UpdateReplacePolicy="Delete",
        Metadata={
            "checkov": {
                "skip": [{"id": "CKV_AWS_27", "comment": DEAD_LETTER_ENCRYPTION_REASON}]
            }
        },
    )


def _statement(
    sid: str,
    effect: str,
    principal: aws.Principal,
    action: aws.Action,
    resource: AWSHelperFn,
    **condition: Any,
) -> aws.Statement:
    """One statement on one resource and action; a Condition only where given."""
    return aws.Statement(
        Sid=sid,
        Effect=effect,
        Principal=principal,
        Action=[action],
        Resource=[resource],
        **condition,
    )


def _deny_without_tls(action: aws.Action, resource: AWSHelperFn) -> aws.Statement:
    return _statement(
        "DenyWithoutTls",
        aws.Deny,
        aws.Principal(aws.Everybody),
        action,
        resource,
        Condition=aws.Condition(aws.Bool({"aws:SecureTransport": "false"})),
    )


def topic_policy_document(
    env: Environment, topic_arn: AWSHelperFn
) -> aws.PolicyDocument:
    """EventBridge and this stack's alarms may publish; nobody may publish without TLS.

    The EventBridge statement has the form of AWS's examples and CDK's SnsTopic
    target: no Condition, which SNS topic policies for EventBridge do not support.
    The alarms' statement is scoped to this stack's alarms by name.
    """
    return aws.PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            _statement(
                "AllowEventBridgeToPublish",
                aws.Allow,
                EVENTBRIDGE,
                sns_actions.Publish,
                topic_arn,
            ),
            _statement(
                "AllowStackAlarmsToPublish",
                aws.Allow,
                CLOUDWATCH,
                sns_actions.Publish,
                topic_arn,
                **this_stacks_alarms(env),
            ),
            _deny_without_tls(sns_actions.Publish, topic_arn),
        ],
    )


def dead_letter_policy_document(
    queue_arn: AWSHelperFn, rule_arns: list[AWSHelperFn], topic_arn: AWSHelperFn
) -> aws.PolicyDocument:
    """Only this stack's rules and topic may put undelivered alerts in the queue; nobody may use it without TLS."""
    return aws.PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            _statement(
                "AllowStackRulesToSendUndeliveredAlerts",
                aws.Allow,
                EVENTBRIDGE,
                sqs_actions.SendMessage,
                queue_arn,
                Condition=aws.Condition(aws.ArnEquals({"aws:SourceArn": rule_arns})),
            ),
            # The form of the SNS guide's example ("Configuring an Amazon SNS
            # dead-letter queue for a subscription"): this topic only.
            _statement(
                "AllowAlertTopicToSendUndeliveredAlerts",
                aws.Allow,
                SNS,
                sqs_actions.SendMessage,
                queue_arn,
                Condition=aws.Condition(aws.ArnEquals({"aws:SourceArn": topic_arn})),
            ),
            _deny_without_tls(sqs_actions.Action("*"), queue_arn),
        ],
    )


def alert_topic_policy(env: Environment, topic: Topic) -> TopicPolicy:
    return TopicPolicy(
        f"{TOPIC_LOGICAL_ID}Policy",
        Topics=[Ref(topic)],
        PolicyDocument=topic_policy_document(env, Ref(topic)),
    )


def dead_letter_queue_policy(
    queue: Queue, rules: list[Rule], topic: Topic
) -> QueuePolicy:
    return QueuePolicy(
        f"{DEAD_LETTER_QUEUE_LOGICAL_ID}Policy",
        Queues=[Ref(queue)],
        PolicyDocument=dead_letter_policy_document(
            GetAtt(queue, "Arn"), [GetAtt(rule, "Arn") for rule in rules], Ref(topic)
        ),
    )


def topic_output(env: Environment, topic: Topic) -> Output:
    return exported_output(
        env, "AlertTopicArn", "ARN of the secrets alert topic", Ref(topic)
    )
