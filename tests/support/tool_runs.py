"""trading-secrets run in the test process as a user runs it, and the checks every deployment test makes on what it said and what the stacks hold: no value printed, none written, every secret under its stack's key."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from generator.catalogue import CATALOGUE
from generator.environments import Environment
from generator.leaks import Leak, scan_text
from generator.naming import secret_name
from support.engine import Account


def assert_secrets_encrypted_with_stack_key(
    account: Account, env: Environment, region: str, key_arn: str
) -> None:
    kms = account.client("kms", region)
    key = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER", f"{key_arn} is not a customer-managed key"
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True, (
        f"{key_arn} has rotation off"
    )
    for spec in CATALOGUE:
        described = account.client("secretsmanager", region).describe_secret(
            SecretId=secret_name(env, spec)
        )
        assert described.get("KmsKeyId") in (key_arn, key["KeyId"]), (
            f"{described['Name']} in {region} is not encrypted with the stack's customer-managed key "
            f"(KmsKeyId: {described.get('KmsKeyId', 'none, so the AWS-managed default key')})"
        )


def assert_secrets_hold_no_value(
    account: Account, env: Environment, region: str
) -> None:
    """Prod secrets are created empty: a value can only come from `put`, never from a deploy."""
    secrets = account.client("secretsmanager", region)
    for spec in CATALOGUE:
        described = secrets.describe_secret(SecretId=secret_name(env, spec))
        stages = described.get("VersionIdsToStages", {})
        assert not stages, (
            f"{described['Name']} in {region} was given a value by the deploy "
            f"({len(stages)} version(s)); {env.name} secrets must be created empty"
        )
        with pytest.raises(ClientError) as raised:
            secrets.get_secret_value(SecretId=described["ARN"])
        error = raised.value.response["Error"]
        assert (
            error["Code"] == "ResourceNotFoundException"
            and "AWSCURRENT" in error["Message"]
        ), error


@dataclass
class Run:
    """What one in-process run of trading-secrets said; `err` holds its log lines too."""

    code: int
    out: str
    err: str

    @property
    def said(self) -> str:
        return self.out + "\n" + self.err


def run_tool(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    argv: Iterable[str],
    environment: dict[str, str],
    never_said: Iterable[str] = (),
    stdin: str | None = None,
) -> Run:
    """trading-secrets in this process, as a user runs it, with `environment` set; nothing it says may leak.

    `never_said` are values it must not print or log, besides anything
    credential-shaped. `stdin`, when given, is a pipe (not a terminal).
    """
    from generator.ops import cli as ops_cli

    argv = list(argv)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    capsys.readouterr()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        code = ops_cli.main(argv)
    out, err = capsys.readouterr()
    run = Run(code, out, err + "\n" + caplog.text)
    assert_said_nothing_secret(run, never_said)
    return run


def run_tool_once(
    argv: Iterable[str],
    environment: dict[str, str],
    never_said: Iterable[str] = (),
) -> Run:
    """trading-secrets in this process, for a fixture wider than one test (no capsys there); nothing it says may leak.

    Its stdout and stderr are captured here, its log lines with the latter
    (the tool logs to whatever sys.stderr is); `environment` is set for the run only.
    """
    from generator.ops import cli as ops_cli

    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger("generator")
    level, handlers = logger.level, list(logger.handlers)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = ops_cli.main(list(argv))
    # As it was: the tool configures the package's logger for its own run.
    logger.setLevel(level)
    logger.handlers[:] = handlers
    run = Run(code, out.getvalue(), err.getvalue())
    assert_said_nothing_secret(run, never_said)
    return run


def assert_said_nothing_secret(run: Run, never_said: Iterable[str] = ()) -> None:
    """Nothing credential-shaped in what a run printed or logged, nor any of `never_said`."""
    leaked = output_leaks(run.said, "trading-secrets", never_said)
    assert not leaked, [str(leak) for leak in leaked]


def output_leaks(
    text: str, source: str, known_values: Iterable[str] = ()
) -> list[Leak]:
    """For what a tool prints or logs: credential shapes, plus any value it must never show.

    A placeholder is fine inside a dev template, but printed by a tool it
    means the tool prints values: that is the bug this catches.
    """
    known = [value for value in known_values if value]
    leaks = scan_text(text, source)
    for number, line in enumerate(text.splitlines(), 1):
        if any(value in line for value in known):
            leaks.append(Leak(source, number, "a secret value"))
    return leaks
