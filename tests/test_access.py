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

from generator.catalogue import ALPACA, ALPHAVANTAGE
from generator.resolve import resolve

# principalmapper predates Python 3.10, where these aliases went away.
collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
collections.MutableMapping = collections.abc.MutableMapping  # type: ignore[attr-defined]

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # noqa: E402
from principalmapper.common import Node, Policy  # noqa: E402
from principalmapper.querying.query_interface import local_check_authorization_full  # noqa: E402
from support.repository import ROOT  # noqa: E402

from generator.build import generate  # noqa: E402
from generator.catalogue import CATALOGUE  # noqa: E402
from generator.environments import ENVIRONMENTS  # noqa: E402
from generator.naming import secret_name  # noqa: E402
from generator.parameter_files import load_parameter_file, parameter_file_path  # noqa: E402
from generator.policies import STACK_SET_EXECUTION_ROLE  # noqa: E402
from generator.resolve import Deployment  # noqa: E402

ACCOUNT, OTHER_ACCOUNT, REGION = "111122223333", "444455556666", "us-east-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
ADMINISTRATOR = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
BREAK_GLASS_NAME = "trading-break-glass"
DEPLOYER_NAME = "cfn-deployer"
BEFORE = ROOT / "tests" / "fixtures" / "templates-before-aws-checks"


def role_arn(name: str, path: str = "/", account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


READER_NAME = "quote-fetcher"
READER = role_arn(READER_NAME, "/service-role/")
# IAM Identity Center names a role with a suffix that differs per account.
OPERATOR_NAMES = "AWSReservedSSO_PlatformEngineer_*"
OPERATOR = role_arn(
    "AWSReservedSSO_PlatformEngineer_0123456789abcdef",
    "/aws-reserved/sso.amazonaws.com/",
)
DEPLOYER = role_arn(DEPLOYER_NAME)


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
        values["DeployerRoleNames"] = DEPLOYER_NAME
    values.update(parameters)
    return Deployment(ACCOUNT, REGION, values, physical, arns)


class Stack:
    """One environment's template, resolved for one deployment, that answers access questions."""

    def __init__(self, env_name: str, **parameters: str):
        self.template = json.loads(generate(ENVIRONMENTS[env_name]))
        self.deployment = deployment(env_name, self.template, **parameters)
        self.resolved = resolve(self.template, self.deployment, self.template)

    @classmethod
    def committed(cls, env_name: str, **overrides: str) -> Stack:
        """Deployed with the committed parameter file, as a user would."""
        env = ENVIRONMENTS[env_name]
        values = load_parameter_file(parameter_file_path(ROOT / "params", env))
        return cls(env_name, **{**values, **overrides})

    def resource_policy(self, spec=ALPACA) -> dict[str, Any]:
        return self.resolved["Resources"][f"{spec.logical_id}ResourcePolicy"][
            "Properties"
        ]["ResourcePolicy"]

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
        self,
        who: Node,
        action: str,
        spec=ALPACA,
        via_secrets_manager: bool = True,
        with_resource_policy: bool = True,
    ) -> bool:
        """Whether `who` may do `action` on the secret (secretsmanager:*) or on its key (kms:*).

        `with_resource_policy=False` asks after the secret's resource policy is gone.
        """
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
            policy = (
                self.resource_policy(spec)
                if with_resource_policy
                else {"Statement": []}
            )
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


POLICY_CHANGES = (
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
)


@pytest.mark.parametrize("env_name", GUARDED)
def test_the_delete_guard_cannot_be_removed_first_except_by_break_glass_or_a_deployer(
    env_name,
):
    stack = Stack(env_name, OperatorRoleNames=OPERATOR_NAMES)
    operator = principal(OPERATOR, ADMINISTRATOR)
    for action in POLICY_CHANGES:
        assert not stack.can(ADMIN, action), action
        # Operators rotate values; changing who may delete is not theirs.
        assert not stack.can(operator, action), action
        assert stack.can(principal(DEPLOYER, ADMINISTRATOR), action), action
        assert stack.can(
            principal(role_arn(BREAK_GLASS_NAME), ADMINISTRATOR), action
        ), action
    assert not stack.can(
        principal(DEPLOYER, ADMINISTRATOR), "secretsmanager:DeleteSecret"
    )


def handler_permissions(resource_type: str, *handlers: str) -> set[str]:
    """The Secrets Manager calls CloudFormation makes for a resource type's handlers, from its provider schema."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
    return {
        permission
        for handler in handlers
        for permission in schema["handlers"][handler]["permissions"]
        if permission.startswith("secretsmanager:")
    }


SECRET_AND_POLICY_UPKEEP = handler_permissions(
    "AWS::SecretsManager::Secret", "create", "read", "update"
) | handler_permissions(
    "AWS::SecretsManager::ResourcePolicy", "create", "read", "update", "delete"
)


@pytest.mark.parametrize("env_name", GUARDED)
@pytest.mark.parametrize("path", ["/", "/pipelines/"], ids=["no-path", "path"])
def test_the_committed_parameter_files_never_lock_cloudformation_out(env_name, path):
    """Every call CloudFormation makes as the deployer to create, read, update and roll back the secrets.

    The calls are read from the resource types' provider schemas (what the
    handlers need), asked with the committed parameter file, and again with a
    reader allow-list set, which denies reads to everyone it does not exempt.
    """
    committed = Stack.committed(env_name)
    deployer = principal(
        role_arn(committed.deployment.parameters["DeployerRoleNames"], path),
        ADMINISTRATOR,
    )
    assert "secretsmanager:GetSecretValue" in SECRET_AND_POLICY_UPKEEP
    for stack in (committed, Stack.committed(env_name, ReaderRoleNames=READER_NAME)):
        for action in sorted(SECRET_AND_POLICY_UPKEEP):
            assert stack.can(deployer, action), action
        assert not stack.can(ADMIN, "secretsmanager:PutResourcePolicy")


@pytest.mark.parametrize("env_name", GUARDED)
def test_a_failed_first_create_can_delete_what_it_made(env_name):
    """RetainExceptOnCreate deletes on a failed create: the resource policy first (it refers to the secret), then the secret."""
    stack = Stack.committed(env_name)
    spec = ALPACA
    resource_policy = stack.template["Resources"][f"{spec.logical_id}ResourcePolicy"]
    assert resource_policy["DeletionPolicy"] == "RetainExceptOnCreate"
    assert resource_policy["Properties"]["SecretId"] == {"Ref": spec.logical_id}
    deployer = principal(
        role_arn(stack.deployment.parameters["DeployerRoleNames"]), ADMINISTRATOR
    )
    for action in handler_permissions("AWS::SecretsManager::ResourcePolicy", "delete"):
        assert stack.can(deployer, action), action
    # While the policy stands, not even the deployer may delete the secret ...
    assert not stack.can(deployer, "secretsmanager:DeleteSecret")
    # ... and once it is gone, the secret's own delete handler goes through.
    for action in handler_permissions("AWS::SecretsManager::Secret", "delete"):
        assert stack.can(deployer, action, with_resource_policy=False), action


def test_only_the_prod_stack_set_exempts_each_accounts_execution_role():
    execution_role = principal(role_arn(STACK_SET_EXECUTION_ROLE), ADMINISTRATOR)
    prod = Stack.committed("prod", ReaderRoleNames=READER_NAME)
    for action in (*POLICY_CHANGES, "secretsmanager:GetSecretValue"):
        assert prod.can(execution_role, action), action
    # staging deploys as a stack: the role is no one special there.
    staging = Stack.committed("staging", ReaderRoleNames=READER_NAME)
    for action in (*POLICY_CHANGES, "secretsmanager:GetSecretValue"):
        assert not staging.can(execution_role, action), action


def granting_the_other_account(stack: Stack, spec=ALPACA) -> None:
    """What a later cross-account grant would add: an Allow for another account, beside the guards."""
    stack.resource_policy(spec)["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
            "Action": "secretsmanager:*",
            "Resource": "*",
        }
    )


@pytest.mark.parametrize("env_name", GUARDED)
def test_a_role_of_the_deployers_name_in_another_account_is_no_deployer(env_name):
    """The name patterns match any account; the outside-account Deny (rule E9115) takes that back.

    Asked with a cross-account Allow planted, since without one another
    account is refused anyway; the Deny is what still holds once a grant is added.
    """
    stack = Stack.committed(env_name)
    granting_the_other_account(stack)
    name = stack.deployment.parameters["DeployerRoleNames"]
    impostor = principal(role_arn(name, account=OTHER_ACCOUNT), ADMINISTRATOR)
    for action in (*POLICY_CHANGES, "secretsmanager:GetSecretValue"):
        assert not stack.can(impostor, action), action
    without_outside_deny = Stack.committed(env_name)
    granting_the_other_account(without_outside_deny)
    statements = without_outside_deny.resource_policy()["Statement"]
    statements[:] = [
        s for s in statements if s.get("Sid") != "DenyPrincipalsOutsideAccount"
    ]
    assert without_outside_deny.can(impostor, "secretsmanager:PutResourcePolicy")


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_the_allow_list_blocks_unlisted_readers_but_not_the_operators_nor_the_deployer(
    env_name,
):
    stack = Stack(
        env_name,
        ReaderRoleNames=READER_NAME,
        OperatorRoleNames=OPERATOR_NAMES,
        DeployerRoleNames=DEPLOYER_NAME,
    )
    assert not stack.can(ADMIN, "secretsmanager:GetSecretValue")
    for allowed in (OPERATOR, DEPLOYER):
        assert stack.can(
            principal(allowed, ADMINISTRATOR), "secretsmanager:GetSecretValue"
        ), allowed
    assert stack.can(
        principal(READER, stack.reader_policy()), "secretsmanager:GetSecretValue"
    )
    # A name pattern is a whole name: neither a longer nor a shorter one matches.
    for near_miss in (f"{READER_NAME}-2", f"x{READER_NAME}", READER_NAME[:-1]):
        assert not stack.can(
            principal(role_arn(near_miss, "/service-role/"), ADMINISTRATOR),
            "secretsmanager:GetSecretValue",
        ), near_miss


def test_in_dev_the_allow_list_exempts_the_deployer_only_once_one_is_named():
    unnamed = Stack("dev", ReaderRoleNames=READER_NAME)
    named = Stack("dev", ReaderRoleNames=READER_NAME, DeployerRoleNames=DEPLOYER_NAME)
    deployer = principal(DEPLOYER, ADMINISTRATOR)
    assert not unnamed.can(deployer, "secretsmanager:GetSecretValue")
    assert named.can(deployer, "secretsmanager:GetSecretValue")


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


@pytest.mark.parametrize("env_name", GUARDED)
def test_an_administrator_cannot_copy_a_value_into_another_account_but_break_glass_can(
    env_name,
):
    """AssociateCrossAccountReplica keeps copying the value into another account."""
    stack = Stack.committed(env_name)
    action = "secretsmanager:AssociateCrossAccountReplica"
    assert not stack.can(ADMIN, action)
    assert not stack.can(principal(DEPLOYER, ADMINISTRATOR), action)
    assert stack.can(
        principal(
            role_arn(stack.deployment.parameters["BreakGlassRoleName"]), ADMINISTRATOR
        ),
        action,
    )
    # Ending such a copy is no threat, and stays open.
    assert stack.can(ADMIN, "secretsmanager:DisassociateCrossAccountReplica")
