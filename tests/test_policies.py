"""The policy documents' shape, read from the generated JSON.

Who can do what is answered by an IAM evaluation engine in
tests/checks/test_access.py; these tests pin the form AWS requires.
"""

from __future__ import annotations

import pytest
from support.repository import ENV_NAMES, resources_of_type

from generator.catalogue import CATALOGUE


def statements_by_sid(statements: list[dict]) -> dict[str, dict]:
    return {statement["Sid"]: statement for statement in statements}


def resource_policy_statements(
    template: dict, logical_id: str
) -> tuple[list[dict], dict]:
    """(statements always present, the allow-list statement present only when HasReaderAllowList)."""
    statements = template["Resources"][f"{logical_id}ResourcePolicy"]["Properties"][
        "ResourcePolicy"
    ]["Statement"]
    *always, conditional = statements
    condition, present, absent = conditional["Fn::If"]
    assert condition == "HasReaderAllowList" and absent == {"Ref": "AWS::NoValue"}
    return always, present


SECRET_CASES = [(env, spec.logical_id) for env in ENV_NAMES for spec in CATALOGUE]
IDS = [f"{env}-{lid}" for env, lid in SECRET_CASES]


@pytest.mark.parametrize("env_name, logical_id", SECRET_CASES, ids=IDS)
def test_resource_policies_only_ever_deny_and_the_allow_list_is_conditional(
    templates, env_name, logical_id
):
    always, allow_list = resource_policy_statements(templates[env_name], logical_id)
    assert {statement["Effect"] for statement in [*always, allow_list]} == {"Deny"}
    expected = ["DenyPrincipalsOutsideAccount"]
    if env_name != "dev":
        expected += [
            "DenyDeleteOrCrossAccountCopyExceptBreakGlass",
            "DenyPolicyChangeExceptBreakGlassAndDeployers",
        ]
    assert [statement["Sid"] for statement in always] == expected
    assert allow_list["Sid"] == "DenyReadOutsideAllowList"


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_key_policy_lets_the_account_decrypt_only_through_secrets_manager(
    templates, env_name
):
    statements = statements_by_sid(
        templates[env_name]["Resources"]["SecretsKey"]["Properties"]["KeyPolicy"][
            "Statement"
        ]
    )
    admin = statements["AllowAccountToAdministerKey"]
    assert (
        "kms:Decrypt" not in admin["Action"] and "kms:PutKeyPolicy" in admin["Action"]
    )
    use = statements["AllowUseThroughSecretsManagerOnly"]
    assert "kms:Decrypt" in use["Action"]
    assert use["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"
    }
    # It encrypts no topic any more: no service principal is let in.
    assert set(statements) == {
        "AllowAccountToAdministerKey",
        "AllowUseThroughSecretsManagerOnly",
    }


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_the_alerting_key_lets_eventbridge_in_unconditionally_and_only_this_stacks_alarms(
    templates, env_name
):
    statements = statements_by_sid(
        templates[env_name]["Resources"]["AlertsKey"]["Properties"]["KeyPolicy"][
            "Statement"
        ]
    )
    assert set(statements) == {
        "AllowAccountToAdministerKey",
        "AllowEventBridgeToPublishToEncryptedTopic",
        "AllowStackAlarmsToPublishToEncryptedTopic",
    }
    assert "kms:Decrypt" not in statements["AllowAccountToAdministerKey"]["Action"]
    events = statements["AllowEventBridgeToPublishToEncryptedTopic"]
    assert (
        events["Principal"] == {"Service": ["events.amazonaws.com"]}
        and "Condition" not in events
    )
    assert set(events["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    alarms = statements["AllowStackAlarmsToPublishToEncryptedTopic"]
    assert alarms["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert set(alarms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert alarms["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    assert alarms["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(
        f":alarm:trading-{env_name}-secrets-*"
    )


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_eventbridge_may_publish_without_a_condition_and_nobody_without_tls(
    templates, env_name
):
    policy = templates[env_name]["Resources"]["AlertTopicPolicy"]["Properties"][
        "PolicyDocument"
    ]
    statements = statements_by_sid(policy["Statement"])
    publish = statements["AllowEventBridgeToPublish"]
    assert (
        publish["Principal"] == {"Service": ["events.amazonaws.com"]}
        and "Condition" not in publish
    )
    # The topic policy replaces the default one: CloudWatch must be let in, for this stack's alarms only.
    alarms = statements["AllowStackAlarmsToPublish"]
    assert alarms["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert alarms["Action"] == ["sns:Publish"]
    assert set(alarms["Condition"]) == {"StringEquals", "ArnLike"}
    assert statements["DenyWithoutTls"]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_only_this_stacks_rules_and_topic_may_send_to_the_dead_letter_queue(
    templates, env_name
):
    template = templates[env_name]
    policy = template["Resources"]["AlertDeadLetterQueuePolicy"]["Properties"]
    statement, from_topic, without_tls = policy["PolicyDocument"]["Statement"]
    assert from_topic == {
        "Sid": "AllowAlertTopicToSendUndeliveredAlerts",
        "Effect": "Allow",
        "Principal": {"Service": ["sns.amazonaws.com"]},
        "Action": ["sqs:SendMessage"],
        "Resource": [{"Fn::GetAtt": ["AlertDeadLetterQueue", "Arn"]}],
        "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "AlertTopic"}}},
    }
    subscription = template["Resources"]["AlertEmailSubscription"]["Properties"]
    assert subscription["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["AlertDeadLetterQueue", "Arn"]}
    }
    assert without_tls["Sid"] == "DenyWithoutTls" and without_tls["Effect"] == "Deny"
    assert statement["Principal"] == {
        "Service": ["events.amazonaws.com"]
    } and statement["Action"] == ["sqs:SendMessage"]
    rules = sorted(resources_of_type(template, "AWS::Events::Rule"))
    assert (
        sorted(
            arn["Fn::GetAtt"][0]
            for arn in statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        )
        == rules
    )


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_each_reader_policy_grants_one_secret_and_decrypt_through_secrets_manager_only(
    templates, env_name
):
    for spec in CATALOGUE:
        policy = templates[env_name]["Resources"][f"{spec.logical_id}ReaderPolicy"]
        assert (
            "ManagedPolicyName" not in policy["Properties"]
        )  # StackSet regions must not clash
        read, decrypt = policy["Properties"]["PolicyDocument"]["Statement"]
        assert read["Action"] == [
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
        ]
        assert read["Resource"] == [{"Ref": spec.logical_id}]
        assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"] == [
            {"Fn::GetAtt": ["SecretsKey", "Arn"]}
        ]
        assert decrypt["Condition"] == {
            "StringEquals": {
                "kms:ViaService": {
                    "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"
                }
            }
        }


def _all_policy_statements(template: dict):
    for resource in template["Resources"].values():
        properties = resource["Properties"]
        for key in ("KeyPolicy", "PolicyDocument", "ResourcePolicy"):
            if key in properties:
                for statement in properties[key]["Statement"]:
                    yield statement["Fn::If"][1] if "Fn::If" in statement else statement


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_no_statement_allows_everybody_and_kms_star_is_never_granted(
    templates, env_name
):
    statements = list(_all_policy_statements(templates[env_name]))
    assert len(statements) >= 10
    for statement in statements:
        if statement["Effect"] == "Allow":
            assert statement.get("Principal") not in ("*", {"AWS": "*"}), statement[
                "Sid"
            ]
            assert "kms:*" not in statement["Action"], statement["Sid"]
