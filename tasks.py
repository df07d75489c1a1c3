#!/usr/bin/env python3
"""The README's entry points, needing only CPython 3.11, 3.12 or 3.13 and pip.

    python3 tasks.py build [build.py options]    generate and validate the templates
    python3 tasks.py test  [pytest options]      the whole suite: code checks, unit, gates, deployments
    python3 tasks.py unit  [pytest options]      the unit tests alone: no engine, no checkov, no coverage floor
    python3 tasks.py localstack                  the local engine in the foreground, on loopback, behind
                                                 the AWS-strict proxy (then: trading-secrets deploy)
    python3 tasks.py bench [--runs N]            benchmark the build (beside `cdk synth`), the gate, accounts
    python3 tasks.py lock [project|localstack|checkov|cfnlint]
                                                 regenerate constraints/*.txt from the requirements

The work is done by devtools/ (standard library only, importable before any
virtual environment exists): environments, processes, the engine, the test run.
"""

from __future__ import annotations

import sys

SUPPORTED_PYTHONS = ((3, 11), (3, 12), (3, 13))
if sys.version_info[:2] not in SUPPORTED_PYTHONS:
    # Before anything is created: nothing is made by a Python the project was never tried on.
    found = ".".join(map(str, sys.version_info[:3]))
    print(
        f"tasks.py: error: needs CPython 3.11, 3.12 or 3.13 (this is {found}); "
        "run it as `python3.13 tasks.py ...`, for example",
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

from collections.abc import Callable

from devtools import engine, environments, testrun
from devtools.processes import TaskFailed

COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "build": testrun.build,
    "test": testrun.whole_suite,
    "unit": testrun.unit,
    "localstack": engine.serve,
    "bench": testrun.bench,
    "lock": environments.lock,
}


def _terminated(_number: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(
            f"usage: python3 tasks.py {{{'|'.join(COMMANDS)}}} [options]",
            file=sys.stderr,
        )
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
