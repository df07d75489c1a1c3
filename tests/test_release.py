"""What ties a deployed stack to its code: the version in each template, the changelog, the pre-commit hooks."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import yaml
from packaging.version import Version
from support.repository import ENV_NAMES, ROOT

from generator import __version__
from generator.build import generate
from generator.environments import ENVIRONMENTS


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_every_template_records_the_generator_version(env_name):
    metadata = json.loads(generate(ENVIRONMENTS[env_name]))["Metadata"]
    assert metadata["TradingSecretsGenerator"] == {
        "Version": __version__,
        "MadeBy": "build.py",
    }


def test_the_changelog_leads_with_this_version():
    """A release leads with its own entry; a development version with Unreleased, above an older release."""
    headings = re.findall(
        r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE
    )
    if Version(__version__).is_devrelease:
        assert headings[0] == "Unreleased"
        assert Version(headings[1]) < Version(__version__)
    else:
        assert headings[0] == __version__


def test_the_package_version_is_the_generators():
    from importlib.metadata import version

    assert version("trading-secrets") == __version__


REPOS = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
# The local hooks, run from .venv; the remote ones pre-commit installs itself.
HOOKS = {
    hook["id"]: hook
    for repo in REPOS
    if repo["repo"] == "local"
    for hook in repo["hooks"]
}


def _pinned(package: str) -> str:
    [pin] = re.findall(
        rf"^{package}==(\S+)$",
        (ROOT / "constraints" / "project.txt").read_text(),
        re.MULTILINE,
    )
    return pin


def test_ruff_and_mypy_hooks_come_from_their_repositories_at_the_pinned_versions():
    """They run before .venv exists, and find what the test command's ruff and mypy find."""
    remote = {repo["repo"]: repo for repo in REPOS if repo["repo"] != "local"}
    ruff = remote["https://github.com/astral-sh/ruff-pre-commit"]
    mypy = remote["https://github.com/pre-commit/mirrors-mypy"]
    assert ruff["rev"] == f"v{_pinned('ruff')}"
    assert [hook["id"] for hook in ruff["hooks"]] == ["ruff", "ruff-format"]
    assert mypy["rev"] == f"v{_pinned('mypy')}"
    [hook] = mypy["hooks"]
    # mypy sees the same libraries as in .venv, at the same versions.
    for dependency in hook["additional_dependencies"]:
        package, version = dependency.split("==")
        assert version == _pinned(package), dependency


def test_pre_commit_runs_the_build_check_and_cfn_lint():
    """What each hook runs, the suite runs too: `build.py --check` in tests/test_build_cli.py, and
    cfn-lint on the files the hook matches in tests/checks/test_cfn_lint_cli.py."""
    assert set(HOOKS) == {"templates-match-the-code", "cfn-lint"}
    check = HOOKS["templates-match-the-code"]
    assert shlex.split(check["entry"])[1:] == ["build.py", "--check", "--quiet"]
    assert check["pass_filenames"] is False
    assert HOOKS["cfn-lint"]["entry"] == ".venv/bin/cfn-lint"
