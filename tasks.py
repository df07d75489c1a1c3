#!/usr/bin/env python3
"""The two entry points of the README, needing only Python 3.11 and pip.

    python3 tasks.py build [build.py options]   generate and validate the templates
    python3 tasks.py test  [pytest options]     run the whole test suite

Each creates `.venv` (git-ignored) on first use and reinstalls the project
there whenever setup.cfg or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
COVERAGE_FLOOR = 90


def _requirements_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("setup.cfg", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


def ensure_venv() -> Path:
    """Create the project's virtual environment and install the project into it, once per requirement change."""
    stamp = VENV / f".installed-{_requirements_fingerprint()}"
    if stamp.exists():
        return VENV_PYTHON
    if not VENV_PYTHON.exists():
        print("tasks.py: creating .venv", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    print("tasks.py: installing the project and its test tools into .venv", file=sys.stderr)
    pip = [str(VENV_PYTHON), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()
    return VENV_PYTHON


def run_build(args: list[str]) -> int:
    python = ensure_venv()
    return subprocess.call([str(python), str(ROOT / "build.py"), *args], cwd=ROOT)


def run_tests(args: list[str]) -> int:
    python = ensure_venv()
    return subprocess.call(
        [
            str(python), "-m", "pytest",
            "--cov=generator", "--cov-report=term", f"--cov-fail-under={COVERAGE_FLOOR}",
            *args,
        ],
        cwd=ROOT,
    )


COMMANDS = {"build": run_build, "test": run_tests}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python3 tasks.py {{{'|'.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    passthrough = argv[1:]
    if passthrough[:1] == ["--"]:
        passthrough = passthrough[1:]
    try:
        return COMMANDS[argv[0]](passthrough)
    except subprocess.CalledProcessError as error:
        print(f"tasks.py: error: {' '.join(map(str, error.cmd[:6]))} failed with exit code {error.returncode}", file=sys.stderr)
        return error.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
