"""The benchmark's parts work (its figures are printed by `python3 tasks.py bench`, never asserted here).

The benchmark itself is run as its users run it, in its own process; its helpers for the CDK
comparison are tested directly.
"""

from __future__ import annotations

import json
import subprocess
import sys

from support.repository import ROOT


def test_scaling_builds_and_validates_a_template_of_synthetic_secrets():
    done = subprocess.run(
        [sys.executable, "-m", "bench.scaling", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    figure = json.loads(done.stdout)
    # Three resources per secret, plus the stack's own (keys, alerting), as in the committed prod template.
    committed = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())[
        "Resources"
    ]
    per_secret = sum(
        r["Type"] == "AWS::SecretsManager::Secret" for r in committed.values()
    )
    assert (
        figure["secrets"] == 3
        and figure["resources"] == 3 * 3 + len(committed) - 3 * per_secret
    )
    assert figure["findings"] == 0  # three secrets still fit every CloudFormation limit
    assert figure["validate_s"] >= figure["lint_s"] > 0


def test_generation_alone_runs_as_its_own_process():
    done = subprocess.run(
        [sys.executable, "-m", "bench.generate_only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def _cdk_output_like_ours(directory):
    """A cdk.out whose stacks hold exactly the committed templates' resources."""
    directory.mkdir()
    for env in ("dev", "staging", "prod"):
        template = json.loads((ROOT / "templates" / env / "secrets.json").read_text())
        (directory / f"trading-{env}-secrets.template.json").write_text(
            json.dumps({"Resources": template["Resources"]})
        )
    return directory


def test_the_cdk_app_is_timed_only_while_it_makes_what_we_make(tmp_path):
    from bench.cdk_app import parity_problems

    output = _cdk_output_like_ours(tmp_path / "cdk.out")
    assert parity_problems(output, ROOT / "templates") == []
    prod = output / "trading-prod-secrets.template.json"
    template = json.loads(prod.read_text())
    del template["Resources"]["KeyChangeRule"]
    prod.write_text(json.dumps(template))
    (output / "trading-dev-secrets.template.json").unlink()
    assert parity_problems(output, ROOT / "templates") == [
        "dev: cdk synth made no stack",
        "prod: only ours {'AWS::Events::Rule': 1}, only CDK's {}",
    ]


def test_ratios_are_taken_run_by_run_and_quoted_only_when_cdk_was_measured(capsys):
    from bench.__main__ import paired_ratio
    from bench.report import print_table

    # A machine slowing down mid-run moves both sides of each pair alike.
    assert paired_ratio([1.0, 2.0, 3.0], [4.0, 8.0, 12.0])["median"] == 0.25
    figure = {
        "name": "cold full validated build (--no-cache)",
        "wall_median_s": 1.0,
        "wall_min_s": 0.9,
        "wall_max_s": 1.1,
        "peak_mib_median": 140.0,
        "goal_ratio": 0.35,
    }
    print_table(
        {
            "date": "2026-11-29",
            "machine": "test",
            "runs": 1,
            "build": [figure],
            "cdk_synth": {"measured": False, "reason": "no node and npm on PATH"},
            "scaling": [],
            "deploy": {"measured": False, "note": "none"},
        }
    )
    printed = capsys.readouterr().out
    assert (
        "cdk synth not measured: no node and npm on PATH; no ratio is quoted" in printed
    )
    assert "meets goal" not in printed and "MISSES GOAL" not in printed
