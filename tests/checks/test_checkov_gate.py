"""checkov, an independent scanner, over every generated template: 0 failed checks, offline.

`python3 tasks.py test` installs checkov into its own environment and says
where through TRADING_CHECKOV; these tests fail, never skip, without it.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from helpers import ENV_NAMES, ROOT

pytestmark = pytest.mark.checkov


def run_checkov(directory) -> dict:
    checkov = os.environ.get("TRADING_CHECKOV", "")
    if not checkov or not os.path.exists(checkov):
        pytest.fail(
            "the checkov gate needs checkov: run the suite through `python3 tasks.py test`"
        )
    done = subprocess.run(
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
        capture_output=True,
        text=True,
        timeout=300,
        # No update check: the machine, like CI, may have no internet.
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )
    assert done.returncode in (0, 1), done.stderr[
        -2000:
    ]  # 1 means checks failed; anything else is a crash
    report = json.loads(done.stdout)
    return report[0] if isinstance(report, list) else report


def failed_checks(report: dict) -> list[str]:
    return sorted(
        f"{c['check_id']} {c['resource']} ({c['check_name']})"
        for c in report["results"]["failed_checks"]
    )


@pytest.fixture(scope="module")
def committed_report() -> dict:
    return run_checkov(ROOT / "templates")


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
    assert scanned == {f"/{env}/secrets.json" for env in ENV_NAMES}
    ids = {check["check_id"] for check in committed_report["results"]["passed_checks"]}
    # Secrets under a CMK, CMK rotation, no wildcard key principal, encrypted topic.
    assert {"CKV_AWS_149", "CKV_AWS_7", "CKV_AWS_33", "CKV_AWS_26"} <= ids


def test_checkov_catches_planted_violations_and_names_them(tmp_path):
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
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "secrets.json").write_text(json.dumps(template, indent=2))
    assert failed_checks(run_checkov(tmp_path)) == [
        "CKV_AWS_149 AWS::SecretsManager::Secret.AlpacaCredentials (Ensure that Secrets Manager secret is encrypted using KMS CMK)",
        "CKV_AWS_33 AWS::KMS::Key.SecretsKey (Ensure KMS key policy does not contain wildcard (*) principal)",
    ]
