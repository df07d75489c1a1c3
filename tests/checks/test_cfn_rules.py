"""The AWS-semantics rules (generator/checks/cfn_rules, E91xx): each on a good and a bad fragment,
each catching its defect in the templates as they were before the rules existed, and all of them
loaded by plain cfn-lint through .cfnlintrc.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from support.repository import ROOT
from support.rule_fragments import (
    ALL_MUTATIONS,
    ANY_ACCOUNT_DEPLOYERS,
    CLOUDWATCH_KEY_USE,
    DLQ_POLICY,
    DLQ_TARGET,
    EVENTBRIDGE_KEY_USE,
    KEY,
    KEY_CALLS,
    OUTSIDE_ACCOUNT_DENY,
    ROLE,
    ROLE_ANY_PATH,
    RULES,
    SECRET,
    TOPIC_POLICY_ALLOW,
    alarm,
    deny,
    email_alerts,
    encrypted_alert_topic,
    findings,
    queue_policy_for,
    resource_policy,
    resources,
    rule,
    topic_policy,
    trail,
    without_eventbridge_key_use,
)

from generator.checks.cfn_rules import (
    cloudtrail,
)
from generator.checks.lint import LintJob
from generator.parameter_files import load_parameter_file

DELIVERY_AND_POLICY_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "E9101": (
        resources(
            R=rule(
                trail("secretsmanager", "GetSecretValue"),
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
            )
        ),
        resources(R=rule(trail("secretsmanager", "GetSecretValue"))),
        "matches read-only calls (GetSecretValue) in state ENABLED, so it never fires",
    ),
    "E9102": (
        resources(R=rule(trail("secretsmanager", *ALL_MUTATIONS))),
        resources(
            R=rule(
                trail(
                    "secretsmanager",
                    *[name for name in ALL_MUTATIONS if "Replicat" not in name],
                )
            )
        ),
        "misses RemoveRegionsFromReplication, ReplicateSecretToRegions, StopReplicationToReplica",
    ),
    "E9103": (
        resources(
            Key=KEY,
            Secret=SECRET,
            R=rule(
                trail(
                    "kms",
                    *KEY_CALLS,
                    resources={"ARN": [{"Fn::GetAtt": ["Key", "Arn"]}]},
                )
            ),
        ),
        resources(
            Key=KEY,
            Secret=SECRET,
            R=rule(
                trail(
                    "kms",
                    "DisableKey",
                    resources={"ARN": [{"Fn::GetAtt": ["Key", "Arn"]}]},
                )
            ),
        ),
        "Key encrypts secrets but no rule alerts on",
    ),
    "E9104": (
        resources(
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]), P=DLQ_POLICY
        ),
        resources(R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET])),
        "has no queue policy that lets it send",
    ),
    "E9119": (
        email_alerts(queue_policy_for("sns.amazonaws.com", {"Ref": "T"})),
        # The queue lets EventBridge send, not SNS: the email's dead letter is refused.
        email_alerts(queue_policy_for("events.amazonaws.com", {"Ref": "T"})),
        "the dead-letter queue of S has no queue policy that lets its topic send",
    ),
    "E9105": (
        encrypted_alert_topic(EVENTBRIDGE_KEY_USE),
        # Decrypt alone: EventBridge cannot make the data key it encrypts with.
        encrypted_alert_topic({**EVENTBRIDGE_KEY_USE, "Action": ["kms:Decrypt"]}),
        "Key encrypts Topic, which alert rules target, but its policy does not let events.amazonaws.com",
    ),
    "E9111": (
        resources(
            P={
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {"PolicyDocument": {"Statement": [TOPIC_POLICY_ALLOW]}},
            }
        ),
        resources(
            P={
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {
                                **TOPIC_POLICY_ALLOW,
                                "Condition": {
                                    "ArnEquals": {
                                        "aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"
                                    }
                                },
                            }
                        ]
                    }
                },
            }
        ),
        "the statement that lets EventBridge publish has a Condition",
    ),
    "E9112": (
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={
                        "aws:PrincipalArn": [
                            {"Fn::Sub": ROLE},
                            {"Fn::Sub": ROLE_ANY_PATH},
                        ]
                    },
                )
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": {"Fn::Sub": ROLE}},
                )
            )
        ),
        "role pattern role/${RoleName} misses the role under a path",
    ),
    "E9113": (
        resources(
            P=resource_policy(
                deny(
                    "Read",
                    ["secretsmanager:GetSecretValue"],
                    ArnNotLike={
                        "aws:PrincipalArn": {
                            "Fn::Split": [
                                ",",
                                {
                                    "Fn::Join": [
                                        ",",
                                        [
                                            {"Ref": "ReaderRoleNames"},
                                            {"Ref": "OperatorRoleNames"},
                                            {"Ref": "DeployerRoleNames"},
                                        ],
                                    ]
                                },
                            ]
                        }
                    },
                )
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Read",
                    ["secretsmanager:GetSecretValue"],
                    ArnNotLike={
                        "aws:PrincipalArn": {
                            "Fn::Split": [
                                ",",
                                {
                                    "Fn::Join": [
                                        ",",
                                        [
                                            {"Ref": "ReaderRoleNames"},
                                            {"Ref": "OperatorRoleNames"},
                                        ],
                                    ]
                                },
                            ]
                        }
                    },
                )
            )
        ),
        "denies GetSecretValue outside an allow-list that does not exempt DeployerRoleNames",
    ),
    "E9114": (
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
                deny(
                    "Keep",
                    [
                        "secretsmanager:PutResourcePolicy",
                        "secretsmanager:DeleteResourcePolicy",
                    ],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
                # Denies every call, but only to other accounts: no help against this account's admins.
                deny(
                    "Outside",
                    ["secretsmanager:*"],
                    StringNotEquals={"aws:PrincipalAccount": "1"},
                ),
            )
        ),
        "denies DeleteSecret but not DeleteResourcePolicy, PutResourcePolicy",
    ),
    "E9115": (
        resources(
            P=resource_policy(
                OUTSIDE_ACCOUNT_DENY,
                deny(
                    "Keep",
                    ["secretsmanager:PutResourcePolicy"],
                    ArnNotLike={"aws:PrincipalArn": ANY_ACCOUNT_DEPLOYERS},
                ),
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Keep",
                    ["secretsmanager:PutResourcePolicy"],
                    ArnNotLike={"aws:PrincipalArn": ANY_ACCOUNT_DEPLOYERS},
                ),
                # Denies other accounts only some calls: their same-named roles keep the exemption elsewhere.
                deny(
                    "Outside",
                    ["secretsmanager:GetSecretValue"],
                    StringNotEquals={"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}},
                ),
            )
        ),
        "statement Keep exempts roles of any account, and no statement denies principals outside this account",
    ),
    "E9116": (
        resources(
            P=resource_policy(
                deny(
                    "Keep",
                    [
                        "secretsmanager:PutResourcePolicy",
                        "secretsmanager:DeleteResourcePolicy",
                    ],
                    ArnNotLike={
                        "aws:PrincipalArn": [{"Fn::Sub": ROLE}, ANY_ACCOUNT_DEPLOYERS]
                    },
                )
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Keep",
                    ["secretsmanager:DeleteResourcePolicy"],
                    ArnNotLike={"aws:PrincipalArn": [{"Fn::Sub": ROLE}]},
                )
            )
        ),
        "denies changing the resource policy without exempting DeployerRoleNames: CloudFormation would be "
        "locked out of its own stack",
    ),
}


ALARM_AND_GUARD_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "E9106": (
        resources(
            Key={"Type": "AWS::KMS::Key", "Properties": {}},
            Other={"Type": "AWS::KMS::Key", "Properties": {}},
            T={
                "Type": "AWS::SNS::Topic",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Other", "Arn"]}},
            },
            R=rule(
                trail(
                    "kms",
                    "DisableKey",
                    resources={"ARN": [{"Fn::GetAtt": ["Key", "Arn"]}]},
                ),
                targets=[{"Id": "T", "Arn": {"Ref": "T"}}],
            ),
        ),
        resources(
            Key={"Type": "AWS::KMS::Key", "Properties": {}},
            T={
                "Type": "AWS::SNS::Topic",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            },
            R=rule(
                trail(
                    "kms",
                    "ScheduleKeyDeletion",
                    resources={"ARN": [{"Fn::GetAtt": ["Key", "Arn"]}]},
                ),
                targets=[{"Id": "T", "Arn": {"Ref": "T"}}],
            ),
        ),
        "R reports the disabling of Key to T, which Key encrypts",
    ),
    "E9107": (
        resources(
            Dlq={"Type": "AWS::SQS::Queue", "Properties": {}},
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]),
            A=alarm(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                {"Fn::GetAtt": ["Dlq", "QueueName"]},
            ),
        ),
        resources(
            Dlq={"Type": "AWS::SQS::Queue", "Properties": {}},
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]),
            # Fires only at the tenth message: nine alerts go unseen.
            A=alarm(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                {"Fn::GetAtt": ["Dlq", "QueueName"]},
                threshold=10,
            ),
        ),
        "Dlq holds undelivered alerts, but no alarm on its ApproximateNumberOfMessagesVisible fires at the first one",
    ),
    "E9108": (
        resources(
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]),
            A=alarm("AWS/Events", "FailedInvocations", "RuleName", {"Ref": "R"}),
        ),
        resources(
            R=rule(trail("kms", "DisableKey"), targets=[DLQ_TARGET]),
            A=alarm(
                "AWS/Events", "FailedInvocations", "RuleName", {"Ref": "R"}, actions=[]
            ),
        ),
        "R has no alarm on its FailedInvocations (dimension RuleName) that fires at the first one and notifies anyone",
    ),
    "E9109": (
        resources(
            Key={
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": {"Statement": [CLOUDWATCH_KEY_USE]}},
            },
            T={
                "Type": "AWS::SNS::Topic",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            },
            A=alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"),
        ),
        resources(
            Key={
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": {"Statement": [EVENTBRIDGE_KEY_USE]}},
            },
            T={
                "Type": "AWS::SNS::Topic",
                "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            },
            A=alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"),
        ),
        "Key encrypts T, which alarms notify, but its policy does not let cloudwatch.amazonaws.com use kms:Decrypt",
    ),
    "E9110": (
        resources(
            T={"Type": "AWS::SNS::Topic", "Properties": {}},
            P=topic_policy(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                }
            ),
            A=alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"),
        ),
        resources(
            T={"Type": "AWS::SNS::Topic", "Properties": {}},
            P=topic_policy(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                }
            ),
            A=alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"),
        ),
        "P sets the policy of a topic that alarms notify, but does not let cloudwatch.amazonaws.com publish",
    ),
    "E9117": (
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
                deny(
                    "Copies",
                    ["secretsmanager:AssociateCrossAccountReplica"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
            )
        ),
        resources(
            P=resource_policy(
                deny(
                    "Guard",
                    ["secretsmanager:DeleteSecret"],
                    ArnNotLike={"aws:PrincipalArn": "arn:aws:iam::1:role/bg"},
                ),
            )
        ),
        "P guards DeleteSecret but lets anyone AssociateCrossAccountReplica, which copies the value into another account",
    ),
    "E9118": (
        resources(
            C=rule(trail("secretsmanager", *ALL_MUTATIONS)),
            S=rule(
                {
                    "source": ["aws.secretsmanager"],
                    "detail-type": ["AWS Service Event via CloudTrail"],
                    "detail": {
                        "eventName": sorted(cloudtrail.SECRETS_MANAGER_SERVICE_EVENTS)
                    },
                }
            ),
        ),
        resources(
            C=rule(trail("secretsmanager", *ALL_MUTATIONS)),
            S=rule(
                {
                    "source": ["aws.secretsmanager"],
                    "detail-type": ["AWS Service Event via CloudTrail"],
                    "detail": {"eventName": ["RotationFailed"]},
                }
            ),
        ),
        "C alerts on API calls to secrets, but no rule matches Secrets Manager's service events CancelSecretVersionDelete",
    ),
    "E9121": (
        resources(
            Secret={
                **SECRET,
                "DeletionPolicy": "RetainExceptOnCreate",
                "UpdateReplacePolicy": "Retain",
            }
        ),
        resources(
            Secret={
                **SECRET,
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
            }
        ),
        "has DeletionPolicy Retain, which also keeps it after a failed create",
    ),
    "E9122": (
        resources(
            Secret={**SECRET, "DeletionPolicy": "RetainExceptOnCreate"},
            P=resource_policy(deletion="RetainExceptOnCreate"),
        ),
        resources(
            Secret={**SECRET, "DeletionPolicy": "RetainExceptOnCreate"},
            P=resource_policy(),
        ),
        "P is deleted with the stack while the secret it guards, Secret, is retained",
    ),
}


# rule id -> (good template, bad template, a phrase the finding on the bad one holds)
CASES = {**DELIVERY_AND_POLICY_CASES, **ALARM_AND_GUARD_CASES}


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
        ):
            found[(name, env)] = load_parameter_file(directory / f"{env}.params.json")
    return {
        key: (str(FIXTURES / f"templates-{key[0]}" / f"{key[1]}.json"), values)
        for key, values in found.items()
    }


# The tests that read every old template's findings run in one test process,
# which lints those nine templates once.
ON_ONE_PROCESS = pytest.mark.xdist_group("before-findings")


@pytest.fixture(scope="module")
def before_findings(linter) -> dict[tuple[str, str], list[str]]:
    """cfn-lint (the build's linter, rules and all) over each template as it was."""
    return {
        key: linter.lint(
            LintJob(Path(path).read_text(), ("us-east-1",), parameters, "p.json")
        )
        for key, (path, parameters) in _fixture_parameters().items()
    }


@ON_ONE_PROCESS
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


@ON_ONE_PROCESS
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
