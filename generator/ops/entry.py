"""The `trading-secrets` console script: the early-interrupt guard first, then the tool."""

from __future__ import annotations

import logging
import os
import sys

from generator.startup import interrupt_in_one_line, loaded


def main() -> int:
    interrupt_in_one_line("trading-secrets", "nothing was written")
    from generator.ops.aws import calls_abandoned  # noqa: PLC0415 - boto3 loads under the guard
    from generator.ops.cli import main as run_the_tool  # noqa: PLC0415

    loaded()
    code = run_the_tool()
    if calls_abandoned():
        # After a second Ctrl-C the calls in flight still hold their threads, and the interpreter would
        # join them at exit (their read timeout, 25 s at most), where a third Ctrl-C ends in threading's
        # own traceback. The report has said their outcome is unknown: leave now.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
