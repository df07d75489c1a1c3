"""Accounts, clients, deployments and timing records shared by the deployment tests.

Each group of tests that needs the real names (`trading/<env>/...`) gets an
account of its own on the engine (LocalStack keys its accounts by the access
key id), so no group depends on another's stacks being gone and the groups
can run in any order.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.waiter
from botocore.config import Config
from botocore.exceptions import WaiterError

from devtools.engine_proxy import EngineProxy
from generator.environments import Environment
from generator.parameter_files import (
    cloudformation_parameters,
    load_parameter_file,
    parameter_file_path,
)
from support.repository import ROOT

# Stacks settle in seconds on LocalStack; two minutes is the ticket's bar per secret.
WAIT = {"Delay": 1, "MaxAttempts": 120}
TIMINGS: list[dict[str, Any]] = []
CLIENT_CONFIG = Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=60)


# The accounts this process has acted in. Test modules run in parallel worker
# processes, each with its own session, so each checks for leftovers only
# where its own tests worked: another worker's stacks may still be running.
USED_ACCOUNTS: set[Account] = set()
_CLIENTS: dict[tuple[str, str, str, str], Any] = {}


@dataclass(frozen=True)
class Account:
    """One account on the engine: its id is its access key id."""

    account_id: str

    @property
    def credentials(self) -> dict[str, str]:
        """What a process needs in its environment to act in this account."""
        return {
            "AWS_ACCESS_KEY_ID": self.account_id,
            "AWS_SECRET_ACCESS_KEY": "test",
        }

    def client(
        self, service: str, region: str = "us-east-1", endpoint: str | None = None
    ) -> Any:
        """This account's client of `service` in `region`: one per process, as making one costs a model's reading.

        At the engine, or at `endpoint` (a proxy in front of it).
        """
        USED_ACCOUNTS.add(self)  # the session's leftover check looks in this account
        endpoint = endpoint or os.environ["AWS_ENDPOINT_URL"]
        key = (self.account_id, service, region, endpoint)
        if key not in _CLIENTS:
            _CLIENTS[key] = boto3.client(
                service,
                region_name=region,
                endpoint_url=endpoint,
                aws_access_key_id=self.account_id,
                aws_secret_access_key="test",
                config=CLIENT_CONFIG,
            )
        return _CLIENTS[key]

    def version_stages(
        self, secret_id: str, region: str = "us-east-1"
    ) -> dict[str, list[str]]:
        """Every version of the secret, deprecated ones included, with its staging labels sorted."""
        listed = self.client("secretsmanager", region).list_secret_version_ids(
            SecretId=secret_id, IncludeDeprecated=True, MaxResults=100
        )
        assert "NextToken" not in listed
        return {
            v["VersionId"]: sorted(v.get("VersionStages", []))
            for v in listed["Versions"]
        }


# The engine's default account (what taskcat and the unkeyed clients use), and
# accounts of their own for each module that needs the real names
# (`trading/<env>/...`): listed here, so that no two modules share one.
DEFAULT = Account("000000000000")  # test_deployment (taskcat)
OPERATIONS = Account("111111111111")  # test_operations, good days and bad
TAMPERING = Account("444444444444")  # test_tampering (the alert path and the gate)
BROKEN = Account("777777777777")  # test_broken_templates
# test_deploy: the proxy's refusals that make no stack; dev and staging; prod's
# stack set; a create that collides.
DEPLOY_REFUSED = Account("888888888888")
DEPLOY_STACKS = Account("999999999999")
DEPLOY_STACK_SET = Account("999999999998")
DEPLOY_COLLIDING = Account("999999999997")
TRYOUT = Account("999999999990")  # test_docs_tryout
THIRD = Account("555555555555")  # test_third_integration


def client(service: str, region: str = "us-east-1") -> Any:
    """A client of the default account."""
    return DEFAULT.client(service, region)


def through(
    proxy: EngineProxy,
    account: Account,
    service: str = "cloudformation",
    region: str = "us-east-1",
) -> Any:
    """A client of `account` whose calls go through the proxy."""
    return account.client(service, region, endpoint=proxy.url)


def stack_parameters(env: Environment, **overrides: str) -> list[dict[str, str]]:
    """The environment's parameter file, as CloudFormation's Parameters argument."""
    values = load_parameter_file(parameter_file_path(ROOT / "params", env))
    return cloudformation_parameters({**values, **overrides})


def committed_template(env: Environment) -> str:
    return (ROOT / "templates" / env.name / "secrets.json").read_text()


# botocore's stack_delete_complete gives up at the first DELETE_FAILED, but
# LocalStack reports DELETE_FAILED for a moment on the way to DELETE_COMPLETE
# when a failed create left something it cannot delete. This waiter rides that out.
_STACK_GONE = botocore.waiter.WaiterModel(
    {
        "version": 2,
        "waiters": {
            "StackGone": {
                "operation": "DescribeStacks",
                "delay": 1,
                "maxAttempts": 10,
                "acceptors": [
                    {
                        "state": "success",
                        "matcher": "pathAll",
                        "argument": "Stacks[].StackStatus",
                        "expected": "DELETE_COMPLETE",
                    },
                    {
                        "state": "success",
                        "matcher": "error",
                        "expected": "ValidationError",
                    },
                ],
            }
        },
    }
)


def delete_stack(account: Account, region: str, stack_id: str) -> None:
    """Delete a stack and wait for it to go.

    A stack that stays DELETE_FAILED (LocalStack cannot delete what a failed
    create never made, such as a resource policy whose secret was never
    created) is deleted again, twice at most, keeping only what failed, as
    CloudFormation's RetainResources allows for a DELETE_FAILED stack.
    """
    cloudformation = account.client("cloudformation", region)
    gone = botocore.waiter.create_waiter_with_client(
        "StackGone", _STACK_GONE, cloudformation
    )
    retain: list[str] = []
    for _attempt in range(3):
        cloudformation.delete_stack(
            StackName=stack_id, **({"RetainResources": retain} if retain else {})
        )
        try:
            gone.wait(StackName=stack_id)
            return
        except WaiterError:
            resources = cloudformation.describe_stack_resources(StackName=stack_id)[
                "StackResources"
            ]
            retain = [
                r["LogicalResourceId"]
                for r in resources
                if r["ResourceStatus"] == "DELETE_FAILED"
            ]
    reasons = {
        r["LogicalResourceId"]: (r["ResourceStatus"], r.get("ResourceStatusReason"))
        for r in resources
    }
    raise AssertionError(f"{stack_id} in {region} could not be deleted: {reasons}")


@contextlib.contextmanager
def deployed(
    account: Account,
    env: Environment,
    template: str | None = None,
    regions: tuple[str, ...] | None = None,
    **overrides: str,
) -> Iterator[dict[str, str]]:
    """`env`'s stack in each of `regions` (default: all of `env`'s), created side by side; deleted on the way out.

    Yields region -> stack id.
    """
    stacks: dict[str, str] = {}
    try:
        for region in regions or env.regions:
            stacks[region] = account.client("cloudformation", region).create_stack(
                StackName=f"{env.project}-{env.name}-secrets",
                TemplateBody=template or committed_template(env),
                Parameters=stack_parameters(env, **overrides),
            )["StackId"]
        for region, stack_id in stacks.items():
            account.client("cloudformation", region).get_waiter(
                "stack_create_complete"
            ).wait(StackName=stack_id, WaiterConfig=WAIT)
        yield stacks
    finally:
        for region, stack_id in stacks.items():
            delete_stack(account, region, stack_id)


def live_stacks(account: Account, region: str) -> list[str]:
    summaries = []
    for page in (
        account.client("cloudformation", region).get_paginator("list_stacks").paginate()
    ):
        summaries += page["StackSummaries"]
    return [s["StackName"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"]


def confirm_alert_subscriptions(
    account: Account, region: str = "us-east-1"
) -> list[str]:
    """Confirm every pending subscription in the account's region, as their owners would by the link AWS emails.

    LocalStack keeps an email subscription pending, as AWS does, and serves
    its confirmation token at /_aws/sns/subscription-tokens/<subscription ARN>;
    ConfirmSubscription with it is what the link in the email does. Returns the
    endpoints confirmed.
    """
    sns = account.client("sns", region)
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    confirmed = []
    for topic in sns.list_topics()["Topics"]:
        for subscription in sns.list_subscriptions_by_topic(TopicArn=topic["TopicArn"])[
            "Subscriptions"
        ]:
            arn = subscription["SubscriptionArn"]
            attributes = sns.get_subscription_attributes(SubscriptionArn=arn)[
                "Attributes"
            ]
            if attributes.get("PendingConfirmation") != "true":
                continue
            with urllib.request.urlopen(
                f"{endpoint}/_aws/sns/subscription-tokens/{arn}", timeout=10
            ) as answer:
                token = json.loads(answer.read())["subscription_token"]
            sns.confirm_subscription(TopicArn=topic["TopicArn"], Token=token)
            confirmed.append(subscription["Endpoint"])
    return confirmed
