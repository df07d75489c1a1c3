"""rollback: make a named earlier version current again in every region, idempotently.

The plan is read from every region first. The target is an explicit version
id: by default the AWSPREVIOUS that all regions share. Regions already on it
are left alone, so running a rollback twice does nothing the second time, and
a rollback never undoes an earlier one unless that version is named.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from generator.catalogue import SecretSpec
from generator.environments import Environment
from generator.errors import AwsError, Conflict, NothingToRollBack
from generator.naming import secret_name
from generator.ops.aws import AwsClients, across
from generator.ops.change.settle import Change, bookkeeping, settle, verified
from generator.ops.change.versions import (
    ROLLED_BACK_FROM,
    describe,
    disagreement,
    move_current,
    move_label,
    read_all,
)

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RollbackPlan:
    change: Change
    moves: dict[str, str | None]  # region -> the version AWSCURRENT leaves there
    note: str | None = None  # why there is nothing to do, when there is not

    @property
    def target(self) -> str:
        return self.change.target


def rollback_command(env: Environment, spec: SecretSpec, version: str) -> str:
    return f"trading-secrets rollback --env {env.name} --secret {spec.name_suffix} --to {version} --yes"


def plan_rollback(
    env: Environment,
    spec: SecretSpec,
    regions: tuple[str, ...],
    aws: AwsClients,
    target: str | None = None,
) -> RollbackPlan:
    """What a rollback would do in each region; reads only."""
    name = secret_name(env, spec)
    before = read_all(aws, name, regions)
    note = None
    if target is None:
        if split := disagreement(before):
            raise Conflict(
                f"{name}: AWSCURRENT differs between regions ({split}); name the version every region should "
                "hold with --to, or finish the change in progress with put --resume",
                describe(before),
            )
        missing = [region for region, state in before.items() if state.previous is None]
        if missing:
            raise NothingToRollBack(
                f"{name} in {', '.join(missing)} has no AWSPREVIOUS version to roll back to; nothing changed"
            )
        if split := disagreement(before, "AWSPREVIOUS"):
            raise Conflict(
                f"{name}: AWSPREVIOUS differs between regions ({split}); name the target with --to",
                describe(before),
            )
        target = str(before[regions[0]].previous)
        if all(
            state.with_label(ROLLED_BACK_FROM) == target for state in before.values()
        ):
            note = (
                f"{target} is the version a rollback already moved {name} away from: rolling back again would undo "
                f"that rollback, so nothing changed; to return to it anyway, name it with --to {target}"
            )
    else:
        lacking = [region for region, state in before.items() if not state.has(target)]
        if lacking:
            raise Conflict(
                f"{name} has no version {target} in {', '.join(lacking)}; put --resume {target} copies it there first",
                describe(before),
            )
    moves = (
        {}
        if note
        else {
            region: state.current
            for region, state in before.items()
            if state.current != target
        }
    )
    if not moves and note is None:
        note = (
            f"{name}: {target} is already AWSCURRENT in every region; nothing changed"
        )
    return RollbackPlan(
        Change(name, regions, target, rollback_command(env, spec, target), before),
        moves,
        note,
    )


def roll_back(plan: RollbackPlan, aws: AwsClients) -> None:
    """Carry out `plan`; any failure is judged from what the regions hold afterwards."""
    change = plan.change
    LOG.info(
        "rollback %s to %s by %s",
        change.secret,
        change.target,
        aws.caller(change.regions[0]),
    )

    def move(region: str) -> None:
        origin = plan.moves[region]
        with verified(
            aws, change, region, lambda state: state.current == change.target
        ):
            move_current(aws, change.secret, region, change.target, origin)
        LOG.info(
            "%s in %s: version %s is AWSCURRENT again, replacing %s",
            change.secret,
            region,
            change.target,
            origin,
        )

    try:
        across(plan.moves, move)
    except (AwsError, KeyboardInterrupt) as failure:
        settle(change, aws, failure)
    with bookkeeping(change):
        after = read_all(aws, change.secret, change.regions)

        def mark(region: str) -> None:
            origin = plan.moves[region]
            if origin is not None:
                # Bookkeeping only: consumers already read the target.
                with contextlib.suppress(AwsError):
                    move_label(
                        aws,
                        change.secret,
                        region,
                        ROLLED_BACK_FROM,
                        origin,
                        after[region],
                    )

        across(plan.moves, mark)
