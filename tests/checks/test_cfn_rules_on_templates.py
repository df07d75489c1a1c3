"""The AWS-semantics rules as the build and the cfn-lint CLI run them: on whole templates, through .cfnlintrc."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from support.repository import ROOT
from support.rule_fragments import findings

from generator.checks.lint import LintJob, custom_rule_files
from generator.checks.lint_cache import LintVerdictCache


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
