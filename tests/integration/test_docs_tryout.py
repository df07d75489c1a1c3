"""docs/operations.md's local try-out, run as written, through the AWS-strict proxy, as a user pastes it.

The block's own lines go to bash unchanged (`set -e`: the first failing line
fails the test); only the `export` lines that `tasks.py localstack` prints
are replaced by this test's environment, in an account of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import pytest
from support.engine import TRYOUT, delete_stack
from support.repository import ROOT
from support.tool_runs import Run, assert_said_nothing_secret

from devtools.engine_proxy import EngineProxy, engine_proxy

_BLOCK = re.compile(r"```sh\n(\.venv/bin/trading-secrets deploy --env dev.*?)```", re.S)


@pytest.fixture(scope="module")
def proxy(engine) -> Iterator[EngineProxy]:
    with engine_proxy(engine, strict=True) as running:
        yield running


def test_the_local_try_out_runs_as_the_documentation_shows(proxy):
    [block] = _BLOCK.findall((ROOT / "docs" / "operations.md").read_text())
    [fake_value] = re.findall(r'"apiKey": "([^"]+)"', block)
    environment = {
        **os.environ,
        **TRYOUT.credentials,
        "AWS_ENDPOINT_URL": proxy.url,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    TRYOUT.client("cloudformation")  # the session's leftover check looks here
    try:
        done = subprocess.run(
            ["bash", "-e", "-c", block],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        said = Run(done.returncode, done.stdout, done.stderr)
        assert done.returncode == 0, said.said[-3000:]
        # What the documentation says you see, line for line where it is stable.
        assert "trading-dev-secrets deployed in us-east-1:" in said.said
        assert "dev: all 2 secret(s) pass the go-live gate" in said.said
        assert re.search(
            r"trading/dev/alphavantage in us-east-1: version \S+ is AWSCURRENT",
            said.said,
        )
        assert_said_nothing_secret(said, never_said=[fake_value])
    finally:
        cloudformation = TRYOUT.client("cloudformation")
        for stack in cloudformation.describe_stacks()["Stacks"]:
            delete_stack(TRYOUT, "us-east-1", stack["StackId"])
