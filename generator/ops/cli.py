"""`trading-secrets`: deploy, check, put (rotate), verify and roll back the deployed credentials.

    trading-secrets status      --env prod [--region R] [--json] [--deadline SECONDS]
    trading-secrets put         --env prod --secret alpaca [--region R] [--from-stdin | --resume VERSION]
                                [--skip-provider-check] [--new-account]
    trading-secrets verify      --env prod [--secret alpaca] [--region R]
    trading-secrets rollback    --env prod --secret alpaca [--region R] [--to VERSION] [--yes]
    trading-secrets alerts-test --env dev [--region R] [--timeout S]
    trading-secrets dead-letters --env prod [--region R] [--purge [--yes]]
    (status, put, verify, rollback and dead-letters in prod also take
     --role-name ROLE [--accounts A ... | --accounts-file F]: every account at once)
    trading-secrets deploy      --env prod [--yes] [--allow-replacement ID ...] [--accounts A ... | --accounts-file F]

A value is read without echo from the terminal, or as one JSON document piped
to stdin; never from argv or the environment, where it would be logged or
inherited. No value is ever printed.

Parsing ends here: every command below takes typed parameters, never
argparse's Namespace, and is a thin layer over the library (ops.deploy,
ops.change, ops.live) that prints what it did.

Exit codes (generator.errors.ExitCode): 0 ok; 1 `status` found a secret that
fails the go-live gate, `verify` found a value it cannot vouch for in a way
that is not the provider's refusal (EMPTY, INVALID), or `alerts-test` saw no
alert; 2 usage error; 3 value refused (by its schema or its provider); 4 AWS
error, nothing changed for consumers; 5 cancelled at a prompt; 6 incomplete,
some regions only (the message gives the command that finishes it);
7 conflict, the regions disagree or another change got there first; 8 a
deploy would remove or replace a stateful resource, and nothing was changed;
9 a write got no answer and its outcome cannot be read back; 10 no provider
answer vouches for the value (put refuses it; verify reports it); 11 `status`:
a region did not answer by the deadline; 130 interrupted (the message says
what was written).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

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
from generator.ops.aws import AwsClients, place, start_command
from generator.ops.change.provider import check_before_put
from generator.ops.change.put import PutResult, put_value, resume_put
from generator.ops.change.rollback import plan_rollback, roll_back
from generator.ops.change.values import read_document
from generator.ops.deploy import deploy
from generator.ops.deploy.stack_set import (
    CALL_AS,
    check_organizational_units,
    read_accounts,
    stack_set_accounts,
)
from generator.ops.live import alerts, report
from generator.ops.live.status import State, environment_status
from generator.ops.live.verify import verify
from generator.ops.prompts import confirm, read_value_from_terminal

PROG = "trading-secrets"
# How long `status` may take before it gives its verdict with what has answered.
DEFAULT_DEADLINE_SECONDS = 60
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
        name: str,
        help_text: str,
        with_secret: bool,
        with_region: bool = True,
        every_account: bool = False,
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
        if every_account:
            accounts = sub.add_argument_group("every account of prod's stack set")
            accounts.add_argument(
                "--role-name",
                metavar="ROLE",
                help="act in every account of the stack set by assuming this role there "
                "(templates/prod/operator-role.json makes it: trading-prod-operator)",
            )
            accounts.add_argument(
                "--accounts",
                nargs="+",
                default=[],
                metavar="ACCOUNT",
                help="with --role-name: these accounts (default: every account the stack set has instances in)",
            )
            accounts.add_argument(
                "--accounts-file",
                type=Path,
                help="with --role-name: a file of account ids, one per line or comma separated",
            )
        return sub

    status = command(
        "status",
        "report every secret's state; exit 1 if any fails the go-live gate",
        False,
        every_account=True,
    )
    status.add_argument(
        "--json", action="store_true", help="one JSON document on stdout"
    )
    status.add_argument(
        "--deadline",
        type=positive_int,
        default=DEFAULT_DEADLINE_SECONDS,
        metavar="SECONDS",
        help=f"give the verdict within this long; a region that has not answered by then is UNKNOWN "
        f"(exit 11) (default {DEFAULT_DEADLINE_SECONDS})",
    )
    put = command(
        "put",
        "write a new value (also the manual rotation); prints version ids, never the value",
        True,
        every_account=True,
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
        help="a credential of another account than the current one is meant (where its provider names accounts)",
    )
    verify = command(
        "verify",
        "check each region's AWSCURRENT value at its provider; exit 3 if one refuses it",
        False,
        every_account=True,
    )
    verify.add_argument(
        "--secret", type=one_of("secret", SECRETS), help="one secret (default: all)"
    )
    rollback = command(
        "rollback",
        "make an earlier version current again in every region",
        True,
        every_account=True,
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
    letters = command(
        "dead-letters",
        "read what waits in the alert dead-letter queue; with --purge, empty it once read",
        False,
        every_account=True,
    )
    letters.add_argument(
        "--purge",
        action="store_true",
        help="empty the queue (after the cause is fixed); asks first unless --yes",
    )
    letters.add_argument("--yes", action="store_true", help="do not ask before purging")
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
        "--allow-policy-change",
        action="append",
        default=[],
        metavar="LOGICAL_ID/SID",
        help="let a reviewed change that weakens this policy statement through (repeatable; logged)",
    )
    deploy.add_argument(
        "--plan",
        action="store_true",
        help="print what a deploy would change and change nothing: exit 0 nothing to change, 12 changes "
        "that would go through, 8 or 13 a change that would be refused",
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
    targets.add_argument(
        "--call-as",
        choices=CALL_AS,
        help="service-managed: SELF from the management account, DELEGATED_ADMIN from a delegated "
        "administrator (default: as AWS Organizations says of the caller)",
    )
    targets.add_argument(
        "--auto-deployment",
        action="store_true",
        help="service-managed: deploy to accounts that join a unit later, and keep their stacks when they leave",
    )


def places_of(
    env: Environment,
    regions: tuple[str, ...],
    accounts: tuple[str, ...],
    role_name: str | None,
    aws: AwsClients,
) -> tuple[str, ...]:
    """Every (account, region) to act in: `accounts`, or every account the stack set has instances in."""
    if role_name is None:
        raise ConfigurationError(
            "--accounts needs --role-name: the role to assume in each account (trading-prod-operator)"
        )
    if not env.deployed_as_stack_set:
        raise ConfigurationError(
            f"{env.name} lives in one account: --role-name is for an environment deployed to many (prod)"
        )
    listed = accounts or stack_set_accounts(env, aws)
    return tuple(place(account, region) for account in listed for region in regions)


def regions_of(env: Environment, region: str | None) -> tuple[str, ...]:
    if region is None:
        return env.regions
    if region not in env.regions:
        raise ConfigurationError(
            f"{env.name} is not deployed to {region!r}; its regions: {', '.join(env.regions)}"
        )
    return (region,)


def status(
    env: Environment,
    regions: tuple[str, ...],
    aws: AwsClients,
    *,
    as_json: bool,
    deadline: float | None = None,
) -> int:
    """The go-live gate; `deadline` is a monotonic time by which the verdict is given, UNKNOWN where a region is late."""
    checked = environment_status(env, regions, aws, deadline)
    print(
        report.status_document(env, checked)
        if as_json
        else report.status_table(env, checked),
        flush=True,
    )
    if checked.unknown:
        return ExitCode.UNKNOWN
    if all(row.state is State.ERROR for row in checked.rows):
        # Not one secret could be checked: that is AWS failing, not the gate.
        raise AwsError(checked.rows[0].gate_problems[0])
    return ExitCode.OK if report.passes_gate(checked) else ExitCode.FAILED


def dead_letters(
    env: Environment,
    regions: tuple[str, ...],
    aws: AwsClients,
    *,
    purge: bool,
    yes: bool,
) -> int:
    """What waits in each region's dead-letter queue, one line each; with `purge`, empty it once read."""
    held = 0
    for region in regions:
        queue = alerts.dead_letters(env, region, aws)
        if queue.error:
            raise AwsError(queue.error)
        count = queue.messages or 0
        held += count
        print(f"{queue.queue} in {region}: {count} message(s)")
        for change in queue.changes:
            print(f"  change to the alert path: {change}")
        for undelivered in queue.undelivered:
            print(f"  not delivered: {undelivered}")
        if purge and count:
            if not yes:
                confirm(
                    f"Empty {queue.queue} in {region} ({count} message(s))?", "purge"
                )
            alerts.purge_dead_letters(env, region, aws)
            print(f"{queue.queue} in {region}: emptied")
    return ExitCode.OK if purge or not held else ExitCode.FAILED


def alerts_test(
    env: Environment,
    regions: tuple[str, ...],
    aws: AwsClients,
    *,
    timeout_seconds: float,
) -> int:
    arrived = True
    for region in regions:
        try:
            result = alerts.self_test(env, region, aws, timeout_seconds)
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


def put(
    env: Environment,
    spec: SecretSpec,
    regions: tuple[str, ...],
    aws: AwsClients,
    *,
    from_stdin: bool = False,
    resume: str | None = None,
    skip_provider_check: bool = False,
    new_account: bool = False,
) -> int:
    results: list[PutResult]
    if resume:
        results = resume_put(env, spec, resume, regions, aws)
    else:
        value = (
            _stdin_document(spec, env)
            if from_stdin
            else read_value_from_terminal(env, spec)
        )
        checked = check_before_put(
            env,
            spec,
            value,
            regions,
            aws,
            skip_provider_check=skip_provider_check,
            new_account=new_account,
        )
        results = put_value(env, spec, checked, regions, aws)
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


def rollback(
    env: Environment,
    spec: SecretSpec,
    regions: tuple[str, ...],
    aws: AwsClients,
    *,
    to: str | None = None,
    yes: bool = False,
) -> int:
    plan = plan_rollback(env, spec, regions, aws, target=to)
    if plan.note:
        print(plan.note)
        return ExitCode.OK
    if not yes:
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


def say(line: str) -> None:
    """A line of progress on stdout, at once: a deploy's events are read as they come."""
    print(line, flush=True)


def deploy_command(
    env: Environment,
    aws: AwsClients,
    *,
    yes: bool,
    allowed: list[str],
    templates_dir: Path,
    params_dir: Path,
    accounts: tuple[str, ...],
    organizational_units: tuple[str, ...],
    allowed_policy_changes: tuple[str, ...] = (),
    plan: bool = False,
    call_as: str | None = None,
    auto_deployment: bool = False,
) -> int:
    def ask(question: str) -> None:
        if not yes:
            confirm(question, "deploy")

    pending = deploy(
        env,
        aws,
        say,
        ask,
        templates_dir=templates_dir,
        params_dir=params_dir,
        allowed=allowed,
        accounts=accounts,
        organizational_units=organizational_units,
        allowed_policy_changes=allowed_policy_changes,
        plan_only=plan,
        call_as=call_as,
        auto_deployment=auto_deployment,
    )
    if plan:
        # A pipeline gates on it: 12 when a deploy would change something (and would be let through).
        say(
            f"deploy --plan {env.name}: "
            + ("changes pending" if pending else "nothing to change")
        )
        return ExitCode.CHANGES_PENDING if pending else ExitCode.OK
    return ExitCode.OK


def _main(argv: list[str] | None, started: float) -> int:
    args = parse_args(argv)
    env = get_environment(args.env)
    aws = AwsClients()
    if args.command == "deploy":
        return deploy_command(
            env,
            aws,
            yes=args.yes,
            allowed=args.allow_replacement,
            templates_dir=Path(args.templates_dir),
            params_dir=Path(args.params_dir),
            accounts=read_accounts(args.accounts, args.accounts_file),
            organizational_units=check_organizational_units(args.organizational_units),
            allowed_policy_changes=tuple(args.allow_policy_change),
            plan=args.plan,
            call_as=args.call_as,
            auto_deployment=args.auto_deployment,
        )
    if getattr(args, "role_name", None) is not None or getattr(args, "accounts", None):
        if getattr(args, "purge", False):
            # The operator role may not purge by design: emptying the queue hides what it holds.
            raise ConfigurationError(
                "--purge acts in one account, with that account's own credentials: the operator role may read "
                "the dead-letter queue but not empty it; read it here, then purge in the account that holds it"
            )
        aws = AwsClients(role_name=args.role_name)
        regions = places_of(
            env,
            regions_of(env, args.region),
            read_accounts(args.accounts, args.accounts_file),
            args.role_name,
            aws,
        )
    else:
        regions = regions_of(env, args.region)
    if args.command == "status":
        return status(
            env, regions, aws, as_json=args.json, deadline=started + args.deadline
        )
    if args.command == "dead-letters":
        return dead_letters(env, regions, aws, purge=args.purge, yes=args.yes)
    if args.command == "alerts-test":
        return alerts_test(env, regions, aws, timeout_seconds=args.timeout)
    if args.command == "verify":
        specs = [SECRETS[args.secret]] if args.secret else list(SECRETS.values())
        return verify(env, specs, regions, aws, say)
    spec = SECRETS[args.secret]
    if args.command == "put":
        return put(
            env,
            spec,
            regions,
            aws,
            from_stdin=args.from_stdin,
            resume=args.resume,
            skip_provider_check=args.skip_provider_check,
            new_account=args.new_account,
        )
    return rollback(env, spec, regions, aws, to=args.to, yes=args.yes)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    configure_logging(PROG)
    start_command()
    # Every writing step catches Ctrl-C itself and says what was written, so one
    # that reaches this point arrived before anything was.
    return run(PROG, lambda: _main(argv, started), interrupted="nothing was written")


if __name__ == "__main__":
    sys.exit(main())
