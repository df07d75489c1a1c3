"""Deployment tests on a real CloudFormation engine (LocalStack, started by `python3 tasks.py test`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy_support import (
    TIMINGS,
    TIMINGS_REPORT,
    USED_ACCOUNTS,
    live_stacks,
    write_timings_report,
)
from helpers import ROOT

REGIONS = ("us-east-1", "us-west-2")


@pytest.fixture(scope="session", autouse=True)
def engine() -> Iterator[str]:
    """The engine for the whole session; when it ends, no test may have left a stack behind.

    Checked in every account this worker's tests acted in (each test module
    has accounts of its own, so a module running in another worker cannot
    be mistaken for a leftover).

    Fails, never skips, when no engine is configured: these are the tests that matter.
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith("http://127.0.0.1:"):
        pytest.fail(
            "deployment tests need LocalStack: run them through `python3 tasks.py test`"
        )
    yield endpoint
    left = {
        (account.account_id, region): stacks
        for account in sorted(USED_ACCOUNTS, key=lambda a: a.account_id)
        for region in REGIONS
        if (stacks := live_stacks(account, region))
    }
    assert not left, f"stacks left behind after the deployment tests: {left}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMINGS:
        return
    write_timings_report()
    terminalreporter.section(
        "deployment timings (LocalStack; the ticket's bar is < 120 s per secret)"
    )
    terminalreporter.write_line(
        f"{'stack':<22} {'region':<10} {'stack s':>8} {'slowest secret s':>17}"
    )
    for entry in TIMINGS:
        slowest = max(entry["secrets"].values(), default=0.0)
        terminalreporter.write_line(
            f"{entry['stack']:<22} {entry['region']:<10} {entry['stack_seconds']:>8.2f} {slowest:>17.2f}"
        )
    terminalreporter.write_line(f"written to {TIMINGS_REPORT.relative_to(ROOT)}")


# First: pytest-xdist reads the groups in its own hook of the same name.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Everything here needs the engine: `python3 tasks.py unit` leaves it out by this mark.

    Each module also runs whole in one test process (xdist's loadgroup): its
    stacks are module fixtures, deployed once, in an account of its own.
    """
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.engine)
            item.add_marker(pytest.mark.xdist_group(Path(item.path).stem))
