"""Template invariants, continued: every Ref resolves, parameters per environment, no empty principal, and the alert wiring (rules for the alerting key and service events, alarms on the queue and every rule, every mutating call watched)."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from support.cfn_resolve import Deployment, resolve
from support.repository import ENV_NAMES, resources_of_type

from generator.alert_rules import (
    KEY_CHANGE_EVENTS,
    SECRET_CHANGE_EVENTS,
    SERVICE_EVENTS,
)
from generator.build import generate
from generator.environments import ENVIRONMENTS


def _intrinsic_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                yield value
            yield from _intrinsic_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _intrinsic_refs(item)


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_every_ref_names_a_parameter_resource_or_pseudo_parameter(templates, env_name):
    # cfn-lint does not flag {"Ref": {"Ref": ...}}; CloudFormation rejects it at deploy time.
    template = templates[env_name]
    known = set(template["Parameters"]) | set(template["Resources"])
    for ref in _intrinsic_refs(template):
        assert isinstance(ref, str), f"nested Ref: {ref!r}"
        assert ref in known or ref.startswith("AWS::"), ref


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_parameters_per_environment(templates, env_name):
    parameters = set(templates[env_name]["Parameters"])
    expected = {
        "AlertEmail",
        "DeployerRoleNames",
        "OperatorRoleNames",
        "ReaderRoleNames",
    }
    guarded = ENVIRONMENTS[env_name].deny_delete_except_break_glass
    if guarded:
        expected.add("BreakGlassRoleName")
    assert parameters == expected
    # Where the guards deny everyone but named roles, the template itself refuses no deployer.
    deployers = templates[env_name]["Parameters"]["DeployerRoleNames"]
    assert ("Default" not in deployers) is guarded
    assert (re.fullmatch(deployers["AllowedPattern"], "") is None) is guarded


LIST_PARAMETERS = ("ReaderRoleNames", "OperatorRoleNames", "DeployerRoleNames")


def _principal_arn_values(node):
    """Every value an aws:PrincipalArn condition compares with, anywhere under `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower() == "aws:principalarn":
                yield from value if isinstance(value, list) else [value]
            else:
                yield from _principal_arn_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _principal_arn_values(item)


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_no_condition_list_ever_holds_an_empty_string(env_name):
    """Every combination of empty and set role lists, resolved as CloudFormation would: each value is an ARN pattern."""
    template = json.loads(generate(ENVIRONMENTS[env_name]))
    required = {"BreakGlassRoleName", "DeployerRoleNames"} & {
        p for p, d in template["Parameters"].items() if "Default" not in d
    }
    seen = 0
    for chosen in itertools.product(("", "app,AWSReservedSSO_Admin_*"), repeat=3):
        values = dict(zip(LIST_PARAMETERS, chosen, strict=True))
        if any(values[name] == "" for name in required & set(values)):
            continue
        values |= {"AlertEmail": "", "BreakGlassRoleName": "bg"}
        deployment = Deployment("111122223333", "us-east-1", values, {}, {})
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::SecretsManager::ResourcePolicy":
                continue
            policy = resolve(
                resource["Properties"]["ResourcePolicy"], deployment, template
            )
            for value in _principal_arn_values(policy):
                seen += 1
                assert re.fullmatch(r"arn:[^:]+:iam::[^:]+:(role|root).*", value), (
                    logical_id,
                    values,
                    value,
                )
                assert not value.endswith("/"), (logical_id, values, value)
    assert seen


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_the_alerting_key_and_secrets_managers_own_events_have_rules(
    templates, env_name
):
    rules = resources_of_type(templates[env_name], "AWS::Events::Rule")
    alerts_key = rules["AlertsKeyChangeRule"]["Properties"]["EventPattern"]
    assert alerts_key["detail"]["resources"] == {
        "ARN": [{"Fn::GetAtt": ["AlertsKey", "Arn"]}]
    }
    assert set(alerts_key["detail"]["eventName"]) == set(KEY_CHANGE_EVENTS)
    service = rules["SecretServiceEventRule"]["Properties"]
    assert service["State"] == "ENABLED"
    pattern = service["EventPattern"]
    assert pattern["detail-type"] == ["AWS Service Event via CloudTrail"]
    assert (
        set(pattern["detail"]["eventName"])
        == set(SERVICE_EVENTS)
        >= {
            "StartSecretVersionDelete",
            "EndSecretVersionDelete",
            "CancelSecretVersionDelete",
            "RotationFailed",
        }
    )
    ((arn_prefix,),) = [pattern["detail"]["additionalEventData"]["SecretId"]]
    assert arn_prefix["prefix"]["Fn::Sub"].endswith(f":secret:trading/{env_name}/")


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_an_alarm_watches_the_queue_and_every_rule_and_fires_at_the_first(
    templates, env_name
):
    """Metric, dimension and threshold held against the queue and the rules they watch.

    The engine evaluates no alarm; what an alarm needs is read from the
    templates: AWS/SQS ApproximateNumberOfMessagesVisible by QueueName (SQS
    Developer Guide, "Available CloudWatch metrics"), AWS/Events
    FailedInvocations by RuleName (EventBridge User Guide, "Monitoring").
    """
    resources = templates[env_name]["Resources"]
    alarms = [
        r["Properties"]
        for r in resources_of_type(
            templates[env_name], "AWS::CloudWatch::Alarm"
        ).values()
    ]
    for alarm in alarms:
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
            1,
            "GreaterThanOrEqualToThreshold",
        )
        assert (
            alarm["EvaluationPeriods"] == 1
            and alarm["TreatMissingData"] == "notBreaching"
        )
        assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
        assert alarm["AlarmName"].startswith(f"trading-{env_name}-secrets-")
    queue_alarms = [a for a in alarms if a["Namespace"] == "AWS/SQS"]
    assert [(a["MetricName"], a["Dimensions"]) for a in queue_alarms] == [
        (
            "ApproximateNumberOfMessagesVisible",
            [
                {
                    "Name": "QueueName",
                    "Value": {"Fn::GetAtt": ["AlertDeadLetterQueue", "QueueName"]},
                }
            ],
        )
    ]
    watched_rules = sorted(
        a["Dimensions"][0]["Value"]
        for a in alarms
        if a["Namespace"] == "AWS/Events" and a["MetricName"] == "FailedInvocations"
    )
    assert watched_rules == sorted(
        rule["Properties"]["Name"]
        for rule in resources_of_type(templates[env_name], "AWS::Events::Rule").values()
    )
    assert (
        resources["AlertDeadLetterQueue"]["Properties"]["QueueName"]
        == f"trading-{env_name}-secrets-alerts-dlq"
    )


def test_every_mutating_call_that_names_a_secret_is_alerted_on():
    """Derived from the installed botocore service model: a new mutating API fails here, not in production.

    Every operation that takes a SecretId and is not a read (Describe, Get,
    List, Validate, BatchGet) changes a secret, its policy or where its value goes.
    """
    import botocore.session

    from generator.checks.cfn_rules.cloudtrail import SECRETS_MANAGER_MUTATIONS

    model = botocore.session.get_session().get_service_model("secretsmanager")
    reads = ("Describe", "Get", "List", "Validate", "BatchGet")
    mutating = {
        name
        for name in model.operation_names
        if "SecretId" in model.operation_model(name).input_shape.members
        and not name.startswith(reads)
    }
    assert {
        "AssociateCrossAccountReplica",
        "DisassociateCrossAccountReplica",
    } <= mutating
    assert mutating == set(SECRET_CHANGE_EVENTS) == set(SECRETS_MANAGER_MUTATIONS)
