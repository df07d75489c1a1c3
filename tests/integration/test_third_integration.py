"""One catalogue entry adds an integration: a third one, appended to a copy of the repository and nothing else,
goes from the build to a verified value on the engine.

The copy's own build.py and trading-secrets run as a user runs them, as
processes with the copy first on their path, so every line of code they use
is the copy's. The new provider is the loopback double made from the entry's
own ProviderCheck (tests/support/fake_providers.py), with no edit for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.engine import THIRD, delete_stack
from support.fake_providers import fake_providers
from support.third_integration import planted_copy, planted_spec
from support.tool_runs import Run, assert_said_nothing_secret

from devtools.engine_proxy import EngineProxy, engine_proxy
from generator.ops.change.provider import ENDPOINT_OVERRIDE

SECRET = "trading/dev/exampledata"
PUT = ("put", "--env", "dev", "--secret", "exampledata", "--from-stdin")
TOOL = "import sys; from generator.ops.entry import main; sys.exit(main())"


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return planted_copy(tmp_path_factory.mktemp("third-integration"))


@pytest.fixture(scope="module")
def proxy(engine) -> Iterator[EngineProxy]:
    """Deploys go through the AWS-strict proxy, as on every other path: it sets stack policies, as AWS does."""
    with engine_proxy(engine, strict=True) as running:
        yield running


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The planted integration's provider, made from its spec alone."""
    with fake_providers(catalogue=(planted_spec(),)) as running:
        yield running.url


@dataclass(frozen=True)
class TheCopy:
    """The planted copy, and where its processes talk to: the proxy in front of the engine, the loopback provider."""

    path: Path
    endpoint: str
    provider: str

    def run(self, *command: str, stdin: str | None = None) -> Run:
        """A Python process of the copy: its generator/ first on the path, in its directory, in this module's account."""
        environment = {
            **os.environ,
            **THIRD.credentials,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONPATH": str(self.path),
            ENDPOINT_OVERRIDE: self.provider,
        }
        done = subprocess.run(
            [sys.executable, *command],
            cwd=self.path,
            env=environment,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def tool(self, *args: str, stdin: str | None = None) -> Run:
        """The copy's trading-secrets, as its console script runs it."""
        return self.run("-c", TOOL, *args, stdin=stdin)


@pytest.fixture(scope="module")
def planted(copy, proxy, provider) -> TheCopy:
    return TheCopy(copy, proxy.url, provider)


def test_a_third_catalogue_entry_goes_from_the_build_to_a_verified_value(planted):
    copy = planted.path
    built = planted.run("build.py")
    assert built.code == 0, built.said[-3000:]
    prod = json.loads((copy / "templates" / "prod" / "secrets.json").read_text())
    secret = prod["Resources"]["ExampleDataCredentials"]
    tags = {tag["Key"]: tag["Value"] for tag in secret["Properties"]["Tags"]}
    # Its own rotation interval where no environment overrides it, and its reader policy beside it.
    assert tags["RotationIntervalDays"] == "30" and tags["Integration"] == "ExampleData"
    assert "ExampleDataCredentialsReaderPolicy" in prod["Resources"]
    # The copy's leak scanner knows the new key shape from the entry alone.
    shape = planted.run(
        "-c",
        "from generator.leaks import scan_text; "
        "print([leak.kind for leak in scan_text('token exd_' + '0123456789abcdef' * 2, 'x')])",
    )
    assert shape.code == 0 and "ExampleData token" in shape.out, shape.said

    token = f"FAKE-valid-{uuid.uuid4().hex}"
    never_said = [token]
    try:
        deployed = planted.tool("deploy", "--env", "dev", "--yes")
        assert deployed.code == 0, deployed.said[-3000:]
        assert "ExampleDataCredentialsName: trading/dev/exampledata" in deployed.said

        before = planted.tool("status", "--env", "dev")
        assert before.code == 0, before.said[-3000:]
        assert f"{SECRET:<28} us-east-1  PLACEHOLDER" in before.out

        for refused in ("example-public-token", f"FAKE-refused-{uuid.uuid4().hex}"):
            run = planted.tool(*PUT, stdin=json.dumps({"token": refused}))
            assert run.code == 3, run.said[-3000:]
            assert refused not in run.said

        put = planted.tool(*PUT, stdin=json.dumps({"token": token}))
        assert put.code == 0, put.said[-3000:]
        assert "provider check passed: ExampleData accepts the credential" in put.said

        after = planted.tool("status", "--env", "dev")
        assert after.code == 0, after.said[-3000:]
        assert f"{SECRET:<28} us-east-1  SET" in after.out

        verified = planted.tool("verify", "--env", "dev", "--secret", "exampledata")
        assert verified.code == 0, verified.said[-3000:]
        assert (
            f"{SECRET} in us-east-1: version" in verified.out
            and ": passed:" in verified.out
        )

        rolled = planted.tool(
            "rollback",
            "--env",
            "dev",
            "--secret",
            "exampledata",
            "--yes",
        )
        assert rolled.code == 0, rolled.said[-3000:]
        back = planted.tool("status", "--env", "dev")
        assert back.code == 0 and f"{SECRET:<28} us-east-1  PLACEHOLDER" in back.out
        for run in (deployed, before, put, after, verified, rolled, back):
            assert_said_nothing_secret(run, never_said)
    finally:
        stacks = THIRD.client("cloudformation").list_stacks()["StackSummaries"]
        for stack in stacks:
            if stack["StackStatus"] != "DELETE_COMPLETE":
                delete_stack(THIRD, "us-east-1", stack["StackId"])
