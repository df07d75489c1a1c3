"""Deployment tests on a real CloudFormation engine (LocalStack, started by `python3 tasks.py test`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from support.engine import USED_ACCOUNTS, live_stacks
from support.fake_providers import fake_providers
from support.timings import DEPLOY_TIMINGS_KEY, TIMINGS

from generator.ops.change.provider import ENDPOINT_OVERRIDE

REGIONS = ("us-east-1", "us-west-2")


@pytest.fixture(scope="session", autouse=True)
def providers() -> Iterator[str]:
    """Alpaca and AlphaVantage on loopback for every put here: each put's provider check runs, as a user's does.

    Set in the environment, so that the tool's console script, run as a child, checks there too.
    """
    with fake_providers() as running:
        os.environ[ENDPOINT_OVERRIDE] = running.url
        try:
            yield running.url
        finally:
            del os.environ[ENDPOINT_OVERRIDE]


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
        (account.account_id, region): live
        for account in sorted(USED_ACCOUNTS, key=lambda a: a.account_id)
        for region in REGIONS
        if (live := live_stacks(account, region))
    }
    assert not left, f"stacks left behind after the deployment tests: {left}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Hand this process's deploy timings to the one that prints the report (tests/conftest.py).

    Under pytest-xdist that is the controller, which never loads this file:
    the timings travel in the worker's output. Alone, they go in the stash.
    """
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["deploy_timings"] = json.dumps(TIMINGS)
    else:
        session.config.stash.setdefault(DEPLOY_TIMINGS_KEY, []).extend(TIMINGS)
