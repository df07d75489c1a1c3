"""The plumbing both tools share: every expected error is one line and its code; interrupts are 130."""

from __future__ import annotations

import logging

import pytest

from generator.cli import configure_logging, run
from generator.errors import (
    AwsError,
    Cancelled,
    ConfigurationError,
    ExitCode,
    GeneratorError,
    NothingToRollBack,
    ValidationFailed,
    ValueRefused,
)
from generator.leaks import known_placeholder_values


@pytest.mark.parametrize(
    "error, code, lines",
    [
        (
            ValidationFailed(["dev: a", "prod: b"]),
            1,
            [
                "t: dev: a",
                "t: prod: b",
                "t: error: validation failed with 2 finding(s); nothing was written",
            ],
        ),
        (ConfigurationError("bad flag"), 2, ["t: error: bad flag"]),
        (
            ValueRefused("trading/dev/alpaca", ["field 'x' is empty"]),
            3,
            [
                "t: error: trading/dev/alpaca: refused, nothing written: field 'x' is empty"
            ],
        ),
        (AwsError("denied"), 4, ["t: error: denied"]),
        (NothingToRollBack("none"), 4, ["t: error: none"]),
        (Cancelled("no"), 5, ["t: error: no"]),
        (KeyboardInterrupt(), 130, ["t: error: interrupted; nothing was written"]),
    ],
    ids=lambda case: type(case).__name__ if isinstance(case, BaseException) else None,
)
def test_each_expected_error_is_its_lines_and_its_exit_code(capsys, error, code, lines):
    def command() -> int:
        raise error

    assert run("t", command, interrupted="nothing was written") == code
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == lines


def test_every_exit_code_is_distinct_and_every_error_has_one():
    assert len({int(code) for code in ExitCode}) == len(ExitCode)
    for error in (
        ValidationFailed,
        ConfigurationError,
        ValueRefused,
        AwsError,
        Cancelled,
    ):
        assert issubclass(error, GeneratorError) and error.exit_code in ExitCode


def test_an_unexpected_error_is_not_swallowed():
    def command() -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        run("t", command, interrupted="")


def test_the_log_goes_to_stderr_through_the_redactor_once_however_often_configured(
    capsys,
):
    configure_logging("t")
    configure_logging("t")
    placeholder = next(iter(known_placeholder_values()))
    logging.getLogger("generator.anything").info("value %s", placeholder)
    err = capsys.readouterr().err
    assert err == "t: value [REDACTED secret value]\n"
    assert logging.getLogger("botocore").level == logging.WARNING
