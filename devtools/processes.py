"""Running a step: one line per event on stderr, output passed through, a heartbeat, and Ctrl-C that stops it.

Standard library only: tasks.py imports this before any virtual environment exists.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STARTED = time.monotonic()
# A step that prints nothing for this long gets a line saying it is still going.
HEARTBEAT_SECONDS = 10


# tasks.py's exit codes (docs/development.md has their table; tests/test_exit_code_tables.py keeps it so).
EXIT_CODES = {0: "OK", 1: "FAILED", 2: "USAGE", 130: "INTERRUPTED"}


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
    only tasks.py says one line.
    """
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # From the moment the child exists: a Ctrl-C that lands while the reader
    # starts would otherwise leave it running in its own session.
    try:
        return _follow(process, label)
    except BaseException:
        end_session(process)
        raise


def _follow(process: subprocess.Popen[bytes], label: str) -> int:
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
    while process.poll() is None:
        time.sleep(0.2)
        if time.monotonic() - last_output[0] >= HEARTBEAT_SECONDS:
            if not at_line_start[0]:
                print(flush=True)
                at_line_start[0] = True
            say(f"{label}: still running ({time.monotonic() - started:.0f} s)")
            last_output[0] = time.monotonic()
    reader.join(timeout=5)
    return process.returncode


def end_session(process: subprocess.Popen[Any]) -> None:
    """Stop `process` and everything in its session: SIGTERM, then SIGKILL after 20 s."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
