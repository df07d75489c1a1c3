"""The benchmark's parts work (its figures are printed by `python3 tasks.py bench`, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.__main__ import measure
from bench.scaling import synthetic_catalogue
from helpers import ROOT


def test_measure_reports_medians_and_a_child_peak():
    figure = measure("generation only", [sys.executable, "-m", "bench.generate_only"], runs=2, warmup=0)
    assert figure["runs"] == 2 and 0 < figure["wall_min_s"] <= figure["wall_median_s"] <= figure["wall_max_s"]
    assert figure["peak_mib_median"] > 5 and figure["goal_s"] == 0.25


def test_scaling_builds_and_validates_a_template_of_synthetic_secrets():
    done = subprocess.run([sys.executable, "-m", "bench.scaling", "3"], cwd=ROOT, capture_output=True, text=True, check=True)
    figure = json.loads(done.stdout)
    assert figure["secrets"] == 3 and figure["resources"] == 3 * 2 + 8
    assert figure["findings"] == 0  # three secrets still fit every CloudFormation limit
    assert figure["validate_s"] >= figure["lint_s"] > 0


def test_synthetic_specs_are_distinct_and_stay_out_of_the_real_catalogue():
    from generator.catalogue import CATALOGUE

    specs = synthetic_catalogue(200)
    assert len({spec.logical_id for spec in specs}) == 200
    assert not {spec.logical_id for spec in specs} & {spec.logical_id for spec in CATALOGUE}
