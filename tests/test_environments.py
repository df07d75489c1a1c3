from __future__ import annotations

import dataclasses

import pytest

from generator.catalogue import (
    LIVE_TRADING_ENDPOINT,
    PAPER_TRADING_ENDPOINT,
    alpaca_endpoint,
)
from generator.environments import ENVIRONMENTS, get_environment
from generator.errors import ConfigurationError


def test_environments_are_dev_staging_prod():
    assert list(ENVIRONMENTS) == ["dev", "staging", "prod"]


def test_environment_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ENVIRONMENTS["prod"].seed_placeholders = True  # type: ignore[misc]


def test_unknown_environment_lists_valid_ones():
    with pytest.raises(
        ConfigurationError,
        match=r"unknown environment 'qa'; valid environments: dev, staging, prod",
    ):
        get_environment("qa")


@pytest.mark.parametrize(
    "name, endpoint",
    [
        ("dev", PAPER_TRADING_ENDPOINT),
        ("staging", PAPER_TRADING_ENDPOINT),
        ("prod", LIVE_TRADING_ENDPOINT),
    ],
)
def test_alpaca_endpoint_is_paper_outside_prod(name, endpoint):
    assert alpaca_endpoint(get_environment(name)) == endpoint
    assert get_environment(name).live_provider_tier is (name == "prod")


@pytest.mark.parametrize(
    "name, seeded, retained, pending_window",
    [("dev", True, False, 7), ("staging", True, True, 30), ("prod", False, True, 30)],
)
def test_data_safety_settings(name, seeded, retained, pending_window):
    env = get_environment(name)
    assert env.seed_placeholders is seeded
    assert env.retain_stateful_resources is retained
    assert env.key_pending_window_days == pending_window
    assert env.deletion_policy == ("RetainExceptOnCreate" if retained else "Delete")
    assert env.update_replace_policy == ("Retain" if retained else "Delete")


@pytest.mark.parametrize("name", list(ENVIRONMENTS))
def test_every_environment_has_project_regions_tags_and_interval(name):
    env = ENVIRONMENTS[name]
    assert env.project == "trading"
    assert env.regions and all(region.count("-") == 2 for region in env.regions)
    assert env.owner and env.cost_center and env.data_classification
    # dev relaxes every integration's interval; staging and prod keep each integration's own.
    assert env.rotation_interval_override_days == (180 if name == "dev" else None)
