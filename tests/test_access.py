"""Who can do what: the generated policies resolved for a test account and asked an IAM evaluation engine.

The local engine evaluates no IAM, KMS or resource policy, so these questions
are answered offline by principalmapper (NCC Group's PMapper), which evaluates
identity policies, resource policies and KMS key policies together. Each test
asks what a security reviewer would: "can principal P do action A on resource R".
"""

from __future__ import annotations

import collections
import collections.abc
import json
from typing import Any

import pytest

# principalmapper predates Python 3.10, where these aliases went away.
collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
collections.MutableMapping = collections.abc.MutableMapping  # type: ignore[attr-defined]

from principalmapper.common import Node, Policy  # noqa: E402
from principalmapper.querying.query_interface import local_check_authorization_full  # noqa: E402

from cfn_resolve import Deployment, resolve  # noqa: E402
from generator.build import generate  # noqa: E402
from generator.catalogue import ALPACA, ALPHAVANTAGE, CATALOGUE  # noqa: E402
from generator.environments import ENVIRONMENTS  # noqa: E402
from generator.naming import secret_name  # noqa: E402
from helpers import ROOT  # noqa: E402

ACCOUNT, OTHER_ACCOUNT, REGION = "111122223333", "444455556666", "us-east-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
ADMINISTRATOR = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
BREAK_GLASS_NAME = "trading-break-glass"
BEFORE = ROOT / "tests" / "fixtures" / "templates-before-aws-checks"


def role_arn(name: str, path: str = "/", account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


READER = role_arn("quote-fetcher", "/service-role/")
OPERATOR = role_arn(
    "AWSReservedSSO_PlatformEngineer_0123456789abcdef",
    "/aws-reserved/sso.amazonaws.com/",
)
DEPLOYER = role_arn("cfn-deployer")


def principal(arn: str, *policies: dict[str, Any]) -> Node:
    """A role with the given identity policies (a role, since every principal here assumes one)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    attached = [
        Policy(f"{arn}-policy-{index}", f"policy{index}", document)
        for index, document in enumerate(policies)
    ]
    return Node(
        arn, "AROAEXAMPLE", attached, [], trust, None, 0, False, False, None, False, {}
    )


def deployment(
    env_name: str, template: dict[str, Any], **parameters: str
) -> Deployment:
    env = ENVIRONMENTS[env_name]
    physical, arns = {}, {}
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind == "AWS::SecretsManager::Secret":
            spec = next(spec for spec in CATALOGUE if spec.logical_id == logical_id)
            physical[logical_id] = (
                f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret_name(env, spec)}-AbCdEf"
            )
        elif kind == "AWS::KMS::Key":
            physical[logical_id] = KEY_ID
            arns[logical_id] = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
        else:
            physical[logical_id] = f"{logical_id}-physical-id"
            arns[logical_id] = (
                f"arn:aws:{kind.split('::')[1].lower()}:{REGION}:{ACCOUNT}:{logical_id}"
            )
    values = dict.fromkeys(template["Parameters"], "")
    if "BreakGlassRoleName" in values:
        values["BreakGlassRoleName"] = BREAK_GLASS_NAME
    values.update(parameters)
    return Deployment(ACCOUNT, REGION, values, physical, arns)


class Stack:
    """One environment's template, resolved for one deployment, that answers access questions."""

    def __init__(self, env_name: str, **parameters: str):
        self.template = json.loads(generate(ENVIRONMENTS[env_name]))
        self.deployment = deployment(env_name, self.template, **parameters)
        self.resolved = resolve(self.template, self.deployment, self.template)

    def secret_arn(self, spec=ALPACA) -> str:
        return self.deployment.physical_ids[spec.logical_id]

    @property
    def key_arn(self) -> str:
        return self.deployment.arns["SecretsKey"]

    def reader_policy(self, spec=ALPACA) -> dict[str, Any]:
        return self.resolved["Resources"][f"{spec.logical_id}ReaderPolicy"][
            "Properties"
        ]["PolicyDocument"]

    def can(
        self, who: Node, action: str, spec=ALPACA, via_secrets_manager: bool = True
    ) -> bool:
        """Whether `who` may do `action` on the secret (secretsmanager:*) or on its key (kms:*)."""
        owner = who.arn.split(":")[4]
        if action.startswith("kms:"):
            resource, policy = (
                self.key_arn,
                self.resolved["Resources"]["SecretsKey"]["Properties"]["KeyPolicy"],
            )
            context = {"kms:CallerAccount": owner}
            if via_secrets_manager:
                context["kms:ViaService"] = f"secretsmanager.{REGION}.amazonaws.com"
        else:
            resource = self.secret_arn(spec)
            policy = self.resolved["Resources"][f"{spec.logical_id}ResourcePolicy"][
                "Properties"
            ]["ResourcePolicy"]
            context = {}
        return local_check_authorization_full(
            who, action, resource, context, policy, ACCOUNT, None, None
        )


ADMIN = principal(role_arn("Admin", "/team/"), ADMINISTRATOR)
OTHER_ACCOUNT_ADMIN = principal(role_arn("Admin", account=OTHER_ACCOUNT), ADMINISTRATOR)
ENV_NAMES = list(ENVIRONMENTS)
GUARDED = ["staging", "prod"]


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_another_account_cannot_read_or_decrypt(env_name):
    stack = Stack(env_name)
    for action in (
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "kms:Decrypt",
    ):
        assert not stack.can(OTHER_ACCOUNT_ADMIN, action), action


@pytest.mark.parametrize("env_name", GUARDED)
@pytest.mark.parametrize(
    "path",
    ["/", "/break-glass/", "/aws-reserved/sso.amazonaws.com/"],
    ids=["no-path", "path", "identity-center-path"],
)
def test_an_administrator_cannot_delete_but_the_break_glass_role_can_under_any_path(
    env_name, path
):
    stack = Stack(env_name)
    break_glass = principal(role_arn(BREAK_GLASS_NAME, path), ADMINISTRATOR)
    assert not stack.can(ADMIN, "secretsmanager:DeleteSecret")
    assert stack.can(break_glass, "secretsmanager:DeleteSecret")
    # A role whose name merely ends the same way is no break-glass role.
    assert not stack.can(
        principal(role_arn(f"not-{BREAK_GLASS_NAME}", path), ADMINISTRATOR),
        "secretsmanager:DeleteSecret",
    )


@pytest.mark.parametrize("env_name", GUARDED)
def test_the_delete_guard_cannot_be_removed_first_except_by_break_glass_or_an_operator(
    env_name,
):
    stack = Stack(env_name, OperatorPrincipalArns=OPERATOR)
    for action in (
        "secretsmanager:PutResourcePolicy",
        "secretsmanager:DeleteResourcePolicy",
    ):
        assert not stack.can(ADMIN, action), action
        assert stack.can(principal(OPERATOR, ADMINISTRATOR), action), action
        assert stack.can(
            principal(role_arn(BREAK_GLASS_NAME), ADMINISTRATOR), action
        ), action
    assert not stack.can(
        principal(OPERATOR, ADMINISTRATOR), "secretsmanager:DeleteSecret"
    )


def test_in_dev_an_administrator_may_delete():
    assert Stack("dev").can(ADMIN, "secretsmanager:DeleteSecret")


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_the_allow_list_blocks_unlisted_readers_but_not_the_operators_nor_the_deployer(
    env_name,
):
    stack = Stack(
        env_name,
        ReaderPrincipalArns=READER,
        OperatorPrincipalArns=f"{OPERATOR},{DEPLOYER}",
    )
    assert not stack.can(ADMIN, "secretsmanager:GetSecretValue")
    assert stack.can(
        principal(OPERATOR, ADMINISTRATOR), "secretsmanager:GetSecretValue"
    )
    assert stack.can(
        principal(DEPLOYER, ADMINISTRATOR), "secretsmanager:GetSecretValue"
    )
    assert stack.can(
        principal(READER, stack.reader_policy()), "secretsmanager:GetSecretValue"
    )


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_without_an_allow_list_iam_policies_alone_decide(env_name):
    stack = Stack(env_name)
    assert stack.can(ADMIN, "secretsmanager:GetSecretValue")
    assert not stack.can(
        principal(role_arn("no-permissions")), "secretsmanager:GetSecretValue"
    )


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_direct_decrypt_outside_secrets_manager_is_denied_even_to_an_administrator(
    env_name,
):
    stack = Stack(env_name)
    assert not stack.can(ADMIN, "kms:Decrypt", via_secrets_manager=False)
    assert stack.can(ADMIN, "kms:Decrypt", via_secrets_manager=True)


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_a_role_with_the_exported_reader_policy_reads_and_decrypts_its_secret_and_nothing_more(
    env_name,
):
    stack = Stack(env_name)
    reader = principal(READER, stack.reader_policy(ALPACA))
    assert stack.can(reader, "secretsmanager:GetSecretValue", ALPACA)
    assert stack.can(reader, "secretsmanager:DescribeSecret", ALPACA)
    assert stack.can(reader, "kms:Decrypt", via_secrets_manager=True)
    assert not stack.can(reader, "kms:Decrypt", via_secrets_manager=False)
    assert not stack.can(reader, "secretsmanager:GetSecretValue", ALPHAVANTAGE)
    assert not stack.can(reader, "secretsmanager:PutSecretValue", ALPACA)
    assert not stack.can(reader, "secretsmanager:DeleteSecret", ALPACA)


def test_the_engine_can_say_yes_and_no_to_the_same_question():
    """The questions above can fail: the same break-glass question flips with the template as it was."""
    before = json.loads((BEFORE / "prod.json").read_text())
    stack = Stack("prod")
    stack.template = before
    stack.deployment = deployment("prod", before)
    stack.resolved = resolve(before, stack.deployment, before)
    assert stack.can(
        principal(role_arn(BREAK_GLASS_NAME), ADMINISTRATOR),
        "secretsmanager:DeleteSecret",
    )
    assert not stack.can(
        principal(role_arn(BREAK_GLASS_NAME, "/break-glass/"), ADMINISTRATOR),
        "secretsmanager:DeleteSecret",
    )
