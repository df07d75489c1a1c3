from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import settings

from generator.build import generate
from generator.checks.lint import Linter
from generator.environments import ENVIRONMENTS
from helpers import ROOT

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
