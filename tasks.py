#!/usr/bin/env python3
"""The README's entry points, needing only Python 3.11 and pip.

    python3 tasks.py build [build.py options]    generate and validate the templates
    python3 tasks.py test  [pytest options]      the whole suite: code checks, unit, gates, deployments
    python3 tasks.py unit  [pytest options]      the unit tests alone: no engine, no checkov, no coverage floor
    python3 tasks.py localstack                  the local engine in the foreground, on loopback, behind
                                                 the AWS-strict proxy (then: trading-secrets deploy)
    python3 tasks.py bench [--runs N]            benchmark the build, side by side with `cdk synth`
    python3 tasks.py lock [project|localstack|checkov]
                                                 regenerate constraints/*.txt from the requirements

Each virtual environment is created on first use, installed under its
constraints file, and rebuilt when it was made by another Python or left
half installed.
"""

from __future__ import annotations

import sys

REQUIRED_PYTHON = (3, 11)
if sys.version_info[:2] != REQUIRED_PYTHON:
    # Before anything is created: a .venv made by another Python would be reused by mistake.
    found = ".".join(map(str, sys.version_info[:3]))
    print(
        f"tasks.py: error: needs Python 3.11 (this is {found}); run it as `python3.11 tasks.py ...`",
        file=sys.stderr,
    )
    sys.exit(2)

import os
import signal


def _interrupted_while_starting(_number: int, _frame: object) -> None:
    print("tasks.py: error: interrupted", file=sys.stderr)
    os._exit(130)


# Until main() takes over: a Ctrl-C during the imports below is one line too.
signal.signal(signal.SIGINT, _interrupted_while_starting)

import contextlib
import hashlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import venv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
CONSTRAINTS = ROOT / "constraints"
COVERAGE_FLOOR = 90
STARTED = time.monotonic()
# A step that prints nothing for this long gets a line saying it is still going.
HEARTBEAT_SECONDS = 10
# Pytest workers: the deployment modules mostly wait on the engine, so one more than the cores.
TEST_WORKERS = "3"


@dataclass(frozen=True)
class VirtualEnvironment:
    """A virtual environment of its own, installed under a constraints file (python3 tasks.py lock)."""

    name: str
    requirements: tuple[str, ...]
    why: str
    lock_name: str

    @property
    def directory(self) -> Path:
        return ROOT / self.name

    @property
    def constraints(self) -> Path:
        return CONSTRAINTS / f"{self.lock_name}.txt"

    @property
    def python(self) -> Path:
        return self.directory / "bin" / "python"

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(".".join(map(str, sys.version_info[:2])).encode())
        for requirement in self.requirements:
            digest.update(requirement.encode())
        for path in (
            self.constraints,
            # The package's metadata, its version (generator/__init__.py) included.
            *(
                (
                    ROOT / "setup.cfg",
                    ROOT / "pyproject.toml",
                    ROOT / "generator" / "__init__.py",
                )
                if self is PROJECT
                else ()
            ),
        ):
            digest.update(path.read_bytes() if path.exists() else b"")
        return digest.hexdigest()[:16]


PROJECT = VirtualEnvironment(
    ".venv", ("-e", f"{ROOT}[test]"), "the project and its test tools", "project"
)
# LocalStack, the real CloudFormation engine of the deployment tests: its pins clash with
# taskcat's (jsonschema, urllib3). 4.10.0 is the last release that runs on Python 3.11;
# newer cbor2, pyOpenSSL, cryptography and psutil break its start-up.
LOCALSTACK = VirtualEnvironment(
    ".venv-localstack",
    (
        "localstack-core[runtime]==4.10.0",
        "cbor2<5.7",
        "pyOpenSSL==25.1.0",
        "cryptography>=45,<46",
        "service_identity",
        # psutil 7.2 dropped a name LocalStack 4.10 imports.
        "psutil<7.2",
    ),
    "the local CloudFormation engine",
    "localstack",
)
# checkov, the independent template scanner: it needs jsonschema 4 and urllib3 2; taskcat pins 3 and 1.
CHECKOV = VirtualEnvironment(
    ".venv-checkov", ("checkov==3.3.30",), "the checkov scanner", "checkov"
)

LOCALSTACK_SERVICES = "cloudformation,secretsmanager,kms,s3,sts,iam,events,sns,sqs,cloudwatch,logs,ssm,ec2"
LOCALSTACK_LOG = ROOT / ".localstack" / "localstack.log"
LOCALSTACK_READY_SECONDS = 120


class TaskFailed(Exception):
    """One line for the user, and the exit code to leave with."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def say(message: str) -> None:
    print(
        f"tasks.py [{time.monotonic() - STARTED:6.1f}s] {message}",
        file=sys.stderr,
        flush=True,
    )


def run(command: list[str], label: str, env: dict[str, str] | None = None) -> int:
    """Run `command`, passing its output through, with a line every HEARTBEAT_SECONDS it stays silent.

    The child runs in a session of its own: on Ctrl-C it is ended quietly and
    only this script says one line.
    """
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    last_output = [time.monotonic()]
    at_line_start = [True]

    def forward() -> None:
        # As it comes, not line by line: pytest's progress dots are output too.
        assert process.stdout is not None
        while chunk := os.read(process.stdout.fileno(), 65536):
            last_output[0] = time.monotonic()
            at_line_start[0] = chunk.endswith(b"\n")
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    started = time.monotonic()
    try:
        while process.poll() is None:
            time.sleep(0.2)
            if time.monotonic() - last_output[0] >= HEARTBEAT_SECONDS:
                if not at_line_start[0]:
                    print(flush=True)
                    at_line_start[0] = True
                say(f"{label}: still running ({time.monotonic() - started:.0f} s)")
                last_output[0] = time.monotonic()
    except BaseException:
        _end_session(process)
        raise
    reader.join(timeout=5)
    return process.returncode


def _end_session(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _pip(python: Path) -> list[str]:
    return [str(python), "-m", "pip", "--disable-pip-version-check"]


def _built_by_this_python(environment: VirtualEnvironment) -> bool:
    settings = environment.directory / "pyvenv.cfg"
    if not settings.exists():
        return False
    values = {
        key.strip(): value.strip()
        for key, value in (
            line.split("=", 1)
            for line in settings.read_text().splitlines()
            if "=" in line
        )
    }
    # "version" in venvs made by Python 3.11, "version_info" in some others.
    version = values.get("version") or values.get("version_info", "")
    return (
        version.startswith(".".join(map(str, REQUIRED_PYTHON)) + ".")
        and environment.python.exists()
    )


def why_rebuild(environment: VirtualEnvironment) -> str | None:
    """Why an existing `environment` cannot be reused as it is; None when it can, or does not exist."""
    if not environment.directory.exists():
        return None
    if (environment.directory / ".installing").exists():
        return "an install into it broke off"
    if not _built_by_this_python(environment):
        return "another Python made it"
    return None


def ensure(environment: VirtualEnvironment) -> Path:
    """`environment`, installed as its fingerprint says; rebuilt when another Python made it or an install broke off."""
    stamp = environment.directory / f".installed-{environment.fingerprint()}"
    installing = environment.directory / ".installing"
    reason = why_rebuild(environment)
    if reason is None and stamp.exists():
        return environment.python
    if reason is not None:
        say(f"{environment.name}: {reason}; rebuilding it")
        shutil.rmtree(environment.directory)
    if not environment.directory.exists():
        say(f"creating {environment.name} for {environment.why}")
        venv.create(environment.directory, with_pip=True)
    installing.touch()
    for old in environment.directory.glob(".installed-*"):
        old.unlink()
    constraint = (
        ["-c", str(environment.constraints)] if environment.constraints.exists() else []
    )
    say(
        f"installing {environment.why} into {environment.name} (pip prints each package)"
    )
    pip = _pip(environment.python)
    if (
        run(
            [
                *pip,
                "install",
                "--progress-bar",
                "off",
                *constraint,
                *environment.requirements,
            ],
            f"pip into {environment.name}",
        )
        != 0
    ):
        raise TaskFailed(
            f"installing into {environment.name} failed (see pip's output above); run the command again"
        )
    stamp.touch()
    installing.unlink()
    return environment.python


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def engine_started(
    port: int | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    """LocalStack in host mode on a loopback port, stopped on the way out whatever happens.

    Yields the process (not yet healthy: `wait_until_healthy`) and the
    environment variables that point boto3, taskcat and trading-secrets at it.
    """
    python = ensure(LOCALSTACK)
    port = port or _free_loopback_port()
    LOCALSTACK_LOG.parent.mkdir(exist_ok=True)
    engine_env = {
        **os.environ,
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        # The default server ignores the host in GATEWAY_LISTEN and listens on
        # 0.0.0.0; hypercorn honours it, so the emulator stays on loopback.
        "GATEWAY_SERVER": "hypercorn",
        # No DNS server (it would listen on port 53 of every interface).
        "DNS_ADDRESS": "0",
        "SERVICES": LOCALSTACK_SERVICES,
        # Start every service before the engine says it is ready, one after the
        # other: loaded lazily, on first use by parallel tests, CloudWatch's
        # provider once failed to start (CPython 3.11's "AST constructor recursion
        # depth mismatch" between threads) and refused every alarm from then on.
        "EAGER_SERVICE_LOADING": "1",
        "LOCALSTACK_VOLUME_DIR": str(LOCALSTACK_LOG.parent / "state"),
        "DISABLE_EVENTS": "1",  # no usage analytics: nothing leaves the machine
        "SKIP_SSL_CERT_DOWNLOAD": "1",
    }
    say(
        f"starting LocalStack on 127.0.0.1:{port} (log: {LOCALSTACK_LOG.relative_to(ROOT)})"
    )
    with open(LOCALSTACK_LOG, "w") as log:
        process = subprocess.Popen(
            [str(python), "-m", "localstack.runtime.main"],
            env=engine_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=LOCALSTACK_LOG.parent,
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
        _end_session(process)
        say("LocalStack stopped")


def wait_until_healthy(process: subprocess.Popen[bytes], endpoint: str) -> None:
    deadline = time.monotonic() + LOCALSTACK_READY_SECONDS
    next_note = time.monotonic() + HEARTBEAT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TaskFailed(
                f"LocalStack exited with code {process.returncode} while starting; see {LOCALSTACK_LOG}"
            )
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(
                f"{endpoint}/_localstack/health", timeout=2
            ) as response:
                if response.status == 200:
                    say("LocalStack is ready")
                    return
        if time.monotonic() >= next_note:
            say(
                f"LocalStack: still starting ({time.monotonic() - deadline + LOCALSTACK_READY_SECONDS:.0f} s)"
            )
            next_note += HEARTBEAT_SECONDS
        time.sleep(0.25)
    raise TaskFailed(
        f"LocalStack was not healthy after {LOCALSTACK_READY_SECONDS} s; see {LOCALSTACK_LOG}"
    )


def code_checks(python: Path) -> None:
    """ruff (lint and format) and mypy, as configured in pyproject.toml; the first failure stops the run."""
    tools = python.parent
    for tool, *arguments in (
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ):
        label = " ".join([tool, *arguments])
        say(label)
        if run([str(tools / tool), *arguments], label) != 0:
            raise TaskFailed(
                f"{label} found problems (above); `.venv/bin/ruff format .` fixes formatting"
            )


def run_build(args: list[str]) -> int:
    python = ensure(PROJECT)
    return run([str(python), str(ROOT / "build.py"), *args], "build.py")


def run_unit(args: list[str]) -> int:
    """The unit tests alone: no engine, no checkov, no coverage floor."""
    python = ensure(PROJECT)
    say("unit tests (no engine, no checkov)")
    return run(
        [
            str(python),
            "-m",
            "pytest",
            "-n",
            "2",
            "-m",
            "not engine and not checkov",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        "pytest",
    )


def run_tests(args: list[str]) -> int:
    """Everything, with the engine starting while the code checks run."""
    python = ensure(PROJECT)
    checkov = ensure(CHECKOV)
    ensure(LOCALSTACK)
    set_up = time.monotonic()
    with engine_started() as (engine, engine_env):
        code_checks(python)
        wait_until_healthy(engine, engine_env["AWS_ENDPOINT_URL"])
        say("pytest: the whole suite, with coverage of generator/")
        status = run(
            [
                str(python),
                "-m",
                "pytest",
                "-n",
                TEST_WORKERS,
                # Deployment modules whole on one process each, the rest test by test.
                "--dist",
                "loadgroup",
                "-p",
                "no:cacheprovider",
                "--cov=generator",
                "--cov-report=term",
                f"--cov-fail-under={COVERAGE_FLOOR}",
                *args,
            ],
            "pytest",
            env={
                **os.environ,
                **engine_env,
                "TRADING_CHECKOV": str(checkov.parent / "checkov"),
            },
        )
    say(
        f"the test command took {time.monotonic() - set_up:.1f} s once set up ({'passed' if status == 0 else 'FAILED'})"
    )
    return status


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
        _end_session(process)


def run_localstack(_args: list[str]) -> int:
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
        raise TaskFailed(
            f"LocalStack exited with code {engine.returncode}; see {LOCALSTACK_LOG}"
        )


def run_bench(args: list[str]) -> int:
    python = ensure(PROJECT)
    return run([str(python), "-m", "bench", *args], "bench")


def run_lock(args: list[str]) -> int:
    """Resolve each environment's requirements afresh and write what pip chose to constraints/<name>.txt.

    With names (project, localstack, checkov), only those.
    """
    environments = {env.lock_name: env for env in (PROJECT, LOCALSTACK, CHECKOV)}
    unknown = sorted(set(args) - set(environments))
    if unknown:
        raise TaskFailed(
            f"lock: unknown environment(s) {', '.join(unknown)}; choose from {', '.join(environments)}",
            2,
        )
    CONSTRAINTS.mkdir(exist_ok=True)
    for environment in [environments[name] for name in args] or environments.values():
        with tempfile.TemporaryDirectory(prefix="tasks-lock-") as scratch:
            python = Path(scratch) / "bin" / "python"
            say(f"resolving {environment.why} in a fresh environment")
            venv.create(scratch, with_pip=True)
            pip = _pip(python)
            if (
                run(
                    [
                        *pip,
                        "install",
                        "--progress-bar",
                        "off",
                        *environment.requirements,
                    ],
                    f"pip for {environment.name}",
                )
                != 0
            ):
                raise TaskFailed(
                    f"resolving {environment.name} failed (see pip's output above)"
                )
            frozen = subprocess.run(
                [*pip, "freeze", "--exclude-editable"],
                capture_output=True,
                text=True,
                check=True,
            )
            pins = sorted(
                line
                for line in frozen.stdout.splitlines()
                if line and not line.startswith("-e ")
            )
            header = f"# {environment.name}: every package pip chose for {environment.why}.\n"
            header += (
                "# Made by `python3 tasks.py lock`; used by every install into it.\n"
            )
            environment.constraints.write_text(header + "\n".join(pins) + "\n")
            say(
                f"wrote {environment.constraints.relative_to(ROOT)} ({len(pins)} packages)"
            )
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "build": run_build,
    "test": run_tests,
    "unit": run_unit,
    "localstack": run_localstack,
    "bench": run_bench,
    "lock": run_lock,
}


def _terminated(_number: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        public = "|".join(name for name in COMMANDS if not name.startswith("_"))
        print(f"usage: python3 tasks.py {{{public}}} [options]", file=sys.stderr)
        return 2
    passthrough = argv[1:]
    if passthrough[:1] == ["--"]:
        passthrough = passthrough[1:]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # A kill (a CI job cancelled) unwinds like Ctrl-C: the engine and any
    # child run in sessions of their own and would outlive this process.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        return COMMANDS[argv[0]](passthrough)
    except TaskFailed as failure:
        print(f"tasks.py: error: {failure}", file=sys.stderr)
        return failure.code
    except KeyboardInterrupt:
        print("tasks.py: error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
