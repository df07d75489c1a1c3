"""Invariants every generated template holds, checked on the rendered JSON."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from support.repository import ENV_NAMES, resources_of_type

from generator import tagging
from generator.alert_rules import (
    KEY_CHANGE_EVENTS,
    SECRET_CHANGE_EVENTS,
    SERVICE_EVENTS,
)
from generator.build import generate
from generator.catalogue import CATALOGUE
from generator.environments import ENVIRONMENTS, get_environment
from generator.resolve import Deployment, resolve

SECRET_CASES = [(env, spec.logical_id) for env in ENV_NAMES for spec in CATALOGUE]
SECRET_IDS = [f"{env}-{logical_id}" for env, logical_id in SECRET_CASES]
VALUE_PROPERTIES = ("SecretString", "GenerateSecretString")


def tags_of(resource: dict) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource["Properties"]["Tags"]}


@pytest.mark.parametrize("env_name, logical_id", SECRET_CASES, ids=SECRET_IDS)
def test_secret_is_encrypted_with_the_stacks_customer_managed_key(
    templates, env_name, logical_id
):
    template = templates[env_name]
    secret = template["Resources"][logical_id]
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["SecretsKey", "Arn"]}
    assert template["Resources"]["SecretsKey"]["Type"] == "AWS::KMS::Key"


@pytest.mark.parametrize("env_name, logical_id", SECRET_CASES, ids=SECRET_IDS)
def test_secret_has_every_required_tag(templates, env_name, logical_id):
    env = get_environment(env_name)
    tags = tags_of(templates[env_name]["Resources"][logical_id])
    assert set(tags) == set(tagging.SECRET_TAG_KEYS)
    assert tags["Environment"] == env_name
    assert tags["RotationPolicy"] == "manual"
    spec = next(s for s in CATALOGUE if s.logical_id == logical_id)
    assert tags["RotationIntervalDays"] == str(spec.rotation_interval(env))
    assert tags["RotationIntervalDays"] == ("180" if env_name == "dev" else "90")
    assert tags["ManagedBy"] == tagging.MANAGED_BY


@pytest.mark.parametrize("env_name, logical_id", SECRET_CASES, ids=SECRET_IDS)
def test_secret_has_a_resource_policy_that_blocks_public_policies(
    templates, env_name, logical_id
):
    policies = [
        policy
        for policy in resources_of_type(
            templates[env_name], "AWS::SecretsManager::ResourcePolicy"
        ).values()
        if policy["Properties"]["SecretId"] == {"Ref": logical_id}
    ]
    assert len(policies) == 1
    assert policies[0]["Properties"]["BlockPublicPolicy"] is True


@pytest.mark.parametrize("env_name, logical_id", SECRET_CASES, ids=SECRET_IDS)
def test_secret_is_named_project_env_integration(templates, env_name, logical_id):
    spec = next(spec for spec in CATALOGUE if spec.logical_id == logical_id)
    assert (
        templates[env_name]["Resources"][logical_id]["Properties"]["Name"]
        == f"trading/{env_name}/{spec.name_suffix}"
    )


@pytest.mark.parametrize("logical_id", [spec.logical_id for spec in CATALOGUE])
def test_prod_secret_carries_no_value_and_is_retained(templates, logical_id):
    secret = templates["prod"]["Resources"][logical_id]
    assert not set(VALUE_PROPERTIES) & set(secret["Properties"])
    assert secret["DeletionPolicy"] == "RetainExceptOnCreate"
    assert secret["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("env_name", ["dev", "staging", "prod"])
def test_the_secrets_key_keeps_its_alias_wherever_it_is_kept(templates, env_name):
    """A retained key keeps the name it is found by: the alias is retained with it (rule E9124 holds it)."""
    resources = templates[env_name]["Resources"]
    key, alias = resources["SecretsKey"], resources["SecretsKeyAlias"]
    retained = env_name != "dev"
    assert key["DeletionPolicy"] == alias["DeletionPolicy"]
    assert alias["DeletionPolicy"] == ("RetainExceptOnCreate" if retained else "Delete")
    assert alias["UpdateReplacePolicy"] == ("Retain" if retained else "Delete")
    # The alerting key goes with the stack everywhere, and its alias with it.
    assert (
        resources["AlertsKeyAlias"]["DeletionPolicy"]
        == resources["AlertsKey"]["DeletionPolicy"]
        == "Delete"
    )


def test_prod_template_text_holds_no_placeholder_or_value_property():
    text = generate(get_environment("prod"))
    for forbidden in ("PLACEHOLDER", *VALUE_PROPERTIES):
        assert forbidden not in text


@pytest.mark.parametrize("env_name", ["dev", "staging"])
@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.logical_id)
def test_dev_and_staging_are_seeded_with_the_placeholder(templates, env_name, spec):
    secret = templates[env_name]["Resources"][spec.logical_id]["Properties"]
    assert json.loads(secret["SecretString"]) == spec.placeholder(
        get_environment(env_name)
    )
    assert "GenerateSecretString" not in secret


@pytest.mark.parametrize(
    "env_name, deletion, replacement",
    [
        ("dev", "Delete", "Delete"),
        ("staging", "RetainExceptOnCreate", "Retain"),
        ("prod", "RetainExceptOnCreate", "Retain"),
    ],
)
def test_stateful_resources_follow_the_environments_retention(
    templates, env_name, deletion, replacement
):
    """Secrets, their resource policies and the key: kept with the data, but never after a failed create."""
    resources = templates[env_name]["Resources"]
    stateful = [
        *(spec.logical_id for spec in CATALOGUE),
        *(f"{spec.logical_id}ResourcePolicy" for spec in CATALOGUE),
        "SecretsKey",
    ]
    for logical_id in stateful:
        assert resources[logical_id]["DeletionPolicy"] == deletion, logical_id
        assert resources[logical_id]["UpdateReplacePolicy"] == replacement, logical_id


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_key_rotates_has_alias_and_pending_window(templates, env_name):
    resources = templates[env_name]["Resources"]
    key = resources["SecretsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert (
        key["PendingWindowInDays"] == get_environment(env_name).key_pending_window_days
    )
    assert resources["SecretsKeyAlias"]["Properties"] == {
        "AliasName": f"alias/trading-{env_name}-secrets",
        "TargetKeyId": {"Ref": "SecretsKey"},
    }


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_every_taggable_resource_carries_the_common_tags(templates, env_name):
    taggable = {
        lid: res
        for lid, res in templates[env_name]["Resources"].items()
        if "Tags" in res["Properties"]
    }
    assert {"SecretsKey", "AlertTopic", "SecretChangeRule"} <= set(taggable)
    for logical_id, resource in taggable.items():
        tags = tags_of(resource)
        assert set(tagging.COMMON_TAG_KEYS) <= set(tags), logical_id
        assert tags["Project"] == "trading" and tags["Environment"] == env_name


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_alert_topic_is_encrypted_and_rules_target_it_with_a_dead_letter_queue(
    templates, env_name
):
    resources = templates[env_name]["Resources"]
    # Under the alerting's own key, never the secrets': that key's tampering must be reportable.
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": ["AlertsKey", "Arn"]
    }
    assert resources["AlertsKey"]["Properties"]["EnableKeyRotation"] is True
    assert (
        resources["AlertsKey"]["Properties"]["PendingWindowInDays"]
        == resources["SecretsKey"]["Properties"]["PendingWindowInDays"]
    )
    queue = resources["AlertDeadLetterQueue"]["Properties"]
    assert (
        queue["SqsManagedSseEnabled"] is True
        and "KmsMasterKeyId" not in queue
        and queue["QueueName"] == f"trading-{env_name}-secrets-alerts-dlq"
    )
    rules = resources_of_type(templates[env_name], "AWS::Events::Rule")
    to_topic = {
        "SecretChangeRule",
        "SecretAccessDeniedRule",
        "PendingDeletionAccessRule",
        "SecretServiceEventRule",
        "KeyChangeRule",
    }
    to_queue = {"AlertsKeyChangeRule", "AlertPathChangeRule"}
    assert set(rules) == to_topic | to_queue
    for logical_id in to_topic:
        assert rules[logical_id]["Properties"]["Targets"] == [
            {
                "Arn": {"Ref": "AlertTopic"},
                "DeadLetterConfig": {
                    "Arn": {"Fn::GetAtt": ["AlertDeadLetterQueue", "Arn"]}
                },
                "Id": "AlertTopic",
            }
        ]
    # The alerting key's own tampering, and the alert path's, go where no customer key or topic is needed.
    for logical_id in to_queue:
        assert rules[logical_id]["Properties"]["Targets"] == [
            {
                "Arn": {"Fn::GetAtt": ["AlertDeadLetterQueue", "Arn"]},
                "Id": "AlertDeadLetterQueue",
            }
        ]
    for logical_id, rule in rules.items():
        assert rule["Properties"]["Name"].startswith(f"trading-{env_name}-secrets-"), (
            logical_id
        )
    for logical_id in (
        "SecretChangeRule",
        "SecretAccessDeniedRule",
        "PendingDeletionAccessRule",
    ):
        secret_ids = rules[logical_id]["Properties"]["EventPattern"]["detail"][
            "requestParameters"
        ]["secretId"]
        assert secret_ids[0] == {"prefix": f"trading/{env_name}/"}
        assert secret_ids[1]["prefix"]["Fn::Sub"].endswith(
            f":secret:trading/{env_name}/"
        )
    change = rules["SecretChangeRule"]["Properties"]
    assert set(change["EventPattern"]["detail"]["eventName"]) == set(
        SECRET_CHANGE_EVENTS
    )
    assert len(SECRET_CHANGE_EVENTS) == 16 and change["State"] == "ENABLED"
    for read_only in ("SecretAccessDeniedRule", "PendingDeletionAccessRule"):
        properties = rules[read_only]["Properties"]
        assert properties["EventPattern"]["detail"]["eventName"] == ["GetSecretValue"]
        assert properties["State"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    key = rules["KeyChangeRule"]["Properties"]["EventPattern"]
    assert key["source"] == ["aws.kms"] and key["detail"]["resources"] == {
        "ARN": [{"Fn::GetAtt": ["SecretsKey", "Arn"]}]
    }
    assert set(key["detail"]["eventName"]) == {
        "DisableKey",
        "ScheduleKeyDeletion",
        "PutKeyPolicy",
        "DisableKeyRotation",
    }


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_email_subscription_exists_only_with_an_address(templates, env_name):
    template = templates[env_name]
    subscription = template["Resources"]["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert template["Conditions"]["HasAlertEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, ""]}]
    }


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_outputs_are_exported_under_stable_names(templates, env_name):
    outputs = templates[env_name]["Outputs"]
    expected = {
        "AlphaVantageCredentialsArn",
        "AlphaVantageCredentialsName",
        "AlpacaCredentialsArn",
        "AlpacaCredentialsName",
        "AlphaVantageCredentialsReaderPolicyArn",
        "AlpacaCredentialsReaderPolicyArn",
        "SecretsKeyArn",
        "AlertTopicArn",
    }
    assert set(outputs) == expected
    for output_id, output in outputs.items():
        assert output["Export"]["Name"] == f"trading-{env_name}-{output_id}"
    assert outputs["AlpacaCredentialsName"]["Value"] == f"trading/{env_name}/alpaca"
    assert outputs["AlpacaCredentialsArn"]["Value"] == {"Ref": "AlpacaCredentials"}


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
