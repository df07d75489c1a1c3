"""trading-secrets deploy on the engine, continued: prod's stack set in both regions, a failed create, and lost answers; through the AWS-strict proxy, in test_deploy's process and accounts."""

from __future__ import annotations

import json

import test_deploy
from support.engine import committed_template
from support.timings import record_stack_timings
from support.tool_runs import (
    assert_secrets_encrypted_with_stack_key,
    assert_secrets_hold_no_value,
)
from test_deploy import (
    COLLIDING,
    FLAKY,
    PROD,
    STACK_SET,
    renamed_alpaca,
    templates_with,
    through,
)

from devtools.engine_proxy import Fault

# In test_deploy's process, after it: its accounts are this module's too.
XDIST_GROUP = "test_deploy"
# test_deploy's fixtures, for these tests too.
cleanup = test_deploy.cleanup
deploy = test_deploy.deploy
proxy = test_deploy.proxy


def test_prod_deploys_as_a_stack_set_in_both_regions_and_the_guard_judges_updates(
    deploy, proxy, tmp_path
):
    cloudformation = through(proxy, STACK_SET)
    try:
        created = deploy(STACK_SET, "--env", "prod", "--yes")
        assert created.code == 0, created.err
        assert (
            "stack set trading-prod-secrets in us-east-1 (create): account(s) 999999999998, region(s) us-east-1, us-west-2"
            in created.out
        )
        assert (
            "999999999998 us-east-1: SUCCEEDED" in created.out
            and "999999999998 us-west-2: SUCCEEDED" in created.out
        )
        instances = cloudformation.list_stack_instances(
            StackSetName="trading-prod-secrets"
        )["Summaries"]
        assert sorted(i["Region"] for i in instances) == ["us-east-1", "us-west-2"]
        for instance in instances:
            region = instance["Region"]
            engine = STACK_SET.client("cloudformation", region)
            stack = engine.describe_stacks(StackName=instance["StackId"])["Stacks"][0]
            assert stack["EnableTerminationProtection"]
            given = {
                p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]
            }
            assert given["DeployerRoleNames"] == "trading-prod-deployer"
            # Each region's secrets are empty, under that region's own key.
            key_id = engine.describe_stack_resource(
                StackName=instance["StackId"], LogicalResourceId="SecretsKey"
            )["StackResourceDetail"]["PhysicalResourceId"]
            key_arn = STACK_SET.client("kms", region).describe_key(KeyId=key_id)[
                "KeyMetadata"
            ]["Arn"]
            assert f":{region}:" in key_arn
            assert_secrets_encrypted_with_stack_key(STACK_SET, PROD, region, key_arn)
            assert_secrets_hold_no_value(STACK_SET, PROD, region)
            record_stack_timings(
                STACK_SET, instance["StackId"], region, "prod (stack set)"
            )
        again = deploy(STACK_SET, "--env", "prod", "--yes")
        assert again.code == 0, again.err
        assert (
            "(update)" in again.out and "999999999998 us-west-2: SUCCEEDED" in again.out
        )
        refused = deploy(
            STACK_SET,
            "--env",
            "prod",
            "--yes",
            templates=templates_with(tmp_path, "prod", renamed_alpaca("prod")),
        )
        assert refused.code == 8, refused.err
        assert (
            "stack set trading-prod-secrets: the new template would remove or replace 1 stateful resource(s)"
            in refused.err
        )
        assert json.loads(
            cloudformation.describe_stack_set(StackSetName="trading-prod-secrets")[
                "StackSet"
            ]["TemplateBody"]
        ) == json.loads(committed_template(PROD))
    finally:
        for instance in cloudformation.list_stack_instances(
            StackSetName="trading-prod-secrets"
        )["Summaries"]:
            through(proxy, STACK_SET, instance["Region"]).update_termination_protection(
                StackName=instance["StackId"], EnableTerminationProtection=False
            )
        operation = cloudformation.delete_stack_instances(
            StackSetName="trading-prod-secrets",
            Accounts=[STACK_SET.account_id],
            Regions=list(PROD.regions),
            RetainStacks=False,
        )["OperationId"]
        for _ in range(120):
            if (
                cloudformation.describe_stack_set_operation(
                    StackSetName="trading-prod-secrets", OperationId=operation
                )["StackSetOperation"]["Status"]
                != "RUNNING"
            ):
                break
            import time

            time.sleep(0.5)
        cloudformation.delete_stack_set(StackSetName="trading-prod-secrets")


def test_a_failed_create_is_reported_with_its_reason(deploy, cleanup):
    """A secret of the same name already exists: CloudFormation's reason reaches the user, and that secret is left alone.

    The engine ends at ROLLBACK_COMPLETE, as AWS does (it reports a rollback
    while leaving the stack's key and topic in place; AWS would remove them).
    """
    cleanup.append((COLLIDING, "trading-dev-secrets"))
    secrets = COLLIDING.client("secretsmanager")
    before = '{"left": "FAKE-here-before"}'
    secrets.create_secret(Name="trading/dev/alpaca", SecretString=before)
    try:
        failed = deploy(COLLIDING, "--env", "dev", "--yes")
        assert (
            secrets.get_secret_value(SecretId="trading/dev/alpaca")["SecretString"]
            == before
        )
    finally:
        secrets.delete_secret(
            SecretId="trading/dev/alpaca", ForceDeleteWithoutRecovery=True
        )
    assert failed.code == 4, failed.err
    assert "us-east-1" in failed.err and "AlpacaCredentials" in failed.err
    assert (
        "CREATE_FAILED: Resource provider operation failed" in failed.err
        and "already exists" in failed.err
    )
    assert (
        "trading-secrets: error: the create of trading-dev-secrets in us-east-1 failed and was rolled back: "
        "nothing of it remains; delete the stack before a retry (aws cloudformation delete-stack --stack-name "
        "trading-dev-secrets --region us-east-1)" in failed.err
    )


def test_a_lost_answer_is_read_back_and_one_that_cannot_be_is_an_unknown_outcome(
    deploy, proxy, cleanup, tmp_path
):
    cleanup.append((FLAKY, "trading-dev-secrets"))
    proxy.clear()
    # botocore resends a lost request: the second try meets a change set already running.
    proxy.add(Fault("ExecuteChangeSet", "drop", times=1))
    landed = deploy(FLAKY, "--env", "dev", "--yes")
    assert landed.code == 0, landed.err
    assert "trading-dev-secrets deployed in us-east-1" in landed.out

    def retitle(template):
        template["Resources"]["AlertTopic"]["Properties"]["DisplayName"] = "flaky"

    proxy.clear()
    # The answer to the execution is lost, and from then on the change set cannot be read.
    proxy.add(
        Fault("ExecuteChangeSet", "drop", times=1),
        Fault("DescribeChangeSet", "error", after="ExecuteChangeSet"),
        Fault("ExecuteChangeSet", "error", after="ExecuteChangeSet"),
    )
    unknown = deploy(
        FLAKY,
        "--env",
        "dev",
        "--yes",
        templates=templates_with(tmp_path, "dev", retitle),
    )
    proxy.clear()
    assert unknown.code == 9, unknown.err
    assert (
        "got no answer" in unknown.err
        and "cannot be read back: it may be running" in unknown.err
    )
    assert (
        "aws cloudformation describe-stacks --stack-name trading-dev-secrets --region us-east-1"
        in unknown.err
    )
