"""Faults, continued: a hung identity call, an interrupt between regions, two puts at once, and status on a divergence or a failing call; in test_faults' process, on its prod stacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import test_faults
from support.engine import FAULTS
from support.tool_runs import Run, assert_said_nothing_secret
from test_faults import (
    EAST,
    PROD,
    PUT_VALUES,
    SECRET,
    WEST,
    converge,
    currents,
    fake_value,
    in_process,
    put,
    resume_command,
)

from devtools.engine_proxy import Fault

# In test_faults's process, after it: its account and stacks are this module's too.
XDIST_GROUP = "test_faults"
# test_faults's fixtures, for these tests too.
proxy = test_faults.proxy


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
