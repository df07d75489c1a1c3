"""`trading-secrets deploy` on the engine, through the AWS-strict proxy, as a user runs it; and the proxy's own rules.

The proxy refuses what AWS refuses and LocalStack would let through
(capabilities, stack policies, termination protection, the staging-label
compare-and-swap) and runs StackSets over real stacks, so a green deploy here
passed what a real account checks. For each of its rules, the raw engine
accepts the call and the proxy refuses it as AWS does, naming the same error,
while the call AWS accepts still goes through. The proxy's rules are shown on
the stacks `deploy` made, rather than on stacks of their own.

Tests on one stack run in the order written (pytest keeps a module's order,
and the module runs whole in one process): from the state the deploy made,
to the changes that need it. Every run's stdout, stderr and log are scanned
for values.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from support.engine import (
    DEPLOY_COLLIDING,
    DEPLOY_REFUSED,
    DEPLOY_STACK_SET,
    DEPLOY_STACKS,
    Account,
    committed_template,
    delete_stack,
    stack_parameters,
    through,
)
from support.repository import ROOT
from support.timings import record_stack_timings
from support.tool_runs import (
    Run,
    assert_secrets_encrypted_with_stack_key,
    assert_secrets_hold_no_value,
    run_tool,
    run_tool_once,
)

from devtools.engine_proxy import EngineProxy, Fault, engine_proxy
from generator.catalogue import CATALOGUE
from generator.environments import ENVIRONMENTS
from generator.json_text import pretty_json
from generator.leaks import known_placeholder_values
from generator.naming import secret_name

DEV, STAGING, PROD = (ENVIRONMENTS[name] for name in ("dev", "staging", "prod"))
STACKS = DEPLOY_STACKS  # dev and staging: their names differ
STACK_SET, COLLIDING = DEPLOY_STACK_SET, DEPLOY_COLLIDING
STRICT = DEPLOY_REFUSED
WAIT = {"Delay": 1, "MaxAttempts": 120}


@pytest.fixture(scope="module")
def proxy(engine) -> Iterator[EngineProxy]:
    with engine_proxy(engine, strict=True) as running:
        yield running


def deploy_once(proxy: EngineProxy, account: Account, *argv: str) -> Run:
    """`trading-secrets deploy --yes` as `account`, through the proxy, for a module's stack."""
    account.client(
        "cloudformation"
    )  # the session's leftover check looks in this account
    return run_tool_once(
        ["deploy", *argv, "--yes", "--templates-dir", str(ROOT / "templates")],
        {**account.credentials, "AWS_ENDPOINT_URL": proxy.url},
        known_placeholder_values(),
    )


def delete_unprotected(proxy: EngineProxy, account: Account, name: str) -> None:
    """Every stack of that name in the account, termination protection turned off first (through the proxy)."""
    cloudformation = through(proxy, account)
    for stack in account.client("cloudformation").list_stacks()["StackSummaries"]:
        if stack["StackName"] == name and stack["StackStatus"] != "DELETE_COMPLETE":
            cloudformation.update_termination_protection(
                StackName=stack["StackId"], EnableTerminationProtection=False
            )
            delete_stack(account, "us-east-1", stack["StackId"])


@pytest.fixture(scope="module")
def dev(proxy) -> Iterator[Run]:
    """dev, created by `deploy` in STACKS: the tests on it go from this state to the changes that need it."""
    proxy.clear()
    try:
        yield deploy_once(proxy, STACKS, "--env", "dev")
    finally:
        delete_unprotected(proxy, STACKS, "trading-dev-secrets")


@pytest.fixture(scope="module")
def staging(proxy) -> Iterator[Run]:
    """staging, created by `deploy` in STACKS, with its stack policy and termination protection."""
    try:
        yield deploy_once(proxy, STACKS, "--env", "staging")
    finally:
        delete_unprotected(proxy, STACKS, "trading-staging-secrets")


@pytest.fixture
def deploy(proxy, monkeypatch, capsys, caplog):
    """Run `trading-secrets deploy` in this process, as `account`, through the strict proxy."""

    def run(
        account: Account,
        *argv: str,
        templates: Path = ROOT / "templates",
        answer: str | None = None,
        params: Path = ROOT / "params",
    ) -> Run:
        account.client(
            "cloudformation"
        )  # the session's leftover check looks in this account
        if answer is not None:
            # A terminal, for the question; its answer typed in.
            terminal = io.StringIO(answer)
            terminal.isatty = lambda: True  # type: ignore[method-assign]
            monkeypatch.setattr(sys, "stdin", terminal)
        return run_tool(
            monkeypatch,
            capsys,
            caplog,
            [
                "deploy",
                *argv,
                "--templates-dir",
                str(templates),
                "--params-dir",
                str(params),
            ],
            {**account.credentials, "AWS_ENDPOINT_URL": proxy.url},
            known_placeholder_values(),
        )

    return run


@pytest.fixture
def cleanup(proxy) -> Iterator[list[tuple[Account, str]]]:
    """Stacks a test makes, to delete afterwards."""
    made: list[tuple[Account, str]] = []
    yield made
    for account, name in made:
        delete_unprotected(proxy, account, name)


def templates_with(tmp_path: Path, env_name: str, change) -> Path:
    """A copy of the committed templates with `change` made to one environment's template."""
    target = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", target)
    path = target / env_name / "secrets.json"
    template = json.loads(path.read_text())
    change(template)
    # Laid out as the build lays it out: indented, it would be over what a template body may be.
    path.write_text(pretty_json(template))
    return target


def retitled(title: str):
    def retitle(template):
        template["Resources"]["AlertTopic"]["Properties"]["DisplayName"] = title

    return retitle


def test_dev_is_created_then_up_to_date_then_updated_in_place(
    dev, deploy, proxy, tmp_path
):
    created = dev
    assert created.code == 0, created.err
    # The account and regions come before anything changes.
    plan = created.out.splitlines()[0]
    assert (
        plan.startswith("deploy dev: ")
        and "account 999999999999 as arn:aws:iam::999999999999:" in plan
    )
    assert "region(s) us-east-1" in plan and "capabilities CAPABILITY_IAM" in plan
    assert "(create):" in created.out
    assert (
        "  AlpacaCredentials                      AWS::SecretsManager::Secret            Add"
        in created.out
    )
    assert (
        "us-east-1" in created.out
        and "trading-dev-secrets                    CREATE_COMPLETE" in created.out
    )
    assert "trading-dev-secrets deployed in us-east-1:" in created.out
    assert "  AlpacaCredentialsName: trading/dev/alpaca" in created.out
    # It sent the capabilities (the strict proxy refuses a create without), set the stack policy,
    # and never touched a secret itself: CloudFormation did, inside the engine.
    assert proxy.count("CreateChangeSet") == 1 and proxy.count("SetStackPolicy") == 1
    assert not [s for s in proxy.seen if s.service == "secretsmanager"]
    cloudformation = through(proxy, STACKS)
    policy = json.loads(
        cloudformation.get_stack_policy(StackName="trading-dev-secrets")[
            "StackPolicyBody"
        ]
    )
    assert policy == json.loads(
        (ROOT / "templates" / "dev" / "stack-policy.json").read_text()
    )
    # dev keeps no data: it stays deletable.
    assert not cloudformation.describe_stacks(StackName="trading-dev-secrets")[
        "Stacks"
    ][0]["EnableTerminationProtection"]

    again = deploy(STACKS, "--env", "dev", "--yes")
    assert again.code == 0, again.err
    assert (
        "trading-dev-secrets in us-east-1 is up to date: the change set holds no change"
        in again.out
    )
    assert not STACKS.client("cloudformation").list_change_sets(
        StackName="trading-dev-secrets"
    )["Summaries"]

    updated = deploy(
        STACKS,
        "--env",
        "dev",
        "--yes",
        templates=templates_with(
            tmp_path, "dev", retitled("trading dev alerts (retitled)")
        ),
    )
    assert updated.code == 0, updated.err
    assert "(update):" in updated.out
    assert (
        "  AlertTopic                             AWS::SNS::Topic                        Modify   False"
        in updated.out
    )
    assert re.search(
        r"^us-east-1 \S+ AlertTopic +UPDATE_COMPLETE$", updated.out, re.MULTILINE
    ), updated.out


def test_answering_no_changes_nothing_and_leaves_no_change_set(dev, deploy, tmp_path):
    cloudformation = STACKS.client("cloudformation")
    before = cloudformation.describe_stacks(StackName="trading-dev-secrets")["Stacks"][
        0
    ]
    declined = deploy(
        STACKS,
        "--env",
        "dev",
        templates=templates_with(tmp_path, "dev", retitled("declined")),
        answer="n\n",
    )
    assert declined.code == 5 and "deploy cancelled; nothing changed" in declined.err
    after = cloudformation.describe_stacks(StackName="trading-dev-secrets")["Stacks"][0]
    assert after["StackStatus"] == before["StackStatus"]
    assert after.get("LastUpdatedTime") == before.get("LastUpdatedTime")
    assert not cloudformation.list_change_sets(StackName="trading-dev-secrets")[
        "Summaries"
    ]


def refused(call, code: str) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] == code, raised.value.response
    return raised.value.response["Error"]["Message"]


def deployed_template(cloudformation, stack: str) -> dict:
    body = cloudformation.get_template(StackName=stack)["TemplateBody"]
    return json.loads(body) if isinstance(body, str) else dict(body)


def test_an_update_without_the_capability_is_refused_and_with_it_goes_through(
    dev, proxy
):
    """CloudFormation API Reference, CreateStack and UpdateStack, "Capabilities"."""
    cloudformation = through(proxy, STACKS)
    template = deployed_template(cloudformation, "trading-dev-secrets")
    template["Resources"]["AlertTopic"]["Properties"]["DisplayName"] = "strict"
    arguments = {
        "StackName": "trading-dev-secrets",
        "TemplateBody": json.dumps(template),
        "Parameters": stack_parameters(DEV),
    }
    refused(
        lambda: cloudformation.update_stack(**arguments),
        "InsufficientCapabilitiesException",
    )
    cloudformation.update_stack(**arguments, Capabilities=["CAPABILITY_IAM"])
    cloudformation.get_waiter("stack_update_complete").wait(
        StackName="trading-dev-secrets", WaiterConfig=WAIT
    )


def test_moving_a_label_needs_the_version_that_holds_it(dev, proxy):
    """Secrets Manager API Reference, UpdateSecretVersionStage, RemoveFromVersionId."""
    secrets = through(proxy, STACKS, service="secretsmanager")
    name = "trading/dev/alphavantage"
    current = next(
        v["VersionId"]
        for v in secrets.list_secret_version_ids(SecretId=name)["Versions"]
        if "AWSCURRENT" in v.get("VersionStages", [])
    )
    staged = secrets.put_secret_value(
        SecretId=name,
        SecretString='{"apiKey": "FAKE-strict-proxy-test"}',
        VersionStages=["AWSPENDING"],
    )["VersionId"]
    for wrong in ({}, {"RemoveFromVersionId": staged}):
        message = refused(
            lambda wrong=wrong: secrets.update_secret_version_stage(
                SecretId=name,
                VersionStage="AWSCURRENT",
                MoveToVersionId=staged,
                **wrong,
            ),
            "InvalidParameterException",
        )
        assert current in message
    secrets.update_secret_version_stage(
        SecretId=name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=staged,
        RemoveFromVersionId=current,
    )


def test_a_lost_answer_is_read_back_and_one_that_cannot_be_is_an_unknown_outcome(
    dev, deploy, proxy, tmp_path
):
    proxy.clear()
    # botocore resends a lost request: the second try meets a change set already running.
    proxy.add(Fault("ExecuteChangeSet", "drop", times=1))
    landed = deploy(
        STACKS,
        "--env",
        "dev",
        "--yes",
        templates=templates_with(tmp_path / "landed", "dev", retitled("flaky")),
    )
    assert landed.code == 0, landed.err
    assert "the request got no answer" in landed.out
    assert "trading-dev-secrets deployed in us-east-1" in landed.out

    proxy.clear()
    # The answer to the execution is lost, and from then on the change set cannot be read.
    proxy.add(
        Fault("ExecuteChangeSet", "drop", times=1),
        Fault("DescribeChangeSet", "error", after="ExecuteChangeSet"),
        Fault("ExecuteChangeSet", "error", after="ExecuteChangeSet"),
    )
    unknown = deploy(
        STACKS,
        "--env",
        "dev",
        "--yes",
        templates=templates_with(tmp_path / "unknown", "dev", retitled("flakier")),
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
    # It was running: the tests after this one start from a settled stack.
    STACKS.client("cloudformation").get_waiter("stack_update_complete").wait(
        StackName="trading-dev-secrets", WaiterConfig=WAIT
    )


def test_the_stack_policy_is_kept_and_refuses_a_replacement_unless_overridden(
    dev, proxy
):
    """CloudFormation User Guide, "Prevent updates to stack resources". The last test on dev: it replaces the alias."""
    cloudformation = through(proxy, STACKS)
    kept = json.loads(
        cloudformation.get_stack_policy(StackName="trading-dev-secrets")[
            "StackPolicyBody"
        ]
    )
    assert kept == json.loads(
        (ROOT / "templates" / "dev" / "stack-policy.json").read_text()
    )
    template = deployed_template(cloudformation, "trading-dev-secrets")
    template["Resources"]["SecretsKeyAlias"]["Properties"]["AliasName"] = (
        "alias/strict-renamed"
    )
    arguments = {
        "StackName": "trading-dev-secrets",
        "TemplateBody": json.dumps(template),
        "Parameters": stack_parameters(DEV),
        "Capabilities": ["CAPABILITY_IAM"],
    }
    message = refused(
        lambda: cloudformation.update_stack(**arguments), "ValidationError"
    )
    assert message == "Action denied by stack policy: Update:Replace on SecretsKeyAlias"
    # The raw engine would have replaced it.
    engine = STACKS.client("cloudformation")
    assert engine.describe_stacks(StackName="trading-dev-secrets")["Stacks"][0][
        "StackStatus"
    ] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    override = {
        "Statement": [
            # It stands in for the stack's policy during this update, whole.
            {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"}
        ]
    }
    cloudformation.update_stack(
        **arguments, StackPolicyDuringUpdateBody=json.dumps(override)
    )
    cloudformation.get_waiter("stack_update_complete").wait(
        StackName="trading-dev-secrets", WaiterConfig=WAIT
    )
    aliases = {a["AliasName"] for a in STACKS.client("kms").list_aliases()["Aliases"]}
    assert "alias/strict-renamed" in aliases


def renamed_alpaca(env_name: str):
    def rename(template):
        secret = template["Resources"]["AlpacaCredentials"]["Properties"]
        secret["Name"] = f"trading/{env_name}/alpaca-renamed"

    return rename


def test_a_protected_stack_cannot_be_deleted(staging, proxy):
    """CloudFormation User Guide, "Protect a stack from being deleted"; the engine drops the flag at create."""
    assert staging.code == 0, staging.err
    cloudformation = through(proxy, STACKS)
    assert cloudformation.describe_stacks(StackName="trading-staging-secrets")[
        "Stacks"
    ][0]["EnableTerminationProtection"]
    message = refused(
        lambda: cloudformation.delete_stack(StackName="trading-staging-secrets"),
        "ValidationError",
    )
    assert (
        message
        == "Stack [trading-staging-secrets] cannot be deleted while TerminationProtection is enabled"
    )


def _statement(template: dict, logical_id: str, sid: str) -> dict:
    policy = template["Resources"][logical_id]["Properties"]
    document = policy.get("ResourcePolicy") or policy.get("KeyPolicy")
    return next(s for s in document["Statement"] if s.get("Sid") == sid)


def _without_statement(logical_id: str, sid: str):
    def cut(template):
        properties = template["Resources"][logical_id]["Properties"]
        document = properties["ResourcePolicy"]
        document["Statement"].remove(_statement(template, logical_id, sid))

    return cut


def _fewer_actions(template):
    statement = _statement(
        template,
        "AlpacaCredentialsResourcePolicy",
        "DenyDeleteOrCrossAccountCopyExceptBreakGlass",
    )
    statement["Action"] = [
        a for a in statement["Action"] if a != "secretsmanager:DeleteSecret"
    ]


def _key_policy_widened(template):
    statement = _statement(template, "SecretsKey", "AllowUseThroughSecretsManagerOnly")
    statement["Principal"] = {
        "AWS": [statement["Principal"]["AWS"], "arn:aws:iam::999999999999:root"]
    }


def _params_with(tmp_path: Path, env_name: str, name: str, value: str) -> Path:
    target = tmp_path / "params"
    shutil.copytree(ROOT / "params", target)
    path = target / env_name / "secrets.json"
    entries = json.loads(path.read_text())
    for entry in entries:
        if entry["ParameterKey"] == name:
            entry["ParameterValue"] = value
    path.write_text(json.dumps(entries))
    return target


WEAKENINGS = {
    "a removed Deny": (
        _without_statement(
            "AlpacaCredentialsResourcePolicy",
            "DenyDeleteOrCrossAccountCopyExceptBreakGlass",
        ),
        "AlpacaCredentialsResourcePolicy/DenyDeleteOrCrossAccountCopyExceptBreakGlass: the Deny "
        "DenyDeleteOrCrossAccountCopyExceptBreakGlass is removed",
    ),
    "a Deny with fewer actions": (
        _fewer_actions,
        "AlpacaCredentialsResourcePolicy/DenyDeleteOrCrossAccountCopyExceptBreakGlass: "
        "DenyDeleteOrCrossAccountCopyExceptBreakGlass no longer denies actions secretsmanager:deletesecret",
    ),
    "a key policy statement widened": (
        _key_policy_widened,
        "SecretsKey/AllowUseThroughSecretsManagerOnly: AllowUseThroughSecretsManagerOnly now allows principals "
        "AWS:arn:aws:iam::999999999999:root",
    ),
}


@pytest.mark.parametrize("case", sorted(WEAKENINGS))
def test_a_weakened_guard_is_refused_with_nothing_changed(
    staging, deploy, proxy, tmp_path, case
):
    change, reason = WEAKENINGS[case]
    assert staging.code == 0, staging.err
    cloudformation = through(proxy, STACKS)
    weakened = templates_with(tmp_path, "staging", change)
    for argv in (("--yes",), ("--plan",)):
        refused_run = deploy(STACKS, "--env", "staging", *argv, templates=weakened)
        assert refused_run.code == 13, refused_run.err
        assert (
            f"trading-secrets: {reason}; if reviewed, deploy with --allow-policy-change"
            in refused_run.err
        )
        assert (
            "[weakens]" in refused_run.out and "nothing was changed" in refused_run.err
        )
    assert deployed_template(cloudformation, "trading-staging-secrets") == json.loads(
        committed_template(STAGING)
    )
    assert not STACKS.client("cloudformation").list_change_sets(
        StackName="trading-staging-secrets"
    )["Summaries"]


def test_a_new_exempt_role_from_the_parameter_file_is_a_weakening_too(
    staging, deploy, tmp_path
):
    """Onboarding a deployer is a reviewed change: every guard that exempts deployers names it."""
    assert staging.code == 0, staging.err
    params = _params_with(
        tmp_path, "staging", "DeployerRoleNames", "trading-staging-deployer,ci-newcomer"
    )
    run = deploy(STACKS, "--env", "staging", "--plan", params=params)
    assert run.code == 13, run.err
    assert (
        "  parameter DeployerRoleNames: 'trading-staging-deployer' -> 'trading-staging-deployer,ci-newcomer'"
        in run.out
    )
    assert (
        "AlpacaCredentialsResourcePolicy/DenyPolicyChangeExceptBreakGlassAndDeployers: "
        "DenyPolicyChangeExceptBreakGlassAndDeployers exempts " in run.err
    )


def test_allow_policy_change_lets_exactly_the_named_statement_through(
    staging, deploy, proxy, tmp_path
):
    assert staging.code == 0, staging.err
    cloudformation = through(proxy, STACKS)

    def both(template):
        _fewer_actions(template)
        _key_policy_widened(template)

    weakened = templates_with(tmp_path, "staging", both)
    one = "SecretsKey/AllowUseThroughSecretsManagerOnly"
    other = (
        "AlpacaCredentialsResourcePolicy/DenyDeleteOrCrossAccountCopyExceptBreakGlass"
    )
    run = deploy(
        STACKS,
        "--env",
        "staging",
        "--yes",
        "--allow-policy-change",
        one,
        templates=weakened,
    )
    assert run.code == 13, run.err
    assert other in run.err and f"{one}:" not in run.err
    assert deployed_template(cloudformation, "trading-staging-secrets") == json.loads(
        committed_template(STAGING)
    )
    # Both named: it goes through, and the log says which weakenings were let through, and by what.
    run = deploy(
        STACKS, "--env", "staging", "--yes", "--allow-policy-change", one, "--allow-policy-change", other,
        templates=weakened,
    )  # fmt: skip
    assert run.code == 0, run.err
    assert f"let through by --allow-policy-change {one}" in run.err
    assert f"let through by --allow-policy-change {other}" in run.err
    # Put back: the committed template tightens both again, which needs no allowance.
    restored = deploy(STACKS, "--env", "staging", "--yes")
    assert restored.code == 0, restored.err
    assert deployed_template(cloudformation, "trading-staging-secrets") == json.loads(
        committed_template(STAGING)
    )


def test_plan_says_what_a_deploy_would_do_and_changes_nothing(
    staging, deploy, proxy, tmp_path
):
    assert staging.code == 0, staging.err
    cloudformation = through(proxy, STACKS)
    assert deploy(STACKS, "--env", "staging", "--plan").code == 0
    pending = deploy(
        STACKS,
        "--env",
        "staging",
        "--plan",
        templates=templates_with(tmp_path / "a", "staging", retitled("Alerts")),
    )
    assert pending.code == 12, pending.err
    assert (
        "  resource AlertTopic: modified" in pending.out
        and "changes pending" in pending.out
    )
    replacing = deploy(
        STACKS,
        "--env",
        "staging",
        "--plan",
        templates=templates_with(tmp_path / "b", "staging", renamed_alpaca("staging")),
    )
    assert replacing.code == 8, replacing.err
    assert (
        "  resource AlpacaCredentials: modified: REFUSED (replacement guard)"
        in replacing.out
    )
    weakening = deploy(
        STACKS,
        "--env",
        "staging",
        "--plan",
        templates=templates_with(tmp_path / "c", "staging", _fewer_actions),
    )
    assert weakening.code == 13, weakening.err
    assert deployed_template(cloudformation, "trading-staging-secrets") == json.loads(
        committed_template(STAGING)
    )
    assert not STACKS.client("cloudformation").list_change_sets(
        StackName="trading-staging-secrets"
    )["Summaries"]


def test_a_replacement_is_refused_with_nothing_changed_and_goes_through_only_when_named(
    staging, deploy, proxy, tmp_path
):
    """The last test on staging: it replaces a secret."""
    assert staging.code == 0, staging.err
    cloudformation = through(proxy, STACKS)
    renamed = templates_with(tmp_path, "staging", renamed_alpaca("staging"))
    refused_run = deploy(STACKS, "--env", "staging", "--yes", templates=renamed)
    assert refused_run.code == 8, refused_run.err
    assert (
        "trading-secrets: AlpacaCredentials (AWS::SecretsManager::Secret): create-only property Name changes: "
        "CloudFormation would replace it; a replaced secret loses its value; if reviewed, deploy with "
        "--allow-replacement AlpacaCredentials" in refused_run.err
    )
    assert "nothing was changed" in refused_run.err
    assert deployed_template(cloudformation, "trading-staging-secrets") == json.loads(
        committed_template(STAGING)
    )
    assert not STACKS.client("cloudformation").list_change_sets(
        StackName="trading-staging-secrets"
    )["Summaries"]

    allowed = deploy(
        STACKS,
        "--env",
        "staging",
        "--yes",
        "--allow-replacement",
        "AlpacaCredentials",
        templates=renamed,
    )
    assert allowed.code == 0, allowed.err
    assert (
        "--allow-replacement AlpacaCredentials: its replacement or removal goes ahead"
        in allowed.out
    )
    # Through the stack policy, which the proxy enforces: the update lifted it for that one resource.
    names = {
        s["Name"] for s in STACKS.client("secretsmanager").list_secrets()["SecretList"]
    }
    assert "trading/staging/alpaca-renamed" in names


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
            through(
                proxy, STACK_SET, region=instance["Region"]
            ).update_termination_protection(
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
            time.sleep(0.5)
        cloudformation.delete_stack_set(StackSetName="trading-prod-secrets")


def test_a_failed_create_says_why_and_spares_the_secrets_that_were_there(
    deploy, cleanup
):
    """Secrets of the stack's names already exist: CloudFormation's reason reaches the user, and they are left alone.

    Both names are taken, so the create fails at whichever secret the engine
    makes first, before any of the stack's secrets exists: with one taken,
    the engine sometimes made the other first, and then could not delete the
    failed stack. The engine ends at ROLLBACK_COMPLETE, as AWS does (it
    reports a rollback while leaving the stack's key and topic in place; AWS
    would remove them).
    """
    cleanup.append((COLLIDING, "trading-dev-secrets"))
    secrets = COLLIDING.client("secretsmanager")
    squatters = [
        secrets.create_secret(
            Name=secret_name(DEV, spec),
            SecretString=json.dumps({"left": f"FAKE-here-before-{spec.name_suffix}"}),
        )
        for spec in CATALOGUE
    ]
    try:
        failed = deploy(COLLIDING, "--env", "dev", "--yes")
        for squatter in squatters:
            current = secrets.get_secret_value(SecretId=squatter["ARN"])
            assert current["VersionId"] == squatter["VersionId"]
            assert json.loads(current["SecretString"])["left"].startswith(
                "FAKE-here-before-"
            )
    finally:
        for squatter in squatters:
            with contextlib.suppress(secrets.exceptions.ResourceNotFoundException):
                secrets.delete_secret(
                    SecretId=squatter["ARN"], ForceDeleteWithoutRecovery=True
                )
    assert failed.code == 4, failed.err
    assert "us-east-1" in failed.err and "Credentials" in failed.err
    assert (
        "CREATE_FAILED: Resource provider operation failed" in failed.err
        and "already exists" in failed.err
    )
    assert (
        "trading-secrets: error: the create of trading-dev-secrets in us-east-1 failed and was rolled back: "
        "nothing of it remains; delete the stack before a retry (aws cloudformation delete-stack --stack-name "
        "trading-dev-secrets --region us-east-1)" in failed.err
    )


STACK_CALLS = {
    "CreateStack": lambda cf, body, parameters: cf.create_stack(
        StackName="strict-dev", TemplateBody=body, Parameters=parameters
    ),
    "CreateChangeSet": lambda cf, body, parameters: cf.create_change_set(
        StackName="strict-dev",
        ChangeSetName="c",
        ChangeSetType="CREATE",
        TemplateBody=body,
        Parameters=parameters,
    ),
    "CreateStackSet": lambda cf, body, parameters: cf.create_stack_set(
        StackSetName="strict-set", TemplateBody=body, Parameters=parameters
    ),
}


@pytest.mark.parametrize("call", sorted(STACK_CALLS))
def test_a_template_with_iam_resources_needs_capability_iam(proxy, call):
    """CloudFormation API Reference, CreateStack, "Capabilities": InsufficientCapabilities without it."""
    cloudformation = through(proxy, STRICT)
    message = refused(
        lambda: STACK_CALLS[call](
            cloudformation, committed_template(DEV), stack_parameters(DEV)
        ),
        "InsufficientCapabilitiesException",
    )
    assert message == "Requires capabilities : [CAPABILITY_IAM]"
    assert "strict-dev" not in {
        s["StackName"]
        for s in cloudformation.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }
