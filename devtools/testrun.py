"""The test commands: code checks, then the whole suite with the engine started meanwhile, or the unit tests alone.

Standard library only: tasks.py imports this before any virtual environment exists.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from devtools import engine, profiling
from devtools.environments import CFN_LINT, CHECKOV, LOCALSTACK, PROJECT, ensure
from devtools.processes import ROOT, TaskFailed, run, say

COVERAGE_FLOOR = 90
# Pytest workers: the deployment modules mostly wait on the engine, so one more than the cores.
TEST_WORKERS = "3"
UNIT_SELECTION = "not engine and not checkov"


def test_environment(**extra: str) -> dict[str, str]:
    """This environment for a test run, except that Python keeps its bytecode caches.

    Where PYTHONDONTWRITEBYTECODE is set (it is on these machines), every test
    process and every build or trading-secrets run a test starts would compile
    the project again, and pytest would rewrite every test module's asserts
    (docs/benchmarks.md has the run measured before and after). The caches go
    to __pycache__/, which git ignores.
    """
    environment = {**os.environ, **extra}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


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


def build(args: list[str]) -> int:
    return run([str(ensure(PROJECT)), str(ROOT / "build.py"), *args], "build.py")


def tool_environment(**extra: str) -> dict[str, str]:
    """The test environment, with plain cfn-lint (an environment without the project) named for the CLI test."""
    return test_environment(
        TRADING_CFN_LINT=str(ensure(CFN_LINT).parent / "cfn-lint"), **extra
    )


def unit(args: list[str]) -> int:
    """The unit tests alone: no engine, no checkov, no coverage floor."""
    python = ensure(PROJECT)
    say(
        f"unit tests (no engine, no checkov) on Python {'.'.join(map(str, PROJECT.python_version))}"
    )
    command = [
        str(python),
        "-m",
        "pytest",
        "-n",
        "2",
        "-m",
        UNIT_SELECTION,
        "-p",
        "no:cacheprovider",
        *args,
    ]
    return run(command, "pytest", env=tool_environment())


def whole_suite(args: list[str]) -> int:
    """Everything, with the engine starting while the code checks run.

    With --profile, it also prints where the time went (devtools/profiling.py).
    """
    ledger = profiling.Ledger.start() if profiling.FLAG in args else None
    args = [argument for argument in args if argument != profiling.FLAG]
    python = ensure(PROJECT)
    checkov = ensure(CHECKOV)
    ensure(LOCALSTACK)
    ensure(CFN_LINT)
    set_up = time.monotonic()
    with _measured(ledger, "the test command, once set up"):
        with engine.engine_started() as (process, engine_env):
            with _measured(ledger, "ruff and mypy"):
                code_checks(python)
            engine.wait_until_healthy(process, engine_env["AWS_ENDPOINT_URL"])
            say("pytest: the whole suite, with coverage of generator/")
            command = [
                str(python), "-m", "pytest", "-n", TEST_WORKERS,
                # Deployment modules whole on one process each, the rest test by test.
                "--dist", "loadgroup", "-p", "no:cacheprovider",
                "--cov=generator", "--cov-report=term", f"--cov-fail-under={COVERAGE_FLOOR}",
                *args,
            ]  # fmt: skip
            env = tool_environment(
                **engine_env,
                TRADING_CHECKOV=str(checkov.parent / "checkov"),
                **(ledger.environment() if ledger else {}),
            )
            with _measured(ledger, "pytest, its test processes and their children"):
                status = run(command, "pytest", env=env)
    outcome = "passed" if status == 0 else "FAILED"
    if ledger is not None:
        # The engine is the one child left: what the whole run cost beyond the steps above.
        steps = ledger.steps
        whole = steps.pop("the test command, once set up")
        steps["LocalStack (the engine)"] = {
            "wall": whole["wall"],
            "cpu": whole["cpu"] - sum(figures["cpu"] for figures in steps.values()),
        }
        for line in profiling.report(ledger):
            print(line, flush=True)
    say(
        f"the test command took {time.monotonic() - set_up:.1f} s once set up ({outcome})"
    )
    return status


def _measured(
    ledger: profiling.Ledger | None, name: str
) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext() if ledger is None else ledger.step(name)


def bench(args: list[str]) -> int:
    return run([str(ensure(PROJECT)), "-m", "bench", *args], "bench")
