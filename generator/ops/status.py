"""The go-live gate: what `status` reports about each secret in each region, without showing a value."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from dataclasses import dataclass

from generator.catalogue import CATALOGUE
from generator.environments import Environment
from generator.errors import AwsError
from generator.naming import secret_name
from generator.ops.aws import AwsClients
from generator.ops.deployed import (
    Expected,
    KeyCheck,
    RuleCheck,
    expected_of,
    key_checks,
    rule_checks,
)
from generator.ops.secret_rows import (
    Placed,
    SecretStatus,
    State,
    _diverged,
    secret_status,
)
from generator.template import build_template, render


@dataclass(frozen=True)
class EnvironmentStatus:
    """The go-live gate's inputs: every secret in every region, and the keys and alert rules beside them."""

    rows: list[SecretStatus]
    keys: list[KeyCheck]
    rules: list[RuleCheck]

    @property
    def placement_problems(self) -> list[str]:
        """What is wrong with the keys and the alert rules: each fails the gate."""
        return [p for key in self.keys for p in key.problems] + [
            p for rule in self.rules for p in rule.problems
        ]


@functools.cache
def _expected(env: Environment) -> Expected:
    """What the template this generator makes for `env` puts in place (made once per process)."""
    return expected_of(json.loads(render(build_template(env))))


def environment_status(
    env: Environment, regions: tuple[str, ...], aws: AwsClients
) -> EnvironmentStatus:
    """Every secret in every region; one failing call costs its own row, never the table.

    Held to the template this version of the generator makes for `env`.
    """
    want = _expected(env)
    keys: list[KeyCheck] = []
    rules: list[RuleCheck] = []
    placed = {}
    for region in regions:
        region_keys = key_checks(env, region, aws)
        keys += region_keys
        rules += rule_checks(env, region, aws, want)
        placed[region] = Placed(region_keys[0], want, aws)
    by_secret: dict[str, list[SecretStatus]] = defaultdict(list)
    for spec in CATALOGUE:
        for region in regions:
            try:
                row = secret_status(
                    env, spec, region, aws.secrets(region), placed=placed[region]
                )
            except AwsError as error:
                row = SecretStatus(
                    secret_name(env, spec),
                    region,
                    State.ERROR,
                    gate_problems=(str(error),),
                )
            by_secret[row.secret].append(row)
    rows = [row for rows in by_secret.values() for row in _diverged(rows)]
    return EnvironmentStatus(rows, keys, rules)
