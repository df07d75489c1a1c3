#!/usr/bin/env python3
"""The two entry points of the README, needing only Python 3.11 and pip.

    python3 tasks.py build [build.py options]   generate and validate the templates
    python3 tasks.py test  [pytest options]     run the whole test suite
    python3 tasks.py bench [--deploy] [--runs N] benchmark the build (and deployments)

Each creates `.venv` (git-ignored) on first use and reinstalls the project
there whenever setup.cfg or pyproject.toml change.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
COVERAGE_FLOOR = 90

# LocalStack, the real CloudFormation engine of the deployment tests, lives in
# its own virtual environment: its pins clash with taskcat's (jsonschema, urllib3).
# 4.10.0 is the last release that runs on Python 3.11; the extra pins are what
# it needs on these machines (see shared LOCALSTACK.md).
LOCALSTACK_VENV = ROOT / ".venv-localstack"
LOCALSTACK_REQUIREMENTS = (
    "localstack-core[runtime]==4.10.0",
    "cbor2<5.7",
    "pyOpenSSL==25.1.0",
    "cryptography>=45,<46",
    "service_identity",
)
LOCALSTACK_SERVICES = "cloudformation,secretsmanager,kms,s3,sts,iam,events,sns,cloudwatch,logs,ssm,ec2"
LOCALSTACK_LOG = ROOT / ".localstack" / "localstack.log"
LOCALSTACK_READY_SECONDS = 120

# checkov, the independent template scanner of the security gates, also lives
# in its own environment: it needs jsonschema 4 and urllib3 2, taskcat pins 3 and 1.
CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV_REQUIREMENTS = ("checkov==3.3.30",)


def _fingerprint(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:16]


def _python_of(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ensure(venv_dir: Path, fingerprint: str, install_args: list[str]) -> Path:
    """Create `venv_dir` and pip-install into it, once per fingerprint of what it should hold."""
    python = _python_of(venv_dir)
    stamp = venv_dir / f".installed-{fingerprint}"
    if stamp.exists():
        return python
    if not python.exists():
        print(f"tasks.py: creating {venv_dir.name}", file=sys.stderr)
        venv.create(venv_dir, with_pip=True)
    print(f"tasks.py: installing into {venv_dir.name}: {' '.join(install_args)}", file=sys.stderr)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", *install_args], check=True)
    for old in venv_dir.glob(".installed-*"):
        old.unlink()
    stamp.touch()
    return python


def ensure_venv() -> Path:
    """The project's virtual environment, with the project and its test tools installed."""
    fingerprint = _fingerprint((ROOT / "setup.cfg").read_bytes(), (ROOT / "pyproject.toml").read_bytes())
    return _ensure(VENV, fingerprint, ["-e", f"{ROOT}[test]"])


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + LOCALSTACK_READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"LocalStack exited with code {process.returncode} while starting; see {LOCALSTACK_LOG}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"LocalStack was not healthy after {LOCALSTACK_READY_SECONDS} s; see {LOCALSTACK_LOG}")


@contextlib.contextmanager
def localstack():
    """LocalStack in host mode on a free loopback port, stopped on the way out whatever happens.

    Yields the environment variables that point boto3 (and so taskcat) at it.
    """
    python = _ensure(LOCALSTACK_VENV, _fingerprint(*(r.encode() for r in LOCALSTACK_REQUIREMENTS)), list(LOCALSTACK_REQUIREMENTS))
    port = _free_loopback_port()
    LOCALSTACK_LOG.parent.mkdir(exist_ok=True)
    data_dir = LOCALSTACK_LOG.parent / "state"
    engine_env = {
        **os.environ,
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "SERVICES": LOCALSTACK_SERVICES,
        "LOCALSTACK_VOLUME_DIR": str(data_dir),
        "DISABLE_EVENTS": "1",  # no usage analytics: nothing leaves the machine
        "SKIP_SSL_CERT_DOWNLOAD": "1",
    }
    print(f"tasks.py: starting LocalStack on 127.0.0.1:{port} (log: {LOCALSTACK_LOG})", file=sys.stderr)
    with open(LOCALSTACK_LOG, "w") as log:
        process = subprocess.Popen(
            [str(python), "-m", "localstack.runtime.main"],
            env=engine_env, stdout=log, stderr=subprocess.STDOUT, cwd=LOCALSTACK_LOG.parent,
            start_new_session=True,
        )
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}/_localstack/health", process)
        yield {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Stop LocalStack and everything it started (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    print("tasks.py: LocalStack stopped", file=sys.stderr)


def run_build(args: list[str]) -> int:
    python = ensure_venv()
    return subprocess.call([str(python), str(ROOT / "build.py"), *args], cwd=ROOT)


def ensure_checkov() -> Path:
    python = _ensure(CHECKOV_VENV, _fingerprint(*(r.encode() for r in CHECKOV_REQUIREMENTS)), list(CHECKOV_REQUIREMENTS))
    return python.parent / "checkov"


def run_tests(args: list[str]) -> int:
    """The whole suite (unit, security gates, deployment) with LocalStack running for its duration."""
    python = ensure_venv()
    checkov = ensure_checkov()
    with localstack() as engine_env:
        return subprocess.call(
            [
                str(python), "-m", "pytest",
                "--cov=generator", "--cov-report=term", f"--cov-fail-under={COVERAGE_FLOOR}",
                *args,
            ],
            cwd=ROOT,
            env={**os.environ, **engine_env, "TRADING_CHECKOV": str(checkov)},
        )


def run_bench(args: list[str]) -> int:
    """The benchmark (bench/); with --deploy, LocalStack runs around it so deployments are timed too."""
    python = ensure_venv()
    command = [str(python), "-m", "bench", *[arg for arg in args if arg != "--deploy"]]
    if "--deploy" not in args:
        return subprocess.call(command, cwd=ROOT)
    with localstack() as engine_env:
        return subprocess.call(command, cwd=ROOT, env={**os.environ, **engine_env})


COMMANDS = {"build": run_build, "test": run_tests, "bench": run_bench}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python3 tasks.py {{{'|'.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    passthrough = argv[1:]
    if passthrough[:1] == ["--"]:
        passthrough = passthrough[1:]
    try:
        return COMMANDS[argv[0]](passthrough)
    except RuntimeError as error:
        print(f"tasks.py: error: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"tasks.py: error: {' '.join(map(str, error.cmd[:6]))} failed with exit code {error.returncode}", file=sys.stderr)
        return error.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
