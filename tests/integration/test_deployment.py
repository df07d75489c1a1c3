"""All three environments deployed by taskcat's CFNTest on LocalStack, then checked through boto3."""

from __future__ import annotations

import dataclasses
import json
import uuid

import jsonschema
import pytest
from botocore.exceptions import WaiterError

from generator import tagging
from generator.build import generate
from generator.catalogue import CATALOGUE
from generator.environments import ENVIRONMENTS
from generator.naming import secret_name
from deploy_support import (
    WAIT,
    assert_secrets_encrypted_with_stack_key,
    assert_secrets_hold_no_value,
    client,
    record_stack_timings,
    stack_parameters,
)
from helpers import ROOT

DEPLOYMENTS = [(env, region) for env in ENVIRONMENTS.values() for region in env.regions]
DEPLOYMENT_IDS = [f"{env.name}-{region}" for env, region in DEPLOYMENTS]


@pytest.fixture(scope="module")
def stacks() -> dict[tuple[str, str], str]:
    """Deploy every taskcat test (every environment, every region); delete them all afterwards."""
    from taskcat.testing import CFNTest

    test = CFNTest.from_file(project_root=str(ROOT), input_file=str(ROOT / ".taskcat.yml"))
    # Our build already linted the templates with our own .cfnlintrc.
    test.lint_disable = True
    test.dont_wait_for_delete = False
    with test as deployed:
        by_env_region = {}
        for stack in deployed:
            env_name = next(name for name in ENVIRONMENTS if f"-{name}-" in stack.name)
            assert stack.status == "CREATE_COMPLETE", f"{stack.name} in {stack.region_name}: {stack.status}"
            by_env_region[(env_name, stack.region_name)] = stack.id
            record_stack_timings(stack.id, stack.region_name, env_name)
        assert set(by_env_region) == {(env.name, region) for env, region in DEPLOYMENTS}
        yield by_env_region


def outputs_of(stack_id: str, region: str) -> dict[str, dict]:
    stack = client("cloudformation", region).describe_stacks(StackName=stack_id)["Stacks"][0]
    return {output["OutputKey"]: output for output in stack.get("Outputs", [])}


@pytest.mark.parametrize("env, region", DEPLOYMENTS, ids=DEPLOYMENT_IDS)
def test_secrets_exist_named_described_tagged_and_encrypted_with_the_stack_key(stacks, env, region):
    key_arn = outputs_of(stacks[(env.name, region)], region)["SecretsKeyArn"]["OutputValue"]
    assert_secrets_encrypted_with_stack_key(env, region, key_arn)
    for spec in CATALOGUE:
        described = client("secretsmanager", region).describe_secret(SecretId=secret_name(env, spec))
        assert described["Description"].startswith(spec.description)
        tags = {tag["Key"]: tag["Value"] for tag in described["Tags"]}
        assert set(tagging.SECRET_TAG_KEYS) <= set(tags)
        assert tags["Environment"] == env.name and tags["RotationPolicy"] == "manual"


@pytest.mark.parametrize("env, region", DEPLOYMENTS, ids=DEPLOYMENT_IDS)
def test_resource_policy_is_attached_with_the_expected_statements(stacks, env, region):
    expected = {"DenyPrincipalsOutsideAccount"} | ({"DenyDeleteExceptBreakGlass"} if env.deny_delete_except_break_glass else set())
    for spec in CATALOGUE:
        policy = client("secretsmanager", region).get_resource_policy(SecretId=f"trading/{env.name}/{spec.name_suffix}")
        statements = json.loads(policy["ResourcePolicy"])["Statement"]
        assert {statement["Sid"] for statement in statements} == expected


@pytest.mark.parametrize("env_name", ["dev", "staging"])
@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.logical_id)
def test_placeholders_are_readable_the_way_a_consumer_reads_them(stacks, env_name, spec):
    env = ENVIRONMENTS[env_name]
    name = outputs_of(stacks[(env_name, "us-east-1")], "us-east-1")[f"{spec.logical_id}Name"]["OutputValue"]
    value = json.loads(client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    jsonschema.Draft7Validator(spec.schema(env)).validate(value)
    assert value == spec.placeholder(env)


@pytest.mark.parametrize("region", ENVIRONMENTS["prod"].regions)
def test_prod_secrets_exist_but_hold_no_value(stacks, region):
    assert_secrets_hold_no_value(ENVIRONMENTS["prod"], region)


@pytest.mark.parametrize("env, region", DEPLOYMENTS, ids=DEPLOYMENT_IDS)
def test_alert_topic_policy_and_rules_exist(stacks, env, region):
    topic_arn = outputs_of(stacks[(env.name, region)], region)["AlertTopicArn"]["OutputValue"]
    attributes = client("sns", region).get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    assert attributes["KmsMasterKeyId"]
    sids = {statement["Sid"] for statement in json.loads(attributes["Policy"])["Statement"]}
    assert {"AllowStackRulesToPublish", "DenyPublishWithoutTls"} <= sids
    resources = client("cloudformation", region).describe_stack_resources(StackName=stacks[(env.name, region)])["StackResources"]
    rules = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Events::Rule"]
    assert len(rules) == 3
    events = client("events", region)
    for rule in rules:
        assert events.describe_rule(Name=rule)["State"] == "ENABLED"
        assert [target["Arn"] for target in events.list_targets_by_rule(Rule=rule)["Targets"]] == [topic_arn]


@pytest.mark.parametrize("env, region", DEPLOYMENTS, ids=DEPLOYMENT_IDS)
def test_outputs_are_exported_and_resolve_to_the_right_resources(stacks, env, region):
    outputs = outputs_of(stacks[(env.name, region)], region)
    exports = {}
    for page in client("cloudformation", region).get_paginator("list_exports").paginate():
        exports.update({export["Name"]: export["Value"] for export in page["Exports"]})
    for output_id, output in outputs.items():
        assert exports[f"trading-{env.name}-{output_id}"] == output["OutputValue"]
    for spec in CATALOGUE:
        arn = outputs[f"{spec.logical_id}Arn"]["OutputValue"]
        assert client("secretsmanager", region).describe_secret(SecretId=arn)["Name"] == outputs[f"{spec.logical_id}Name"]["OutputValue"]
    assert client("kms", region).describe_key(KeyId=outputs["SecretsKeyArn"]["OutputValue"])["KeyMetadata"]["Arn"] == outputs["SecretsKeyArn"]["OutputValue"]


def _stages(secret_id: str, region: str = "us-east-1") -> dict[str, list[str]]:
    versions = client("secretsmanager", region).list_secret_version_ids(SecretId=secret_id)["Versions"]
    return {version["VersionId"]: sorted(version.get("VersionStages", [])) for version in versions}


def test_versioning_keeps_current_and_previous(stacks):
    secrets = client("secretsmanager")
    secret_id = "trading/dev/alphavantage"
    first = secrets.put_secret_value(SecretId=secret_id, SecretString='{"apiKey":"PLACEHOLDER-version-one-not-real"}')["VersionId"]
    second = secrets.put_secret_value(SecretId=secret_id, SecretString='{"apiKey":"PLACEHOLDER-version-two-not-real"}')["VersionId"]
    stages = _stages(secret_id)
    assert stages[second] == ["AWSCURRENT"]
    assert stages[first] == ["AWSPREVIOUS"]
    assert json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])["apiKey"].endswith("two-not-real")
    previous = secrets.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")
    assert previous["VersionId"] == first


def _update(stack_id: str, region: str, template: str, parameters: list[dict[str, str]]) -> None:
    cloudformation = client("cloudformation", region)
    cloudformation.update_stack(StackName=stack_id, TemplateBody=template, Parameters=parameters)
    cloudformation.get_waiter("stack_update_complete").wait(StackName=stack_id, WaiterConfig=WAIT)


@pytest.mark.parametrize("env_name", ["staging", "prod"])
def test_no_deploy_overwrites_a_value_put_out_of_band(stacks, env_name):
    env = ENVIRONMENTS[env_name]
    secrets = client("secretsmanager")
    secret_id = f"trading/{env_name}/alpaca"
    value = json.dumps({"apiKeyId": "PLACEHOLDER-oob-not-real", "apiSecretKey": "PLACEHOLDER-oob-not-real", "baseUrl": env.alpaca_endpoint})
    version = secrets.put_secret_value(SecretId=secret_id, SecretString=value)["VersionId"]

    # Once with a changed parameter, once with a freshly built template.
    _update(stacks[(env_name, "us-east-1")], "us-east-1", generate(env), stack_parameters(env, AlertEmail="alerts@example.com"))
    _update(stacks[(env_name, "us-east-1")], "us-east-1", generate(env), stack_parameters(env))

    current = secrets.get_secret_value(SecretId=secret_id)
    assert current["SecretString"] == value
    assert current["VersionId"] == version


def test_a_deploy_that_must_fail_fails_with_its_reason_and_spares_the_existing_secret(stacks):
    """A secret with the stack's secret name already exists: the deploy fails, says why, and leaves that secret as it was."""
    env = dataclasses.replace(ENVIRONMENTS["dev"], project=f"clash{uuid.uuid4().hex[:6]}")
    cloudformation = client("cloudformation")
    secrets = client("secretsmanager")
    squatter = secrets.create_secret(Name=f"{env.project}/dev/alpaca", SecretString='{"apiKey":"PLACEHOLDER-squatter-not-real"}')
    stack_id = cloudformation.create_stack(
        StackName=f"{env.project}-dev-secrets", TemplateBody=generate(env), Parameters=stack_parameters(env)
    )["StackId"]
    try:
        with pytest.raises(WaiterError):
            cloudformation.get_waiter("stack_create_complete").wait(StackName=stack_id, WaiterConfig=WAIT)
        status = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
        # Real CloudFormation rolls back (ROLLBACK_COMPLETE); LocalStack 4.10 stops at
        # CREATE_FAILED without rolling back, so what a rollback removes is not
        # checkable on this engine (LOCALSTACK.md fidelity gaps).
        assert status in ("ROLLBACK_COMPLETE", "CREATE_FAILED")
        events = cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
        failed = {e["LogicalResourceId"]: e.get("ResourceStatusReason", "") for e in events if e["ResourceStatus"] == "CREATE_FAILED"}
        assert "AlpacaCredentials" in failed and "exist" in failed["AlpacaCredentials"].lower(), failed

        # The pre-existing secret is untouched.
        current = secrets.get_secret_value(SecretId=squatter["ARN"])
        assert current["VersionId"] == squatter["VersionId"]
        assert current["SecretString"] == '{"apiKey":"PLACEHOLDER-squatter-not-real"}'
    finally:
        # Deleting the failed stack on LocalStack also deletes the pre-existing
        # secret (another fidelity gap); here that is just the cleanup.
        cloudformation.delete_stack(StackName=stack_id)
        cloudformation.get_waiter("stack_delete_complete").wait(StackName=stack_id, WaiterConfig=WAIT)
        try:
            secrets.delete_secret(SecretId=squatter["ARN"], ForceDeleteWithoutRecovery=True)
        except secrets.exceptions.ResourceNotFoundException:
            pass
