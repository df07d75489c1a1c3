"""Policies and event patterns compared as AWS means them (generator/policy_diff.py): harmless differences
are no difference, and every change that matters is named, statement by statement."""

from __future__ import annotations

import json

import pytest

from generator.policy_diff import (
    compare_policies,
    normalize_pattern,
    pattern_lines,
    policy_lines,
    weakenings,
)

ACCOUNT = "111122223333"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role*/trading-prod-break-glass"


def guard(**changes):
    statement = {
        "Sid": "DenyDeleteExceptBreakGlass",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["secretsmanager:DeleteSecret", "secretsmanager:PutResourcePolicy"],
        "Resource": "*",
        "Condition": {
            "ArnNotLike": {"aws:PrincipalArn": [BREAK_GLASS]},
            "StringEquals": {"aws:PrincipalAccount": ACCOUNT},
        },
    }
    return {**statement, **changes}


ALLOW_LIST = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "secretsmanager:GetSecretValue",
    "Resource": "*",
    "Condition": {
        "ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role*/reader"]}
    },
}


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize(
    "as_aws_returns_it",
    [
        # As JSON text, statements and values in another order, one-element lists as strings.
        json.dumps(
            {
                "Statement": [
                    ALLOW_LIST,
                    {
                        **guard(),
                        "Action": [
                            "secretsmanager:PutResourcePolicy",
                            "secretsmanager:DeleteSecret",
                        ],
                        "Resource": ["*"],
                        "Condition": {
                            "StringEquals": {"aws:PrincipalAccount": [ACCOUNT]},
                            "ArnNotLike": {"aws:PrincipalArn": BREAK_GLASS},
                        },
                    },
                ]
            }
        ),
        # Actions and condition keys in another case; "*" as {"AWS": "*"}.
        policy(
            {
                **guard(Principal={"AWS": "*"}),
                "Action": [
                    "SecretsManager:DeleteSecret",
                    "secretsmanager:putresourcepolicy",
                ],
                "Condition": {
                    "ArnNotLike": {"AWS:PrincipalArn": [BREAK_GLASS]},
                    "StringEquals": {"aws:principalaccount": ACCOUNT},
                },
            },
            ALLOW_LIST,
        ),
    ],
    ids=["json-text-reordered-strings-for-lists", "case-and-star-principal"],
)
def test_what_aws_renders_differently_is_no_difference(as_aws_returns_it):
    assert compare_policies(policy(guard(), ALLOW_LIST), as_aws_returns_it) == []


def test_an_account_id_principal_is_its_root_and_a_bool_its_text():
    ours = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    theirs = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ACCOUNT},
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": False}},
        }
    )
    assert compare_policies(ours, theirs) == []


def test_a_widened_exemption_is_named_with_what_it_gained_and_lost():
    widened = guard(
        Condition={
            "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/*"]},
            "StringEquals": {"aws:PrincipalAccount": ACCOUNT},
        }
    )
    assert policy_lines(policy(guard()), policy(widened)) == [
        "statement DenyDeleteExceptBreakGlass: condition ArnNotLike aws:principalarn "
        f"gained arn:aws:iam::*:role/* and lost {BREAK_GLASS}"
    ]


def test_another_account_in_a_condition_is_named():
    moved = guard(
        Condition={
            "ArnNotLike": {"aws:PrincipalArn": [BREAK_GLASS]},
            "StringEquals": {"aws:PrincipalAccount": "999999999999"},
        }
    )
    [change] = compare_policies(policy(guard()), policy(moved))
    assert change.kind == "changed" and change.name == "DenyDeleteExceptBreakGlass"
    assert change.gained("conditions") == {
        ("StringEquals", "aws:principalaccount", "999999999999")
    }
    assert change.lost("conditions") == {
        ("StringEquals", "aws:principalaccount", ACCOUNT)
    }


def test_a_deleted_unnamed_statement_is_named_by_what_it_does():
    assert policy_lines(policy(guard(), ALLOW_LIST), policy(guard())) == [
        "statement an unnamed Deny of secretsmanager:getsecretvalue (Deny) was removed"
    ]


def test_added_and_removed_statements_actions_principals_and_effect():
    fewer = guard(Action="secretsmanager:PutResourcePolicy", Effect="Allow")
    extra = {
        "Sid": "Planted",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "*",
        "Resource": "*",
    }
    lines = policy_lines(policy(guard()), policy(fewer, extra))
    assert lines == [
        "statement DenyDeleteExceptBreakGlass: Effect Deny became Allow",
        "statement DenyDeleteExceptBreakGlass: Action lost secretsmanager:deletesecret",
        "statement Planted (Allow) was added",
    ]
    assert policy_lines(policy(guard()), policy()) == [
        "statement DenyDeleteExceptBreakGlass (Deny) was removed"
    ]


def test_a_statement_that_only_lost_its_sid_is_no_change():
    unnamed = {key: value for key, value in guard().items() if key != "Sid"}
    assert compare_policies(policy(guard()), policy(unnamed)) == []


def test_an_empty_or_missing_policy_has_no_statements():
    assert policy_lines(policy(ALLOW_LIST), "") == [
        "statement an unnamed Deny of secretsmanager:getsecretvalue (Deny) was removed"
    ]
    assert compare_policies(None, {}) == []


def test_event_patterns_compare_as_sets_and_name_each_changed_field():
    ours = {
        "source": ["aws.secretsmanager"],
        "detail": {"eventName": ["PutSecretValue", "DeleteSecret"], "x": ["1"]},
    }
    reordered = {
        "detail": {"x": ["1"], "eventName": ["DeleteSecret", "PutSecretValue"]},
        "source": ["aws.secretsmanager"],
    }
    assert normalize_pattern(ours) == normalize_pattern(json.dumps(reordered))
    assert pattern_lines(ours, reordered) == []
    changed = {
        "source": ["aws.secretsmanager"],
        "detail": {"eventName": ["PutSecretValue", "GetSecretValue"], "y": ["2"]},
    }
    assert pattern_lines(ours, changed) == [
        'detail.eventName gained "GetSecretValue" and lost "DeleteSecret"',
        "detail.x was removed",
        'detail.y was added: ["2"]',
    ]
    assert pattern_lines({"a": "1"}, {"a": {"b": 1}}) == ['a was "1", is {"b": 1}']


def _deny(
    sid="Guard",
    actions=("secretsmanager:DeleteSecret",),
    exempt=("arn:aws:iam::1:role/bg",),
    **extra,
):
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": "*",
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": list(exempt)}},
        **extra,
    }


def _allow(
    sid="Use", principal="arn:aws:iam::1:root", actions=("kms:Decrypt",), condition=None
):
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": list(actions),
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _weakenings(before, after):
    return [
        reason
        for change in compare_policies({"Statement": before}, {"Statement": after})
        for reason in weakenings(change)
    ]


WEAKENINGS = {
    "a Deny removed": ([_deny()], [], "the Deny Guard is removed"),
    "a Deny with fewer actions": (
        [
            _deny(
                actions=(
                    "secretsmanager:DeleteSecret",
                    "secretsmanager:PutResourcePolicy",
                )
            )
        ],
        [_deny()],
        "Guard no longer denies actions secretsmanager:putresourcepolicy",
    ),
    "a new exempt role": (
        [_deny()],
        [_deny(exempt=("arn:aws:iam::1:role/bg", "arn:aws:iam::1:role/new-deployer"))],
        "Guard exempts arn:aws:iam::1:role/new-deployer (ArnNotLike aws:principalarn)",
    ),
    "a Deny turned Allow": (
        [_deny()],
        [{**_deny(), "Effect": "Allow"}],
        "Guard turns from a Deny into an Allow",
    ),
    "a Deny given a condition": (
        [_deny()],
        [
            {
                **_deny(),
                "Condition": {
                    **_deny()["Condition"],
                    "Bool": {"aws:SecureTransport": "false"},
                },
            }
        ],
        "Guard applies only when Bool aws:securetransport holds (a condition added)",
    ),
    "a key policy statement widened": (
        [_allow()],
        [_allow(principal=["arn:aws:iam::1:root", "*"])],
        "Use now allows principals AWS:*",
    ),
    "an Allow losing its condition": (
        [
            _allow(
                condition={
                    "StringEquals": {
                        "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"
                    }
                }
            )
        ],
        [_allow()],
        "Use loses its condition StringEquals kms:viaservice",
    ),
    "an Allow added": (
        [_deny()],
        [_deny(), _allow(sid="Open")],
        "the Allow Open is added",
    ),
}


@pytest.mark.parametrize("case", sorted(WEAKENINGS))
def test_a_weakening_is_named(case):
    before, after, reason = WEAKENINGS[case]
    assert reason in _weakenings(before, after), _weakenings(before, after)


TIGHTENINGS = {
    "a Deny of more actions": (
        [_deny()],
        [
            _deny(
                actions=("secretsmanager:DeleteSecret", "secretsmanager:GetSecretValue")
            )
        ],
    ),
    "an exemption withdrawn": ([_deny(exempt=("a", "b"))], [_deny(exempt=("a",))]),
    "a Deny added": ([], [_deny()]),
    "an Allow removed": ([_allow()], []),
    "an Allow of fewer actions": (
        [_allow(actions=("kms:Decrypt", "kms:Encrypt"))],
        [_allow()],
    ),
    "an Allow given a condition": (
        [_allow()],
        [_allow(condition={"Bool": {"aws:SecureTransport": "true"}})],
    ),
    "the same policy in another order": ([_deny(), _allow()], [_allow(), _deny()]),
}


@pytest.mark.parametrize("case", sorted(TIGHTENINGS))
def test_what_tightens_or_changes_nothing_is_no_weakening(case):
    before, after = TIGHTENINGS[case]
    assert _weakenings(before, after) == []
