"""A pytest plugin for `python3 tasks.py test --profile`: what each test cost, by kind, in every test process.

Loaded by tests/conftest.py only when TRADING_PROFILE_DIR names a ledger.
Each process (the controller and every xdist worker) writes one
`pytest-<pid>.json` there when its session ends: per test, its wall time, the
process's own CPU (every thread: the in-process proxy and provider servers
included) and the CPU of the child processes it waited for. devtools/profiling.py
reads the ledger and prints the report.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LEDGER_VARIABLE = "TRADING_PROFILE_DIR"


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def kind_of(item: pytest.Item) -> str:
    if item.get_closest_marker("engine"):
        return "deployment"
    if item.get_closest_marker("checkov"):
        return "checkov"
    return "unit"


class Profile:
    def __init__(self, ledger: Path):
        self.ledger = ledger
        self.started = time.monotonic()
        self.tests: list[dict[str, Any]] = []
        self.first_test: tuple[float, float] | None = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        if self.first_test is None:
            self.first_test = (
                time.monotonic() - self.started,
                _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN),
            )
        wall, own, children = (
            time.monotonic(),
            _cpu(resource.RUSAGE_SELF),
            _cpu(resource.RUSAGE_CHILDREN),
        )
        yield
        self.tests.append(
            {
                "test": item.nodeid,
                "module": item.nodeid.split("::")[0],
                "kind": kind_of(item),
                "wall": time.monotonic() - wall,
                "cpu": _cpu(resource.RUSAGE_SELF) - own,
                "children": _cpu(resource.RUSAGE_CHILDREN) - children,
            }
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        worker = getattr(session.config, "workerinput", {}).get("workerid")
        before_tests = self.first_test or (0.0, 0.0)
        record = {
            "worker": worker or "controller",
            "wall": time.monotonic() - self.started,
            "cpu": _cpu(resource.RUSAGE_SELF),
            "children": _cpu(resource.RUSAGE_CHILDREN),
            "before_first_test": {"wall": before_tests[0], "cpu": before_tests[1]},
            "tests": self.tests,
        }
        (self.ledger / f"pytest-{os.getpid()}.json").write_text(json.dumps(record))


def register(config: pytest.Config) -> None:
    ledger = os.environ.get(LEDGER_VARIABLE)
    if ledger:
        config.pluginmanager.register(Profile(Path(ledger)), "trading-profile")
