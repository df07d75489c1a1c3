"""cfn-lint through its API: findings by rule id, informational checks, parameter files, and the workers."""

from __future__ import annotations

import json

import pytest
from support.repository import ROOT

from generator.build import generate
from generator.checks.lint import LintJob, LintWorkers
from generator.environments import get_environment


def _job(text: str, regions=("us-east-1",), parameters=None) -> LintJob:
    return LintJob(text, tuple(regions), parameters or {}, "none")


def test_linter_reports_errors_with_rule_id(linter):
    """Linted now, whatever the session's linter remembers: cfn-lint's API runs in this process on every run."""
    template = json.loads(generate(get_environment("dev")))
    template["Resources"]["SecretsKey"]["Properties"]["PendingWindowInDays"] = 3
    findings = linter.lint_now(_job(json.dumps(template)))
    assert any(
        f.startswith("cfn-lint E") and "PendingWindowInDays" in f for f in findings
    ), findings


def test_linter_includes_informational_checks(linter):
    template = json.loads(generate(get_environment("dev")))
    del template["Resources"]["AlphaVantageCredentials"]["DeletionPolicy"]
    findings = linter.lint(_job(json.dumps(template)))
    assert any(f.startswith("cfn-lint I3011") for f in findings), findings


def test_linter_checks_parameter_file_values(linter):
    findings = linter.lint(
        _job(generate(get_environment("dev")), parameters={"Unknown": "x"})
    )
    assert any("E2900" in f and "Unknown" in f for f in findings), findings


def test_linter_reports_unparseable_text(linter):
    assert linter.lint_now(_job("{not json"))


def test_linter_refuses_an_unknown_region(linter):
    findings = linter.lint_now(
        _job(generate(get_environment("prod")), regions=("us-east-1", "xx-nowhere-1"))
    )
    assert findings == ["cfn-lint: unknown region(s) xx-nowhere-1"]


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "two-processes"])
def test_lint_workers_can_lint_more_than_once_per_block_and_be_entered_again(workers):
    # One-resource templates: this is about the pool, and each lint of a whole stack costs a second.
    good = _job(json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}))
    bad = _job(
        json.dumps(
            {
                "Resources": {
                    "Key": {
                        "Type": "AWS::KMS::Key",
                        "Properties": {"PendingWindowInDays": 3},
                    }
                }
            }
        )
    )
    pool = LintWorkers(ROOT / ".cfnlintrc", templates=2, max_workers=workers)
    with pool as lint_workers:
        first = lint_workers.lint([good, bad])
        second = lint_workers.lint([bad])
    with pool as lint_workers:
        third = lint_workers.lint([good])
    assert first[0] == [] and first[1] and second == [first[1]] and third == [[]]
