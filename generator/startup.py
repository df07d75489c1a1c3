"""A Ctrl-C while a tool is still loading: one line and exit 130, never a traceback.

Standard library only, and imported first: the tools' own imports (cfn-lint,
boto3) take a second, and an interrupt among them would otherwise end in a
traceback from deep inside an import.
"""

from __future__ import annotations

import os
import signal
from types import FrameType


def interrupt_in_one_line(prog: str, what_is_left: str) -> None:
    """Until `loaded()`, Ctrl-C or SIGTERM ends the process with one line on stderr and exit 130."""

    def interrupted(_number: int, _frame: FrameType | None) -> None:
        os.write(2, f"{prog}: error: interrupted; {what_is_left}\n".encode())
        os._exit(130)

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)


def loaded() -> None:
    """The tool has loaded: Ctrl-C is a KeyboardInterrupt again, for the tool's own one-line handling."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
