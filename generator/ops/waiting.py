"""Waiting on CloudFormation: never silent for long, never forever."""

from __future__ import annotations

import time
from collections.abc import Callable

from generator.errors import OutcomeUnknown
from generator.ops.release import Say

POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 10.0


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
        time.sleep(POLL_SECONDS)
