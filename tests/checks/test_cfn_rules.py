"""The AWS-semantics rules (generator/checks/cfn_rules, E91xx): each on a good and a bad fragment,
each catching its defect in the templates as they were before the rules existed, and all of them
loaded by plain cfn-lint through .cfnlintrc.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from support.repository import ROOT
from support.rule_fragments import (
    CASES,
    EVENTBRIDGE_KEY_USE,
    ROLE,
    RULES,
    deny,
    email_alerts,
    encrypted_alert_topic,
    findings,
    queue_policy_for,
    resource_policy,
    resources,
    without_eventbridge_key_use,
)

from generator.checks.cfn_rules import watchers
from generator.checks.lint import LintJob
from generator.parameter_files import load_parameter_file


def test_every_rule_has_a_case_a_source_and_a_description_that_names_it():
    assert sorted(CASES) == sorted(RULES)
    for rule_id, rule_class in RULES.items():
        assert rule_class.source_url.startswith("https://docs.aws.amazon.com/"), rule_id
        assert "Source: " in rule_class.description, rule_id


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_each_rule_passes_the_good_fragment_and_names_the_fault_in_the_bad_one(rule_id):
    good, bad, phrase = CASES[rule_id]
    assert findings(rule_id, good) == []
    found = findings(rule_id, bad)
    assert found and all(phrase in message for message in found), found


def test_a_source_condition_on_eventbridge_key_use_is_a_fault_and_an_untargeted_topic_is_not_checked():
    conditioned = {
        **EVENTBRIDGE_KEY_USE,
        "Condition": {
            "ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"}
        },
    }
    assert findings("E9105", encrypted_alert_topic(conditioned))
    untargeted = encrypted_alert_topic()
    del untargeted["Resources"]["R"]
    assert findings("E9105", untargeted) == []


def test_a_subscription_without_a_redrive_policy_or_with_another_topics_queue_is_a_fault():
    bare = email_alerts(queue_policy_for("sns.amazonaws.com", {"Ref": "T"}))
    del bare["Resources"]["S"]["Properties"]["RedrivePolicy"]
    assert findings("E9119", bare) == [
        "S has no RedrivePolicy: SNS discards an alert it cannot deliver"
    ]
    other_topic = email_alerts(queue_policy_for("sns.amazonaws.com", {"Ref": "Other"}))
    assert findings("E9119", other_topic) == [
        "the dead-letter queue of S has no queue policy that lets its topic send"
    ]
    assert findings("E9119", email_alerts(None)) == [
        "the dead-letter queue of S has no queue policy that lets its topic send"
    ]


def test_a_second_rule_state_or_any_path_variant_does_not_hide_a_fault():
    """The root-path pattern is a fault on its own; an unrelated any-path role does not excuse it."""
    other = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*/someone-else"
    template = resources(
        P=resource_policy(
            deny(
                "Guard",
                ["secretsmanager:DeleteSecret"],
                ArnNotLike={
                    "aws:PrincipalArn": [{"Fn::Sub": ROLE}, {"Fn::Sub": other}]
                },
            )
        )
    )
    assert findings("E9112", template)


# The templates as they were, one set per round of rules; each set keeps its own parameter files.
FIXTURES = ROOT / "tests" / "fixtures"
BEFORE_ROLE_NAMES = FIXTURES / "templates-before-role-names"
BEFORE_ALERT_KEY = FIXTURES / "templates-before-alert-key"
BEFORE_ALERT_PATH = FIXTURES / "templates-before-alert-path"
# The defect each rule is named for, in the templates as they were (set, env, rule id, how many findings).
BEFORE_FINDINGS = [
    ("before-aws-checks", "dev", "E9101", 2),
    ("before-aws-checks", "dev", "E9102", 1),
    ("before-aws-checks", "dev", "E9103", 1),
    ("before-aws-checks", "dev", "E9104", 3),
    ("before-aws-checks", "dev", "E9111", 1),
    ("before-aws-checks", "dev", "E9113", 2),
    ("before-aws-checks", "prod", "E9112", 4),
    ("before-aws-checks", "prod", "E9114", 2),
    ("before-aws-checks", "prod", "E9121", 3),
    ("before-aws-checks", "prod", "E9122", 2),
    ("before-aws-checks", "staging", "E9121", 3),
    ("before-aws-checks", "staging", "E9122", 2),
    # Operators named by ARN, no deployer: CloudFormation locked out of its own stacks.
    ("before-role-names", "dev", "E9113", 2),
    ("before-role-names", "staging", "E9113", 2),
    ("before-role-names", "staging", "E9116", 2),
    ("before-role-names", "prod", "E9113", 2),
    ("before-role-names", "prod", "E9116", 2),
    # The alert topic under the key it reports on; nothing watching the alert path; no cross-account guard.
    ("before-alert-key", "dev", "E9102", 1),
    ("before-alert-key", "dev", "E9106", 1),
    ("before-alert-key", "dev", "E9107", 1),
    ("before-alert-key", "dev", "E9108", 4),
    ("before-alert-key", "dev", "E9118", 1),
    ("before-alert-key", "staging", "E9117", 2),
    ("before-alert-key", "prod", "E9106", 1),
    ("before-alert-key", "prod", "E9117", 2),
    # An alert email SNS cannot deliver is discarded: no dead-letter queue on the subscription.
    ("before-alert-key", "dev", "E9119", 1),
    ("before-alert-key", "staging", "E9119", 1),
    ("before-alert-key", "prod", "E9119", 1),
    # Nothing watching the alert path itself: RemoveTargets or an Unsubscribe silences every alert.
    ("before-alert-path", "dev", "E9123", 1),
    ("before-alert-path", "staging", "E9123", 1),
    ("before-alert-path", "prod", "E9123", 1),
    # A retained key whose alias went with the stack.
    ("before-alert-path", "staging", "E9124", 1),
    ("before-alert-path", "prod", "E9124", 1),
]


def _fixture_parameters() -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    old = {"AlertEmail": "", "ReaderPrincipalArns": ""}
    guarded = {**old, "BreakGlassRoleName": "bg"}
    found = {
        ("before-aws-checks", "dev"): old,
        ("before-aws-checks", "staging"): guarded,
        ("before-aws-checks", "prod"): guarded,
    }
    for env in ("dev", "staging", "prod"):
        for name, directory in (
            ("before-role-names", BEFORE_ROLE_NAMES),
            ("before-alert-key", BEFORE_ALERT_KEY),
            ("before-alert-path", BEFORE_ALERT_PATH),
        ):
            found[(name, env)] = load_parameter_file(directory / f"{env}.params.json")
    return {
        key: (str(FIXTURES / f"templates-{key[0]}" / f"{key[1]}.json"), values)
        for key, values in found.items()
    }


# The tests that read every old template's findings lint each of those templates once.
@pytest.fixture(scope="module")
def before_findings(linter) -> dict[tuple[str, str], list[str]]:
    """cfn-lint (the build's linter, rules and all) over each template as it was."""
    return {
        key: linter.lint(
            LintJob(Path(path).read_text(), ("us-east-1",), parameters, "p.json")
        )
        for key, (path, parameters) in _fixture_parameters().items()
    }


@pytest.mark.parametrize(
    "fixture_set, env, rule_id, count",
    BEFORE_FINDINGS,
    ids=[f"{f}-{e}-{r}" for f, e, r, _ in BEFORE_FINDINGS],
)
def test_each_rule_catches_its_defect_in_the_templates_as_they_were(
    before_findings, fixture_set, env, rule_id, count
):
    found = before_findings[(fixture_set, env)]
    assert sum(finding.startswith(f"cfn-lint {rule_id} ") for finding in found) == count


# Rules that guard something no template as it was got wrong; each is shown
# to catch its defect planted into today's template, below.
GUARDS_WHAT_WAS_ALREADY_RIGHT = {"E9105", "E9109", "E9110", "E9115"}


def test_every_rule_fires_on_the_templates_as_they_were(before_findings):
    fired = {
        finding.split()[1] for found in before_findings.values() for finding in found
    }
    assert set(RULES) - GUARDS_WHAT_WAS_ALREADY_RIGHT <= fired
    assert not GUARDS_WHAT_WAS_ALREADY_RIGHT & fired


def test_e9115_catches_todays_template_without_its_outside_account_deny():
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    assert findings("E9115", template) == []
    planted = copy.deepcopy(template)
    for resource in planted["Resources"].values():
        if resource["Type"] == "AWS::SecretsManager::ResourcePolicy":
            statements = resource["Properties"]["ResourcePolicy"]["Statement"]
            statements[:] = [
                s for s in statements if s.get("Sid") != "DenyPrincipalsOutsideAccount"
            ]
    found = findings("E9115", planted)
    # Both secrets, the policy-change guard and the allow-list (inside its Fn::If).
    assert len(found) == 4 and all("exempts roles of any account" in f for f in found)


def test_e9105_catches_a_key_policy_that_shuts_eventbridge_out_of_todays_template():
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    assert findings("E9105", template) == []
    found = findings("E9105", without_eventbridge_key_use(template))
    assert found == [
        "AlertsKey encrypts AlertTopic, which alert rules target, but its policy does not let "
        "events.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt without a Condition: "
        "no alert would be delivered"
    ]


def test_the_alert_path_calls_are_the_generators_and_each_a_mutating_operation_of_botocores_model():
    """E9123's literal list (it loads with cfn-lint alone) is the generator's, and names real operations."""
    import botocore.session

    from generator.alert_rules import ALERT_PATH_CALLS

    assert {
        service: frozenset(calls) for service, calls in ALERT_PATH_CALLS.items()
    } == watchers.ALERT_PATH_CALLS
    session = botocore.session.get_session()
    for service, calls in watchers.ALERT_PATH_CALLS.items():
        operations = set(session.get_service_model(service).operation_names)
        assert calls <= operations, (service, sorted(calls - operations))
        assert not [c for c in calls if c.startswith(("Get", "List", "Describe"))]
