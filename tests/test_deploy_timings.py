"""The deployment timings of every test process reach one report, whichever worker deployed what.

Under pytest-xdist each worker deploys its own modules' stacks; the report is
printed and written by the controller, which gathers them (tests/conftest.py).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from support.repository import ROOT
from support.timings import (
    DEPLOY_TIMINGS_KEY,
    deploy_timings_table,
    write_deploy_timings,
)


def timing(stack: str, region: str, seconds: float) -> dict[str, Any]:
    return {
        "stack": stack,
        "region": region,
        "stack_seconds": seconds,
        "secrets": {"AlpacaCredentials": seconds / 4, "AlphaVantageCredentials": 0.01},
    }


def root_conftest(config: pytest.Config) -> Any:
    path = str(ROOT / "tests" / "conftest.py")
    return next(
        plugin
        for plugin in config.pluginmanager.get_plugins()
        if getattr(plugin, "__file__", None) == path
    )


class Reporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str) -> None:
        self.lines.append(f"== {title}")

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_every_workers_timings_are_gathered_printed_and_written(
    pytestconfig: pytest.Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin = root_conftest(pytestconfig)
    controller = SimpleNamespace(stash=pytest.Stash())
    taskcat_worker = [timing("prod", "us-west-2", 1.5), timing("dev", "us-east-1", 0.5)]
    stack_set_worker = [timing("prod (stack set)", "us-east-1", 0.25)]
    for output in (taskcat_worker, stack_set_worker):
        plugin.pytest_testnodedown(
            SimpleNamespace(
                config=controller, workeroutput={"deploy_timings": json.dumps(output)}
            ),
            None,
        )
    # A worker that deployed nothing (or crashed before its session ended).
    plugin.pytest_testnodedown(
        SimpleNamespace(config=controller, workeroutput={}), None
    )
    report = tmp_path / "deploy-timings.json"
    monkeypatch.setattr(
        plugin,
        "write_deploy_timings",
        functools.partial(write_deploy_timings, path=report),
    )
    reporter = Reporter()
    plugin.pytest_terminal_summary(reporter, controller)

    written = json.loads(report.read_text())
    assert [(e["stack"], e["region"]) for e in written] == [
        ("dev", "us-east-1"),
        ("prod", "us-west-2"),
        ("prod (stack set)", "us-east-1"),
    ]
    assert controller.stash[DEPLOY_TIMINGS_KEY] == taskcat_worker + stack_set_worker
    assert reporter.lines[0].startswith("== deployment timings")
    assert reporter.lines[2].split() == ["dev", "us-east-1", "0.50", "0.12"]
    assert "prod (stack set)" in reporter.lines[4]


def test_a_worker_prints_nothing_itself(pytestconfig: pytest.Config) -> None:
    plugin = root_conftest(pytestconfig)
    worker = SimpleNamespace(stash=pytest.Stash(), workeroutput={})
    worker.stash[DEPLOY_TIMINGS_KEY] = [timing("dev", "us-east-1", 0.5)]
    reporter = Reporter()
    plugin.pytest_terminal_summary(reporter, worker)
    assert reporter.lines == []


def test_the_table_shows_the_slowest_secret_of_each_stack() -> None:
    lines = deploy_timings_table([timing("staging", "us-east-1", 2.0)])
    assert lines[1].split() == ["staging", "us-east-1", "2.00", "0.50"]
