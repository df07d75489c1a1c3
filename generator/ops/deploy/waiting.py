"""Waiting on CloudFormation: never silent for long, never forever."""

from __future__ import annotations

import time
from collections.abc import Callable

from generator.errors import OutcomeUnknown
from generator.ops.deploy.release import Say

POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 10.0
# The first polls come sooner: a small stack, or the local engine, is often done
# in a second or two, and a fixed 2 s poll would double that wait.
FIRST_POLL_SECONDS = 0.25


def poll_delay(polls_so_far: int, ceiling: float = POLL_SECONDS) -> float:
    """Seconds before the next poll: 0.25, 0.5, 1, then `ceiling` (2 s) from then on."""
    return min(ceiling, FIRST_POLL_SECONDS * (1 << min(polls_so_far, 8)))


class Heartbeat:
    """Between two polls: a line when nothing was said for HEARTBEAT_SECONDS, and an end after `limit` seconds."""

    def __init__(
        self,
        say: Say,
        what: str,
        limit: float,
        gave_up: Callable[[str], OutcomeUnknown],
        clock: Callable[[], float] = time.monotonic,
    ):
        self._say, self._what, self._limit, self._gave_up, self._clock = (
            say,
            what,
            limit,
            gave_up,
            clock,
        )
        self.started = self._last_line = clock()
        self._polls = 0

    def said(self) -> None:
        """Something was just printed: the silence starts again."""
        self._last_line = self._clock()

    def wait(self, status: str) -> None:
        """After a poll that found `status` still running: say so if it has been quiet, give up past the limit, sleep."""
        now = self._clock()
        if now - self.started > self._limit:
            raise self._gave_up(status)
        if now - self._last_line >= HEARTBEAT_SECONDS:
            self._say(f"{self._what}: still {status} ({now - self.started:.0f} s)")
            self._last_line = now
        time.sleep(poll_delay(self._polls))
        self._polls += 1
