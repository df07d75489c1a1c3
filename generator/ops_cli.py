"""`trading-secrets`: check, put (rotate) and roll back the deployed credentials.

    trading-secrets status   --env prod [--region R] [--json]
    trading-secrets put      --env prod --secret alpaca [--region R] [--from-stdin]
    trading-secrets rollback --env prod --secret alpaca [--region R] [--yes]

A value is read without echo from the terminal, or as one JSON document on
stdin; never from argv or the environment, where it would be logged or
inherited. No value is ever printed.

Exit codes: 0 ok; 1 `status` found a secret that fails the go-live gate;
2 usage error (flag, environment, secret, no terminal); 3 value refused;
4 AWS error (not deployed, access denied, KMS, unreachable, nothing to roll
back); 5 cancelled at a prompt; 130 interrupted. Nothing is written unless
the exit code is 0.
"""

from __future__ import annotations

import getpass
import json
import logging
import sys
from typing import Any, Callable

from generator.catalogue import CATALOGUE, SecretSpec
from generator.cli_support import OneLineErrorParser
from generator.environments import ENVIRONMENTS, Environment, get_environment
from generator.errors import ConfigurationError, GeneratorError
from generator.leaks import RedactingFilter, known_placeholder_values
from generator.naming import secret_name
from generator import operations
from generator.values import parse_document

PROG = "trading-secrets"
EXIT_OK, EXIT_GATE_FAILED, EXIT_INTERRUPTED = 0, 1, 130
SECRETS = {spec.name_suffix: spec for spec in CATALOGUE}


class Cancelled(GeneratorError):
    """The operator said no, or closed the input, at a prompt (exit 5)."""

    exit_code = 5


def parse_args(argv: list[str] | None):
    parser = OneLineErrorParser(prog=PROG, description="Check, put (rotate) and roll back the trading credentials in Secrets Manager.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)

    def command(name: str, help_text: str, with_secret: bool):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--env", required=True, help=f"one of {', '.join(ENVIRONMENTS)}")
        if with_secret:
            sub.add_argument("--secret", required=True, help=f"one of {', '.join(SECRETS)}")
        sub.add_argument("--region", help="one of the environment's regions (default: all of them)")
        return sub

    status = command("status", "report every secret's state; exit 1 if any fails the go-live gate", with_secret=False)
    status.add_argument("--json", action="store_true", help="one JSON document on stdout")
    put = command("put", "write a new value (also the manual rotation); prints version ids, never the value", with_secret=True)
    put.add_argument("--from-stdin", action="store_true", help="read one JSON document from stdin instead of prompting")
    rollback = command("rollback", "make the AWSPREVIOUS version current again", with_secret=True)
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser.parse_args(argv)


def _secret(name: str) -> SecretSpec:
    if name not in SECRETS:
        raise ConfigurationError(f"unknown secret {name!r}; valid secrets: {', '.join(SECRETS)}")
    return SECRETS[name]


def _regions(env: Environment, region: str | None) -> tuple[str, ...]:
    if region is None:
        return env.regions
    if region not in env.regions:
        raise ConfigurationError(f"{env.name} is not deployed to {region!r}; its regions: {', '.join(env.regions)}")
    return (region,)


def read_value_from_terminal(env: Environment, spec: SecretSpec, prompt: Callable[[str], str] = getpass.getpass) -> dict[str, Any]:
    """Each field without echo; a field the schema fixes (Alpaca's endpoint) is filled in, not asked."""
    if not sys.stdin.isatty():
        raise ConfigurationError("no terminal to prompt on; pipe one JSON document with --from-stdin")
    value = {}
    for field, schema in spec.schema(env)["properties"].items():
        if "const" in schema:
            print(f"{field}: {schema['const']} (fixed for {env.name})", file=sys.stderr)
            value[field] = schema["const"]
        else:
            value[field] = prompt(f"{field} ({schema.get('description', '')}, not echoed): ")
    return value


def _status(env: Environment, regions: tuple[str, ...], as_json: bool) -> int:
    statuses = [
        operations.secret_status(env, spec, region, operations.secrets_client(region))
        for region in regions
        for spec in CATALOGUE
    ]
    failing = [status for status in statuses if status.gate_problems]
    if as_json:
        print(json.dumps({"environment": env.name, "ok": not failing, "secrets": [s.as_json() for s in statuses]}, indent=2))
    else:
        print(f"{'secret':<28} {'region':<10} {'state':<12} {'versions':>8} {'age d':>7} {'every d':>7} {'overdue':>7} {'tags':<5} kms key")
        for s in statuses:
            age = f"{s.current_age_days:.1f}" if s.current_age_days is not None else "-"
            every = str(s.rotation_interval_days) if s.rotation_interval_days is not None else "-"
            tags = "ok" if not s.tag_problems else "FIX"
            print(
                f"{s.secret:<28} {s.region:<10} {s.state.value:<12} {s.version_count:>8} {age:>7} {every:>7} "
                f"{'yes' if s.overdue else 'no':>7} {tags:<5} {s.kms_key_id or '-'}"
            )
        for s in statuses:
            for problem in s.tag_problems:
                print(f"note: {s.secret} in {s.region}: {problem}")
            for problem in s.gate_problems:
                print(f"FAIL: {s.secret} in {s.region}: {problem}")
        verdict = f"{len(failing)} of {len(statuses)} secret(s) fail the go-live gate" if failing else f"all {len(statuses)} secret(s) pass the go-live gate"
        print(f"{env.name}: {verdict}")
    return EXIT_GATE_FAILED if failing else EXIT_OK


def _put(env: Environment, spec: SecretSpec, regions: tuple[str, ...], from_stdin: bool) -> int:
    name = secret_name(env, spec)
    value = parse_document(sys.stdin.read(), name) if from_stdin else read_value_from_terminal(env, spec)
    for change in operations.put_value(env, spec, value, regions):
        print(f"{name} in {change.region}: version {change.current_version} is AWSCURRENT; previous {change.previous_version or 'none'} is AWSPREVIOUS")
    return EXIT_OK


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise ConfigurationError("no terminal to confirm on; pass --yes to roll back from a script")
    if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
        raise Cancelled("rollback cancelled; nothing changed")


def _rollback(env: Environment, spec: SecretSpec, regions: tuple[str, ...], assume_yes: bool) -> int:
    plan = operations.rollback_plan(env, spec, regions)
    if not assume_yes:
        steps = "; ".join(f"{c.region}: {c.previous_version} -> {c.current_version}" for c in plan)
        _confirm(f"Move AWSCURRENT of {secret_name(env, spec)} back ({steps})?")
    for change in operations.roll_back(plan):
        print(f"{change.secret} in {change.region}: version {change.current_version} is AWSCURRENT again; {change.previous_version} is AWSPREVIOUS")
    return EXIT_OK


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time, so redirection (and capture in tests) sees every line."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


_LOG_HANDLER = _StderrHandler()
_LOG_HANDLER.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
_LOG_HANDLER.addFilter(RedactingFilter(known_placeholder_values()))


def _configure_logging() -> None:
    log = logging.getLogger(PROG)
    log.setLevel(logging.INFO)
    if _LOG_HANDLER not in log.handlers:
        log.addHandler(_LOG_HANDLER)
    # botocore logs request parameters, values included, at DEBUG: keep it above that whatever the caller set.
    logging.getLogger("botocore").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    _configure_logging()
    try:
        args = parse_args(argv)
        env = get_environment(args.env)
        regions = _regions(env, args.region)
        if args.command == "status":
            return _status(env, regions, args.json)
        spec = _secret(args.secret)
        if args.command == "put":
            return _put(env, spec, regions, args.from_stdin)
        return _rollback(env, spec, regions, args.yes)
    except GeneratorError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_code
    except EOFError:
        print(f"{PROG}: error: input closed at a prompt; nothing written", file=sys.stderr)
        return Cancelled.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted; nothing more was written", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
