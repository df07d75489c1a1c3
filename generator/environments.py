"""Deployment environments as typed, immutable data.

Every difference between dev, staging and prod lives here and nowhere else:
builders read these fields and never branch on an environment's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.errors import ConfigurationError

PAPER_TRADING_ENDPOINT = "https://paper-api.alpaca.markets"
LIVE_TRADING_ENDPOINT = "https://api.alpaca.markets"


@dataclass(frozen=True)
class Environment:
    """One deployment environment and everything that differs between environments."""

    name: str
    regions: tuple[str, ...]
    seed_placeholders: bool
    retain_stateful_resources: bool
    deny_delete_except_break_glass: bool
    alpaca_endpoint: str
    owner: str
    cost_center: str
    data_classification: str
    rotation_interval_days: int
    project: str = "trading"

    @property
    def key_pending_window_days(self) -> int:
        """Days a scheduled key deletion waits: the maximum where data is kept, the minimum elsewhere."""
        return 30 if self.retain_stateful_resources else 7

    @property
    def deletion_policy(self) -> str:
        return "Retain" if self.retain_stateful_resources else "Delete"


ENVIRONMENTS: dict[str, Environment] = {
    env.name: env
    for env in (
        Environment(
            name="dev",
            regions=("us-east-1",),
            seed_placeholders=True,
            retain_stateful_resources=False,
            deny_delete_except_break_glass=False,
            alpaca_endpoint=PAPER_TRADING_ENDPOINT,
            owner="platform-engineering",
            cost_center="trading-dev",
            data_classification="internal",
            rotation_interval_days=180,
        ),
        Environment(
            name="staging",
            regions=("us-east-1",),
            seed_placeholders=True,
            retain_stateful_resources=True,
            deny_delete_except_break_glass=True,
            alpaca_endpoint=PAPER_TRADING_ENDPOINT,
            owner="platform-engineering",
            cost_center="trading-staging",
            data_classification="confidential",
            rotation_interval_days=90,
        ),
        Environment(
            name="prod",
            regions=("us-east-1", "us-west-2"),
            seed_placeholders=False,
            retain_stateful_resources=True,
            deny_delete_except_break_glass=True,
            alpaca_endpoint=LIVE_TRADING_ENDPOINT,
            owner="platform-engineering",
            cost_center="trading-prod",
            data_classification="restricted",
            rotation_interval_days=90,
        ),
    )
}


def get_environment(name: str) -> Environment:
    """Return the named environment, or fail with the list of valid names."""
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        valid = ", ".join(ENVIRONMENTS)
        raise ConfigurationError(f"unknown environment {name!r}; valid environments: {valid}") from None
