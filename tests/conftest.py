from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.build import generate
from generator.environments import ENVIRONMENTS
from generator.validation import Linter
from helpers import ROOT


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

