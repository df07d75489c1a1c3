"""The AWS-semantics rules as the build and the cfn-lint CLI run them: on whole templates, through .cfnlintrc."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.repository import ROOT
from support.rule_fragments import findings, without_eventbridge_key_use

from generator.checks.lint import LintJob, custom_rule_files
from generator.checks.lint_cache import LintVerdictCache


def test_plain_cfn_lint_with_the_repositorys_config_reports_the_rules(tmp_path):
    """As an editor or pre-commit runs it: the CLI, from the repository root, on a planted template."""
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    planted = copy.deepcopy(template)
    planted["Resources"]["SecretAccessDeniedRule"]["Properties"]["State"] = "ENABLED"
    planted["Resources"]["AlpacaCredentials"]["DeletionPolicy"] = "Retain"
    planted = without_eventbridge_key_use(planted)
    path = tmp_path / "planted.json"
    path.write_text(json.dumps(planted, indent=2))
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint
    done = subprocess.run(
        [cfn_lint, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "E9101 SecretAccessDeniedRule matches read-only calls" in done.stdout
    assert "E9121 AlpacaCredentials has DeletionPolicy Retain" in done.stdout
    assert "E9105 AlertsKey encrypts AlertTopic" in done.stdout
    # That the same command passes on the committed templates is the pre-commit
    # hook's test (tests/test_release.py).


def test_the_rule_files_are_part_of_the_lint_cache_key(tmp_path):
    config = tmp_path / ".cfnlintrc"
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "extra.py").write_text("# a rule\n")
    config.write_text("append_rules:\n  - rules\n")
    assert custom_rule_files(config) == [rules / "extra.py"]
    job = LintJob("{}", ("us-east-1",), {}, "p")
    before = LintVerdictCache(tmp_path / "cache", config).key(job)
    (rules / "extra.py").write_text("# a changed rule\n")
    assert LintVerdictCache(tmp_path / "cache", config).key(job) != before


def without_statement(
    template: dict[str, Any], logical_id: str, sid: str
) -> dict[str, Any]:
    """Today's template with one policy statement taken out of one resource."""
    planted = copy.deepcopy(template)
    properties = planted["Resources"][logical_id]["Properties"]
    document = properties.get("KeyPolicy") or properties["PolicyDocument"]
    kept = [s for s in document["Statement"] if s.get("Sid") != sid]
    assert len(kept) == len(document["Statement"]) - 1
    document["Statement"] = kept
    return planted


@pytest.mark.parametrize(
    "rule_id, logical_id, sid, phrase",
    [
        (
            "E9109",
            "AlertsKey",
            "AllowStackAlarmsToPublishToEncryptedTopic",
            "AlertsKey encrypts AlertTopic, which alarms notify, but its policy does not let cloudwatch",
        ),
        (
            "E9110",
            "AlertTopicPolicy",
            "AllowStackAlarmsToPublish",
            "AlertTopicPolicy sets the policy of a topic that alarms notify, but does not let cloudwatch",
        ),
    ],
)
def test_the_alarm_path_rules_catch_todays_template_without_its_statement(
    rule_id, logical_id, sid, phrase
):
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    assert findings(rule_id, template) == []
    found = findings(rule_id, without_statement(template, logical_id, sid))
    assert len(found) == 1 and phrase in found[0]
