"""The prod template deployed as a self-managed stack set, one instance per prod region.

In an account of its own, so the stack set's secrets and exports take the real
names whatever else the suite has deployed.
"""

from __future__ import annotations

import json
import uuid

import pytest

from deploy_support import (
    STACK_SET,
    assert_secrets_encrypted_with_stack_key,
    assert_secrets_hold_no_value,
    committed_template,
    record_stack_timings,
    stack_parameters,
)
from generator.catalogue import CATALOGUE
from generator.environments import ENVIRONMENTS
from generator.naming import secret_name

PROD = ENVIRONMENTS["prod"]
ACCOUNT = STACK_SET.account_id


def _with_parameter_file_as_defaults(
    template: str, parameters: list[dict[str, str]]
) -> str:
    """LocalStack 4.10 starts stack instances without the stack set's parameters
    (its CreateStackInstances passes only the template), so a required parameter
    such as BreakGlassRoleName fails there. Real StackSets pass them; here the
    same values ride along as defaults. Test-only: the committed template is not changed."""
    body = json.loads(template)
    for parameter in parameters:
        body["Parameters"][parameter["ParameterKey"]]["Default"] = parameter[
            "ParameterValue"
        ]
    return json.dumps(body)


@pytest.fixture(scope="module")
def stack_set() -> dict[str, str]:
    """Create the stack set and its instances; delete both afterwards. Yields region -> stack id."""
    cloudformation = STACK_SET.client("cloudformation")
    name = f"trading-prod-secrets-{uuid.uuid4().hex[:6]}"
    parameters = stack_parameters(PROD)
    template = committed_template(PROD)
    cloudformation.create_stack_set(
        StackSetName=name,
        TemplateBody=_with_parameter_file_as_defaults(template, parameters),
        Parameters=parameters,
        PermissionModel="SELF_MANAGED",
        AdministrationRoleARN=f"arn:aws:iam::{ACCOUNT}:role/AWSCloudFormationStackSetAdministrationRole",
        ExecutionRoleName="AWSCloudFormationStackSetExecutionRole",
    )
    try:
        operation = cloudformation.create_stack_instances(
            StackSetName=name, Accounts=[ACCOUNT], Regions=list(PROD.regions)
        )
        status = cloudformation.describe_stack_set_operation(
            StackSetName=name, OperationId=operation["OperationId"]
        )
        assert status["StackSetOperation"]["Status"] == "SUCCEEDED", status[
            "StackSetOperation"
        ]
        stacks = {}
        for region in PROD.regions:
            # ListStackInstances is unreliable on LocalStack; each region's own stack list is not.
            live = [
                summary
                for summary in STACK_SET.client("cloudformation", region).list_stacks()[
                    "StackSummaries"
                ]
                if summary["StackName"].startswith(f"sset-{name}-")
                and summary["StackStatus"] != "DELETE_COMPLETE"
            ]
            assert [summary["StackStatus"] for summary in live] == [
                "CREATE_COMPLETE"
            ], (region, live)
            stacks[region] = live[0]["StackId"]
            record_stack_timings(STACK_SET, stacks[region], region, "prod (stack set)")
        yield stacks
    finally:
        cloudformation.delete_stack_instances(
            StackSetName=name,
            Accounts=[ACCOUNT],
            Regions=list(PROD.regions),
            RetainStacks=False,
        )
        cloudformation.delete_stack_set(StackSetName=name)


@pytest.mark.parametrize("region", PROD.regions)
def test_every_prod_region_gets_both_secrets_empty_and_encrypted_with_its_own_key(
    stack_set, region
):
    resources = STACK_SET.client("cloudformation", region).describe_stack_resources(
        StackName=stack_set[region]
    )["StackResources"]
    key_id = next(
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::KMS::Key"
    )
    key_arn = STACK_SET.client("kms", region).describe_key(KeyId=key_id)["KeyMetadata"][
        "Arn"
    ]
    assert f":{region}:" in key_arn
    assert_secrets_encrypted_with_stack_key(STACK_SET, PROD, region, key_arn)
    assert_secrets_hold_no_value(STACK_SET, PROD, region)
    for spec in CATALOGUE:
        arn = STACK_SET.client("secretsmanager", region).describe_secret(
            SecretId=secret_name(PROD, spec)
        )["ARN"]
        assert f":{region}:" in arn
