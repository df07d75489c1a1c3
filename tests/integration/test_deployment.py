"""All three environments deployed by taskcat's CFNTest on LocalStack, then checked through boto3."""

from __future__ import annotations

import json

import jsonschema
import pytest

# stacks: a session fixture (shared_stacks.py, through conftest.py).
from shared_stacks import DEPLOYMENT_IDS, DEPLOYMENTS
from support.engine import DEFAULT, client
from support.tool_runs import (
    assert_secrets_encrypted_with_stack_key,
    assert_secrets_hold_no_value,
)

from generator import tagging
from generator.catalogue import CATALOGUE
from generator.environments import ENVIRONMENTS
from generator.naming import secret_name


def outputs_of(stack_id: str, region: str) -> dict[str, dict[str, str]]:
    stack = client("cloudformation", region).describe_stacks(StackName=stack_id)[
        "Stacks"
    ][0]
    return {output["OutputKey"]: output for output in stack.get("Outputs", [])}


@pytest.mark.parametrize("env, region", DEPLOYMENTS, ids=DEPLOYMENT_IDS)
def test_secrets_exist_named_described_tagged_and_encrypted_with_the_stack_key(
    stacks, env, region
):
    key_arn = outputs_of(stacks[(env.name, region)], region)["SecretsKeyArn"][
        "OutputValue"
    ]
    assert_secrets_encrypted_with_stack_key(DEFAULT, env, region, key_arn)
    for spec in CATALOGUE:
        described = client("secretsmanager", region).describe_secret(
            SecretId=secret_name(env, spec)
        )
        assert described["Description"].startswith(spec.description)
        tags = {tag["Key"]: tag["Value"] for tag in described["Tags"]}
        assert set(tagging.SECRET_TAG_KEYS) <= set(tags)
        assert tags["Environment"] == env.name and tags["RotationPolicy"] == "manual"


@pytest.mark.parametrize("env, region", DEPLOYMENTS, ids=DEPLOYMENT_IDS)
def test_resource_policy_is_attached_with_the_expected_statements(stacks, env, region):
    # The allow-list statement is absent: the parameter files leave ReaderRoleNames empty.
    expected = {"DenyPrincipalsOutsideAccount"}
    if env.deny_delete_except_break_glass:
        expected |= {
            "DenyDeleteOrCrossAccountCopyExceptBreakGlass",
            "DenyPolicyChangeExceptBreakGlassAndDeployers",
        }
    for spec in CATALOGUE:
        policy = client("secretsmanager", region).get_resource_policy(
            SecretId=f"trading/{env.name}/{spec.name_suffix}"
        )
        statements = json.loads(policy["ResourcePolicy"])["Statement"]
        assert {statement["Sid"] for statement in statements} == expected
        # As the engine resolved them: every exemption is an ARN pattern, none an empty string.
        for statement in statements:
            for tests in statement.get("Condition", {}).values():
                for key, values in tests.items():
                    if key == "aws:PrincipalArn":
                        listed = values if isinstance(values, list) else [values]
                        assert all(
                            v.startswith("arn:") and not v.endswith("/") for v in listed
                        ), listed


@pytest.mark.parametrize("env_name", ["dev", "staging"])
@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.logical_id)
def test_placeholders_are_readable_the_way_a_consumer_reads_them(
    stacks, env_name, spec
):
    env = ENVIRONMENTS[env_name]
    name = outputs_of(stacks[(env_name, "us-east-1")], "us-east-1")[
        f"{spec.logical_id}Name"
    ]["OutputValue"]
    value = json.loads(
        client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    )
    jsonschema.Draft7Validator(spec.schema(env)).validate(value)
    assert value == spec.placeholder(env)


@pytest.mark.parametrize("region", ENVIRONMENTS["prod"].regions)
def test_prod_secrets_exist_but_hold_no_value(stacks, region):
    assert_secrets_hold_no_value(DEFAULT, ENVIRONMENTS["prod"], region)


@pytest.mark.parametrize("env, region", DEPLOYMENTS, ids=DEPLOYMENT_IDS)
def test_alert_topic_rules_and_dead_letter_queue_are_wired(stacks, env, region):
    topic_arn = outputs_of(stacks[(env.name, region)], region)["AlertTopicArn"][
        "OutputValue"
    ]
    attributes = client("sns", region).get_topic_attributes(TopicArn=topic_arn)[
        "Attributes"
    ]
    kms = client("kms", region)
    alerts_key = kms.describe_key(KeyId=f"alias/trading-{env.name}-secrets-alerts")
    secrets_key = kms.describe_key(KeyId=f"alias/trading-{env.name}-secrets")
    # Under the alerting key, never the key whose disabling it must report.
    topic_key = kms.describe_key(KeyId=attributes["KmsMasterKeyId"])["KeyMetadata"]
    assert topic_key["KeyId"] == alerts_key["KeyMetadata"]["KeyId"]
    assert topic_key["KeyId"] != secrets_key["KeyMetadata"]["KeyId"]
    sids = {
        statement["Sid"] for statement in json.loads(attributes["Policy"])["Statement"]
    }
    assert sids == {
        "AllowEventBridgeToPublish",
        "AllowStackAlarmsToPublish",
        "DenyWithoutTls",
    }
    sqs = client("sqs", region)
    queue_url = sqs.get_queue_url(QueueName=f"trading-{env.name}-secrets-alerts-dlq")[
        "QueueUrl"
    ]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    resources = client("cloudformation", region).describe_stack_resources(
        StackName=stacks[(env.name, region)]
    )["StackResources"]
    rules = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Events::Rule"
    }
    events = client("events", region)
    states = {
        logical_id: events.describe_rule(Name=name)["State"]
        for logical_id, name in rules.items()
    }
    assert states == {
        "SecretChangeRule": "ENABLED",
        "SecretServiceEventRule": "ENABLED",
        "KeyChangeRule": "ENABLED",
        "AlertsKeyChangeRule": "ENABLED",
        "SecretAccessDeniedRule": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
        "PendingDeletionAccessRule": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
    }
    for logical_id, name in rules.items():
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        if logical_id == "AlertsKeyChangeRule":
            # The alerting key's own tampering goes where that key cannot stop it.
            assert target["Arn"] == queue_arn and "DeadLetterConfig" not in target
        else:
            assert target["Arn"] == topic_arn and target["DeadLetterConfig"] == {
                "Arn": queue_arn
            }


@pytest.mark.parametrize("env, region", DEPLOYMENTS, ids=DEPLOYMENT_IDS)
def test_outputs_are_exported_and_resolve_to_the_right_resources(stacks, env, region):
    outputs = outputs_of(stacks[(env.name, region)], region)
    exports = {}
    for page in (
        client("cloudformation", region).get_paginator("list_exports").paginate()
    ):
        exports.update({export["Name"]: export["Value"] for export in page["Exports"]})
    for output_id, output in outputs.items():
        assert exports[f"trading-{env.name}-{output_id}"] == output["OutputValue"]
    for spec in CATALOGUE:
        arn = outputs[f"{spec.logical_id}Arn"]["OutputValue"]
        assert (
            client("secretsmanager", region).describe_secret(SecretId=arn)["Name"]
            == outputs[f"{spec.logical_id}Name"]["OutputValue"]
        )
    assert (
        client("kms", region).describe_key(
            KeyId=outputs["SecretsKeyArn"]["OutputValue"]
        )["KeyMetadata"]["Arn"]
        == outputs["SecretsKeyArn"]["OutputValue"]
    )
