"""The alarms that watch the alert path itself: undelivered alerts, and rules that could not deliver.

EventBridge says a failed delivery only in a rule's FailedInvocations metric
(EventBridge User Guide, "Monitoring Amazon EventBridge"), and the
dead-letter queue only in its depth (SQS Developer Guide, "Available
CloudWatch metrics for Amazon SQS"). Each alarm fires at the first one and
notifies the alert topic.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Tags
from troposphere.cloudwatch import Alarm, MetricDimension
from troposphere.sns import Topic
from troposphere.sqs import Queue

from generator import naming, tagging
from generator.alert_rules import AlertRule
from generator.environments import Environment

# Five minutes, the shortest period these metrics are worth reading at, one of it enough.
PERIOD_SECONDS = 300


def _alarm(
    env: Environment,
    logical_id: str,
    name: str,
    description: str,
    topic: Topic,
    **metric: object,
) -> Alarm:
    return Alarm(
        logical_id,
        AlarmName=naming.resource_name(env, name),
        AlarmDescription=description,
        Period=PERIOD_SECONDS,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        # No datapoint is no failure: these metrics are published only when something happens.
        TreatMissingData="notBreaching",
        AlarmActions=[Ref(topic)],
        Tags=Tags(**tagging.common_tags(env)),
        **metric,
    )


def dead_letter_alarm(env: Environment, queue: Queue, topic: Topic) -> Alarm:
    """Any alert waiting undelivered in the dead-letter queue."""
    return _alarm(
        env,
        "AlertDeadLetterQueueAlarm",
        "undelivered-alerts",
        f"An alert about the {env.project} {env.name} secrets could not be delivered: read "
        f"{naming.alert_dead_letter_queue_name(env)}, fix delivery, then purge it",
        topic,
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[
            MetricDimension(Name="QueueName", Value=GetAtt(queue, "QueueName"))
        ],
        Statistic="Maximum",
    )


def failed_invocations_alarm(env: Environment, rule: AlertRule, topic: Topic) -> Alarm:
    """Any event `rule` matched but could not deliver to its target."""
    return _alarm(
        env,
        f"{rule.logical_id}FailedInvocationsAlarm",
        f"{rule.name.removeprefix(naming.resource_name(env, ''))}-failed",
        f"{rule.name} matched an event it could not deliver: see its dead-letter queue",
        topic,
        Namespace="AWS/Events",
        MetricName="FailedInvocations",
        Dimensions=[MetricDimension(Name="RuleName", Value=rule.name)],
        Statistic="Sum",
    )
