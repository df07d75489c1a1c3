"""What both command-line tools share: one-line usage errors, one error wrapper, one log handler.

Every expected error becomes one line on stderr and its exit code
(`generator.errors.ExitCode`); an interrupt becomes one line and 130; no
traceback reaches the user. Log lines go to stderr through the leak
redactor, whatever a caller logs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable
from typing import NoReturn, TextIO

from generator.errors import ConfigurationError, ExitCode, GeneratorError
from generator.files import printable
from generator.leaks import RedactingFilter, known_placeholder_values

# Library loggers whose debug output would show request parameters (values
# included) or narrate each scan: held at WARNING whatever the caller set.
_NOISY_LOGGERS = ("botocore", "boto3", "urllib3", "cfnlint")


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse prints usage plus the error and exits 2 itself; here a usage error is one line through `run`."""

    def error(self, message: str) -> NoReturn:
        raise ConfigurationError(message)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of at least 1, got {text!r}"
        )
    return int(text)


def one_of(kind: str, names: Iterable[str]) -> Callable[[str], str]:
    """An argparse type: one of `names`, or a one-line error that lists them (the same on every Python)."""
    valid = list(names)

    def parse(text: str) -> str:
        if text not in valid:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {text!r}; valid: {', '.join(valid)}"
            )
        return text

    return parse


def run(prog: str, command: Callable[[], int], interrupted: str) -> int:
    """Run `command`; an expected error or an interrupt becomes one line and its exit code.

    `interrupted` says what an interrupt leaves behind, for example
    "nothing was written".
    """
    try:
        return command()
    except GeneratorError as error:
        # Escaped: a finding may quote a file's text (cfn-lint quotes parameter
        # keys), and a control character in it could forge a line or a colour.
        for line in error.details:
            print(f"{prog}: {printable(line)}", file=sys.stderr)
        print(f"{prog}: error: {printable(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: error: interrupted; {interrupted}", file=sys.stderr)
        return ExitCode.INTERRUPTED


class _CurrentStderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time, so redirection (and capture in tests) sees every line."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(prog: str, level: int = logging.INFO) -> None:
    """Log the package's records to stderr as `<prog>: message`, through the leak redactor."""
    logger = logging.getLogger("generator")
    for handler in [h for h in logger.handlers if isinstance(h, _CurrentStderrHandler)]:
        logger.removeHandler(handler)
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter(f"{prog}: %(message)s"))
    handler.addFilter(RedactingFilter(known_placeholder_values()))
    logger.addHandler(handler)
    logger.setLevel(level)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
