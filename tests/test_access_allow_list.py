"""Access questions, continued: who may read through the allow-list, decrypt directly, use the exported reader policy, or copy a value to another account; answered offline by principalmapper, since the local engine evaluates no policy."""

from __future__ import annotations

import json

import pytest
from support.cfn_resolve import resolve
from test_access import (
    ADMIN,
    ADMINISTRATOR,
    BEFORE,
    BREAK_GLASS_NAME,
    DEPLOYER,
    DEPLOYER_NAME,
    ENV_NAMES,
    GUARDED,
    OPERATOR,
    OPERATOR_NAMES,
    OTHER_ACCOUNT,
    POLICY_CHANGES,
    READER,
    READER_NAME,
    Stack,
    deployment,
    granting_the_other_account,
    principal,
    role_arn,
)

from generator.catalogue import ALPACA, ALPHAVANTAGE


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
