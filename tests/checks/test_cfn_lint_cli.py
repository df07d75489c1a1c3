"""Plain cfn-lint, as pre-commit, an editor or a CI action runs it: the CLI, from the repository root, with .cfnlintrc.

One run covers everything: the committed templates, which must give no
finding (pre-commit's cfn-lint hook, on the files it matches), and planted
templates: today's prod template with three faults planted, and the bad
fragment of every AWS-semantics rule (tests/support/rule_fragments.py), each of
which must raise its rule's id. The run's output is remembered for unchanged
inputs (tests/support/verdicts.py): a changed template, rule file or
.cfnlintrc runs cfn-lint again.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import verdicts
from support.repository import ROOT
from support.rule_fragments import CASES, RULES, without_eventbridge_key_use

from generator.checks.lint import custom_rule_files

PLANTED = ROOT / ".cache" / "planted-templates"
CONFIG = ROOT / ".cfnlintrc"
RULES_DIRECTORY = ROOT / "generator" / "checks" / "cfn_rules"


def pre_commit_hook() -> dict[str, Any]:
    repos = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
    return next(
        hook
        for repo in repos
        if repo["repo"] == "local"
        for hook in repo["hooks"]
        if hook["id"] == "cfn-lint"
    )


def committed_templates() -> list[Path]:
    """What pre-commit's cfn-lint hook lints: the tracked files its pattern matches."""
    pattern = re.compile(pre_commit_hook()["files"])
    return sorted(
        path
        for path in (ROOT / "templates").rglob("*")
        if path.is_file() and pattern.search(str(path.relative_to(ROOT)))
    )


def planted_prod() -> dict[str, Any]:
    """Today's prod template with three faults a reviewer could miss."""
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    planted = copy.deepcopy(template)
    planted["Resources"]["SecretAccessDeniedRule"]["Properties"]["State"] = "ENABLED"
    planted["Resources"]["AlpacaCredentials"]["DeletionPolicy"] = "Retain"
    return without_eventbridge_key_use(planted)


PLANTED_PROD_FINDS = {
    "E9101": "SecretAccessDeniedRule matches read-only calls",
    "E9121": "AlpacaCredentials has DeletionPolicy Retain",
    "E9105": "AlertsKey encrypts AlertTopic",
}


def plant() -> dict[str, Path]:
    """Write the planted templates where their paths never change (the record's key holds them); name -> path."""
    if PLANTED.exists():
        shutil.rmtree(PLANTED)
    PLANTED.mkdir(parents=True)
    planted = {"prod": planted_prod()}
    for rule_id, (_good, bad, _phrase) in CASES.items():
        planted[rule_id] = {"AWSTemplateFormatVersion": "2010-09-09", **bad}
    paths = {}
    for name, template in planted.items():
        paths[name] = PLANTED / f"{name}.json"
        paths[name].write_text(json.dumps(template, indent=1, sort_keys=True) + "\n")
    return paths


def cfn_lint() -> Path:
    """Plain cfn-lint from an environment without the project (.venv-cfnlint), as tasks.py names it.

    Not .venv's: there the project is installed, and a rule file that imports
    it would load; an editor's or a CI action's cfn-lint has no project.
    """
    named = os.environ.get("TRADING_CFN_LINT", "")
    assert named, (
        "TRADING_CFN_LINT is not set: run the suite through python3 tasks.py test (or unit), "
        "which installs plain cfn-lint into .venv-cfnlint and names it"
    )
    return Path(named)


def findings_by_file(output: str) -> dict[str, list[tuple[str, str]]]:
    """cfn-lint's parseable format: path:line:column:line:column:rule:message."""
    found: dict[str, list[tuple[str, str]]] = {}
    for line in output.splitlines():
        parts = line.split(":", 6)
        if len(parts) == 7:
            found.setdefault(parts[0], []).append((parts[5], parts[6]))
    return found


@pytest.fixture(scope="module")
def cli_run() -> tuple[verdicts.ToolRun, list[Path], dict[str, Path]]:
    committed = committed_templates()
    planted = plant()
    files = [*committed, *planted.values()]
    command = [
        str(cfn_lint()),
        "--format",
        "parseable",
        *(str(path.relative_to(ROOT)) for path in files),
    ]
    run = verdicts.run(
        command,
        inputs=[*files, CONFIG, RULES_DIRECTORY],
        tool=verdicts.installed(cfn_lint()),
        # cfn-lint exits 1 when it crashes; findings are bits 2, 4 and 8.
        sound=lambda done: done.returncode != 1,
    )
    return run, committed, planted


def test_the_committed_templates_give_no_finding(cli_run):
    run, committed, _ = cli_run
    assert run.returncode != 1, run.stderr[-3000:]
    assert sorted(str(path.relative_to(ROOT / "templates")) for path in committed) == [
        "dev/secrets.json",
        "prod/execution-role.json",
        "prod/operator-role.json",
        "prod/secrets.json",
        "staging/secrets.json",
    ]
    found = findings_by_file(run.stdout)
    for path in committed:
        assert found.get(str(path.relative_to(ROOT)), []) == []


def test_every_rule_fires_on_its_planted_fragment_and_the_planted_template(cli_run):
    run, _, planted = cli_run
    found = findings_by_file(run.stdout)
    relative = {name: str(path.relative_to(ROOT)) for name, path in planted.items()}
    assert sorted(CASES) == sorted(RULES)
    for rule_id in CASES:
        assert rule_id in {rule for rule, _ in found.get(relative[rule_id], [])}, (
            rule_id,
            found.get(relative[rule_id]),
        )
    prod = found[relative["prod"]]
    for rule_id, phrase in PLANTED_PROD_FINDS.items():
        assert any(rule == rule_id and phrase in message for rule, message in prod), (
            rule_id,
            prod,
        )
    # Only the planted faults: nothing else in today's template is wrong.
    assert {rule for rule, _ in prod} == set(PLANTED_PROD_FINDS)


def test_the_cli_is_one_without_the_project():
    """The environment the CLI run uses cannot import the project: a rule that did would not load there."""
    python = cfn_lint().with_name("python")
    done = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util, sys; sys.exit(importlib.util.find_spec('generator') is None)",
        ],
        cwd=cfn_lint().parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, "the project is importable where plain cfn-lint runs"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def rule_file_imports_outside(path: Path) -> set[str]:
    """What a rule file imports beyond cfn-lint and the standard library."""
    return (
        _imported_modules(path)
        - set(sys.stdlib_module_names)
        - {"cfnlint", "__future__"}
    )


def test_no_rule_file_imports_anything_but_cfn_lint_and_the_standard_library(tmp_path):
    assert {path.name for path in RULES_DIRECTORY.glob("*.py")} >= {
        "reading.py",
        "watchers.py",
    }
    for path in RULES_DIRECTORY.glob("*.py"):
        assert not rule_file_imports_outside(path), (
            path.name,
            rule_file_imports_outside(path),
        )
    # The check can fail: a rule file as three of them were before.
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from generator.checks.cfn_rules.reading import as_list\nimport yaml\n"
    )
    assert rule_file_imports_outside(planted) == {"generator", "yaml"}


def test_the_run_covers_every_rule_file_and_the_configuration():
    """What the record's key holds: a rule file or .cfnlintrc that changes runs cfn-lint again."""
    assert set(custom_rule_files(CONFIG)) <= set(RULES_DIRECTORY.glob("*.py"))
    assert yaml.safe_load(CONFIG.read_text())["append_rules"] == [
        str(RULES_DIRECTORY.relative_to(ROOT))
    ]


def test_a_changed_rule_file_runs_the_check_again(tmp_path):
    """The record's key, on a copy of the rules: one changed byte in a rule file is a new key."""
    rules = tmp_path / "cfn_rules"
    shutil.copytree(
        RULES_DIRECTORY, rules, ignore=shutil.ignore_patterns("__pycache__")
    )
    command = ["cfn-lint", "templates/prod/secrets.json"]
    inputs = [CONFIG, rules]
    before = verdicts.key(command, inputs, "cfn-lint")
    assert verdicts.key(command, inputs, "cfn-lint") == before
    rule_file = rules / "retention.py"
    rule_file.write_text(rule_file.read_text() + "\n")
    assert verdicts.key(command, inputs, "cfn-lint") != before
