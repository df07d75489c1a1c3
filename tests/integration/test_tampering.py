"""status fails the go-live gate for tampering that leaves every value intact, and passes once it is undone.

On staging as deployed (placeholders pass its gate): a secret moved to another
key; a key disabled, pending deletion, or with rotation off; a statement cut
from a resource policy, or the whole policy; an alert rule disabled. Each is
made, seen, undone and seen again, in an account of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from support.engine import Account, deployed
from support.tool_runs import run_tool

from generator.environments import ENVIRONMENTS

STAGING = ENVIRONMENTS["staging"]
ACCOUNT = Account("444444444444")
SECRET = "trading/staging/alpaca"
SECRETS_KEY, ALERTS_KEY = (
    "alias/trading-staging-secrets",
    "alias/trading-staging-secrets-alerts",
)


@pytest.fixture(scope="module")
def staging() -> Iterator[None]:
    with deployed(ACCOUNT, STAGING):
        yield


def status(monkeypatch, capsys, caplog, *extra: str):
    return run_tool(
        monkeypatch,
        capsys,
        caplog,
        ["status", "--env", "staging", *extra],
        {**ACCOUNT.credentials},
    )


def key_id(alias: str) -> str:
    return str(ACCOUNT.client("kms").describe_key(KeyId=alias)["KeyMetadata"]["KeyId"])


def policy_of(secret: str) -> str:
    return str(
        ACCOUNT.client("secretsmanager").get_resource_policy(SecretId=secret)[
            "ResourcePolicy"
        ]
    )


@dataclass
class Tampering:
    make: Callable[[], object]
    undo: Callable[[], object]
    says: str


def _moved_to_another_key() -> Tampering:
    secrets, kms = ACCOUNT.client("secretsmanager"), ACCOUNT.client("kms")

    def make():
        other = kms.create_key(Description="not the stack's")["KeyMetadata"]["KeyId"]
        secrets.update_secret(SecretId=SECRET, KmsKeyId=other)

    return Tampering(
        make,
        lambda: secrets.update_secret(SecretId=SECRET, KmsKeyId=SECRETS_KEY),
        f"FAIL: {SECRET} in us-east-1: is encrypted with key ",
    )


def _key(alias: str, make: str, undo: list[str], says: str) -> Tampering:
    kms = ACCOUNT.client("kms")

    def run(calls: list[str]) -> None:
        for call in calls:
            arguments = {"KeyId": key_id(alias)}
            if call == "schedule_key_deletion":
                arguments["PendingWindowInDays"] = 7
            getattr(kms, call)(**arguments)

    return Tampering(lambda: run([make]), lambda: run(undo), says)


def _cut_statement() -> Tampering:
    secrets = ACCOUNT.client("secretsmanager")
    whole: dict[str, str] = {}

    def make():
        whole["policy"] = policy_of(SECRET)
        document = json.loads(whole["policy"])
        document["Statement"] = [
            s
            for s in document["Statement"]
            if s["Sid"] != "DenyDeleteOrCrossAccountCopyExceptBreakGlass"
        ]
        secrets.put_resource_policy(
            SecretId=SECRET, ResourcePolicy=json.dumps(document)
        )

    return Tampering(
        make,
        lambda: secrets.put_resource_policy(
            SecretId=SECRET, ResourcePolicy=whole["policy"]
        ),
        f"FAIL: {SECRET} in us-east-1: resource policy lacks DenyDeleteOrCrossAccountCopyExceptBreakGlass",
    )


def _deleted_policy() -> Tampering:
    secrets = ACCOUNT.client("secretsmanager")
    whole: dict[str, str] = {}

    def make():
        whole["policy"] = policy_of(SECRET)
        secrets.delete_resource_policy(SecretId=SECRET)

    return Tampering(
        make,
        lambda: secrets.put_resource_policy(
            SecretId=SECRET, ResourcePolicy=whole["policy"]
        ),
        f"FAIL: {SECRET} in us-east-1: has no resource policy: its guards are gone",
    )


def _disabled_rule() -> Tampering:
    events = ACCOUNT.client("events")
    name = "trading-staging-secrets-changes"
    return Tampering(
        lambda: events.disable_rule(Name=name),
        lambda: events.enable_rule(Name=name),
        f"FAIL: alert rule {name} in us-east-1 is DISABLED, not ENABLED",
    )


def _read_rule_blinded() -> Tampering:
    """The read rule set to plain ENABLED, where it never sees a read; put back as docs/operations.md shows."""
    events = ACCOUNT.client("events")
    name = "trading-staging-secrets-denied-reads"
    before: dict[str, object] = {}

    def as_documented(state: str) -> None:
        # `describe-rule --query '{Name, EventPattern, Description}'`, then `put-rule --cli-input-json`.
        rule = events.describe_rule(Name=name)
        before.setdefault("rule", rule)
        events.put_rule(
            Name=rule["Name"],
            EventPattern=rule["EventPattern"],
            Description=rule["Description"],
            State=state,
        )

    def undo() -> None:
        as_documented("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
        rule, was = events.describe_rule(Name=name), before["rule"]
        assert isinstance(was, dict)
        assert (rule["EventPattern"], rule["Description"]) == (
            was["EventPattern"],
            was["Description"],
        )

    return Tampering(
        lambda: as_documented("ENABLED"),
        undo,
        f"FAIL: alert rule {name} in us-east-1 is ENABLED, not ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
    )


TAMPERINGS = {
    "secret-on-another-key": _moved_to_another_key,
    "secrets-key-disabled": lambda: _key(
        SECRETS_KEY,
        "disable_key",
        ["enable_key"],
        f"FAIL: {SECRETS_KEY} in us-east-1 is Disabled",
    ),
    "secrets-key-pending-deletion": lambda: _key(
        SECRETS_KEY,
        "schedule_key_deletion",
        ["cancel_key_deletion", "enable_key"],
        f"FAIL: {SECRETS_KEY} in us-east-1 is scheduled for deletion",
    ),
    "secrets-key-rotation-off": lambda: _key(
        SECRETS_KEY,
        "disable_key_rotation",
        ["enable_key_rotation"],
        f"FAIL: {SECRETS_KEY} in us-east-1 has rotation off",
    ),
    "alerting-key-disabled": lambda: _key(
        ALERTS_KEY,
        "disable_key",
        ["enable_key"],
        f"FAIL: {ALERTS_KEY} in us-east-1 is Disabled",
    ),
    "policy-statement-cut": _cut_statement,
    "policy-deleted": _deleted_policy,
    "alert-rule-disabled": _disabled_rule,
    "read-rule-blinded": _read_rule_blinded,
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_status_fails_the_gate_for_tampering_and_passes_once_it_is_undone(
    staging, monkeypatch, capsys, caplog, name
):
    tampering = TAMPERINGS[name]()
    before = status(monkeypatch, capsys, caplog)
    assert before.code == 0, before.said
    tampering.make()
    try:
        seen = status(monkeypatch, capsys, caplog)
    finally:
        tampering.undo()
    assert seen.code == 1, seen.said
    assert tampering.says in seen.out, seen.out
    after = status(monkeypatch, capsys, caplog)
    assert after.code == 0, after.said


def test_the_json_carries_the_keys_the_rules_and_when_each_secret_was_last_read(
    staging, monkeypatch, capsys, caplog
):
    ACCOUNT.client("secretsmanager").get_secret_value(SecretId=SECRET)
    document = json.loads(status(monkeypatch, capsys, caplog, "--json").out)
    assert document["ok"] is True
    assert [(k["alias"], k["state"], k["rotation"]) for k in document["keys"]] == [
        (SECRETS_KEY, "Enabled", True),
        (ALERTS_KEY, "Enabled", True),
    ]
    assert {rule["name"]: rule["state"] for rule in document["alert_rules"]}[
        "trading-staging-secrets-denied-reads"
    ] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    rows = {row["secret"]: row for row in document["secrets"]}
    assert rows[SECRET]["key_problem"] is None and rows[SECRET]["policy_problems"] == []
    assert "last_read" in rows[SECRET]
