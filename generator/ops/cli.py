"""`trading-secrets`: check, put (rotate) and roll back the deployed credentials.

    trading-secrets status      --env prod [--region R] [--json]
    trading-secrets put         --env prod --secret alpaca [--region R] [--from-stdin | --resume VERSION]
    trading-secrets rollback    --env prod --secret alpaca [--region R] [--to VERSION] [--yes]
    trading-secrets alerts-test --env dev [--region R] [--timeout S]

A value is read without echo from the terminal, or as one JSON document piped
to stdin; never from argv or the environment, where it would be logged or
inherited. No value is ever printed.

Exit codes (generator.errors.ExitCode): 0 ok; 1 `status` found a secret that
fails the go-live gate, or `alerts-test` saw no alert; 2 usage error; 3 value
refused; 4 AWS error, nothing changed for consumers; 5 cancelled at a prompt;
6 incomplete, some regions only (the message gives the command that finishes
it); 7 conflict, the regions disagree or another change got there first;
130 interrupted (the message says what was written).
"""

from __future__ import annotations

import argparse
import sys

from generator.catalogue import CATALOGUE, SecretSpec
from generator.cli import (
    OneLineErrorParser,
    configure_logging,
    one_of,
    positive_int,
    run,
)
from generator.environments import ENVIRONMENTS, Environment, get_environment
from generator.errors import AwsError, ConfigurationError, ExitCode, Interrupted
from generator.naming import secret_name
from generator.ops import alert_check, report
from generator.ops.aws import AwsClients
from generator.ops.prompts import confirm, read_value_from_terminal
from generator.ops.put import PutResult, put_value, resume_put
from generator.ops.rollback import plan_rollback, roll_back
from generator.ops.status import State, environment_status
from generator.ops.values import read_document

PROG = "trading-secrets"
SECRETS = {spec.name_suffix: spec for spec in CATALOGUE}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineErrorParser(
        prog=PROG,
        description="Check, put (rotate) and roll back the trading credentials in Secrets Manager.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=OneLineErrorParser
    )

    def command(
        name: str, help_text: str, with_secret: bool
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--env", required=True, type=one_of("environment", ENVIRONMENTS)
        )
        if with_secret:
            sub.add_argument("--secret", required=True, type=one_of("secret", SECRETS))
        sub.add_argument(
            "--region", help="one of the environment's regions (default: all of them)"
        )
        return sub

    status = command(
        "status",
        "report every secret's state; exit 1 if any fails the go-live gate",
        False,
    )
    status.add_argument(
        "--json", action="store_true", help="one JSON document on stdout"
    )
    put = command(
        "put",
        "write a new value (also the manual rotation); prints version ids, never the value",
        True,
    )
    source = put.add_mutually_exclusive_group()
    source.add_argument(
        "--from-stdin",
        action="store_true",
        help="read one JSON document piped to stdin",
    )
    source.add_argument(
        "--resume",
        metavar="VERSION",
        help="finish a put left half done: make VERSION current everywhere",
    )
    rollback = command(
        "rollback", "make an earlier version current again in every region", True
    )
    rollback.add_argument(
        "--to",
        metavar="VERSION",
        help="the version to make current (default: the common AWSPREVIOUS)",
    )
    rollback.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation"
    )
    alerts = command(
        "alerts-test",
        "make a harmless change and wait for its alert; exit 1 if none arrives",
        False,
    )
    alerts.add_argument(
        "--timeout",
        type=positive_int,
        default=600,
        help="seconds to wait for the alert (default 600)",
    )
    return parser.parse_args(argv)


def _regions(env: Environment, region: str | None) -> tuple[str, ...]:
    if region is None:
        return env.regions
    if region not in env.regions:
        raise ConfigurationError(
            f"{env.name} is not deployed to {region!r}; its regions: {', '.join(env.regions)}"
        )
    return (region,)


def _status(
    env: Environment, regions: tuple[str, ...], as_json: bool, aws: AwsClients
) -> int:
    rows = environment_status(env, regions, aws)
    queues = [alert_check.dead_letters(env, region, aws) for region in regions]
    print(
        report.status_document(env, rows, queues)
        if as_json
        else report.status_table(env, rows, queues)
    )
    if all(row.state is State.ERROR for row in rows):
        # Not one secret could be checked: that is AWS failing, not the gate.
        raise AwsError(rows[0].gate_problems[0])
    return ExitCode.OK if report.passes_gate(rows, queues) else ExitCode.FAILED


def _alerts_test(
    env: Environment, regions: tuple[str, ...], timeout_seconds: float, aws: AwsClients
) -> int:
    arrived = True
    for region in regions:
        try:
            result = alert_check.self_test(env, region, aws, timeout_seconds)
        except KeyboardInterrupt:
            raise Interrupted(
                "interrupted; the self-test removed its temporary queue and tag"
            ) from None
        print(
            "\n".join(report.self_test_verdict(env, region, result, "SecretChangeRule"))
        )
        arrived = arrived and result.arrived
    return ExitCode.OK if arrived else ExitCode.FAILED


def _stdin_document(spec: SecretSpec, env: Environment) -> object:
    if sys.stdin.isatty():
        raise ConfigurationError(
            "--from-stdin reads a pipe or a file, not a terminal, where a pasted value would show; "
            "leave out --from-stdin to be prompted without echo"
        )
    return read_document(sys.stdin.buffer, secret_name(env, spec))


def _put(
    env: Environment,
    spec: SecretSpec,
    regions: tuple[str, ...],
    args: argparse.Namespace,
    aws: AwsClients,
) -> int:
    results: list[PutResult]
    if args.resume:
        results = resume_put(env, spec, args.resume, regions, aws)
    else:
        value = (
            _stdin_document(spec, env)
            if args.from_stdin
            else read_value_from_terminal(env, spec)
        )
        results = put_value(env, spec, value, regions, aws)
    for result in results:
        previous = (
            f"previous {result.replaced_version} is AWSPREVIOUS"
            if result.replaced_version
            else "the first value: no previous version"
        )
        print(
            f"{result.secret} in {result.region}: version {result.new_version} is AWSCURRENT; {previous}"
        )
    return ExitCode.OK


def _rollback(
    env: Environment,
    spec: SecretSpec,
    regions: tuple[str, ...],
    args: argparse.Namespace,
    aws: AwsClients,
) -> int:
    plan = plan_rollback(env, spec, regions, aws, target=args.to)
    if plan.note:
        print(plan.note)
        return ExitCode.OK
    if not args.yes:
        moves = "; ".join(
            f"{region}: {plan.moves[region]} -> {plan.target}"
            if region in plan.moves
            else f"{region}: already {plan.target}"
            for region in regions
        )
        confirm(
            f"Make version {plan.target} of {plan.change.secret} AWSCURRENT again ({moves})?"
        )
    roll_back(plan, aws)
    for region in regions:
        origin = plan.moves.get(region)
        print(
            f"{plan.change.secret} in {region}: version {plan.target} is AWSCURRENT; "
            + (f"{origin} is AWSPREVIOUS" if origin else "it already was")
        )
    return ExitCode.OK


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    env = get_environment(args.env)
    regions = _regions(env, args.region)
    aws = AwsClients()
    if args.command == "status":
        return _status(env, regions, args.json, aws)
    if args.command == "alerts-test":
        return _alerts_test(env, regions, args.timeout, aws)
    spec = SECRETS[args.secret]
    if args.command == "put":
        return _put(env, spec, regions, args, aws)
    return _rollback(env, spec, regions, args, aws)


def main(argv: list[str] | None = None) -> int:
    configure_logging(PROG)
    # Every writing step catches Ctrl-C itself and says what was written, so one
    # that reaches this point arrived before anything was.
    return run(PROG, lambda: _main(argv), interrupted="nothing was written")


if __name__ == "__main__":
    sys.exit(main())
