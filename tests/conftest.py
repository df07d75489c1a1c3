from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from generator.build import generate
from generator.checks.lint import Linter
from generator.environments import ENVIRONMENTS
from helpers import (
    DEPLOY_TIMINGS_KEY,
    DEPLOY_TIMINGS_REPORT,
    ROOT,
    deploy_timings_table,
    write_deploy_timings,
)

# The same examples on every run, and no deadline on a busy machine: a test
# run must not pass or fail by chance.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.load_profile("repeatable")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def linter() -> Linter:
    """One rule set for the whole session, as the build uses it."""
    return Linter(ROOT / ".cfnlintrc")


@pytest.fixture(scope="session")
def templates() -> dict[str, dict]:
    return {name: json.loads(generate(env)) for name, env in ENVIRONMENTS.items()}


@pytest.fixture(scope="session")
def passed_lint_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lint cache holding cfn-lint's passes of the committed templates, filled by one real build per test process."""
    from generator.build import build

    directory = tmp_path_factory.mktemp("passed-lint-cache")
    build(
        list(ENVIRONMENTS.values()),
        directory / "templates",
        ROOT / "params",
        ROOT / ".cfnlintrc",
        cache_dir=directory / "cache",
    )
    return directory / "cache"


@pytest.fixture
def warm_lint_cache(passed_lint_cache: Path, tmp_path: Path) -> Path:
    """A copy of that cache, for a test about something other than cfn-lint: it spends no time linting
    the committed templates again, and whatever it changes is linted as usual."""
    import shutil

    cache = tmp_path / "warm-lint-cache"
    shutil.copytree(passed_lint_cache, cache)
    return cache


@pytest.fixture
def params_copy(tmp_path, root) -> Path:
    """A copy of the parameter files, to break without touching the repository."""
    target = tmp_path / "params"
    shutil.copytree(root / "params", target)
    return target


@pytest.fixture
def committed_copy(tmp_path, root) -> Path:
    """A copy of the committed templates, to edit and rebuild without touching the repository."""
    target = tmp_path / "templates"
    shutil.copytree(root / "templates", target)
    return target


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook; absent without it
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the controller: gather each worker's deploy timings (tests/integration/conftest.py sends them)."""
    gathered = json.loads(node.workeroutput.get("deploy_timings", "[]"))
    node.config.stash.setdefault(DEPLOY_TIMINGS_KEY, []).extend(gathered)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Every deployment's create time, from every test process, printed once and written for bench/."""
    if hasattr(config, "workeroutput"):
        return
    entries = config.stash.get(DEPLOY_TIMINGS_KEY, [])
    if not entries:
        return
    write_deploy_timings(entries)
    terminalreporter.section(
        "deployment timings (LocalStack; the ticket's bar is < 120 s per secret)"
    )
    for line in deploy_timings_table(entries):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"written to {DEPLOY_TIMINGS_REPORT.relative_to(ROOT)}")
