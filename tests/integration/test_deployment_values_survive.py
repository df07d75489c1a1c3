"""The taskcat deployments, continued: versioning, no deploy overwriting a value put out of band, a deploy that must fail sparing the secrets, and deleting dev; in test_deployment's process, on its stacks."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid

import pytest
from botocore.exceptions import WaiterError
from support.engine import (
    DEFAULT,
    TEARDOWN,
    WAIT,
    client,
    delete_stack,
    deployed,
    stack_parameters,
)

from generator import naming
from generator.build import generate
from generator.catalogue import CATALOGUE
from generator.environments import ENVIRONMENTS
from generator.naming import secret_name

# In test_deployment's process, after it: its account and stacks are this module's too.
XDIST_GROUP = "test_deployment"


def test_versioning_keeps_current_and_previous(stacks):
    secrets = client("secretsmanager")
    secret_id = "trading/dev/alphavantage"
    first = secrets.put_secret_value(
        SecretId=secret_id, SecretString='{"apiKey":"PLACEHOLDER-version-one-not-real"}'
    )["VersionId"]
    second = secrets.put_secret_value(
        SecretId=secret_id, SecretString='{"apiKey":"PLACEHOLDER-version-two-not-real"}'
    )["VersionId"]
    stages = DEFAULT.version_stages(secret_id)
    assert stages[second] == ["AWSCURRENT"]
    assert stages[first] == ["AWSPREVIOUS"]
    assert json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])[
        "apiKey"
    ].endswith("two-not-real")
    previous = secrets.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")
    assert previous["VersionId"] == first


def _update(
    stack_id: str, region: str, template: str, parameters: list[dict[str, str]]
) -> None:
    cloudformation = client("cloudformation", region)
    cloudformation.update_stack(
        StackName=stack_id, TemplateBody=template, Parameters=parameters
    )
    cloudformation.get_waiter("stack_update_complete").wait(
        StackName=stack_id, WaiterConfig=WAIT
    )


def _email_dead_letter_queue(stack_id: str) -> str:
    """Where SNS puts an alert email it could not deliver, as the engine has it."""
    subscription = client("cloudformation").describe_stack_resource(
        StackName=stack_id, LogicalResourceId="AlertEmailSubscription"
    )["StackResourceDetail"]["PhysicalResourceId"]
    attributes = client("sns").get_subscription_attributes(
        SubscriptionArn=subscription
    )["Attributes"]
    return str(json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"])


@pytest.mark.parametrize("env_name", ["staging", "prod"])
def test_no_deploy_overwrites_a_value_put_out_of_band(stacks, env_name):
    env = ENVIRONMENTS[env_name]
    secrets = client("secretsmanager")
    secret_id = f"trading/{env_name}/alpaca"
    value = json.dumps(
        {
            "apiKeyId": "PLACEHOLDER-oob-not-real",
            "apiSecretKey": "PLACEHOLDER-oob-not-real",
            "baseUrl": env.alpaca_endpoint,
        }
    )
    version = secrets.put_secret_value(SecretId=secret_id, SecretString=value)[
        "VersionId"
    ]

    # Once with a changed parameter, once with a freshly built template.
    _update(
        stacks[(env_name, "us-east-1")],
        "us-east-1",
        generate(env),
        stack_parameters(env, AlertEmail="alerts@example.com"),
    )
    assert _email_dead_letter_queue(stacks[(env_name, "us-east-1")]) == (
        f"arn:aws:sqs:us-east-1:000000000000:{naming.alert_dead_letter_queue_name(env)}"
    )
    _update(
        stacks[(env_name, "us-east-1")],
        "us-east-1",
        generate(env),
        stack_parameters(env),
    )

    current = secrets.get_secret_value(SecretId=secret_id)
    assert current["SecretString"] == value
    assert current["VersionId"] == version


def test_a_deploy_that_must_fail_fails_with_its_reason_and_spares_the_existing_secrets(
    stacks,
):
    """Secrets with the stack's secret names already exist: the deploy fails, says why, and leaves them as they were.

    Both names are taken, so the create fails at whichever secret the engine
    makes first, before any of the stack's secrets exists: with one taken, the
    engine sometimes made the other first, and then could not delete the
    failed stack.
    """
    env = dataclasses.replace(
        ENVIRONMENTS["dev"], project=f"clash{uuid.uuid4().hex[:6]}"
    )
    cloudformation = client("cloudformation")
    secrets = client("secretsmanager")
    squatters = [
        secrets.create_secret(
            Name=secret_name(env, spec),
            SecretString='{"apiKey":"PLACEHOLDER-squatter-not-real"}',
        )
        for spec in CATALOGUE
    ]
    stack_id = cloudformation.create_stack(
        StackName=f"{env.project}-dev-secrets",
        TemplateBody=generate(env),
        Parameters=stack_parameters(env),
    )["StackId"]
    try:
        with pytest.raises(WaiterError):
            cloudformation.get_waiter("stack_create_complete").wait(
                StackName=stack_id, WaiterConfig=WAIT
            )
        status = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0][
            "StackStatus"
        ]
        # Real CloudFormation rolls back (ROLLBACK_COMPLETE); LocalStack 4.10 stops at
        # CREATE_FAILED without rolling back, so what a rollback removes is not
        # checkable on this engine.
        assert status in ("ROLLBACK_COMPLETE", "CREATE_FAILED")
        events = cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
        failed = {
            e["LogicalResourceId"]: e.get("ResourceStatusReason", "")
            for e in events
            if e["ResourceStatus"] == "CREATE_FAILED"
        }
        secret_failures = {spec.logical_id for spec in CATALOGUE} & set(failed)
        assert secret_failures, failed
        assert all(
            "exist" in failed[logical_id].lower() for logical_id in secret_failures
        ), failed

        # The pre-existing secrets are untouched.
        for squatter in squatters:
            current = secrets.get_secret_value(SecretId=squatter["ARN"])
            assert current["VersionId"] == squatter["VersionId"]
            assert (
                current["SecretString"] == '{"apiKey":"PLACEHOLDER-squatter-not-real"}'
            )
    finally:
        # Deleting the failed stack on LocalStack also deletes the pre-existing
        # secrets (another fidelity gap); here that is just the cleanup.
        delete_stack(DEFAULT, "us-east-1", stack_id)
        for squatter in squatters:
            with contextlib.suppress(secrets.exceptions.ResourceNotFoundException):
                secrets.delete_secret(
                    SecretId=squatter["ARN"], ForceDeleteWithoutRecovery=True
                )


def test_deleting_the_dev_stack_removes_every_dev_resource():
    """In an account of its own, so that nothing else deployed there can hide a leftover."""
    dev = ENVIRONMENTS["dev"]
    with deployed(TEARDOWN, dev) as stacks:
        assert TEARDOWN.client("secretsmanager").list_secrets()["SecretList"]
    assert stacks
    names = [
        s["Name"]
        for s in TEARDOWN.client("secretsmanager").list_secrets()["SecretList"]
    ]
    assert not [name for name in names if name.startswith("trading/dev/")]
    aliases = [a["AliasName"] for a in TEARDOWN.client("kms").list_aliases()["Aliases"]]
    assert "alias/trading-dev-secrets" not in aliases
    topics = [t["TopicArn"] for t in TEARDOWN.client("sns").list_topics()["Topics"]]
    assert not [arn for arn in topics if arn.endswith(":trading-dev-secrets-alerts")]
    rules = [r["Name"] for r in TEARDOWN.client("events").list_rules()["Rules"]]
    assert rules == []
