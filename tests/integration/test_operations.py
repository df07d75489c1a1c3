"""`trading-secrets` against freshly deployed dev and prod stacks on the engine, on a good day and a bad one.

Every command runs in-process through its `main`, with stdout, stderr and the
log captured, and no test may find a value it put in any of the three.

On a bad day, faults are injected between the tool and the engine (the AWS-strict
proxy) in prod's two regions. After every scenario, either every region holds
one common version as AWSCURRENT, or the tool said exactly which region holds
what; the exit code says which of the two happened; and no value, nor any
piece of one, appears in anything the tool printed or logged. Each fault
scenario starts from a value it puts itself, so the good day's tests, which
come first, leave nothing it depends on.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.engine import OPERATIONS, confirm_alert_subscriptions, deployed
from support.tool_runs import Run, assert_said_nothing_secret, output_leaks, run_tool

from devtools.engine_proxy import EngineProxy, Fault, engine_proxy
from generator.catalogue import ALPACA, alpaca_endpoint
from generator.environments import ENVIRONMENTS
from generator.leaks import known_placeholder_values
from generator.ops import cli as ops_cli

DEV, PROD = ENVIRONMENTS["dev"], ENVIRONMENTS["prod"]
# Obviously fake, and free of the placeholder marker so that prod accepts them.
FAKE_ALPHAVANTAGE = {"apiKey": "FAKE-test-alphavantage-value-one"}
FAKE_ALPACA = {
    "apiKeyId": "FAKE-test-alpaca-id-one",
    "apiSecretKey": "FAKE-test-alpaca-secret-one",
    "baseUrl": alpaca_endpoint(PROD),
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
    """dev in its region and prod in both of its, from the committed templates, in this module's own account: for every test here."""
    with deployed(OPERATIONS, DEV), deployed(OPERATIONS, PROD):
        for region in PROD.regions:
            confirm_alert_subscriptions(OPERATIONS, region)
        yield


def client(service: str, region: str = "us-east-1") -> Any:
    return OPERATIONS.client(service, region)


class LoggedRun:
    """One `trading-secrets` invocation: its exit code, its output, and its log kept apart."""

    def __init__(self, code: int, out: str, err: str, log: str):
        self.code, self.out, self.err, self.log = code, out, err, log

    @property
    def said(self) -> str:
        return "\n".join((self.out, self.err, self.log))


@pytest.fixture
def trading_secrets(capsys, caplog, monkeypatch):
    for name, value in OPERATIONS.credentials.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str, stdin: str | None = None) -> LoggedRun:
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
        result = LoggedRun(code, out, err, caplog.text)
        # The leak scanner, told the values this module puts: a value or anything credential-shaped fails the test.
        leaked = output_leaks(
            result.said,
            f"trading-secrets {argv[0]}",
            [*EVERY_FAKE, *known_placeholder_values()],
        )
        assert not leaked, [str(leak) for leak in leaked]
        return result

    return run


def _states(run: LoggedRun) -> dict[tuple[str, str], str]:
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
    assert verified.out.count(": passed: Alpaca accepts the credential at ") == 2
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
        {**FAKE_ALPACA, "baseUrl": alpaca_endpoint(PROD)},
        "field 'baseUrl' must be https://paper-api.alpaca.markets in dev",
    ),
    "paper url in prod": (
        "prod",
        "alpaca",
        {**FAKE_ALPACA, "baseUrl": alpaca_endpoint(DEV)},
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
        SecretString=json.dumps({**FAKE_ALPACA, "baseUrl": alpaca_endpoint(DEV)}),
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
                    "Value": str(ALPACA.rotation_interval(DEV)),
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


PROD = ENVIRONMENTS["prod"]
EAST, WEST = PROD.regions
SECRET = "trading/prod/alpaca"


def fake_value(tag: str) -> dict[str, str]:
    """Obviously fake, different for every put, and never shown by the tool."""
    return {
        "apiKeyId": f"FAKE-id-{tag}",
        "apiSecretKey": f"FAKE-secret-{tag}",
        "baseUrl": alpaca_endpoint(PROD),
    }


PUT_VALUES: list[str] = []


@pytest.fixture
def proxy() -> Iterator[EngineProxy]:
    # Strict: the label compare-and-swap that put and rollback rely on is enforced, as AWS does.
    with engine_proxy(os.environ["AWS_ENDPOINT_URL"], strict=True) as running:
        yield running


def current(region: str) -> str | None:
    return next(
        (
            version
            for version, stages in OPERATIONS.version_stages(SECRET, region).items()
            if "AWSCURRENT" in stages
        ),
        None,
    )


def currents() -> dict[str, str | None]:
    return {region: current(region) for region in PROD.regions}


def converge() -> str:
    """Start each scenario from one version current in both regions, put directly (not through the tool)."""
    version, tag = str(uuid.uuid4()), uuid.uuid4().hex[:8]
    value = json.dumps(fake_value(tag))
    PUT_VALUES.extend(fake_value(tag).values())
    for region in PROD.regions:
        secrets = OPERATIONS.client("secretsmanager", region)
        secrets.put_secret_value(
            SecretId=SECRET, SecretString=value, ClientRequestToken=version
        )
    assert currents() == {EAST: version, WEST: version}
    return version


def in_process(
    monkeypatch,
    capsys,
    caplog,
    proxy: EngineProxy,
    *argv: str,
    stdin: str | None = None,
) -> Run:
    """The tool in this process, through the proxy; no value put in this module, nor any piece of one, may show."""
    return run_tool(
        monkeypatch,
        capsys,
        caplog,
        argv,
        {**OPERATIONS.credentials, "AWS_ENDPOINT_URL": proxy.url},
        [value for value in PUT_VALUES if value != alpaca_endpoint(PROD)],
        stdin,
    )


def put(monkeypatch, capsys, caplog, proxy: EngineProxy, *extra: str) -> Run:
    tag = uuid.uuid4().hex[:8]
    PUT_VALUES.extend(fake_value(tag).values())
    return in_process(
        monkeypatch,
        capsys,
        caplog,
        proxy,
        "put",
        "--env",
        "prod",
        "--secret",
        "alpaca",
        *extra,
        "--from-stdin",
        stdin=json.dumps(fake_value(tag)),
    )


def rollback(monkeypatch, capsys, caplog, proxy: EngineProxy) -> Run:
    """The plain rollback an operator runs: to the common AWSPREVIOUS, no prompt."""
    return in_process(
        monkeypatch,
        capsys,
        caplog,
        proxy,
        "rollback",
        "--env",
        "prod",
        "--secret",
        "alpaca",
        "--yes",
    )


def resume_command(run: Run) -> list[str]:
    """The one command the tool said finishes the job, as argv."""
    line = next(line for line in run.err.splitlines() if "finish with `" in line)
    return line.split("finish with `", 1)[1].split("`", 1)[0].split()[1:]


def test_a_lost_put_response_whose_write_landed_is_a_success(
    monkeypatch, capsys, caplog, proxy
):
    before = converge()
    proxy.add(Fault("UpdateSecretVersionStage", "drop", region=EAST, times=1))
    run = put(monkeypatch, capsys, caplog, proxy)
    assert run.code == 0, run.err
    after = currents()
    assert after[EAST] == after[WEST] != before
    assert "but reading it back shows the step landed" in run.err


def test_a_lost_answer_that_cannot_be_read_back_is_an_unknown_outcome_not_nothing_changed(
    monkeypatch, capsys, caplog, proxy
):
    """The move landed in us-west-2 unanswered, and from then on no region can be read: exit 9, never 4."""
    before = converge()
    proxy.add(
        Fault("UpdateSecretVersionStage", "drop", region=WEST, times=1),
        Fault("ListSecretVersionIds", "error", after="UpdateSecretVersionStage"),
        Fault("UpdateSecretVersionStage", "error", after="UpdateSecretVersionStage"),
    )
    run = put(monkeypatch, capsys, caplog, proxy)
    proxy.clear()
    assert run.code == 9, run.err
    assert "the outcome is unknown" in run.err and "nothing changed" not in run.err
    assert "run `trading-secrets status --env prod` to learn it" in run.err
    # What status would have shown: it had in fact landed everywhere, west unanswered.
    after = currents()
    assert after[EAST] == after[WEST] != before


def test_a_lost_stage_response_is_retried_with_the_same_token_and_writes_one_version(
    monkeypatch, capsys, caplog, proxy
):
    before = converge()
    proxy.add(Fault("PutSecretValue", "drop", region=WEST, times=1))
    run = put(monkeypatch, capsys, caplog, proxy)
    assert run.code == 0, run.err
    after = currents()
    assert after[EAST] == after[WEST] != before
    previous = OPERATIONS.client("secretsmanager", WEST).get_secret_value(
        SecretId=SECRET, VersionStage="AWSPREVIOUS"
    )
    assert previous["VersionId"] == before  # one new version, not two


def test_a_put_that_fails_to_stage_in_the_second_region_changes_nothing_for_consumers(
    monkeypatch, capsys, caplog, proxy
):
    before = converge()
    proxy.add(Fault("PutSecretValue", "error", region=WEST))
    run = put(monkeypatch, capsys, caplog, proxy)
    assert run.code == 4, run.err
    assert currents() == {EAST: before, WEST: before}
    assert (
        "nothing changed for consumers" in run.err
        and "is staged in us-east-1" in run.err
    )


def test_a_put_promoted_in_one_region_only_is_reported_and_the_advised_resume_finishes_it(
    monkeypatch, capsys, caplog, proxy
):
    before = converge()
    proxy.add(Fault("UpdateSecretVersionStage", "error", region=WEST))
    run = put(monkeypatch, capsys, caplog, proxy)
    assert run.code == 6, run.err
    after = currents()
    assert after[WEST] == before and after[EAST] != before
    assert (
        f"us-east-1: AWSCURRENT is {after[EAST]}" in run.err
        and f"us-west-2: AWSCURRENT is {before}" in run.err
    )
    command = resume_command(run)
    assert command == [
        "put",
        "--env",
        "prod",
        "--secret",
        "alpaca",
        "--resume",
        after[EAST],
    ]

    proxy.clear()
    finished = in_process(monkeypatch, capsys, caplog, proxy, *command)
    assert finished.code == 0, finished.err
    assert currents() == {EAST: after[EAST], WEST: after[EAST]}
    moves = proxy.count("UpdateSecretVersionStage")
    again = in_process(monkeypatch, capsys, caplog, proxy, *command)
    assert again.code == 0 and currents() == {EAST: after[EAST], WEST: after[EAST]}
    # The second resume had nothing to move.
    assert proxy.count("UpdateSecretVersionStage") == moves


def test_a_rollback_with_a_lost_response_is_a_success_and_a_second_rollback_does_not_toggle(
    monkeypatch, capsys, caplog, proxy
):
    first = converge()
    put(monkeypatch, capsys, caplog, proxy)
    proxy.add(Fault("UpdateSecretVersionStage", "drop", region=WEST, times=1))
    run = rollback(monkeypatch, capsys, caplog, proxy)
    assert run.code == 0, run.err
    assert currents() == {EAST: first, WEST: first}
    proxy.clear()
    again = rollback(monkeypatch, capsys, caplog, proxy)
    assert (
        again.code == 0 and "would undo that rollback, so nothing changed" in again.out
    )
    assert currents() == {EAST: first, WEST: first}


def test_a_rollback_that_fails_in_the_second_region_is_reported_and_finished_by_the_advised_command(
    monkeypatch, capsys, caplog, proxy
):
    first = converge()
    put(monkeypatch, capsys, caplog, proxy)
    newer = current(EAST)
    proxy.add(Fault("UpdateSecretVersionStage", "throttle", region=WEST))
    run = rollback(monkeypatch, capsys, caplog, proxy)
    assert run.code == 6, run.err
    assert currents() == {EAST: first, WEST: newer}
    command = resume_command(run)
    assert command == [
        "rollback",
        "--env",
        "prod",
        "--secret",
        "alpaca",
        "--to",
        first,
        "--yes",
    ]
    proxy.clear()
    # The obvious retry of the plain command refuses rather than toggle us-east-1 forward again.
    retry = rollback(monkeypatch, capsys, caplog, proxy)
    assert retry.code == 7 and "AWSCURRENT differs between regions" in retry.err
    assert currents() == {EAST: first, WEST: newer}
    finished = in_process(monkeypatch, capsys, caplog, proxy, *command)
    assert finished.code == 0, finished.err
    assert currents() == {EAST: first, WEST: first}


def test_a_hung_caller_identity_call_costs_seconds_and_the_put_goes_on(
    monkeypatch, capsys, caplog, proxy
):
    before = converge()
    proxy.add(Fault("GetCallerIdentity", "hang", seconds=30))
    started = time.monotonic()
    run = put(monkeypatch, capsys, caplog, proxy)
    elapsed = time.monotonic() - started
    assert run.code == 0, run.err
    assert "cannot tell who the caller is" in run.err
    # Two tries of 3 s at most, then the put itself: well under the 30 s hang,
    # with room for a slow machine.
    assert elapsed < 25, f"the put took {elapsed:.1f} s behind a hung STS"
    after = currents()
    assert after[EAST] == after[WEST] != before


def _console_script(*argv: str, stdin: str, endpoint: str) -> subprocess.Popen[str]:
    script = Path(sys.executable).with_name("trading-secrets")
    environment = {**os.environ, **OPERATIONS.credentials, "AWS_ENDPOINT_URL": endpoint}
    process = subprocess.Popen(
        [str(script), *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert process.stdin is not None
    process.stdin.write(stdin)
    process.stdin.close()
    process.stdin = None  # written and closed: communicate() must not touch it
    return process


def _finish(process: subprocess.Popen[str]) -> Run:
    out, err = process.communicate(timeout=120)
    run = Run(process.returncode, out, err)
    assert_said_nothing_secret(
        run, [value for value in PUT_VALUES if value != alpaca_endpoint(PROD)]
    )
    return run


def _put_process(endpoint: str) -> subprocess.Popen[str]:
    tag = uuid.uuid4().hex[:8]
    PUT_VALUES.extend(fake_value(tag).values())
    return _console_script(
        "put",
        "--env",
        "prod",
        "--secret",
        "alpaca",
        "--from-stdin",
        stdin=json.dumps(fake_value(tag)),
        endpoint=endpoint,
    )


def test_an_interrupt_between_regions_says_exactly_what_was_written(proxy):
    before = converge()
    writer = _put_process(proxy.url)
    proxy.add(
        Fault(
            "UpdateSecretVersionStage", "signal", region=WEST, pid=writer.pid, seconds=3
        )
    )
    run = _finish(writer)
    assert run.code == 130, run.err
    after = currents()
    assert after[WEST] == before and after[EAST] != before
    assert (
        f"interrupted: {after[EAST]} is AWSCURRENT in us-east-1; finish with" in run.err
    )
    assert "Traceback" not in run.err, run.err
    finished = _finish(
        _console_script(
            *resume_command(run), stdin="", endpoint=os.environ["AWS_ENDPOINT_URL"]
        )
    )
    assert finished.code == 0, finished.err
    assert currents() == {EAST: after[EAST], WEST: after[EAST]}


def test_two_puts_at_once_end_with_one_version_everywhere_or_say_why_not(proxy):
    """Writer A is held just before making its version current in us-west-2; writer B starts then."""
    converge()
    proxy.add(Fault("UpdateSecretVersionStage", "delay", region=WEST, seconds=4))
    writer_a = _put_process(proxy.url)
    deadline = time.monotonic() + 30
    while (
        proxy.count("UpdateSecretVersionStage", WEST) == 0
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    writer_b = _put_process(os.environ["AWS_ENDPOINT_URL"])
    a, b = _finish(writer_a), _finish(writer_b)
    assert a.code == 0, a.err
    assert b.code == 7, b.err
    assert (
        "AWSCURRENT differs between regions" in b.err and "nothing was written" in b.err
    )
    final = currents()
    assert final[EAST] == final[WEST]
    assert f"version {final[EAST]} is AWSCURRENT" in a.out


def test_status_sees_a_divergence_and_a_put_left_staged(
    monkeypatch, capsys, caplog, proxy
):
    before = converge()
    proxy.add(Fault("UpdateSecretVersionStage", "error", region=WEST))
    put(monkeypatch, capsys, caplog, proxy)
    proxy.clear()
    run = in_process(
        monkeypatch, capsys, caplog, proxy, "status", "--env", "prod", "--json"
    )
    rows = {
        (row["secret"], row["region"]): row for row in json.loads(run.out)["secrets"]
    }
    assert run.code == 1
    east, west = rows[(SECRET, EAST)], rows[(SECRET, WEST)]
    assert east["state"] == west["state"] == "DIVERGED" and east["value_state"] == "SET"
    assert (
        west["current_version"] == before
        and west["pending_version"] == east["current_version"]
    )
    assert any(
        "AWSCURRENT differs between regions" in problem
        for problem in east["gate_problems"]
    )
    resume = in_process(
        monkeypatch,
        capsys,
        caplog,
        proxy,
        "put",
        "--env",
        "prod",
        "--secret",
        "alpaca",
        "--resume",
        east["current_version"],
    )
    assert resume.code == 0


def test_one_failing_call_costs_one_row_not_the_table(
    monkeypatch, capsys, caplog, proxy
):
    converge()
    proxy.add(Fault("DescribeSecret", "error", region=WEST))
    run = in_process(
        monkeypatch, capsys, caplog, proxy, "status", "--env", "prod", "--json"
    )
    states = {
        (row["secret"], row["region"]): row["state"]
        for row in json.loads(run.out)["secrets"]
    }
    assert run.code == 1
    assert states[(SECRET, WEST)] == "ERROR" and states[(SECRET, EAST)] == "SET"
    assert states[("trading/prod/alphavantage", WEST)] == "ERROR"


# The gate answers within its deadline whatever the endpoint does: the console script, in a
# process of its own, since what is tested is when that process ends.
DEADLINE = 5
# The deadline, plus what docs/operations.md allows for starting and printing.
BOUND = DEADLINE + 10


def _status_process(proxy: EngineProxy) -> tuple[Run, float]:
    started = time.monotonic()
    process = _console_script(
        "status",
        "--env",
        "prod",
        "--deadline",
        str(DEADLINE),
        stdin="",
        endpoint=proxy.url,
    )
    try:
        run = _finish(process)
    finally:
        process.kill()
    return run, time.monotonic() - started


@pytest.mark.parametrize(
    "faults, unknown",
    [
        ([Fault("*", "hang", seconds=60, account=OPERATIONS.account_id)], [EAST, WEST]),
        (
            [
                Fault(
                    "*", "hang", seconds=60, region=WEST, account=OPERATIONS.account_id
                )
            ],
            [WEST],
        ),
    ],
    ids=["every-request-hangs", "one-region-of-two-hangs"],
)
def test_a_frozen_endpoint_is_unknown_by_the_deadline_not_a_wait_of_minutes(
    proxy, faults, unknown
):
    converge()
    proxy.add(*faults)
    run, elapsed = _status_process(proxy)
    assert elapsed < BOUND, (
        f"status took {elapsed:.1f} s against a {DEADLINE} s deadline"
    )
    assert run.code == 11, run.said
    verdict = run.out.strip().splitlines()[-1]
    assert verdict.startswith(
        f"prod: UNKNOWN: {', '.join(unknown)} did not answer by the deadline"
    ), verdict
    rows = [line for line in run.out.splitlines() if line.startswith("trading/prod/")]
    for region in (EAST, WEST):
        states = {line.split()[2] for line in rows if line.split()[1] == region}
        assert (states == {"UNKNOWN"}) == (region in unknown), (region, rows)


def test_a_hung_caller_identity_call_leaves_the_gate_on_time(proxy):
    """status asks nothing of STS: a hung STS costs it nothing, and the verdict is the gate's own."""
    converge()
    proxy.add(
        Fault("GetCallerIdentity", "hang", seconds=60, account=OPERATIONS.account_id)
    )
    run, elapsed = _status_process(proxy)
    assert elapsed < BOUND, f"status took {elapsed:.1f} s behind a hung STS"
    assert run.code in (0, 1), run.said
    assert "UNKNOWN" not in run.out
    assert proxy.count("GetCallerIdentity") == 0
