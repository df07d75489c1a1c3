"""`.taskcat.yml` mirrors the parameter files and environments exactly."""

from __future__ import annotations

import pytest
import yaml
from support.repository import ROOT

from generator.build import template_path
from generator.environments import ENVIRONMENTS
from generator.parameter_files import load_parameter_file, parameter_file_path

CONFIG = yaml.safe_load((ROOT / ".taskcat.yml").read_text())


def test_one_test_per_environment_and_no_lambda_packaging():
    assert set(CONFIG["tests"]) == set(ENVIRONMENTS)
    assert CONFIG["project"]["package_lambda"] is False


@pytest.mark.parametrize("env_name", list(ENVIRONMENTS))
def test_taskcat_test_mirrors_the_environment(env_name):
    env = ENVIRONMENTS[env_name]
    test = CONFIG["tests"][env_name]
    assert test["template"] == str(
        template_path(ROOT / "templates", env).relative_to(ROOT)
    )
    assert tuple(test["regions"]) == env.regions
    assert test["parameters"] == load_parameter_file(
        parameter_file_path(ROOT / "params", env)
    )
