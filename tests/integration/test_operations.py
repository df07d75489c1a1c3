"""`trading-secrets` against freshly deployed dev and prod stacks on the engine.

Every command runs in-process through its `main`, with stdout, stderr and the
log captured, and no test may find a value it put in any of the three.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from support.engine import OPERATIONS, deployed
from support.tool_runs import output_leaks

from generator.environments import ENVIRONMENTS
from generator.leaks import known_placeholder_values
from generator.ops import cli as ops_cli

DEV, PROD = ENVIRONMENTS["dev"], ENVIRONMENTS["prod"]
# Obviously fake, and free of the placeholder marker so that prod accepts them.
FAKE_ALPHAVANTAGE = {"apiKey": "FAKE-test-alphavantage-value-one"}
FAKE_ALPACA = {
    "apiKeyId": "FAKE-test-alpaca-id-one",
    "apiSecretKey": "FAKE-test-alpaca-secret-one",
    "baseUrl": PROD.alpaca_endpoint,
}
FAKE_ALPACA_ROTATED = {
    **FAKE_ALPACA,
    "apiKeyId": "FAKE-test-alpaca-id-two",
    "apiSecretKey": "FAKE-test-alpaca-secret-two",
}
EVERY_FAKE = [
    v
    for value in (FAKE_ALPHAVANTAGE, FAKE_ALPACA, FAKE_ALPACA_ROTATED)
    for k, v in value.items()
    if k != "baseUrl"
]


@pytest.fixture(scope="module", autouse=True)
def deployed_dev_and_prod() -> Iterator[None]:
    """dev in its region and prod in both of its, from the committed templates, in this module's own account."""
    with deployed(OPERATIONS, DEV), deployed(OPERATIONS, PROD):
        yield


def client(service: str, region: str = "us-east-1") -> Any:
    return OPERATIONS.client(service, region)


class Run:
    """One `trading-secrets` invocation: its exit code and everything it said."""

    def __init__(self, code: int, out: str, err: str, log: str):
        self.code, self.out, self.err, self.log = code, out, err, log

    @property
    def said(self) -> str:
        return "\n".join((self.out, self.err, self.log))


@pytest.fixture
def trading_secrets(capsys, caplog, monkeypatch):
    for name, value in OPERATIONS.credentials.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str, stdin: str | None = None) -> Run:
        capsys.readouterr()
        caplog.clear()
        if stdin is not None:
            # A pipe, as a shell gives it: bytes underneath, and not a terminal.
            monkeypatch.setattr(
                sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode()))
            )
        with caplog.at_level(logging.DEBUG):
            code = ops_cli.main(list(argv))
        out, err = capsys.readouterr()
        result = Run(code, out, err, caplog.text)
        # The leak scanner, told the values this module puts: a value or anything credential-shaped fails the test.
        leaked = output_leaks(
            result.said,
            f"trading-secrets {argv[0]}",
            [*EVERY_FAKE, *known_placeholder_values()],
        )
        assert not leaked, [str(leak) for leak in leaked]
        return result

    return run


def _states(run: Run) -> dict[tuple[str, str], str]:
    return {
        (s["secret"], s["region"]): s["state"] for s in json.loads(run.out)["secrets"]
    }


def test_prod_goes_from_empty_to_set_and_rolls_back(trading_secrets):
    """The issue's acceptance, on a freshly deployed prod in both of its regions."""
    fresh = trading_secrets("status", "--env", "prod", "--json")
    assert fresh.code == 1, fresh.err
    assert set(_states(fresh).values()) == {"EMPTY"} and len(_states(fresh)) == 4

    # AlphaVantage as from a machine that cannot reach the provider: the first
    # version, made current at once, carries the UNCHECKED mark with it.
    for name, value, flags in (
        ("alphavantage", FAKE_ALPHAVANTAGE, ["--skip-provider-check"]),
        ("alpaca", FAKE_ALPACA, []),
    ):
        put = trading_secrets(
            "put",
            "--env",
            "prod",
            "--secret",
            name,
            "--from-stdin",
            *flags,
            stdin=json.dumps(value),
        )
        assert put.code == 0, put.err
        assert (
            put.out.count("is AWSCURRENT; the first value: no previous version") == 2
        )  # one line per region
    unchecked = trading_secrets("status", "--env", "prod", "--json")
    assert unchecked.code == 1, unchecked.out
    assert {
        (row["secret"], row["region"]): row["provider_unchecked"]
        for row in json.loads(unchecked.out)["secrets"]
    } == {
        (f"trading/prod/{name}", region): name == "alphavantage"
        for name in ("alphavantage", "alpaca")
        for region in PROD.regions
    }
    assert "was put with --skip-provider-check" in unchecked.said
    # verify checks every region at the (loopback) providers and takes the mark off.
    verified = trading_secrets("verify", "--env", "prod")
    assert verified.code == 0, verified.said
    assert verified.out.count(": passed: Alpaca accepts the key pair") == 2
    assert verified.out.count(": inconclusive: AlphaVantage returned data") == 2
    assert verified.out.count("the UNCHECKED mark is taken off") == 2
    ready = trading_secrets("status", "--env", "prod", "--json")
    assert ready.code == 0, ready.out
    assert set(_states(ready).values()) == {"SET"}

    first = {
        region: OPERATIONS.version_stages("trading/prod/alpaca", region)
        for region in PROD.regions
    }
    rotated = trading_secrets(
        "put",
        "--env",
        "prod",
        "--secret",
        "alpaca",
        "--from-stdin",
        stdin=json.dumps(FAKE_ALPACA_ROTATED),
    )
    assert rotated.code == 0, rotated.err
    for region in PROD.regions:
        (first_id,) = first[region]
        stages = OPERATIONS.version_stages("trading/prod/alpaca", region)
        (new_id,) = [v for v in stages if v != first_id]
        assert stages == {first_id: ["AWSPREVIOUS"], new_id: ["AWSCURRENT"]}
        assert (
            f"in {region}: version {new_id} is AWSCURRENT; previous {first_id} is AWSPREVIOUS"
            in rotated.out
        )
        assert (
            f"trading/prod/alpaca in {region}: version {new_id} is AWSCURRENT, replacing {first_id}"
            in rotated.log
        )
    assert "put trading/prod/alpaca as version " in rotated.log

    rolled = trading_secrets("rollback", "--env", "prod", "--secret", "alpaca", "--yes")
    assert rolled.code == 0, rolled.err
    for region in PROD.regions:
        stages = OPERATIONS.version_stages("trading/prod/alpaca", region)
        (first_id,) = first[region]
        (new_id,) = [v for v in stages if v != first_id]
        # The version left is marked, so that a second rollback does not undo this one.
        assert stages == {
            first_id: ["AWSCURRENT"],
            new_id: ["AWSPREVIOUS", "trading-secrets-rolled-back-from"],
        }
        assert (
            f"in {region}: version {first_id} is AWSCURRENT; {new_id} is AWSPREVIOUS"
            in rolled.out
        )
        value = json.loads(
            client("secretsmanager", region).get_secret_value(
                SecretId="trading/prod/alpaca"
            )["SecretString"]
        )
        assert value == FAKE_ALPACA
    assert "rollback trading/prod/alpaca to " in rolled.log
    rolled_back = {
        region: OPERATIONS.version_stages("trading/prod/alpaca", region)
        for region in PROD.regions
    }
    again = trading_secrets("rollback", "--env", "prod", "--secret", "alpaca", "--yes")
    assert (
        again.code == 0 and "would undo that rollback, so nothing changed" in again.out
    )
    assert {
        region: OPERATIONS.version_stages("trading/prod/alpaca", region)
        for region in PROD.regions
    } == rolled_back


def test_dev_reports_placeholders_and_passes(trading_secrets):
    run = trading_secrets("status", "--env", "dev")
    assert run.code == 0, run.out
    assert (
        run.out.count("PLACEHOLDER") == 2
        and "dev: all 2 secret(s) pass the go-live gate" in run.out
    )


REFUSED = {
    "missing field": (
        "prod",
        "alpaca",
        {k: v for k, v in FAKE_ALPACA.items() if k != "apiSecretKey"},
        "missing field 'apiSecretKey'",
    ),
    "extra field": (
        "prod",
        "alphavantage",
        {**FAKE_ALPHAVANTAGE, "note": "x"},
        "1 unexpected field(s), the 2nd",
    ),
    "empty field": ("prod", "alphavantage", {"apiKey": ""}, "field 'apiKey' is empty"),
    "placeholder in prod": (
        "prod",
        "alphavantage",
        {"apiKey": "PLACEHOLDER-pasted-by-mistake"},
        "holds placeholder text, which prod never accepts",
    ),
    "trailing newline": (
        "prod",
        "alphavantage",
        {"apiKey": FAKE_ALPHAVANTAGE["apiKey"] + "\n"},
        "leading or trailing whitespace",
    ),
    "live url in dev": (
        "dev",
        "alpaca",
        {**FAKE_ALPACA, "baseUrl": PROD.alpaca_endpoint},
        "field 'baseUrl' must be https://paper-api.alpaca.markets in dev",
    ),
    "paper url in prod": (
        "prod",
        "alpaca",
        {**FAKE_ALPACA, "baseUrl": DEV.alpaca_endpoint},
        "field 'baseUrl' must be https://api.alpaca.markets in prod",
    ),
    "not json": ("dev", "alphavantage", None, "not a JSON document"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_value_writes_nothing_and_says_why_in_one_line(trading_secrets, case):
    env_name, secret, value, reason = REFUSED[case]
    secret_id = f"trading/{env_name}/{secret}"
    before = OPERATIONS.version_stages(secret_id)
    document = (
        json.dumps(value)
        if value is not None
        else '{"apiKey": ' + json.dumps(FAKE_ALPHAVANTAGE["apiKey"])
    )
    run = trading_secrets(
        "put", "--env", env_name, "--secret", secret, "--from-stdin", stdin=document
    )
    assert run.code == 3
    assert reason in run.err and "nothing written" in run.err
    assert len(run.err.strip().splitlines()) == 1, run.err
    assert OPERATIONS.version_stages(secret_id) == before


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
