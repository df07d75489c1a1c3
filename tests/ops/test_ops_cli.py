"""trading-secrets' command line, offline: usage errors, prompts, confirmation."""

from __future__ import annotations

import io
import sys

import pytest
from support.fake_aws import FAKE

from generator.catalogue import ALPACA, alpaca_endpoint
from generator.environments import ENVIRONMENTS
from generator.errors import Cancelled, ConfigurationError
from generator.ops import cli as ops_cli
from generator.ops import prompts

PROD = ENVIRONMENTS["prod"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["status"], "the following arguments are required: --env"),
        (["put", "--env", "prod"], "the following arguments are required: --secret"),
        (
            ["put", "--env", "prod", "--secret", "alpaca", "--value", "x"],
            "unrecognized arguments: --value x",
        ),
        (
            ["status", "--env", "qa"],
            "argument --env: unknown environment 'qa'; valid: dev, staging, prod",
        ),
        (
            ["put", "--env", "dev", "--secret", "polygon"],
            "argument --secret: unknown secret 'polygon'; valid: alphavantage, alpaca",
        ),
        (
            ["status", "--env", "dev", "--region", "us-west-2"],
            "dev is not deployed to 'us-west-2'; its regions: us-east-1",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, message):
    assert ops_cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err


def test_put_without_a_terminal_or_stdin_flag_refuses_to_prompt(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert ops_cli.main(["put", "--env", "dev", "--secret", "alpaca"]) == 2
    assert "pipe one JSON document with --from-stdin" in capsys.readouterr().err


def test_rollback_from_a_script_needs_yes(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    with pytest.raises(ConfigurationError, match="pass --yes"):
        prompts.confirm("roll back?")


def test_input_closed_at_the_confirmation_cancels(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    with pytest.raises(Cancelled, match="input closed at the prompt; nothing changed"):
        prompts.confirm("roll back?")


def test_the_terminal_prompt_asks_for_secret_fields_only_and_fixes_the_endpoint(
    monkeypatch, capsys
):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    asked = []

    def prompt(text: str) -> str:
        asked.append(text)
        return FAKE

    value = prompts.read_value_from_terminal(PROD, ALPACA, prompt=prompt)
    assert value == {
        "apiKeyId": FAKE,
        "apiSecretKey": FAKE,
        "baseUrl": alpaca_endpoint(PROD),
    }
    assert [text.split(" ")[0] for text in asked] == ["apiKeyId", "apiSecretKey"]
    assert all("not echoed" in text for text in asked)
    assert FAKE not in capsys.readouterr().err


def test_input_closed_at_a_value_prompt_cancels(monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)

    def closed(_text: str) -> str:
        raise EOFError

    with pytest.raises(Cancelled, match="input closed at a prompt; nothing written"):
        prompts.read_value_from_terminal(PROD, ALPACA, prompt=closed)


def test_from_stdin_refuses_a_terminal_where_a_pasted_value_would_show(
    capsys, monkeypatch
):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert (
        ops_cli.main(["put", "--env", "dev", "--secret", "alpaca", "--from-stdin"]) == 2
    )
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "--from-stdin reads a pipe or a file, not a terminal" in err
    )


def test_bytes_that_are_not_utf8_are_refused_with_exit_3_before_any_aws_call(
    capsys, monkeypatch
):
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL", "http://127.0.0.1:9"
    )  # nothing listens: any call would fail with 4
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"apiKey": "FAKE-\xff-value"}'))
    )
    assert (
        ops_cli.main(
            ["put", "--env", "dev", "--secret", "alphavantage", "--from-stdin"]
        )
        == 3
    )
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "the document is not UTF-8 (invalid byte at offset 17)" in err
    )


def test_resume_and_from_stdin_do_not_go_together(capsys):
    argv = [
        "put",
        "--env",
        "prod",
        "--secret",
        "alpaca",
        "--from-stdin",
        "--resume",
        "v1",
    ]
    assert ops_cli.main(argv) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_console_entry_runs_the_tool_and_gives_ctrl_c_back_to_it(
    monkeypatch, capsys
):
    """generator.ops.entry:main, the console script's target, in this process: the tool's exit code, its one line."""
    import signal

    from generator.ops import entry

    handlers = {
        number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)
    }
    monkeypatch.setattr(sys, "argv", ["trading-secrets", "status", "--env", "qa"])
    try:
        assert entry.main() == 2
        # Loaded: Ctrl-C is a KeyboardInterrupt again, for the tool's own one-line handling.
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert capsys.readouterr().err.splitlines() == [
        "trading-secrets: error: argument --env: unknown environment 'qa'; valid: dev, staging, prod"
    ]
