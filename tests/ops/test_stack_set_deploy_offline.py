"""trading-secrets deploy for prod, offline: a stack set to organizational units or accounts, and an instance that fails after another succeeded; AWS stubbed by botocore's Stubber."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from support.fake_aws import offline_client
from test_deploy_offline import ACCOUNT, PROD, Clients, release

from generator.errors import ConfigurationError, Incomplete
from generator.ops.deploy.stack_set import (
    Targets,
    deploy_stack_set,
    refuse_unexempted_service_role,
)


def stack_set_clients(stub_calls) -> tuple[Clients, Any]:
    cloudformation = offline_client("cloudformation")
    return Clients({("cloudformation", "us-east-1"): cloudformation}), cloudformation


def test_a_service_managed_stack_set_goes_to_organizational_units_and_needs_its_role_exempt():
    targets = Targets((), ("ou-abcd-12345678",), PROD.regions)
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
            },
        )
        stub.add_response(
            "list_stack_instances",
            {"Summaries": []},
            {"StackSetName": "trading-prod-secrets"},
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
            },
        )
        stub.add_response(
            "describe_stack_set_operation",
            {"StackSetOperation": {"Status": "SUCCEEDED"}},
            {"StackSetName": "trading-prod-secrets", "OperationId": ANY},
        )
        results = [
            {"Account": "222222222222", "Region": region, "Status": "SUCCEEDED"}
            for region in PROD.regions
        ]
        stub.add_response(
            "list_stack_set_operation_results",
            {"Summaries": results},
            {"StackSetName": "trading-prod-secrets", "OperationId": ANY},
        )
        stub.add_response(
            "list_stack_instances",
            {
                "Summaries": [
                    {"Account": "222222222222", "Region": r, "StackId": f"arn:{r}"}
                    for r in PROD.regions
                ]
            },
            {"StackSetName": "trading-prod-secrets"},
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
            {"StackSet": {"TemplateBody": current.body}},
            {"StackSetName": "trading-prod-secrets"},
        )
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
