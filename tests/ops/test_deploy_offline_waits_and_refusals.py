"""trading-secrets deploy offline, continued: waiting on a stack, refusing what cannot go, checking accounts and flags, and redacting CloudFormation's messages; AWS stubbed by botocore's Stubber."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from support.fake_aws import offline_client
from support.repository import ROOT
from test_deploy_offline import DEV, PROD, STAGING, Clients, release

from generator.errors import ConfigurationError, Incomplete
from generator.ops import cli as ops_cli
from generator.ops.deploy.release import load_release
from generator.ops.deploy.stack import StackDeploy, deploy_kind, judge
from generator.ops.deploy.stack_set import (
    check_organizational_units,
    read_accounts,
)


def stack_deploy(stub_region: str = "us-east-1") -> tuple[StackDeploy, Any, list[str]]:
    cloudformation = offline_client("cloudformation")
    said: list[str] = []
    deploy = StackDeploy(
        release(STAGING),
        stub_region,
        Clients({("cloudformation", stub_region): cloudformation}),
        said.append,
    )
    return deploy, cloudformation, said


def event(
    number: int, status: str, logical_id: str = "AlertTopic", reason: str | None = None
) -> dict[str, Any]:
    found = {
        "EventId": f"e{number}",
        "StackName": "trading-staging-secrets",
        "StackId": "arn:stack",
        "LogicalResourceId": logical_id,
        "ResourceStatus": status,
        "Timestamp": datetime(2026, 12, 1, 12, 0, number, tzinfo=UTC),
    }
    if reason:
        found["ResourceStatusReason"] = reason
    return found


def stack(status: str) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "trading-staging-secrets",
                "StackStatus": status,
                "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
            }
        ]
    }


def test_a_quiet_wait_says_it_is_still_going_and_failed_events_are_kept(monkeypatch):
    deploy, cloudformation, said = stack_deploy()
    ticks = iter(range(0, 1000, 6))
    slept: list[float] = []
    monkeypatch.setattr("generator.ops.deploy.waiting.time.sleep", slept.append)
    with Stubber(cloudformation) as stub:
        for _ in range(4):
            stub.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"))
            stub.add_response(
                "describe_stack_events",
                {"StackEvents": [event(1, "UPDATE_IN_PROGRESS")]},
            )
        failed = event(
            2, "UPDATE_FAILED", reason="Resource handler returned message: denied"
        )
        stub.add_response("describe_stacks", stack("UPDATE_ROLLBACK_FAILED"))
        stub.add_response(
            "describe_stack_events",
            {"StackEvents": [failed, event(1, "UPDATE_IN_PROGRESS")]},
        )
        settled, failures = deploy.watch(since=None, clock=lambda: float(next(ticks)))
    assert settled["StackStatus"] == "UPDATE_ROLLBACK_FAILED"
    # Soon at first, for a stack that is done in a second; then every 2 s.
    assert slept == [0.25, 0.5, 1.0, 2.0]
    assert any(
        line.startswith("us-east-1 trading-staging-secrets: still UPDATE_IN_PROGRESS (")
        for line in said
    )
    assert failures == [
        "us-east-1 12:00:02 AlertTopic                             UPDATE_FAILED: Resource handler returned message: denied"
    ]
    with pytest.raises(Incomplete) as incomplete:
        judge(deploy.name, deploy.region, settled, "UPDATE", failures)
    assert (
        "is UPDATE_ROLLBACK_FAILED: the deploy failed and was not rolled back whole"
        in str(incomplete.value)
    )


@pytest.mark.parametrize(
    "status, refusal",
    [
        ("UPDATE_IN_PROGRESS", "another change is running; nothing was changed"),
        (
            "ROLLBACK_COMPLETE",
            "its first create failed and nothing of it remains; delete it",
        ),
        ("UPDATE_ROLLBACK_FAILED", "see its events and fix it by hand before a deploy"),
    ],
)
def test_a_stack_that_cannot_take_an_update_is_refused_before_anything_is_sent(
    status, refusal
):
    name = "trading-staging-secrets"
    with pytest.raises(Exception, match=refusal):
        deploy_kind(name, "us-east-1", stack(status)["Stacks"][0])
    assert deploy_kind(name, "us-east-1", None) == "CREATE"
    assert (
        deploy_kind(name, "us-east-1", stack("REVIEW_IN_PROGRESS")["Stacks"][0])
        == "CREATE"
    )
    assert (
        deploy_kind(name, "us-east-1", stack("UPDATE_ROLLBACK_COMPLETE")["Stacks"][0])
        == "UPDATE"
    )


def test_accounts_and_organizational_units_are_checked(tmp_path: Path):
    listed = tmp_path / "accounts.txt"
    listed.write_text("111111111111\n222222222222, 111111111111\n")
    assert read_accounts(["333333333333"], listed) == (
        "333333333333",
        "111111111111",
        "222222222222",
    )
    with pytest.raises(ConfigurationError, match="not a 12-digit account id: 12345"):
        read_accounts(["12345"], None)
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_accounts([], tmp_path / "missing.txt")
    assert check_organizational_units(["ou-ab12-abcdefgh"]) == ("ou-ab12-abcdefgh",)
    with pytest.raises(ConfigurationError, match="not an organizational unit id"):
        check_organizational_units(["r-abcd"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["deploy", "--env", "dev", "--accounts", "111111111111"],
            "dev deploys as a stack in its own account: --accounts and --organizational-units are for prod's stack set",
        ),
        (
            ["deploy", "--env", "prod", "--region", "us-east-1"],
            "unrecognized arguments: --region us-east-1",
        ),
        (
            ["deploy", "--env", "prod", "--accounts", "nope"],
            "not a 12-digit account id: nope",
        ),
        (
            [
                "deploy",
                "--env",
                "prod",
                "--accounts",
                "111111111111",
                "--organizational-units",
                "ou-ab12-abcdefgh",
            ],
            "name accounts (self-managed) or organizational units (service-managed), not both",
        ),
        (
            ["deploy", "--env", "dev", "--templates-dir", "/nonexistent"],
            "no template at /nonexistent/dev/secrets.json: run trading-secrets from the repository root, or give "
            "--templates-dir",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2_before_aws_is_called(
    argv, message, capsys, monkeypatch
):
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL", "http://127.0.0.1:9"
    )  # nothing listens: a call would fail
    assert ops_cli.main([*argv, "--params-dir", str(ROOT / "params")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"trading-secrets: error: {message}"
    ]


def test_a_stale_stack_policy_or_an_oversized_template_is_refused(tmp_path: Path):
    import shutil

    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    (templates / "prod" / "stack-policy.json").write_text('{"Statement": []}\n')
    with pytest.raises(
        ConfigurationError,
        match=r"does not protect what .* holds: run build\.py and commit both",
    ):
        load_release(PROD, templates, ROOT / "params")
    (templates / "dev" / "secrets.json").write_text(" " * 60_000)
    with pytest.raises(
        ConfigurationError,
        match="over the 51200 bytes CloudFormation takes as a template body",
    ):
        load_release(DEV, templates, ROOT / "params")


def test_cloudformations_messages_reach_the_user_redacted():
    """AWS's message may quote a parameter value: it is passed through the leak redactor."""
    from botocore.exceptions import ClientError

    from generator.errors import AwsError
    from generator.ops.deploy.release import cloudformation_errors

    leaked = "PK" + "7QW3ZL9XK2M4B8N6R1"
    with (
        pytest.raises(AwsError) as raised,
        cloudformation_errors("create a change set for", "s", "us-east-1"),
    ):
        raise ClientError(
            {"Error": {"Code": "ValidationError", "Message": f"bad value {leaked}"}},
            "CreateChangeSet",
        )
    assert leaked not in str(raised.value)
    assert str(raised.value) == (
        "cannot create a change set for s in us-east-1: ValidationError: bad value [REDACTED Alpaca key id]"
    )
