"""After a change across regions fails or is interrupted: read back what is true, and say it.

A response can be lost after its write landed, a region can fail after
another succeeded, and Ctrl-C can land between the two. So a failure is never
reported from what was attempted, only from what the regions hold now.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from generator.errors import AwsError, Conflict, Incomplete, Interrupted, OutcomeUnknown
from generator.ops.aws import AwsClients
from generator.ops.change.versions import (
    RegionVersions,
    describe,
    read_all,
    read_versions,
)

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """What a put or a rollback set out to do: make `target` current in `regions`."""

    secret: str
    regions: tuple[str, ...]
    target: str  # the version id that should end up AWSCURRENT everywhere
    finish: str  # the one command that finishes it, safe to run more than once
    before: dict[str, RegionVersions]


def settle(
    change: Change, aws: AwsClients, failure: BaseException
) -> dict[str, RegionVersions]:
    """The regions' state after `failure`; returns only when the change landed everywhere, else raises what is true."""
    interrupted = isinstance(failure, KeyboardInterrupt)
    try:
        after = read_all(aws, change.secret, change.regions)
    except (AwsError, KeyboardInterrupt):
        # A write may have landed unanswered: neither "nothing changed" nor "done" is known.
        message = (
            f"the outcome is unknown: {change.secret} could not be read back after: {_cause(failure)}, "
            "so whether the change landed cannot be told"
        )
        advice = [
            f"run `trading-secrets status --env {change.secret.split('/')[1]}` to learn it, then, if needed, "
            f"`{change.finish}`"
        ]
        raise (Interrupted if interrupted else OutcomeUnknown)(
            message, advice
        ) from None
    done = [
        region for region in change.regions if after[region].current == change.target
    ]
    if len(done) == len(change.regions):
        LOG.info(
            "%s: %s, yet every region now holds %s as AWSCURRENT: the change landed",
            change.secret,
            _cause(failure),
            change.target,
        )
        return after
    state = describe(after)
    others = [
        region
        for region in change.regions
        if after[region].current not in (change.target, change.before[region].current)
    ]
    if interrupted:
        reached = ", ".join(done) or "no region"
        raise Interrupted(
            f"interrupted: {change.target} is AWSCURRENT in {reached}; finish with `{change.finish}`",
            state,
        )
    if done:
        raise Incomplete(
            f"{change.secret}: {change.target} reached {', '.join(done)} only ({_cause(failure)}); "
            f"finish with `{change.finish}`",
            state,
        )
    if others:
        raise Conflict(
            f"{change.secret}: another change made {_versions(after, others)} current meanwhile; "
            f"nothing of this command became current ({_cause(failure)})",
            state,
        )
    message = f"{_cause(failure)}; nothing changed for consumers"
    staged = [region for region in change.regions if after[region].has(change.target)]
    if staged:
        message += f"; {change.target} is staged in {', '.join(staged)}: `{change.finish}` finishes the change"
    raise AwsError(message, state)


def _cause(failure: BaseException) -> str:
    return "interrupted" if isinstance(failure, KeyboardInterrupt) else str(failure)


def _versions(after: dict[str, RegionVersions], regions: Sequence[str]) -> str:
    return ", ".join(f"{after[region].current} in {region}" for region in regions)


@contextlib.contextmanager
def bookkeeping(change: Change) -> Iterator[None]:
    """After the change landed everywhere: an interrupt now cuts only the tidying short, and says so."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted after {change.target} became AWSCURRENT in every region; only the tidying of "
            "staging labels was cut short"
        ) from None


@contextlib.contextmanager
def verified(
    aws: AwsClients,
    change: Change,
    region: str,
    landed: Callable[[RegionVersions], bool],
) -> Iterator[None]:
    """A step in one region whose failure is checked at once: a lost response whose write landed is no failure."""
    try:
        yield
    except AwsError as failure:
        try:
            state = read_versions(aws, change.secret, region)
        except AwsError:
            raise failure from None
        if not landed(state):
            raise
        LOG.info(
            "%s in %s: %s, but reading it back shows the step landed",
            change.secret,
            region,
            failure,
        )
