"""The AWS-strict proxy (devtools/engine_proxy): each rule real AWS enforces and the engine does not.

Its StackSets, which give each instance the set's parameters, are shown by
test_deploy.py's prod deploy.

For each rule, the raw engine accepts the call and the proxy refuses it as AWS
does, naming the same error; the call AWS accepts still goes through. The
deploy and fault tests run through this proxy, so what they prove holds there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from support.engine import (
    CLIENT_CONFIG,
    STRICT,
    committed_template,
    delete_stack,
    stack_parameters,
)
from support.repository import ROOT

from devtools.engine_proxy import EngineProxy, engine_proxy
from generator.environments import ENVIRONMENTS

DEV, PROD = ENVIRONMENTS["dev"], ENVIRONMENTS["prod"]
WAIT = {"Delay": 1, "MaxAttempts": 120}


@pytest.fixture(scope="module")
def proxy() -> Iterator[EngineProxy]:
    with engine_proxy(os.environ["AWS_ENDPOINT_URL"], strict=True) as running:
        yield running


def through(proxy: EngineProxy, service: str, region: str = "us-east-1"):
    STRICT.client(service, region)  # the session's leftover check looks in this account
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=proxy.url,
        aws_access_key_id=STRICT.account_id,
        aws_secret_access_key="test",
        config=CLIENT_CONFIG,
    )


def refused(call, code: str) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] == code, raised.value.response
    return raised.value.response["Error"]["Message"]


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
    message = refused(
        lambda: STACK_CALLS[call](
            through(proxy, "cloudformation"),
            committed_template(DEV),
            stack_parameters(DEV),
        ),
        "InsufficientCapabilitiesException",
    )
    assert message == "Requires capabilities : [CAPABILITY_IAM]"
    cloudformation = through(proxy, "cloudformation")
    assert "strict-dev" not in {
        s["StackName"]
        for s in cloudformation.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }


@pytest.fixture(scope="module")
def dev_stack(proxy) -> Iterator[str]:
    """dev, created through the proxy with its stack policy and termination protection, as deploy does."""
    cloudformation = through(proxy, "cloudformation")
    stack_id = cloudformation.create_stack(
        StackName="strict-dev",
        TemplateBody=committed_template(DEV),
        Parameters=stack_parameters(DEV),
        Capabilities=["CAPABILITY_IAM"],
        StackPolicyBody=(ROOT / "templates" / "dev" / "stack-policy.json").read_text(),
        EnableTerminationProtection=True,
    )["StackId"]
    try:
        cloudformation.get_waiter("stack_create_complete").wait(
            StackName=stack_id, WaiterConfig=WAIT
        )
        yield stack_id
    finally:
        cloudformation.update_termination_protection(
            StackName=stack_id, EnableTerminationProtection=False
        )
        delete_stack(STRICT, "us-east-1", stack_id)


def test_an_update_without_the_capability_is_refused_and_with_it_goes_through(
    proxy, dev_stack
):
    cloudformation = through(proxy, "cloudformation")
    template = json.loads(committed_template(DEV))
    template["Resources"]["AlertTopic"]["Properties"]["DisplayName"] = "strict"
    body = json.dumps(template)
    refused(
        lambda: cloudformation.update_stack(
            StackName=dev_stack, TemplateBody=body, Parameters=stack_parameters(DEV)
        ),
        "InsufficientCapabilitiesException",
    )
    cloudformation.update_stack(
        StackName=dev_stack,
        TemplateBody=body,
        Parameters=stack_parameters(DEV),
        Capabilities=["CAPABILITY_IAM"],
    )
    cloudformation.get_waiter("stack_update_complete").wait(
        StackName=dev_stack, WaiterConfig=WAIT
    )


def test_the_stack_policy_is_kept_and_refuses_a_replacement_unless_overridden(
    proxy, dev_stack
):
    """CloudFormation User Guide, "Prevent updates to stack resources"."""
    cloudformation = through(proxy, "cloudformation")
    kept = json.loads(
        cloudformation.get_stack_policy(StackName=dev_stack)["StackPolicyBody"]
    )
    assert kept == json.loads(
        (ROOT / "templates" / "dev" / "stack-policy.json").read_text()
    )
    template = json.loads(committed_template(DEV))
    template["Resources"]["SecretsKeyAlias"]["Properties"]["AliasName"] = (
        "alias/strict-renamed"
    )
    arguments = {
        "StackName": dev_stack,
        "TemplateBody": json.dumps(template),
        "Parameters": stack_parameters(DEV),
        "Capabilities": ["CAPABILITY_IAM"],
    }
    message = refused(
        lambda: cloudformation.update_stack(**arguments), "ValidationError"
    )
    assert message == "Action denied by stack policy: Update:Replace on SecretsKeyAlias"
    # The raw engine would have replaced it.
    engine = STRICT.client("cloudformation")
    assert engine.describe_stacks(StackName=dev_stack)["Stacks"][0]["StackStatus"] in (
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
    )
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
        StackName=dev_stack, WaiterConfig=WAIT
    )


def test_a_protected_stack_cannot_be_deleted(proxy, dev_stack):
    """CloudFormation User Guide, "Protect a stack from being deleted"; the engine drops the flag at create."""
    message = refused(
        lambda: through(proxy, "cloudformation").delete_stack(StackName=dev_stack),
        "ValidationError",
    )
    assert (
        message
        == "Stack [strict-dev] cannot be deleted while TerminationProtection is enabled"
    )


def test_moving_a_label_needs_the_version_that_holds_it(proxy, dev_stack):
    """Secrets Manager API Reference, UpdateSecretVersionStage, RemoveFromVersionId."""
    secrets = through(proxy, "secretsmanager")
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
