"""Deployment environments as typed, immutable data.

Every difference between dev, staging and prod lives here and nowhere else:
builders read these fields and never branch on an environment's name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from generator.errors import ConfigurationError


@dataclass(frozen=True)
class Environment:
    """One deployment environment and everything that differs between environments."""

    name: str
    regions: tuple[str, ...]
    seed_placeholders: bool
    retain_stateful_resources: bool
    deny_delete_except_break_glass: bool
    # Its provider credentials are of the providers' live tier (Alpaca: real money),
    # not their paper or sandbox one; each integration's spec says what that means for it.
    live_provider_tier: bool
    owner: str
    cost_center: str
    data_classification: str
    # Days between rotations by hand for every integration here, where this environment
    # relaxes them (dev: placeholders and paper keys); None keeps each integration's own.
    rotation_interval_override_days: int | None
    # Its alerts must reach a person: the parameter file names a subscriber,
    # and the go-live gate wants the subscription confirmed.
    requires_alert_subscriber: bool
    # Deployed as a self-managed stack set (one stack per region, run by each
    # target account's AWSCloudFormationStackSetExecutionRole), not as a stack.
    deployed_as_stack_set: bool = False
    project: str = "trading"

    @property
    def key_pending_window_days(self) -> int:
        """Days a scheduled key deletion waits: the maximum where data is kept, the minimum elsewhere."""
        return 30 if self.retain_stateful_resources else 7

    @property
    def deletion_policy(self) -> str:
        """Kept when the stack is deleted where data must survive it; never kept after a failed create.

        Retain would also keep what a failed first create made, and the
        retry would then collide with those named secrets and that key.
        """
        return "RetainExceptOnCreate" if self.retain_stateful_resources else "Delete"

    @property
    def update_replace_policy(self) -> str:
        """UpdateReplacePolicy has no RetainExceptOnCreate: a replaced resource is kept whole."""
        return "Retain" if self.retain_stateful_resources else "Delete"


_DEV = Environment(
    name="dev",
    regions=("us-east-1",),
    seed_placeholders=True,
    retain_stateful_resources=False,
    deny_delete_except_break_glass=False,
    live_provider_tier=False,
    owner="platform-engineering",
    cost_center="trading-dev",
    data_classification="internal",
    rotation_interval_override_days=180,
    requires_alert_subscriber=False,
)
# The one precedence: each environment is the one before it, plus what it changes.
_STAGING = dataclasses.replace(
    _DEV,
    name="staging",
    retain_stateful_resources=True,
    deny_delete_except_break_glass=True,
    cost_center="trading-staging",
    data_classification="confidential",
    rotation_interval_override_days=None,
    requires_alert_subscriber=True,
)
_PROD = dataclasses.replace(
    _STAGING,
    name="prod",
    regions=("us-east-1", "us-west-2"),
    seed_placeholders=False,
    live_provider_tier=True,
    cost_center="trading-prod",
    data_classification="restricted",
    deployed_as_stack_set=True,
)

ENVIRONMENTS: dict[str, Environment] = {
    env.name: env for env in (_DEV, _STAGING, _PROD)
}


def get_environment(name: str) -> Environment:
    """Return the named environment, or fail with the list of valid names."""
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        valid = ", ".join(ENVIRONMENTS)
        raise ConfigurationError(
            f"unknown environment {name!r}; valid environments: {valid}"
        ) from None
