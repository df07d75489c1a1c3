"""Deployment tests on a real CloudFormation engine (LocalStack, started by `python3 tasks.py test`)."""

from __future__ import annotations

import json
import os

import pytest

from deploy_support import TIMINGS, TIMINGS_REPORT
from helpers import ROOT


@pytest.fixture(scope="session", autouse=True)
def engine() -> str:
    """Fail, never skip, when no engine is configured: these are the tests that matter."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith("http://127.0.0.1:"):
        pytest.fail("deployment tests need LocalStack: run them through `python3 tasks.py test`")
    return endpoint


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    TIMINGS_REPORT.parent.mkdir(exist_ok=True)
    TIMINGS_REPORT.write_text(json.dumps(TIMINGS, indent=2, sort_keys=True) + "\n")
    terminalreporter.section("deployment timings (LocalStack; the ticket's bar is < 120 s per secret)")
    terminalreporter.write_line(f"{'stack':<22} {'region':<10} {'stack s':>8} {'slowest secret s':>17}")
    for entry in TIMINGS:
        slowest = max(entry["secrets"].values(), default=0.0)
        terminalreporter.write_line(
            f"{entry['stack']:<22} {entry['region']:<10} {entry['stack_seconds']:>8.2f} {slowest:>17.2f}"
        )
    terminalreporter.write_line(f"written to {TIMINGS_REPORT.relative_to(ROOT)}")
