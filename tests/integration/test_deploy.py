"""`trading-secrets deploy` on the engine, through the AWS-strict proxy, as a user runs it.

The proxy refuses what AWS refuses and LocalStack would let through
(capabilities, stack policies, termination protection) and runs StackSets
over real stacks, so a green deploy here passed what a real account checks.
Every run's stdout, stderr and log are scanned for values.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from support.engine import CLIENT_CONFIG, Account, committed_template, delete_stack
from support.repository import ROOT
from support.tool_runs import Run, run_tool

from devtools.engine_proxy import EngineProxy, engine_proxy
from generator.environments import ENVIRONMENTS
from generator.leaks import known_placeholder_values

DEV, STAGING, PROD = (ENVIRONMENTS[name] for name in ("dev", "staging", "prod"))
STACKS = Account("999999999999")  # dev and staging: their names differ
STACK_SET = Account("999999999998")
COLLIDING = Account("999999999997")
FLAKY = Account("999999999996")


@pytest.fixture(scope="module")
def proxy(engine) -> Iterator[EngineProxy]:
    with engine_proxy(engine, strict=True) as running:
        yield running


@pytest.fixture
def deploy(proxy, monkeypatch, capsys, caplog):
    """Run `trading-secrets deploy` in this process, as `account`, through the strict proxy."""

    def run(
        account: Account,
        *argv: str,
        templates: Path = ROOT / "templates",
        answer: str | None = None,
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
                str(ROOT / "params"),
            ],
            {**account.credentials, "AWS_ENDPOINT_URL": proxy.url},
            known_placeholder_values(),
        )

    return run


def through(proxy: EngineProxy, account: Account, region: str = "us-east-1"):
    return boto3.client(
        "cloudformation",
        region_name=region,
        endpoint_url=proxy.url,
        aws_access_key_id=account.account_id,
        aws_secret_access_key="test",
        config=CLIENT_CONFIG,
    )


@pytest.fixture
def cleanup(proxy) -> Iterator[list[tuple[Account, str]]]:
    """Stacks to delete afterwards (termination protection turned off first, through the proxy that enforces it)."""
    made: list[tuple[Account, str]] = []
    yield made
    for account, name in made:
        cloudformation = through(proxy, account)
        stacks = [
            s
            for s in account.client("cloudformation").list_stacks()["StackSummaries"]
            if s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE"
        ]
        for stack in stacks:
            cloudformation.update_termination_protection(
                StackName=stack["StackId"], EnableTerminationProtection=False
            )
            delete_stack(account, "us-east-1", stack["StackId"])


def templates_with(tmp_path: Path, env_name: str, change) -> Path:
    """A copy of the committed templates with `change` made to one environment's template."""
    target = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", target)
    path = target / env_name / "secrets.json"
    template = json.loads(path.read_text())
    change(template)
    path.write_text(json.dumps(template, indent=1, sort_keys=True) + "\n")
    return target


def test_dev_is_created_then_up_to_date_then_updated_in_place(
    deploy, proxy, cleanup, tmp_path
):
    cleanup.append((STACKS, "trading-dev-secrets"))
    proxy.clear()
    created = deploy(STACKS, "--env", "dev", "--yes")
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

    def retitle(template):
        template["Resources"]["AlertTopic"]["Properties"]["DisplayName"] = (
            "trading dev alerts (retitled)"
        )

    updated = deploy(
        STACKS,
        "--env",
        "dev",
        "--yes",
        templates=templates_with(tmp_path, "dev", retitle),
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


def renamed_alpaca(env_name: str):
    def rename(template):
        secret = template["Resources"]["AlpacaCredentials"]["Properties"]
        secret["Name"] = f"trading/{env_name}/alpaca-renamed"

    return rename


def test_a_replacement_is_refused_with_nothing_changed_and_goes_through_only_when_named(
    deploy, proxy, cleanup, tmp_path
):
    cleanup.append((STACKS, "trading-staging-secrets"))
    assert deploy(STACKS, "--env", "staging", "--yes").code == 0
    cloudformation = through(proxy, STACKS)
    assert cloudformation.describe_stacks(StackName="trading-staging-secrets")[
        "Stacks"
    ][0]["EnableTerminationProtection"]
    renamed = templates_with(tmp_path, "staging", renamed_alpaca("staging"))
    refused = deploy(STACKS, "--env", "staging", "--yes", templates=renamed)
    assert refused.code == 8, refused.err
    assert (
        "trading-secrets: AlpacaCredentials (AWS::SecretsManager::Secret): create-only property Name changes: "
        "CloudFormation would replace it; a replaced secret loses its value; if reviewed, deploy with "
        "--allow-replacement AlpacaCredentials" in refused.err
    )
    assert "nothing was changed" in refused.err
    deployed = cloudformation.get_template(StackName="trading-staging-secrets")[
        "TemplateBody"
    ]
    assert (
        json.loads(deployed) if isinstance(deployed, str) else deployed
    ) == json.loads(committed_template(STAGING))
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


def test_answering_no_changes_nothing_and_leaves_no_change_set(deploy, cleanup):
    cleanup.append((STACKS, "trading-dev-secrets"))
    declined = deploy(STACKS, "--env", "dev", answer="n\n")
    assert declined.code == 5 and "deploy cancelled; nothing changed" in declined.err
    stacks = STACKS.client("cloudformation").list_stacks()["StackSummaries"]
    # The create's change set made a stack in REVIEW_IN_PROGRESS; the change set itself is gone.
    for stack in stacks:
        if (
            stack["StackName"] == "trading-dev-secrets"
            and stack["StackStatus"] != "DELETE_COMPLETE"
        ):
            assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"
            assert not STACKS.client("cloudformation").list_change_sets(
                StackName=stack["StackId"]
            )["Summaries"]
