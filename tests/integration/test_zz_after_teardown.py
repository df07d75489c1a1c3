"""Runs after test_deployment.py has deleted its stacks (module fixtures are torn down between modules)."""

from __future__ import annotations

from deploy_support import client


def test_deleting_the_dev_stack_removes_every_dev_resource():
    names = [secret["Name"] for secret in client("secretsmanager").list_secrets()["SecretList"]]
    assert not [name for name in names if name.startswith("trading/dev/")]
    aliases = [alias["AliasName"] for alias in client("kms").list_aliases()["Aliases"]]
    assert "alias/trading-dev-secrets" not in aliases
    topics = [topic["TopicArn"] for topic in client("sns").list_topics()["Topics"]]
    assert not [arn for arn in topics if arn.endswith(":trading-dev-secrets-alerts")]


def test_no_test_stack_remains():
    for region in ("us-east-1", "us-west-2"):
        live = [
            stack["StackName"]
            for stack in client("cloudformation", region).list_stacks()["StackSummaries"]
            if stack["StackStatus"] != "DELETE_COMPLETE"
        ]
        assert live == [], region
