"""Every error a user can cause, for both tools, each with its one documented exit code.

`build.py` uses OK, FAILED, USAGE and INTERRUPTED; `trading-secrets` uses them
all. `generator.cli.run` turns each error into one line on stderr and its code.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class ExitCode(enum.IntEnum):
    """The exit codes of build.py and trading-secrets; the tables in docs/ are this one."""

    OK = 0
    # build.py: a template failed validation, or --check found a difference.
    # trading-secrets status: a secret fails the go-live gate.
    FAILED = 1
    USAGE = 2  # a flag, environment, secret or input file is wrong
    VALUE_REFUSED = 3  # a credential value failed its checks; nothing was written
    AWS_ERROR = 4  # AWS refused or could not be reached; nothing was written
    CANCELLED = 5  # the operator said no, or closed the input, at a prompt
    # A change reached some regions only; the message says which hold what, and
    # the one command that finishes it.
    INCOMPLETE = 6
    # The regions disagree, or another change got there first: this command
    # changed nothing for consumers; the message says how to converge.
    CONFLICT = 7
    # deploy: the change would remove or replace a stateful resource, and no
    # --allow-replacement names it; nothing was changed.
    REPLACEMENT_REFUSED = 8
    # A write request was sent and no answer came back, nor could the state be
    # read back: it may or may not have landed; the message names how to learn which.
    OUTCOME_UNKNOWN = 9
    # put: no provider answer vouched for the value (unreachable, slow, rate-limited,
    # or an answer that proves nothing), so nothing was written; verify: a region's
    # value could not be checked. --skip-provider-check puts it anyway, marked.
    PROVIDER_UNCHECKED = 10
    # status: a region did not answer by the deadline (--deadline), so the gate
    # cannot be decided there; the report says which regions were checked.
    UNKNOWN = 11
    # deploy --plan: changes are pending, and a deploy would make them (nothing was changed).
    CHANGES_PENDING = 12
    # deploy: the change would remove a Deny or weaken a guard, and no --allow-policy-change
    # names it; nothing was changed.
    POLICY_WEAKENING_REFUSED = 13
    INTERRUPTED = (
        130  # Ctrl-C, as a shell reports SIGINT; the message says what was written
    )


# What each tool can exit with; docs/templates.md and docs/operations.md hold one
# table each, and tests/test_exit_code_tables.py keeps them equal to these.
BUILD_EXIT_CODES = (ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.INTERRUPTED)
TRADING_SECRETS_EXIT_CODES = tuple(ExitCode)


class GeneratorError(Exception):
    """Base of every expected error: `cli.run` prints `details`, then one line, and exits with `exit_code`."""

    exit_code = ExitCode.FAILED

    @property
    def details(self) -> tuple[str, ...]:
        """Lines printed before the error line itself (a build's findings, say)."""
        return ()


class ValidationFailed(GeneratorError):
    """A generated template, name, tag, placeholder or parameter file failed validation (exit 1)."""

    exit_code = ExitCode.FAILED

    def __init__(self, findings: Iterable[str]):
        self.findings = list(findings)
        super().__init__(
            f"validation failed with {len(self.findings)} finding(s); nothing was written"
        )

    @property
    def details(self) -> tuple[str, ...]:
        return tuple(self.findings)


class ConfigurationError(GeneratorError):
    """A flag, environment, secret name or input file is wrong (exit 2)."""

    exit_code = ExitCode.USAGE


class ValueRefused(GeneratorError):
    """A credential value failed its checks; nothing was written (exit 3).

    `problems` are built from field names and the schema only, never from the value.
    """

    exit_code = ExitCode.VALUE_REFUSED

    def __init__(self, secret: str, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__(
            f"{secret}: refused, nothing written: {'; '.join(self.problems)}"
        )


class _ReportedChange(GeneratorError):
    """An error whose message is followed by lines that say, region by region, what is true now."""

    def __init__(self, message: str, state: Iterable[str] = ()):
        self.state = tuple(state)
        super().__init__(message)

    @property
    def details(self) -> tuple[str, ...]:
        return self.state


class AwsError(_ReportedChange):
    """AWS refused or could not be reached: not deployed, access denied, KMS, network (exit 4)."""

    exit_code = ExitCode.AWS_ERROR


class NothingToRollBack(AwsError):
    """The secret has no version to roll back to."""


class Cancelled(GeneratorError):
    """The operator said no, or closed the input, at a prompt (exit 5)."""

    exit_code = ExitCode.CANCELLED


class Incomplete(_ReportedChange):
    """A change reached some regions only (exit 6)."""

    exit_code = ExitCode.INCOMPLETE


class Conflict(_ReportedChange):
    """The regions disagree, or another change got there first; nothing of this command became current (exit 7)."""

    exit_code = ExitCode.CONFLICT


class ReplacementRefused(_ReportedChange):
    """A deploy would remove or replace a stateful resource that no --allow-replacement names (exit 8)."""

    exit_code = ExitCode.REPLACEMENT_REFUSED


class PolicyWeakeningRefused(_ReportedChange):
    """A deploy would remove a Deny or weaken a guard that no --allow-policy-change names (exit 13)."""

    exit_code = ExitCode.POLICY_WEAKENING_REFUSED


class OutcomeUnknown(_ReportedChange):
    """A write was sent, and whether it landed cannot be told (exit 9)."""

    exit_code = ExitCode.OUTCOME_UNKNOWN


class Interrupted(_ReportedChange):
    """Ctrl-C during a change, after what was written has been read back (exit 130)."""

    exit_code = ExitCode.INTERRUPTED


class ProviderUnchecked(GeneratorError):
    """No provider answer vouched for a value: nothing was written (put), or it stays unproven (verify) (exit 10)."""

    exit_code = ExitCode.PROVIDER_UNCHECKED
