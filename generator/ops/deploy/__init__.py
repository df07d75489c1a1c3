"""`trading-secrets deploy`: the supported way to put a committed template in place, on real AWS or the local engine.

It reads and checks the committed template, parameter file and stack
policy, says which account (from STS) and regions it is about to change, and
then deploys as the environment says: a stack through a reviewed change set
(dev, staging), or a self-managed stack set across accounts and regions
(prod). It passes the capabilities the template needs, never writes a secret
value, and refuses any change that would remove or replace a stateful
resource unless --allow-replacement names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from generator.environments import Environment
from generator.errors import ConfigurationError
from generator.ops.aws import AwsClients
from generator.ops.deploy.release import Say, caller_account, load_release
from generator.ops.deploy.stack import deploy_stack
from generator.ops.deploy.stack_set import Targets, deploy_stack_set


def deploy(
    env: Environment,
    aws: AwsClients,
    say: Say,
    ask: Callable[[str], None],
    *,
    templates_dir: Path,
    params_dir: Path,
    allowed: Iterable[str] = (),
    accounts: tuple[str, ...] = (),
    organizational_units: tuple[str, ...] = (),
    allowed_policy_changes: Iterable[str] = (),
    plan_only: bool = False,
    call_as: str | None = None,
    auto_deployment: bool = False,
) -> bool:
    """Deploy `env`'s committed template; `ask` puts the question (and raises Cancelled on no).

    Every deploy first prints what it changes (generator/ops/deploy/review.py)
    and refuses a replacement or a weakened guard that is not allowed by name;
    with `plan_only` it stops there. Returns whether there were changes to make.
    """
    if (accounts or organizational_units) and not env.deployed_as_stack_set:
        raise ConfigurationError(
            f"{env.name} deploys as a stack in its own account: --accounts and --organizational-units are for prod's stack set"
        )
    if accounts and organizational_units:
        raise ConfigurationError(
            "name accounts (self-managed) or organizational units (service-managed), not both"
        )
    if (call_as or auto_deployment) and not organizational_units:
        raise ConfigurationError(
            "--call-as and --auto-deployment are for a service-managed stack set: name its --organizational-units"
        )
    release = load_release(env, templates_dir, params_dir)
    account, arn = caller_account(aws, env.regions[0])
    plan = f"This changes account {account} ({arn}) in {', '.join(env.regions)}."
    say(
        f"deploy {env.name}: {release.source} (generator {release.generator_version}), "
        f"capabilities {', '.join(release.capabilities) or 'none'}; account {account} as {arn}; "
        f"region(s) {', '.join(env.regions)}"
    )
    allowed = set(allowed)
    policy_changes = tuple(allowed_policy_changes)
    if env.deployed_as_stack_set:
        targets = Targets(
            accounts or (account,),
            organizational_units,
            env.regions,
            call_as,
            auto_deployment,
        )
        return deploy_stack_set(
            release,
            targets,
            account,
            aws,
            say,
            ask,
            allowed,
            plan,
            policy_changes,
            plan_only,
        )
    changed = False
    for region in env.regions:
        changed |= deploy_stack(
            release, region, aws, say, ask, allowed, plan, policy_changes, plan_only
        )
    return changed
