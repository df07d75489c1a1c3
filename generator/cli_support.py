"""What both command-line tools share: one-line usage errors."""

from __future__ import annotations

import argparse

from generator.errors import ConfigurationError


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse prints usage plus the error and exits 2 itself; we want one line through our own error path."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigurationError(message)
