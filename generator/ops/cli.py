"""`trading-secrets`: check, put (rotate) and roll back the deployed credentials.

    trading-secrets status      --env prod [--region R] [--json]
    trading-secrets put         --env prod --secret alpaca [--region R] [--from-stdin | --resume VERSION]
    trading-secrets rollback    --env prod --secret alpaca [--region R] [--to VERSION] [--yes]
    trading-secrets alerts-test --env dev [--region R] [--timeout S]
    trading-secrets deploy      --env prod [--yes] [--allow-replacement ID ...] [--accounts A ... | --accounts-file F]

A value is read without echo from the terminal, or as one JSON document piped
to stdin; never from argv or the environment, where it would be logged or
inherited. No value is ever printed.

Exit codes (generator.errors.ExitCode): 0 ok; 1 `status` found a secret that
fails the go-live gate, or `alerts-test` saw no alert; 2 usage error; 3 value
refused; 4 AWS error, nothing changed for consumers; 5 cancelled at a prompt;
6 incomplete, some regions only (the message gives the command that finishes
it); 7 conflict, the regions disagree or another change got there first;
8 a deploy would remove or replace a stateful resource, and nothing was
changed; 9 a write got no answer and its outcome cannot be read back;
130 interrupted (the message says what was written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.catalogue import CATALOGUE
from generator.cli import (
    OneLineErrorParser,
    configure_logging,
    one_of,
    positive_int,
    run,
)
from generator.environments import ENVIRONMENTS, get_environment
from generator.ops import commands
from generator.ops.aws import AwsClients

PROG = "trading-secrets"
SECRETS = {spec.name_suffix: spec for spec in CATALOGUE}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineErrorParser(
        prog=PROG,
        description="Check, put (rotate) and roll back the trading credentials in Secrets Manager.",
    )
    subcommands = parser.add_subparsers(
        dest="command", required=True, parser_class=OneLineErrorParser
    )

    def command(
        name: str, help_text: str, with_secret: bool, with_region: bool = True
    ) -> argparse.ArgumentParser:
        sub = subcommands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--env", required=True, type=one_of("environment", ENVIRONMENTS)
        )
        if with_secret:
            sub.add_argument("--secret", required=True, type=one_of("secret", SECRETS))
        if with_region:
            sub.add_argument(
                "--region",
                help="one of the environment's regions (default: all of them)",
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
    put.add_argument(
        "--skip-provider-check",
        action="store_true",
        help="put without asking the provider first (this machine cannot reach it); the version is "
        "marked UNCHECKED, and status fails, until verify checks it",
    )
    put.add_argument(
        "--new-account",
        action="store_true",
        help="an Alpaca key of another account than the current one is meant",
    )
    verify = command(
        "verify",
        "check each region's AWSCURRENT value at its provider; exit 3 if one refuses it",
        False,
    )
    verify.add_argument(
        "--secret", type=one_of("secret", SECRETS), help="one secret (default: all)"
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
    _deploy_arguments(
        command(
            "deploy",
            "deploy the committed template: a stack through a change set, or prod's stack set",
            False,
            # An environment's regions are data: a deploy covers them all.
            with_region=False,
        )
    )
    return parser.parse_args(argv)


def _deploy_arguments(deploy: argparse.ArgumentParser) -> None:
    deploy.add_argument(
        "--yes", action="store_true", help="do not ask before changing anything"
    )
    deploy.add_argument(
        "--allow-replacement",
        action="append",
        default=[],
        metavar="LOGICAL_ID",
        help="let a reviewed change remove or replace this stateful resource (repeatable)",
    )
    deploy.add_argument(
        "--templates-dir", default="templates", help="default: templates/"
    )
    deploy.add_argument("--params-dir", default="params", help="default: params/")
    targets = deploy.add_argument_group("prod's stack set")
    targets.add_argument(
        "--accounts",
        nargs="+",
        default=[],
        metavar="ACCOUNT",
        help="target accounts (default: the caller's)",
    )
    targets.add_argument(
        "--accounts-file",
        type=Path,
        help="a file of account ids, one per line or comma separated",
    )
    targets.add_argument(
        "--organizational-units",
        nargs="+",
        default=[],
        metavar="OU",
        help="deploy service-managed to these organizational units instead of to accounts",
    )


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    env = get_environment(args.env)
    aws = AwsClients()
    if args.command == "deploy":
        return commands.deploy_command(env, args, aws)
    regions = commands.regions_of(env, args.region)
    if args.command == "status":
        return commands.status(env, regions, args.json, aws)
    if args.command == "alerts-test":
        return commands.alerts_test(env, regions, args.timeout, aws)
    if args.command == "verify":
        specs = [SECRETS[args.secret]] if args.secret else list(SECRETS.values())
        return commands.verify_command(env, specs, regions, aws)
    spec = SECRETS[args.secret]
    if args.command == "put":
        return commands.put(env, spec, regions, args, aws)
    return commands.rollback(env, spec, regions, args, aws)


def main(argv: list[str] | None = None) -> int:
    configure_logging(PROG)
    # Every writing step catches Ctrl-C itself and says what was written, so one
    # that reaches this point arrived before anything was.
    return run(PROG, lambda: _main(argv), interrupted="nothing was written")


if __name__ == "__main__":
    sys.exit(main())
