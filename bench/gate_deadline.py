"""How long the go-live gate takes to give its verdict when AWS never answers: `status` at its default deadline.

The endpoint is a socket on loopback that accepts every connection and never
says a word, the worst an endpoint can do: every call waits out its own
timeout. `trading-secrets status --env prod` runs against it as a user runs
it, whole (interpreter start and imports included), and must have exited, with
UNKNOWN (exit 11), by its deadline plus 10 s. The deployment tests show the
same bound for short deadlines under each fault the proxy injects; this is
the one run at the default, 60 s.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from generator.errors import ExitCode
from generator.ops.cli import DEFAULT_DEADLINE_SECONDS

# The process has exited, with its verdict, by the deadline plus this (issue 24).
GRACE_SECONDS = 10
DEFAULT_DEADLINE = DEFAULT_DEADLINE_SECONDS


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """http://127.0.0.1:<port>: accepts connections and never answers them, until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)  # kept open, never read, never answered

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(timeout=2)
        for connection in held:
            connection.close()
        listener.close()


def main(deadline: float | None = None) -> dict[str, Any]:
    """One run of `status --env prod` against the silent endpoint: its wall time, exit code and bound."""
    tool = Path(sys.executable).parent / "trading-secrets"
    command = [str(tool), "status", "--env", "prod"]
    if deadline is not None:
        command += ["--deadline", str(deadline)]
    shown = deadline if deadline is not None else DEFAULT_DEADLINE_SECONDS
    with silent_endpoint() as url:
        environment = {
            **os.environ,
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        started = time.perf_counter()
        done = subprocess.run(
            command,
            env=environment,
            capture_output=True,
            text=True,
            timeout=shown + 5 * GRACE_SECONDS,
            check=False,  # exit 11 is the figure, not a failure
        )
        wall = time.perf_counter() - started
    verdict = next(
        (line for line in done.stdout.splitlines() if line.startswith("prod: ")), ""
    )
    return {
        "deadline_s": shown,
        "bound_s": shown + GRACE_SECONDS,
        "wall_s": round(wall, 2),
        "exit": done.returncode,
        "unknown": done.returncode == ExitCode.UNKNOWN and "UNKNOWN" in verdict,
        "met": wall <= shown + GRACE_SECONDS and done.returncode == ExitCode.UNKNOWN,
    }


if __name__ == "__main__":
    print(main())
