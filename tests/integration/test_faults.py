"""trading-secrets on a bad day: faults injected between the tool and the engine, in prod's two regions.

After every scenario, either every region holds one common version as
AWSCURRENT, or the tool said exactly which region holds what; the exit code
says which of the two happened; and no value, nor any piece of one, appears in
anything the tool printed or logged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.engine import FAULTS, deployed
from support.tool_runs import Run, assert_said_nothing_secret, run_tool

from devtools.engine_proxy import EngineProxy, Fault, engine_proxy
from generator.environments import ENVIRONMENTS

PROD = ENVIRONMENTS["prod"]
EAST, WEST = PROD.regions
SECRET = "trading/prod/alpaca"


def fake_value(tag: str) -> dict[str, str]:
    """Obviously fake, different for every put, and never shown by the tool."""
    return {
        "apiKeyId": f"FAKE-id-{tag}",
        "apiSecretKey": f"FAKE-secret-{tag}",
        "baseUrl": PROD.alpaca_endpoint,
    }


PUT_VALUES: list[str] = []


@pytest.fixture(scope="module")
def prod() -> Iterator[None]:
    """prod in both its regions, in this module's own account."""
    with deployed(FAULTS, PROD):
        yield


@pytest.fixture
def proxy(prod) -> Iterator[EngineProxy]:
    # Strict: the label compare-and-swap that put and rollback rely on is enforced, as AWS does.
    with engine_proxy(os.environ["AWS_ENDPOINT_URL"], strict=True) as running:
        yield running


def current(region: str) -> str | None:
    return next(
        (
            version
            for version, stages in FAULTS.version_stages(SECRET, region).items()
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
        secrets = FAULTS.client("secretsmanager", region)
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
        {**FAULTS.credentials, "AWS_ENDPOINT_URL": proxy.url},
        [value for value in PUT_VALUES if value != PROD.alpaca_endpoint],
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
    previous = FAULTS.client("secretsmanager", WEST).get_secret_value(
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
    environment = {**os.environ, **FAULTS.credentials, "AWS_ENDPOINT_URL": endpoint}
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
        run, [value for value in PUT_VALUES if value != PROD.alpaca_endpoint]
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
    assert "Traceback" not in run.err
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
