"""trading-secrets deploy, offline: what the engine cannot show or would take too long to.

botocore's Stubber answers as AWS does: a service-managed stack set, a
Conditional replacement that only the change set reveals, an instance that
fails after another succeeded, a stack left half done, a wait that goes quiet.
Every request the deploy sends is checked against what it must carry.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from support.fake_aws import offline_client
from support.repository import ROOT

from generator.environments import ENVIRONMENTS
from generator.errors import (
    AwsError,
    ConfigurationError,
    Incomplete,
    ReplacementRefused,
)
from generator.ops import cli as ops_cli
from generator.ops.aws import AwsClients
from generator.ops.deploy.release import load_release, required_capabilities
from generator.ops.deploy.stack import (
    Change,
    StackDeploy,
    change_table,
    deploy_kind,
    judge,
    lifted_policy,
    refuse_lost_state,
)
from generator.ops.deploy.stack_set import (
    StackSetDeploy,
    Targets,
    _failure,
    check_organizational_units,
    deploy_stack_set,
    detect_call_as,
    read_accounts,
    refuse_unexempted_service_role,
    stack_set_accounts,
)

DEV, STAGING, PROD = (ENVIRONMENTS[name] for name in ("dev", "staging", "prod"))
ACCOUNT = "111111111111"


class Clients(AwsClients):
    """AwsClients that hands out the given clients by (service, region)."""

    def __init__(self, clients: dict[tuple[str, str], Any]):
        super().__init__()
        self._given = clients

    def client(self, service: str, region: str) -> Any:
        return self._given[(service, region)]


def release(env=PROD, **values: str):
    loaded = load_release(env, ROOT / "templates", ROOT / "params")
    if values:
        loaded = type(loaded)(
            loaded.env,
            loaded.source,
            loaded.body,
            loaded.template,
            {**loaded.parameter_values, **values},
            loaded.stack_policy,
        )
    return loaded


def test_the_committed_templates_need_capability_iam_and_nothing_more():
    for env in ENVIRONMENTS.values():
        assert release(env).capabilities == ["CAPABILITY_IAM"]
    named = {
        "Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r"}}}
    }
    assert required_capabilities(named) == ["CAPABILITY_NAMED_IAM"]
    assert required_capabilities(
        {"Transform": "AWS::Serverless-2016-10-31", "Resources": {}}
    ) == ["CAPABILITY_AUTO_EXPAND"]
    assert (
        required_capabilities({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}) == []
    )


@pytest.mark.parametrize(
    "change, loses",
    [
        (
            Change(
                "AlpacaCredentials",
                "AWS::SecretsManager::Secret",
                "Modify",
                "Conditional",
                "-",
            ),
            True,
        ),
        (
            Change(
                "AlpacaCredentials",
                "AWS::SecretsManager::Secret",
                "Modify",
                "True",
                "ReplaceAndRetain",
            ),
            True,
        ),
        (Change("SecretsKeyAlias", "AWS::KMS::Alias", "Remove", "-", "Delete"), True),
        (
            Change(
                "AlpacaCredentials",
                "AWS::SecretsManager::Secret",
                "Modify",
                "False",
                "-",
            ),
            False,
        ),
        (
            Change(
                "AlertTopic", "AWS::SNS::Topic", "Modify", "True", "ReplaceAndDelete"
            ),
            False,
        ),
        (
            Change(
                "AlertEmailSubscription",
                "AWS::SNS::Subscription",
                "Remove",
                "-",
                "Delete",
            ),
            False,
        ),
    ],
)
def test_a_change_loses_state_only_when_a_stateful_resource_is_removed_or_may_be_replaced(
    change, loses
):
    assert change.loses_state is loses


def test_a_conditional_replacement_only_the_change_set_shows_is_refused_and_the_change_set_deleted():
    cloudformation = offline_client("cloudformation")
    changes = [
        Change("AlertTopic", "AWS::SNS::Topic", "Modify", "False", "-"),
        Change(
            "AlpacaCredentials",
            "AWS::SecretsManager::Secret",
            "Modify",
            "Conditional",
            "-",
        ),
    ]
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "delete_change_set",
            {},
            {"ChangeSetName": "cs", "StackName": "trading-staging-secrets"},
        )
        with pytest.raises(ReplacementRefused) as refused:
            refuse_lost_state(
                cloudformation,
                "trading-staging-secrets",
                "us-east-1",
                "cs",
                changes,
                set(),
            )
        stub.assert_no_pending_responses()
    assert refused.value.details == (
        "AlpacaCredentials (AWS::SecretsManager::Secret): Modify, replacement Conditional; if reviewed, deploy "
        "with --allow-replacement AlpacaCredentials",
    )
    # Named, it goes ahead: nothing is deleted, nothing refused.
    refuse_lost_state(
        cloudformation,
        "trading-staging-secrets",
        "us-east-1",
        "cs",
        changes,
        {"AlpacaCredentials"},
    )


def test_the_table_has_a_column_for_each_thing_a_reviewer_weighs():
    lines = change_table(
        [Change("SecretsKey", "AWS::KMS::Key", "Modify", "False", "-")]
    )
    assert lines[0].split() == [
        "logical",
        "id",
        "type",
        "action",
        "replacement",
        "policy",
        "action",
    ]
    assert lines[1].split() == ["SecretsKey", "AWS::KMS::Key", "Modify", "False", "-"]


def test_the_lifted_policy_frees_only_the_named_resources():
    policy = json.loads(
        lifted_policy(release(STAGING).stack_policy, ["AlpacaCredentials"])
    )
    allow, deny = policy["Statement"]
    assert allow["Action"] == ["Update:*"]
    assert "LogicalResourceId/AlpacaCredentials" not in deny["Resource"]
    assert "LogicalResourceId/AlphaVantageCredentials" in deny["Resource"]


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


@pytest.mark.parametrize("env", [STAGING, PROD], ids=["staging", "prod"])
def test_a_parameter_file_whose_alerts_reach_nobody_is_refused_as_the_build_refuses_it(
    env, tmp_path: Path, capsys, monkeypatch
):
    import shutil

    params = tmp_path / "params"
    shutil.copytree(ROOT / "params", params)
    path = params / env.name / "secrets.json"
    path.write_text(
        path.read_text().replace(f"trading-{env.name}-alerts@example.invalid", "")
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached
    code = ops_cli.main(
        ["deploy", "--env", env.name, "--yes", "--params-dir", str(params)]
    )
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"trading-secrets: error: parameter file {path}: AlertEmail names no subscriber, so no alert would "
        f"reach anyone in {env.name}: name the address that receives them (its owner confirms the subscription)"
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


def stack_set_clients(stub_calls) -> tuple[Clients, Any]:
    cloudformation = offline_client("cloudformation")
    return Clients({("cloudformation", "us-east-1"): cloudformation}), cloudformation


def test_a_service_managed_stack_set_goes_to_organizational_units_and_needs_its_role_exempt():
    # From the management account: CallAs SELF on every call (a delegated administrator's is below).
    targets = Targets((), ("ou-abcd-12345678",), PROD.regions, "SELF")
    with pytest.raises(ConfigurationError, match="add stacksets-exec-\\* to it"):
        refuse_unexempted_service_role(release(), targets)
    exempt = release(DeployerRoleNames="trading-prod-deployer,stacksets-exec-*")
    clients, cloudformation = stack_set_clients(None)
    said: list[str] = []
    with Stubber(cloudformation) as stub:
        stub.add_client_error(
            "describe_stack_set", "StackSetNotFoundException", http_status_code=404
        )
        stub.add_response(
            "create_stack_set",
            {"StackSetId": "trading-prod-secrets:1"},
            {
                "StackSetName": "trading-prod-secrets",
                "TemplateBody": exempt.body,
                "Parameters": exempt.parameters,
                "Capabilities": ["CAPABILITY_IAM"],
                "Description": ANY,
                "ClientRequestToken": ANY,
                "PermissionModel": "SERVICE_MANAGED",
                "AutoDeployment": {"Enabled": False},
                "CallAs": "SELF",
            },
        )
        stub.add_response(
            "list_stack_instances",
            {"Summaries": []},
            {"StackSetName": "trading-prod-secrets", "CallAs": "SELF"},
        )
        stub.add_response(
            "create_stack_instances",
            {"OperationId": "op"},
            {
                "StackSetName": "trading-prod-secrets",
                "OperationId": ANY,
                "OperationPreferences": {
                    "FailureToleranceCount": 0,
                    "MaxConcurrentCount": 1,
                    "RegionConcurrencyType": "SEQUENTIAL",
                    "RegionOrder": ["us-east-1", "us-west-2"],
                },
                "DeploymentTargets": {"OrganizationalUnitIds": ["ou-abcd-12345678"]},
                "Regions": ["us-east-1", "us-west-2"],
                "CallAs": "SELF",
            },
        )
        stub.add_response(
            "describe_stack_set_operation",
            {"StackSetOperation": {"Status": "SUCCEEDED"}},
            {
                "StackSetName": "trading-prod-secrets",
                "OperationId": ANY,
                "CallAs": "SELF",
            },
        )
        results = [
            {"Account": "222222222222", "Region": region, "Status": "SUCCEEDED"}
            for region in PROD.regions
        ]
        stub.add_response(
            "list_stack_set_operation_results",
            {"Summaries": results},
            {
                "StackSetName": "trading-prod-secrets",
                "OperationId": ANY,
                "CallAs": "SELF",
            },
        )
        stub.add_response(
            "list_stack_instances",
            {
                "Summaries": [
                    {"Account": "222222222222", "Region": r, "StackId": f"arn:{r}"}
                    for r in PROD.regions
                ]
            },
            {"StackSetName": "trading-prod-secrets", "CallAs": "SELF"},
        )
        deploy_stack_set(
            exempt,
            targets,
            ACCOUNT,
            clients,
            said.append,
            lambda q: None,
            set(),
            "plan",
        )
        stub.assert_no_pending_responses()
    # Instances in another account: the deploy cannot reach them, so it says what to run there.
    assert (
        "222222222222 us-west-2: turn on termination protection there: aws cloudformation "
        "update-termination-protection --enable-termination-protection --stack-name arn:us-west-2 --region us-west-2"
        in said
    )


def test_an_instance_that_fails_after_another_succeeded_is_incomplete_and_names_it():
    clients, cloudformation = stack_set_clients(None)
    current = release()
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stack_set",
            {
                "StackSet": {
                    "TemplateBody": current.body,
                    "Parameters": current.parameters,
                }
            },
            {"StackSetName": "trading-prod-secrets"},
        )
        stub.add_response("list_stack_instances", _instances(ACCOUNT, status="CURRENT"))
        stub.add_response("update_stack_set", {"OperationId": "op"}, None)
        stub.add_response(
            "describe_stack_set_operation",
            {"StackSetOperation": {"Status": "FAILED"}},
            None,
        )
        stub.add_response(
            "list_stack_set_operation_results",
            {
                "Summaries": [
                    {"Account": ACCOUNT, "Region": "us-east-1", "Status": "SUCCEEDED"},
                    {
                        "Account": ACCOUNT,
                        "Region": "us-west-2",
                        "Status": "FAILED",
                        "StatusReason": "Resource handler returned message: throttled",
                    },
                ]
            },
            None,
        )
        with pytest.raises(Incomplete) as incomplete:
            deploy_stack_set(
                current,
                Targets((ACCOUNT,), (), PROD.regions),
                ACCOUNT,
                clients,
                print,
                lambda q: None,
                set(),
                "",
            )
    assert "1 instance(s) failed after 1 succeeded" in str(incomplete.value)
    assert incomplete.value.details == (
        f"{ACCOUNT} us-west-2: FAILED: Resource handler returned message: throttled",
    )


def _instances(*accounts: str, status: str = "CURRENT") -> dict[str, Any]:
    return {
        "Summaries": [
            {
                "Account": account,
                "Region": region,
                "StackId": f"arn:{account}:{region}",
                "Status": status,
            }
            for account in accounts
            for region in PROD.regions
        ]
    }


def test_after_a_failed_update_the_plan_names_the_instances_that_do_not_run_what_the_set_holds():
    # The set holds exactly the release (the failed update's template stays in it), so the review finds no
    # difference; one instance still runs the old template, and a deploy has work to do.
    clients, cloudformation = stack_set_clients(None)
    current = release()
    said: list[str] = []
    listed = _instances(ACCOUNT)
    listed["Summaries"][1] |= {
        "Status": "OUTDATED",
        "StatusReason": "Resource handler returned message: throttled",
    }
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stack_set",
            {
                "StackSet": {
                    "TemplateBody": current.body,
                    "Parameters": current.parameters,
                }
            },
        )
        stub.add_response(
            "list_stack_instances", listed
        )  # once: the plan reads them once
        pending = deploy_stack_set(
            current,
            Targets((ACCOUNT,), (), PROD.regions),
            ACCOUNT,
            clients,
            said.append,
            lambda q: None,
            set(),
            "",
            plan_only=True,
        )
        stub.assert_no_pending_responses()
    assert pending is True
    assert (
        "stack set trading-prod-secrets: the template and parameters are those deployed"
        in said
    )
    assert any(
        "1 instance(s) do not run the template the set holds" in line for line in said
    )
    assert (
        f"  {ACCOUNT} us-west-2: OUTDATED: Resource handler returned message: throttled"
        in said
    )


def test_the_accounts_of_prod_are_read_as_the_sets_own_administrator_first():
    clients, cloudformation = stack_set_clients(None)
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "list_stack_instances",
            _instances("333333333333", "222222222222", "333333333333"),
            {"StackSetName": "trading-prod-secrets"},
        )
        assert stack_set_accounts(PROD, clients) == ("222222222222", "333333333333")
        stub.assert_no_pending_responses()


def test_a_delegated_administrator_finds_the_accounts_of_a_service_managed_set():
    # AWS finds a service-managed set from a delegated administrator only with CallAs DELEGATED_ADMIN.
    clients, cloudformation = stack_set_clients(None)
    with Stubber(cloudformation) as stub:
        stub.add_client_error(
            "list_stack_instances",
            "StackSetNotFoundException",
            "StackSet trading-prod-secrets not found",
            http_status_code=404,
            expected_params={"StackSetName": "trading-prod-secrets"},
        )
        stub.add_response(
            "list_stack_instances",
            _instances("444444444444"),
            {"StackSetName": "trading-prod-secrets", "CallAs": "DELEGATED_ADMIN"},
        )
        assert stack_set_accounts(PROD, clients) == ("444444444444",)
        stub.assert_no_pending_responses()


def test_accounts_that_cannot_be_listed_either_way_say_both_reasons_and_what_to_do():
    clients, cloudformation = stack_set_clients(None)
    with Stubber(cloudformation) as stub:
        stub.add_client_error(
            "list_stack_instances",
            "StackSetNotFoundException",
            "StackSet trading-prod-secrets not found",
            http_status_code=404,
        )
        stub.add_client_error(
            "list_stack_instances",
            "ValidationError",
            "Account 111111111111 is not a registered delegated administrator",
        )
        with pytest.raises(AwsError) as raised:
            stack_set_accounts(PROD, clients)
    message = str(raised.value)
    assert "StackSet trading-prod-secrets not found" in message
    assert "as a delegated administrator: " in message
    assert "is not a registered delegated administrator" in message
    assert message.endswith(
        "run from its administrator account, or name the accounts with --accounts or --accounts-file"
    )


def test_a_set_with_no_instances_says_to_deploy_it_first():
    clients, cloudformation = stack_set_clients(None)
    with Stubber(cloudformation) as stub:
        stub.add_response("list_stack_instances", {"Summaries": []})
        with pytest.raises(AwsError, match="has no instances: deploy it first"):
            stack_set_accounts(PROD, clients)


def _organizations(management: str, administrators: list[str]):
    clients = AwsClients(
        boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
        )
    )
    organizations = clients.client("organizations", "us-east-1")
    stub = Stubber(organizations)
    stub.add_response(
        "describe_organization", {"Organization": {"MasterAccountId": management}}
    )
    if management != ACCOUNT:
        stub.add_response(
            "list_delegated_administrators",
            {"DelegatedAdministrators": [{"Id": a} for a in administrators]},
            {"ServicePrincipal": "member.org.stacksets.cloudformation.amazonaws.com"},
        )
    return clients, stub


@pytest.mark.parametrize(
    ("management", "administrators", "expected"),
    [(ACCOUNT, [], "SELF"), ("999999999999", [ACCOUNT], "DELEGATED_ADMIN")],
    ids=["management-account", "delegated-administrator"],
)
def test_call_as_is_what_aws_organizations_says_of_the_caller(
    management, administrators, expected
):
    clients, stub = _organizations(management, administrators)
    with stub:
        assert detect_call_as(clients, "us-east-1", ACCOUNT) == expected


def test_an_account_that_is_neither_may_not_deploy_a_service_managed_set():
    clients, stub = _organizations("999999999999", ["888888888888"])
    with (
        stub,
        pytest.raises(
            ConfigurationError, match="neither the organization's management account"
        ),
    ):
        detect_call_as(clients, "us-east-1", ACCOUNT)


def test_an_organizational_unit_added_later_is_missing_its_instances():
    clients, cloudformation = stack_set_clients(None)
    deploy = StackSetDeploy(release(), clients, print, "DELEGATED_ADMIN")
    targets = Targets(
        (),
        ("ou-abcd-aaaaaaaa", "ou-abcd-bbbbbbbb", "ou-abcd-cccccccc"),
        PROD.regions,
        "DELEGATED_ADMIN",
    )
    listed = [
        {"Account": account, "Region": region, "OrganizationalUnitId": unit}
        for unit, account in (
            ("ou-abcd-aaaaaaaa", "111111111111"),
            ("ou-abcd-bbbbbbbb", "222222222222"),
        )
        for region in PROD.regions
    ]
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "list_stack_instances",
            {"Summaries": listed},
            {"StackSetName": "trading-prod-secrets", "CallAs": "DELEGATED_ADMIN"},
        )
        missing = deploy.missing_instances(targets)
    assert missing is not None and missing.organizational_units == ("ou-abcd-cccccccc",)
    assert missing.regions == PROD.regions


def test_a_failed_update_says_the_set_now_holds_the_new_template():
    failure = _failure(
        "trading-prod-secrets", [], ["111111111111 us-east-1: FAILED"], updated=True
    )
    assert "no instance was changed" in str(failure)
    assert "the stack set itself now holds the new template and parameters" in str(
        failure
    )
    created = _failure("trading-prod-secrets", [], ["x"])
    assert "now holds" not in str(created)
