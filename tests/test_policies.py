"""The policy documents, read statement by statement from the generated JSON."""

from __future__ import annotations

import pytest

from helpers import ENV_NAMES, resources_of_type
from generator.catalogue import CATALOGUE


def statements_by_sid(document: dict) -> dict[str, dict]:
    return {statement["Sid"]: statement for statement in document["Statement"]}


def resource_policy_variants(template: dict, logical_id: str) -> tuple[dict, dict]:
    """(with reader allow-list, without) from the Fn::If on HasReaderAllowList."""
    condition, with_list, without_list = template["Resources"][f"{logical_id}ResourcePolicy"]["Properties"]["ResourcePolicy"]["Fn::If"]
    assert condition == "HasReaderAllowList"
    return with_list, without_list


SECRET_CASES = [(env, spec.logical_id) for env in ENV_NAMES for spec in CATALOGUE]
IDS = [f"{env}-{lid}" for env, lid in SECRET_CASES]


@pytest.mark.parametrize("env_name, logical_id", SECRET_CASES, ids=IDS)
def test_every_variant_denies_principals_outside_the_account(templates, env_name, logical_id):
    for document in resource_policy_variants(templates[env_name], logical_id):
        statement = statements_by_sid(document)["DenyPrincipalsOutsideAccount"]
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
        assert statement["Action"] == ["secretsmanager:*"]
        assert statement["Condition"] == {"StringNotEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}}


@pytest.mark.parametrize("env_name, logical_id", SECRET_CASES, ids=IDS)
def test_delete_is_denied_to_all_but_break_glass_in_staging_and_prod(templates, env_name, logical_id):
    for document in resource_policy_variants(templates[env_name], logical_id):
        statement = statements_by_sid(document).get("DenyDeleteExceptBreakGlass")
        if env_name == "dev":
            assert statement is None
            continue
        assert statement["Effect"] == "Deny" and statement["Action"] == ["secretsmanager:DeleteSecret"]
        arn = statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]["Fn::Sub"]
        assert arn == [
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${RoleName}",
            {"RoleName": {"Ref": "BreakGlassRoleName"}},
        ]


@pytest.mark.parametrize("env_name, logical_id", SECRET_CASES, ids=IDS)
def test_reader_allow_list_applies_only_when_given(templates, env_name, logical_id):
    template = templates[env_name]
    with_list, without_list = resource_policy_variants(template, logical_id)
    assert "DenyReadOutsideAllowList" not in statements_by_sid(without_list)
    statement = statements_by_sid(with_list)["DenyReadOutsideAllowList"]
    assert statement["Effect"] == "Deny" and statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert statement["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": {"Fn::Split": [",", {"Ref": "ReaderPrincipalArns"}]}}
    }
    assert template["Conditions"]["HasReaderAllowList"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReaderPrincipalArns"}, ""]}]
    }
    assert template["Parameters"]["ReaderPrincipalArns"]["Default"] == ""


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_resource_policies_only_ever_deny(templates, env_name):
    for policy in resources_of_type(templates[env_name], "AWS::SecretsManager::ResourcePolicy").values():
        for document in policy["Properties"]["ResourcePolicy"]["Fn::If"][1:]:
            assert {statement["Effect"] for statement in document["Statement"]} == {"Deny"}


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_key_policy_lets_the_account_decrypt_only_through_secrets_manager(templates, env_name):
    statements = statements_by_sid(templates[env_name]["Resources"]["SecretsKey"]["Properties"]["KeyPolicy"])
    admin = statements["AllowAccountToAdministerKey"]
    assert "kms:Decrypt" not in admin["Action"] and "kms:PutKeyPolicy" in admin["Action"]
    use = statements["AllowUseThroughSecretsManagerOnly"]
    assert "kms:Decrypt" in use["Action"]
    assert use["Condition"]["StringEquals"]["kms:ViaService"] == {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
    events = statements["AllowEventBridgeToPublishToEncryptedTopic"]
    assert events["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert set(events["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def _all_policy_statements(template: dict):
    for resource in template["Resources"].values():
        properties = resource["Properties"]
        for key in ("KeyPolicy", "PolicyDocument"):
            if key in properties:
                yield from properties[key]["Statement"]
        if "ResourcePolicy" in properties:
            for document in properties["ResourcePolicy"]["Fn::If"][1:]:
                yield from document["Statement"]


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_no_statement_allows_everybody_and_kms_star_is_never_granted(templates, env_name):
    statements = list(_all_policy_statements(templates[env_name]))
    assert len(statements) >= 8
    for statement in statements:
        if statement["Effect"] == "Allow":
            assert statement["Principal"] != "*" and statement["Principal"] != {"AWS": "*"}, statement["Sid"]
            assert "kms:*" not in statement["Action"], statement["Sid"]


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_only_this_stacks_rules_may_publish_alerts(templates, env_name):
    policy = templates[env_name]["Resources"]["AlertTopicPolicy"]["Properties"]
    statements = statements_by_sid(policy["PolicyDocument"])
    publish = statements["AllowStackRulesToPublish"]
    assert publish["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert publish["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": [rule, "Arn"]} for rule in ("SecretChangeRule", "SecretAccessDeniedRule", "PendingDeletionAccessRule")
    ]
    assert statements["DenyPublishWithoutTls"]["Effect"] == "Deny"
