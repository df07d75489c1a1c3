"""checkov, an independent scanner, over every generated template: 0 failed checks, offline.

`python3 tasks.py test` installs checkov into its own environment and says
where through TRADING_CHECKOV; these tests fail, never skip, without it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support import verdicts
from support.repository import ENV_NAMES, ROOT

SCANNED = ROOT / ".cache" / "checkov-scan"
# One test process for the module: its one checkov run takes seconds to start.
pytestmark = [pytest.mark.checkov, pytest.mark.xdist_group("checkov")]


def run_checkov(directory: Path) -> dict:
    """checkov's report on `directory`, remembered while nothing it reads changes (tests/support/verdicts.py)."""
    checkov = os.environ.get("TRADING_CHECKOV", "")
    if not checkov or not os.path.exists(checkov):
        pytest.fail(
            "the checkov gate needs checkov: run the suite through `python3 tasks.py test`"
        )
    done = verdicts.run(
        [
            checkov,
            "--directory",
            str(directory),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
        ],
        # Its configuration is the command line above; there is no checkov config file.
        inputs=[directory],
        tool=verdicts.installed(Path(checkov)),
        # 1 means checks failed; anything else is a crash, never remembered.
        sound=lambda run: run.returncode in (0, 1),
        # No update check: the machine, like CI, may have no internet.
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout)
    return report[0] if isinstance(report, list) else report


def failed_checks(report: dict) -> list[str]:
    return sorted(
        f"{c['check_id']} {c['resource']} ({c['check_name']})"
        for c in report["results"]["failed_checks"]
    )


def planted_template() -> dict:
    """prod with a secret under no CMK and a key policy that lets anyone do anything."""
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    del template["Resources"]["AlpacaCredentials"]["Properties"]["KmsKeyId"]
    template["Resources"]["SecretsKey"]["Properties"]["KeyPolicy"]["Statement"].append(
        {
            "Sid": "Planted",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    return template


def _only(report: dict, prefix: str) -> dict:
    """The part of a report about the files under `prefix`, with paths as if scanned from there."""
    results = {
        kind: [
            {**check, "file_path": check["file_path"].removeprefix(prefix)}
            for check in checks
            if check["file_path"].startswith(prefix + "/")
        ]
        for kind, checks in report["results"].items()
        if isinstance(checks, list)
    }
    return {"summary": report["summary"], "results": results}


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    """One checkov run (it takes seconds to start) over the committed templates and a planted one.

    The tree is laid out where its paths never change, so that an unchanged
    tree keeps its remembered report.
    """
    root = SCANNED
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(
        ROOT / "templates", root / "committed", ignore=shutil.ignore_patterns("*.tmp")
    )
    (root / "planted" / "prod").mkdir(parents=True)
    (root / "planted" / "prod" / "secrets.json").write_text(
        json.dumps(planted_template(), indent=2)
    )
    report = run_checkov(root)
    return {name: _only(report, f"/{name}") for name in ("committed", "planted")}


@pytest.fixture(scope="module")
def committed_report(reports) -> dict:
    return reports["committed"]


def test_every_committed_template_passes_checkov(committed_report):
    summary = committed_report["summary"]
    assert failed_checks(committed_report) == []
    assert summary["parsing_errors"] == 0
    # The one suppression, reasoned in the template metadata and the README: the
    # dead-letter queue uses SQS-managed encryption, which CKV_AWS_27 does not know.
    skipped = committed_report["results"]["skipped_checks"]
    assert (
        sorted((c["check_id"], c["resource"]) for c in skipped)
        == [("CKV_AWS_27", "AWS::SQS::Queue.AlertDeadLetterQueue")]
        * 3  # one per environment
    )
    assert all(
        "SqsManagedSseEnabled" in c["check_result"]["suppress_comment"] for c in skipped
    )


def test_checkov_really_scanned_every_template(committed_report):
    scanned = {
        check["file_path"] for check in committed_report["results"]["passed_checks"]
    }
    # Each environment's template, and prod's stack-set execution role (an IAM role of its own).
    assert scanned == {f"/{env}/secrets.json" for env in ENV_NAMES} | {
        "/prod/execution-role.json",
        "/prod/operator-role.json",
    }
    ids = {check["check_id"] for check in committed_report["results"]["passed_checks"]}
    # Secrets under a CMK, CMK rotation, no wildcard key principal, encrypted topic.
    assert {"CKV_AWS_149", "CKV_AWS_7", "CKV_AWS_33", "CKV_AWS_26"} <= ids


def test_checkov_catches_planted_violations_and_names_them(reports):
    assert failed_checks(reports["planted"]) == [
        "CKV_AWS_149 AWS::SecretsManager::Secret.AlpacaCredentials (Ensure that Secrets Manager secret is encrypted using KMS CMK)",
        "CKV_AWS_33 AWS::KMS::Key.SecretsKey (Ensure KMS key policy does not contain wildcard (*) principal)",
    ]
