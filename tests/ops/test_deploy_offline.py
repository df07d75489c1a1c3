"""trading-secrets deploy, offline: what the engine cannot show or would take too long to.

botocore's Stubber answers as AWS does: a service-managed stack set, a
Conditional replacement that only the change set reveals, an instance that
fails after another succeeded, a stack left half done, a wait that goes quiet.
Every request the deploy sends is checked against what it must carry.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber
from support.fake_aws import offline_client
from support.repository import ROOT

from generator.environments import ENVIRONMENTS
from generator.errors import ReplacementRefused
from generator.ops.aws import AwsClients
from generator.ops.deploy.release import load_release, required_capabilities
from generator.ops.deploy.stack import (
    Change,
    change_table,
    lifted_policy,
    refuse_lost_state,
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
