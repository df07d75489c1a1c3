"""All three environments deployed by taskcat's CFNTest on LocalStack, then checked through boto3.

taskcat's stacks live in the engine's default account, which no other module
uses: versioning, a value put out of band surviving two stack updates, and,
last, deleting the stacks, after which nothing of dev may be left there.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from support.engine import DEFAULT, WAIT, client, stack_parameters
from support.repository import ROOT
from support.timings import record_stack_timings
from support.tool_runs import (
    assert_secrets_encrypted_with_stack_key,
    assert_secrets_hold_no_value,
)

from generator import naming, tagging
from generator.build import generate
from generator.catalogue import CATALOGUE, alpaca_endpoint
from generator.environments import ENVIRONMENTS
from generator.naming import secret_name

DEPLOYMENTS = [(env, region) for env in ENVIRONMENTS.values() for region in env.regions]
DEPLOYMENT_IDS = [f"{env.name}-{region}" for env, region in DEPLOYMENTS]
# taskcat refreshes a stack's status every 60 s and polls that every 10 s;
# stacks settle in about a second here.
POLL_SECONDS = 0.5


def prompt_printer() -> Any:
    """taskcat's progress printer, refreshing every stack and polling every POLL_SECONDS instead."""
    from taskcat._tui import TerminalPrinter

    class PromptPrinter(TerminalPrinter):  # type: ignore[misc]
        def report_test_progress(
            self, stacker: Any, poll_interval: float = POLL_SECONDS
        ) -> None:
            while True:
                for stack in stacker.stacks:
                    stack.refresh()
                if not stacker.status()["IN_PROGRESS"]:
                    return
                time.sleep(POLL_SECONDS)

    return PromptPrinter(minimalist=True)


class TaskcatRun:
    """taskcat's tests, run: each stack by (environment, region), and its clean-up, done once."""

    def __init__(self, test: Any, stacks: dict[tuple[str, str], str]):
        self._test, self.stacks, self.cleaned = test, stacks, False

    def __getitem__(self, key: tuple[str, str]) -> str:
        return self.stacks[key]

    def clean_up(self) -> None:
        if not self.cleaned:
            self.cleaned = True
            self._test.clean_up()


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskcatRun]:
    """Deploy every taskcat test (every environment, every region); delete them all afterwards."""
    from taskcat.testing import CFNTest

    # taskcat uploads its whole project directory to S3 before it deploys,
    # skipping only dot-files: from the repository root that is every cache,
    # report and package directory (35 s here). Its project is the committed
    # configuration and templates, so stage just those.
    project = tmp_path_factory.mktemp("taskcat-project")
    shutil.copy(ROOT / ".taskcat.yml", project / ".taskcat.yml")
    shutil.copytree(ROOT / "templates", project / "templates")
    test = CFNTest.from_file(
        project_root=str(project),
        input_file=str(project / ".taskcat.yml"),
    )
    test.printer = prompt_printer()
    # Our build already linted the templates with our own .cfnlintrc.
    test.lint_disable = True
    test.dont_wait_for_delete = False
    # taskcat makes its own clients in the default account: claim it here,
    # so the session's leftover check looks there even if a deploy fails.
    DEFAULT.client("cloudformation")
    try:
        test.run()
    except BaseException:
        test.clean_up()
        raise
    deployed = TaskcatRun(test, {})
    try:
        for stack in test.result:
            env_name = next(name for name in ENVIRONMENTS if f"-{name}-" in stack.name)
            assert stack.status == "CREATE_COMPLETE", (
                f"{stack.name} in {stack.region_name}: {stack.status}"
            )
            deployed.stacks[(env_name, stack.region_name)] = stack.id
            record_stack_timings(DEFAULT, stack.id, stack.region_name, env_name)
        assert set(deployed.stacks) == {
            (env.name, region) for env, region in DEPLOYMENTS
        }
        yield deployed
    finally:
        deployed.clean_up()


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
        "AlertPathChangeRule": "ENABLED",
        "SecretAccessDeniedRule": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
        "PendingDeletionAccessRule": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
    }
    for logical_id, name in rules.items():
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        if logical_id in ("AlertsKeyChangeRule", "AlertPathChangeRule"):
            # The alerting key's own tampering, and the alert path's, go where they cannot stop it.
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
            "baseUrl": alpaca_endpoint(env),
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


def test_deleting_the_stacks_removes_every_dev_resource(stacks):
    """Last in this module: taskcat deletes its stacks, and no dev resource is left in the account.

    dev keeps nothing (DeletionPolicy Delete); the engine does not honour Retain
    (docs/development.md), so only dev's resources are judged here.
    """
    stacks.clean_up()
    names = [s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]]
    assert not [name for name in names if name.startswith("trading/dev/")]
    aliases = [a["AliasName"] for a in client("kms").list_aliases()["Aliases"]]
    assert not [alias for alias in aliases if alias.startswith("alias/trading-dev-")]
    topics = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    assert not [arn for arn in topics if ":trading-dev-" in arn]
    rules = [r["Name"] for r in client("events").list_rules()["Rules"]]
    assert not [name for name in rules if name.startswith("trading-dev-")]
    queues = client("sqs").list_queues().get("QueueUrls", [])
    assert not [url for url in queues if "/trading-dev-" in url]
