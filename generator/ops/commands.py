"""What each trading-secrets command does, once its arguments are parsed: a thin layer over the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.catalogue import SecretSpec
from generator.environments import Environment
from generator.errors import AwsError, ConfigurationError, ExitCode, Interrupted
from generator.naming import secret_name
from generator.ops import alert_check, report
from generator.ops.aws import AwsClients
from generator.ops.deploy import deploy
from generator.ops.prompts import confirm, read_value_from_terminal
from generator.ops.put import PutResult, put_value, resume_put
from generator.ops.rollback import plan_rollback, roll_back
from generator.ops.secret_rows import State
from generator.ops.status import environment_status
from generator.ops.targets import check_organizational_units, read_accounts
from generator.ops.values import read_document
from generator.ops.verify import verify, vet_before_put


def regions_of(env: Environment, region: str | None) -> tuple[str, ...]:
    if region is None:
        return env.regions
    if region not in env.regions:
        raise ConfigurationError(
            f"{env.name} is not deployed to {region!r}; its regions: {', '.join(env.regions)}"
        )
    return (region,)


def status(
    env: Environment, regions: tuple[str, ...], as_json: bool, aws: AwsClients
) -> int:
    checked = environment_status(env, regions, aws)
    queues = [alert_check.dead_letters(env, region, aws) for region in regions]
    print(
        report.status_document(env, checked, queues)
        if as_json
        else report.status_table(env, checked, queues)
    )
    if all(row.state is State.ERROR for row in checked.rows):
        # Not one secret could be checked: that is AWS failing, not the gate.
        raise AwsError(checked.rows[0].gate_problems[0])
    return ExitCode.OK if report.passes_gate(checked, queues) else ExitCode.FAILED


def alerts_test(
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


def put(
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
        vet = vet_before_put(
            env,
            spec,
            regions,
            aws,
            skip=args.skip_provider_check,
            new_account=args.new_account,
        )
        results = put_value(env, spec, value, regions, aws, vet)
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


def say(line: str) -> None:
    """A line of progress on stdout, at once: a deploy's events are read as they come."""
    print(line, flush=True)


def deploy_command(env: Environment, args: argparse.Namespace, aws: AwsClients) -> int:
    def ask(question: str) -> None:
        if not args.yes:
            confirm(question, "deploy")

    deploy(
        env,
        aws,
        say,
        ask,
        templates_dir=Path(args.templates_dir),
        params_dir=Path(args.params_dir),
        allowed=args.allow_replacement,
        accounts=read_accounts(args.accounts, args.accounts_file),
        organizational_units=check_organizational_units(args.organizational_units),
    )
    return ExitCode.OK


def verify_command(
    env: Environment, specs: list[SecretSpec], regions: tuple[str, ...], aws: AwsClients
) -> int:
    return verify(env, specs, regions, aws, say)
