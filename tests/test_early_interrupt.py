"""A Ctrl-C however early it arrives, from the tool's first line on: one line, exit 130, never a traceback.

Not timed with sleeps, which would land at random: an audit hook, loaded by a
sitecustomize.py on the path, sends SIGINT at exactly the Nth import after the
tool's own first import (generator.startup), for N across the whole start-up of
build.py and of trading-secrets. Before that first line, the interpreter and
pip's console-script wrapper are Python's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.repository import ROOT

HOOK = """
import os, signal, sys
_at = int(os.environ["INTERRUPT_AT_IMPORT"])
_seen = [0]
def _hook(event, args):
    if event != "import" or "generator.startup" not in sys.modules:
        return
    _seen[0] += 1
    if _seen[0] == _at:
        os.kill(os.getpid(), signal.SIGINT)
sys.addaudithook(_hook)
"""
# Imports counted after the guard: a handful, then deep into cfn-lint or boto3, then past the end.
POINTS = [1, 2, 3, 5, 8, 13, 30, 80, 200, 500, 1200]
TOOLS = {
    "build.py": (
        [sys.executable, str(ROOT / "build.py"), "--check", "--quiet"],
        "build.py",
    ),
    "trading-secrets": (
        [
            str(Path(sys.executable).parent / "trading-secrets"),
            "status",
            "--env",
            "dev",
        ],
        "trading-secrets",
    ),
}


@pytest.fixture(scope="module")
def hook_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("early-interrupt")
    (directory / "sitecustomize.py").write_text(HOOK)
    return directory


@pytest.mark.parametrize("tool", sorted(TOOLS))
@pytest.mark.parametrize("at", POINTS)
def test_a_ctrl_c_at_any_import_is_one_line_and_exit_130(hook_dir, tool, at):
    command, prog = TOOLS[tool]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": f"{hook_dir}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "INTERRUPT_AT_IMPORT": str(at),
            # Nowhere to connect: status must not wait on a network before the interrupt.
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode == 130:
        assert done.stderr.splitlines() == [
            f"{prog}: error: interrupted; nothing was written"
        ], done.stderr
    else:
        # Only where the tool had finished importing before the Nth import came.
        assert at >= POINTS[-4], (at, done.returncode, done.stderr)
