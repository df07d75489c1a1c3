"""trading-secrets on the deployed stacks, continued: values changed out of band, overdue rotation, rollbacks with nothing to roll back or a no, and what is not deployed; in test_operations' process, on its stacks."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
import test_operations
from support.engine import OPERATIONS
from test_operations import DEV, FAKE_ALPACA, FAKE_ALPHAVANTAGE, _states, client

# In test_operations's process, after it: its account and stacks are this module's too.
XDIST_GROUP = "test_operations"

# dev and prod, deployed once for test_operations and this module (shared_stacks.py).
pytestmark = pytest.mark.usefixtures("deployed_dev_and_prod")
# test_operations's fixtures, for these tests too.
trading_secrets = test_operations.trading_secrets


def test_status_says_invalid_after_a_malformed_out_of_band_write(trading_secrets):
    secrets = client("secretsmanager")
    secrets.put_secret_value(
        SecretId="trading/dev/alphavantage",
        SecretString='{"apikey": "FAKE-test-alphavantage-value-one"}',
    )
    try:
        run = trading_secrets("status", "--env", "dev", "--json")
        assert run.code == 1
        assert _states(run)[("trading/dev/alphavantage", "us-east-1")] == "INVALID"
        problems = next(
            s
            for s in json.loads(run.out)["secrets"]
            if s["secret"] == "trading/dev/alphavantage"
        )["value_problems"]
        assert problems == ["1 unexpected field(s), the 1st", "missing field 'apiKey'"]
    finally:
        # Put right again for the tests that follow.
        secrets.put_secret_value(
            SecretId="trading/dev/alphavantage",
            SecretString=json.dumps(FAKE_ALPHAVANTAGE),
        )


def test_status_says_overdue_when_the_rotation_interval_has_passed(trading_secrets):
    secrets = client("secretsmanager")
    secrets.put_secret_value(
        SecretId="trading/dev/alpaca",
        SecretString=json.dumps({**FAKE_ALPACA, "baseUrl": DEV.alpaca_endpoint}),
    )
    secrets.tag_resource(
        SecretId="trading/dev/alpaca",
        Tags=[{"Key": "RotationIntervalDays", "Value": "0"}],
    )
    try:
        run = trading_secrets("status", "--env", "dev", "--json")
        alpaca = next(
            s
            for s in json.loads(run.out)["secrets"]
            if s["secret"] == "trading/dev/alpaca"
        )
        assert run.code == 1
        assert (
            alpaca["state"] == "SET"
            and alpaca["overdue"] is True
            and alpaca["rotation_interval_days"] == 0
        )
        assert any(
            "over its RotationIntervalDays of 0" in problem
            for problem in alpaca["gate_problems"]
        )
    finally:
        secrets.tag_resource(
            SecretId="trading/dev/alpaca",
            Tags=[
                {
                    "Key": "RotationIntervalDays",
                    "Value": str(DEV.rotation_interval_days),
                }
            ],
        )
    assert trading_secrets("status", "--env", "dev").code == 0


def test_rollback_without_a_previous_version_changes_nothing(trading_secrets):
    secret_id = "trading/prod/alphavantage"
    before = OPERATIONS.version_stages(secret_id, "us-west-2")
    run = trading_secrets(
        "rollback",
        "--env",
        "prod",
        "--secret",
        "alphavantage",
        "--region",
        "us-west-2",
        "--yes",
    )
    assert (
        run.code == 4
        and "has no AWSPREVIOUS version to roll back to; nothing changed" in run.err
    )
    assert OPERATIONS.version_stages(secret_id, "us-west-2") == before


def test_rollback_asks_first_and_a_no_changes_nothing(trading_secrets, monkeypatch):
    secret_id = "trading/dev/alpaca"
    before = OPERATIONS.version_stages(secret_id)
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    run = trading_secrets("rollback", "--env", "dev", "--secret", "alpaca")
    assert run.code == 5 and "rollback cancelled; nothing changed" in run.err
    assert (
        "Make version " in run.out
        and " of trading/dev/alpaca AWSCURRENT again" in run.out
    )
    assert OPERATIONS.version_stages(secret_id) == before


def test_a_secret_that_is_not_deployed_is_one_line_and_exit_4(trading_secrets):
    run = trading_secrets(
        "put",
        "--env",
        "staging",
        "--secret",
        "alphavantage",
        "--from-stdin",
        stdin=json.dumps(FAKE_ALPHAVANTAGE),
    )
    assert run.code == 4
    # The provider check's verdict comes first (the value was checked before AWS was asked), then one error line.
    verdict, error = run.err.strip().splitlines()
    assert "provider check inconclusive: AlphaVantage returned data" in verdict
    assert (
        error
        == "trading-secrets: error: trading/staging/alphavantage is not deployed in us-east-1: deploy the staging stack first"
    )


def test_the_console_script_reports_an_unreachable_endpoint_in_one_line():
    """The installed entry point, in its own process, with nothing listening on the endpoint."""
    script = os.path.join(os.path.dirname(sys.executable), "trading-secrets")
    environment = {
        **os.environ,
        **OPERATIONS.credentials,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
    }
    done = subprocess.run(
        [script, "status", "--env", "dev"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4, done.stderr
    assert (
        done.stderr.strip()
        == "trading-secrets: error: cannot reach Secrets Manager in us-east-1 at http://127.0.0.1:9/: check the network or endpoint"
    )
    assert "Traceback" not in done.stderr
