"""The local CloudFormation engine: LocalStack in host mode on a loopback port, and the AWS-strict proxy.

Standard library only: tasks.py imports this before any virtual environment exists.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator

from devtools.environments import LOCALSTACK, PROJECT, ensure
from devtools.processes import HEARTBEAT_SECONDS, ROOT, TaskFailed, end_session, say

SERVICES = "cloudformation,secretsmanager,kms,s3,sts,iam,events,sns,sqs,cloudwatch,logs,ssm,ec2"
LOG = ROOT / ".localstack" / "localstack.log"
READY_SECONDS = 120


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def engine_started(
    port: int | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    """LocalStack on a loopback port, stopped on the way out whatever happens.

    Yields the process (not yet healthy: `wait_until_healthy`) and the
    environment variables that point boto3, taskcat and trading-secrets at it.
    """
    python = ensure(LOCALSTACK)
    port = port or _free_loopback_port()
    LOG.parent.mkdir(exist_ok=True)
    engine_env = {
        **os.environ,
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        # The default server ignores the host in GATEWAY_LISTEN and listens on
        # 0.0.0.0; hypercorn honours it, so the emulator stays on loopback.
        "GATEWAY_SERVER": "hypercorn",
        # No DNS server (it would listen on port 53 of every interface).
        "DNS_ADDRESS": "0",
        "SERVICES": SERVICES,
        # Start every service before the engine says it is ready, one after the
        # other: loaded lazily, on first use by parallel tests, CloudWatch's
        # provider once failed to start (CPython 3.11's "AST constructor recursion
        # depth mismatch" between threads) and refused every alarm from then on.
        "EAGER_SERVICE_LOADING": "1",
        "LOCALSTACK_VOLUME_DIR": str(LOG.parent / "state"),
        "DISABLE_EVENTS": "1",  # no usage analytics: nothing leaves the machine
        "SKIP_SSL_CERT_DOWNLOAD": "1",
    }
    say(f"starting LocalStack on 127.0.0.1:{port} (log: {LOG.relative_to(ROOT)})")
    with open(LOG, "w") as log:
        process = subprocess.Popen(
            [str(python), "-m", "localstack.runtime.main"],
            env=engine_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=LOG.parent,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield (
            process,
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1",
                "TRADING_ENGINE_PID": str(process.pid),
            },
        )
    finally:
        end_session(process)
        say("LocalStack stopped")


def wait_until_healthy(process: subprocess.Popen[bytes], endpoint: str) -> None:
    started = time.monotonic()
    next_note = started + HEARTBEAT_SECONDS
    while time.monotonic() < started + READY_SECONDS:
        if process.poll() is not None:
            raise TaskFailed(
                f"LocalStack exited with code {process.returncode} while starting; see {LOG}"
            )
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(
                f"{endpoint}/_localstack/health", timeout=2
            ) as response:
                if response.status == 200:
                    say("LocalStack is ready")
                    return
        if time.monotonic() >= next_note:
            say(f"LocalStack: still starting ({time.monotonic() - started:.0f} s)")
            next_note += HEARTBEAT_SECONDS
        time.sleep(0.25)
    raise TaskFailed(f"LocalStack was not healthy after {READY_SECONDS} s; see {LOG}")


@contextlib.contextmanager
def strict_proxy_started(engine_url: str) -> Iterator[str]:
    """The AWS-strict proxy (devtools/engine_proxy) in front of the engine, from .venv; yields its URL."""
    python = ensure(PROJECT)
    process = subprocess.Popen(
        [str(python), "-m", "devtools.engine_proxy", "--engine", engine_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise TaskFailed(
                f"the AWS-strict proxy did not start (exit {process.poll()})"
            )
        yield url
    finally:
        end_session(process)


def serve(_args: list[str]) -> int:
    """The engine in the foreground, behind the AWS-strict proxy, on loopback, until Ctrl-C."""
    with engine_started() as (engine, engine_env):
        wait_until_healthy(engine, engine_env["AWS_ENDPOINT_URL"])
        with strict_proxy_started(engine_env["AWS_ENDPOINT_URL"]) as proxy_url:
            say(
                f"the AWS-strict proxy at {proxy_url} is in front of LocalStack at "
                f"{engine_env['AWS_ENDPOINT_URL']}: it enforces capabilities, stack policies, termination "
                "protection and the staging-label compare-and-swap, and runs StackSets"
            )
            print("\n# In another shell, point the AWS tools at it:")
            for name, value in {**engine_env, "AWS_ENDPOINT_URL": proxy_url}.items():
                print(f"export {name}={value}")
            print(
                "# then: .venv/bin/trading-secrets deploy --env dev; .venv/bin/trading-secrets status --env dev\n",
                flush=True,
            )
            say("LocalStack runs until Ctrl-C")
            while engine.poll() is None:
                time.sleep(0.5)
        raise TaskFailed(f"LocalStack exited with code {engine.returncode}; see {LOG}")
