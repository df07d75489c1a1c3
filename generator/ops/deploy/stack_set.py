"""deploy for an environment deployed as a stack set (prod): every account and region, one instance at a time.

Where the instances go (accounts, or organizational units) is checked before
anything runs. Stack sets have no change sets and no stack policy, so the
build's replacement guard compares the committed template with the set's
current one before anything runs. Every operation runs with
FailureToleranceCount 0 and MaxConcurrentCount 1, in the environment's region
order: the first failed instance stops it, and the ones after it are left as
they were. Each operation carries an id of ours, so a lost answer is read
back rather than repeated blind.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.environments import Environment
from generator.errors import (
    AwsError,
    ConfigurationError,
    Incomplete,
    Interrupted,
    OutcomeUnknown,
)
from generator.files import printable, read_regular_text
from generator.leaks import redact
from generator.ops.aws import AwsClients
from generator.ops.deploy.release import (
    LostResponse,
    Release,
    Say,
    cloudformation_errors,
    stack_name,
)
from generator.ops.deploy.review import Review, review
from generator.ops.deploy.waiting import Heartbeat

_ACCOUNT = re.compile(r"[0-9]{12}")
# AWS Organizations' pattern for an organizational unit id.
_ORGANIZATIONAL_UNIT = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
ACCOUNTS_FILE_MAX_BYTES = 1024 * 1024


def read_accounts(
    accounts: Iterable[str], accounts_file: Path | None
) -> tuple[str, ...]:
    """Account ids from the flag and the file (whitespace or comma separated), checked, in order, once each."""
    listed = list(accounts)
    if accounts_file is not None:
        if not accounts_file.exists():
            raise ConfigurationError(
                f"accounts file {printable(str(accounts_file))} does not exist"
            )
        listed += re.split(
            r"[\s,]+", read_regular_text(accounts_file, ACCOUNTS_FILE_MAX_BYTES).strip()
        )
    wrong = [
        account for account in listed if account and not _ACCOUNT.fullmatch(account)
    ]
    if wrong:
        raise ConfigurationError(
            f"not a 12-digit account id: {printable(wrong[0])}"
            + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else "")
        )
    return tuple(dict.fromkeys(account for account in listed if account))


def stack_set_accounts(env: Environment, aws: AwsClients) -> tuple[str, ...]:
    """Every account the environment's stack set has an instance in, read from its administrator account.

    As the set's own administrator first (self-managed, or the organization's
    management account), then as a delegated administrator: AWS looks for a
    service-managed set there only with CallAs DELEGATED_ADMIN
    (CloudFormation API Reference, ListStackInstances, CallAs). Organizations
    is not asked: an operator's identity need not read it.
    """
    name, region = stack_name(env), env.regions[0]
    cloudformation = aws.client("cloudformation", region)
    failures = []
    for as_who in ({}, {"CallAs": "DELEGATED_ADMIN"}):
        try:
            with cloudformation_errors("list the instances of", name, region):
                summaries = [
                    summary
                    for page in cloudformation.get_paginator(
                        "list_stack_instances"
                    ).paginate(StackSetName=name, **as_who)
                    for summary in page["Summaries"]
                ]
        except AwsError as error:
            failures.append(str(error))
            continue
        accounts = tuple(sorted({str(summary["Account"]) for summary in summaries}))
        if not accounts:
            raise AwsError(f"stack set {name} has no instances: deploy it first")
        return accounts
    raise AwsError(
        f"cannot list the accounts of stack set {name} in {region} ({'; as a delegated administrator: '.join(failures)}): "
        "run from its administrator account, or name the accounts with --accounts or --accounts-file"
    )


def check_organizational_units(units: Iterable[str]) -> tuple[str, ...]:
    listed = tuple(dict.fromkeys(units))
    if wrong := [unit for unit in listed if not _ORGANIZATIONAL_UNIT.fullmatch(unit)]:
        raise ConfigurationError(
            f"not an organizational unit id (ou-...): {printable(wrong[0])}"
        )
    return listed


# What a service-managed stack set acts as in each target account
# (CloudFormation User Guide, "Configure a custom execution role template for StackSets").
SERVICE_MANAGED_EXECUTION_ROLE = "stacksets-exec-"


@dataclass(frozen=True)
class Targets:
    """Where the instances go: accounts (self-managed) or organizational units (service-managed), and regions."""

    accounts: tuple[str, ...]
    organizational_units: tuple[str, ...]
    regions: tuple[str, ...]
    # Service-managed only: SELF from the management account, DELEGATED_ADMIN from a delegated administrator.
    call_as: str | None = None
    # Service-managed only: an account that joins a unit later gets its instances without a deploy.
    auto_deployment: bool = False

    @property
    def service_managed(self) -> bool:
        return bool(self.organizational_units)

    def described(self) -> str:
        where = (
            f"organizational unit(s) {', '.join(self.organizational_units)}"
            if self.service_managed
            else f"account(s) {', '.join(self.accounts)}"
        )
        return f"{where}, region(s) {', '.join(self.regions)}"


def refuse_unexempted_service_role(release: Release, targets: Targets) -> None:
    """A service-managed set acts as stacksets-exec-<id>; the guards must exempt it, or it is locked out."""
    named = release.parameter_values.get("DeployerRoleNames", "").split(",")
    if targets.service_managed and not any(
        name.startswith(SERVICE_MANAGED_EXECUTION_ROLE) for name in named
    ):
        raise ConfigurationError(
            "a service-managed stack set acts as stacksets-exec-<id> in each account, which the parameter file's "
            "DeployerRoleNames does not name: add stacksets-exec-* to it, build, and deploy again"
        )


WAIT_LIMIT_SECONDS = 6 * 3600.0


# What StackSets registers delegated administrators under (CloudFormation User Guide, "Register a
# delegated administrator").
STACKSETS_SERVICE_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
CALL_AS = ("SELF", "DELEGATED_ADMIN")


def detect_call_as(aws: AwsClients, region: str, account: str) -> str:
    """SELF from the organization's management account, DELEGATED_ADMIN from a registered delegated administrator.

    AWS requires CallAs DELEGATED_ADMIN on every StackSets call a delegated
    administrator makes (CloudFormation API Reference, CreateStackSet, CallAs);
    without it, the set is looked for in the caller's own account.
    """
    organizations = aws.client("organizations", region)
    with cloudformation_errors("read the organization of", account, region):
        management = organizations.describe_organization()["Organization"][
            "MasterAccountId"
        ]
        if management == account:
            return "SELF"
        administrators = {
            a["Id"]
            for page in organizations.get_paginator(
                "list_delegated_administrators"
            ).paginate(ServicePrincipal=STACKSETS_SERVICE_PRINCIPAL)
            for a in page["DelegatedAdministrators"]
        }
    if account in administrators:
        return "DELEGATED_ADMIN"
    raise ConfigurationError(
        f"account {account} is neither the organization's management account ({management}) nor a delegated "
        "administrator for StackSets: a service-managed stack set can be deployed from neither"
    )


class StackSetDeploy:
    def __init__(
        self, release: Release, aws: AwsClients, say: Say, call_as: str | None = None
    ):
        self.release, self.say, self.aws = release, say, aws
        self.name = stack_name(release.env)
        # The stack set lives in the environment's first region; its instances in all of them.
        self.region = release.env.regions[0]
        self.cloudformation = aws.client("cloudformation", self.region)
        # Passed on every StackSets call of a service-managed set.
        self.as_who: dict[str, str] = {"CallAs": call_as} if call_as else {}

    def describe(self) -> dict[str, Any] | None:
        with cloudformation_errors("describe the stack set", self.name, self.region):
            try:
                return dict(
                    self.cloudformation.describe_stack_set(
                        StackSetName=self.name, **self.as_who
                    )["StackSet"]
                )
            except self.cloudformation.exceptions.StackSetNotFoundException:
                return None

    def review(self, current: dict[str, Any] | None) -> Review:
        """The new template and parameters against the set's: every instance gets what the set holds."""
        where = f"stack set {self.name}"
        release = self.release
        if current is None:
            return review(where, None, {}, release.template, release.parameter_values)
        values = {
            p["ParameterKey"]: str(p.get("ParameterValue", ""))
            for p in current.get("Parameters", [])
        }
        return review(
            where,
            json.loads(current["TemplateBody"]),
            values,
            release.template,
            release.parameter_values,
        )

    def _auto_deployment(self, targets: Targets) -> dict[str, Any]:
        """Automatic deployment to accounts that join a unit later; their stacks kept when they leave, where data is kept."""
        if not targets.auto_deployment:
            return {"Enabled": False}
        return {
            "Enabled": True,
            "RetainStacksOnAccountRemoval": self.release.env.retain_stateful_resources,
        }

    def _preferences(self) -> dict[str, Any]:
        return {
            "FailureToleranceCount": 0,
            "MaxConcurrentCount": 1,
            "RegionConcurrencyType": "SEQUENTIAL",
            "RegionOrder": list(self.release.env.regions),
        }

    def create_set(self, targets: Targets) -> None:
        arguments: dict[str, Any] = {
            "StackSetName": self.name,
            "TemplateBody": self.release.body,
            "Parameters": self.release.parameters,
            "Capabilities": self.release.capabilities,
            "Description": f"{self.release.env.project} {self.release.env.name} credentials, every account and region",
            "ClientRequestToken": str(uuid.uuid4()),
        }
        if targets.service_managed:
            arguments |= {
                "PermissionModel": "SERVICE_MANAGED",
                "AutoDeployment": self._auto_deployment(targets),
                **self.as_who,
            }
        else:
            arguments["PermissionModel"] = "SELF_MANAGED"
        try:
            with cloudformation_errors(
                "create the stack set", self.name, self.region, write=True
            ):
                self.cloudformation.create_stack_set(**arguments)
        except LostResponse as lost:
            if self.describe() is None:
                raise AwsError(
                    f"creating the stack set {self.name} got no answer ({lost}); nothing was changed"
                ) from None

    def start(self, kind: str, targets: Targets) -> str:
        """Start an operation: "update" the set and its instances, or "create" the instances it lacks."""
        operation = str(uuid.uuid4())
        common = {
            "StackSetName": self.name,
            "OperationId": operation,
            "OperationPreferences": self._preferences(),
            **self.as_who,
        }
        where: dict[str, Any] = (
            {
                "DeploymentTargets": {
                    "OrganizationalUnitIds": list(targets.organizational_units)
                }
            }
            if targets.service_managed
            else {"Accounts": list(targets.accounts)}
        )
        try:
            if kind == "update":
                with cloudformation_errors(
                    "update the stack set", self.name, self.region, write=True
                ):
                    self.cloudformation.update_stack_set(
                        **common,
                        TemplateBody=self.release.body,
                        Parameters=self.release.parameters,
                        Capabilities=self.release.capabilities,
                        **(
                            {"AutoDeployment": self._auto_deployment(targets)}
                            if targets.service_managed
                            else {}
                        ),
                    )
            else:
                with cloudformation_errors(
                    "create the instances of", self.name, self.region, write=True
                ):
                    self.cloudformation.create_stack_instances(
                        **common, **where, Regions=list(targets.regions)
                    )
        except LostResponse as lost:
            self._read_back(operation, lost)
        return operation

    def _read_back(self, operation: str, lost: LostResponse) -> None:
        try:
            with cloudformation_errors("read the operation of", self.name, self.region):
                self.cloudformation.describe_stack_set_operation(
                    StackSetName=self.name, OperationId=operation, **self.as_who
                )
        except AwsError as unreadable:
            if "OperationNotFound" in str(unreadable):
                raise AwsError(
                    f"the request to {self.name} got no answer ({lost}); nothing was changed"
                ) from None
            raise OutcomeUnknown(
                f"the request to {self.name} got no answer ({lost}), and its operation {operation} cannot be read "
                "back: it may be running",
                [
                    f"see it with `aws cloudformation describe-stack-set-operation --stack-set-name {self.name} "
                    f"--operation-id {operation} --region {self.region}`"
                ],
            ) from None

    def missing_instances(
        self, targets: Targets, listed: list[dict[str, Any]] | None = None
    ) -> Targets | None:
        """The accounts (or units) and regions that have no instance yet; None when every one has.

        A unit is missing in a region where no instance carries its id: an
        organizational unit added to the deploy later gets its instances.
        `listed` is the set's instances when just read; otherwise they are read.
        """
        listed = self.instances() if listed is None else listed
        if targets.service_managed:
            units, regions = _uncovered(
                targets.organizational_units,
                targets.regions,
                {(i.get("OrganizationalUnitId"), i["Region"]) for i in listed},
            )
            return (
                dataclasses.replace(
                    targets, organizational_units=units, regions=regions
                )
                if units
                else None
            )
        accounts, regions = _uncovered(
            targets.accounts,
            targets.regions,
            {(i["Account"], i["Region"]) for i in listed},
        )
        return Targets(accounts, (), regions) if accounts else None

    def instances(self) -> list[dict[str, Any]]:
        with cloudformation_errors("list the instances of", self.name, self.region):
            return [
                summary
                for page in self.cloudformation.get_paginator(
                    "list_stack_instances"
                ).paginate(StackSetName=self.name, **self.as_who)
                for summary in page["Summaries"]
            ]

    def watch(
        self, operation: str, clock: Callable[[], float] = time.monotonic
    ) -> list[dict[str, Any]]:
        """A line per change of the operation's state, a heartbeat while it runs; then each instance's result."""
        beat = Heartbeat(
            self.say,
            f"stack set {self.name}",
            WAIT_LIMIT_SECONDS,
            lambda status: OutcomeUnknown(
                f"the operation {operation} on {self.name} is still {status}"
            ),
            clock,
        )
        reported = ""
        while True:
            with cloudformation_errors("read the operation of", self.name, self.region):
                status = self.cloudformation.describe_stack_set_operation(
                    StackSetName=self.name, OperationId=operation, **self.as_who
                )["StackSetOperation"]["Status"]
            if status != reported:
                self.say(f"stack set {self.name}: operation {operation} is {status}")
                beat.said()
                reported = status
            if status not in ("RUNNING", "QUEUED", "STOPPING"):
                break
            beat.wait(status)
        with cloudformation_errors("read the results of", self.name, self.region):
            return [
                result
                for page in self.cloudformation.get_paginator(
                    "list_stack_set_operation_results"
                ).paginate(StackSetName=self.name, OperationId=operation, **self.as_who)
                for result in page["Summaries"]
            ]

    def protect_instances(self, account: str) -> None:
        """Termination protection on every instance stack this account's credentials reach; advice for the others."""
        for instance in self.instances():
            where = f"{instance['Account']} {instance['Region']}"
            if instance["Account"] != account or not instance.get("StackId"):
                self.say(
                    f"{where}: turn on termination protection there: aws cloudformation "
                    f"update-termination-protection --enable-termination-protection --stack-name "
                    f"{instance.get('StackId', '<the instance stack>')} --region {instance['Region']}"
                )
                continue
            with cloudformation_errors(
                "turn on termination protection of",
                instance["StackId"],
                instance["Region"],
            ):
                self.aws.client(
                    "cloudformation", instance["Region"]
                ).update_termination_protection(
                    StackName=instance["StackId"], EnableTerminationProtection=True
                )
            self.say(f"{where}: termination protection is on")


def _uncovered(
    wanted: tuple[str, ...], regions: tuple[str, ...], covered: set[tuple[Any, str]]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The wanted accounts (or units) without an instance in some region, and the regions one of them lacks."""
    return (
        tuple(w for w in wanted if any((w, r) not in covered for r in regions)),
        tuple(r for r in regions if any((w, r) not in covered for w in wanted)),
    )


def _outdated(listed: list[dict[str, Any]]) -> list[str]:
    """A line for each instance that does not run what the set holds (ListStackInstances' Status not CURRENT).

    A failed or stopped operation leaves them so, and the set keeps the new
    template even then: a review against the set shows nothing, yet these
    instances still run the old template, or none.
    """
    return [
        f"{i['Account']} {i['Region']}: {i.get('Status', 'unknown')}"
        + (f": {redact(i['StatusReason'])}" if i.get("StatusReason") else "")
        for i in listed
        if i.get("Status") != "CURRENT"
    ]


def _report(say: Say, results: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Print each instance's result; return the instances that succeeded and the lines of those that did not."""
    succeeded: list[str] = []
    failed: list[str] = []
    for result in results:
        line = f"{result['Account']} {result['Region']}: {result['Status']}"
        if result.get("StatusReason"):
            line += f": {redact(result['StatusReason'])}"
        say(line)
        (succeeded if result["Status"] == "SUCCEEDED" else failed).append(line)
    return succeeded, failed


def deploy_stack_set(
    release: Release,
    targets: Targets,
    account: str,
    aws: AwsClients,
    say: Say,
    ask: Callable[[str], None],
    allowed: set[str],
    plan: str,
    allowed_policy_changes: Iterable[str] = (),
    plan_only: bool = False,
) -> bool:
    """Create or update the stack set and its instances, reviewed and judged by the guards first.

    With `plan_only`, it stops after the review, changing nothing. Returns
    whether there were changes to make (the template, parameters, or instances missing).
    """
    refuse_unexempted_service_role(release, targets)
    if targets.service_managed and targets.call_as is None:
        targets = dataclasses.replace(
            targets, call_as=detect_call_as(aws, release.env.regions[0], account)
        )
        say(
            f"stack set {stack_name(release.env)}: acting as {targets.call_as} (AWS Organizations says so)"
        )
    deploy = StackSetDeploy(
        release, aws, say, targets.call_as if targets.service_managed else None
    )
    current = deploy.describe()
    reviewed = deploy.review(current)
    for line in reviewed.lines(allowed):
        say(line)
    reviewed.refuse(allowed, allowed_policy_changes)
    kind = "update" if current is not None else "create"
    listed = deploy.instances() if current is not None else []
    outdated = _outdated(listed)
    if outdated:
        say(
            f"stack set {deploy.name}: {len(outdated)} instance(s) do not run the template the set holds, which "
            "the review above compares with (an earlier operation failed or stopped); the update brings them to it:"
        )
        for line in outdated:
            say(f"  {line}")
    if plan_only:
        missing = (
            deploy.missing_instances(targets, listed)
            if current is not None
            else targets
        )
        if missing is not None:
            say(f"stack set {deploy.name}: instances to create: {missing.described()}")
        return bool(
            reviewed.created or reviewed.changes or outdated or missing is not None
        )
    say(f"stack set {deploy.name} in {deploy.region} ({kind}): {targets.described()}")
    ask(f"{plan} {kind.capitalize()} the stack set and its instances?")
    operations = []
    try:
        if current is None:
            deploy.create_set(targets)
        else:
            operations.append(deploy.start("update", targets))
            results = deploy.watch(operations[-1])
            succeeded, failed = _report(say, results)
            if failed:
                raise _failure(deploy.name, succeeded, failed, updated=True)
        missing = deploy.missing_instances(targets)
        if missing is not None:
            operations.append(deploy.start("create", missing))
            succeeded, failed = _report(say, deploy.watch(operations[-1]))
            if failed:
                raise _failure(deploy.name, succeeded, failed)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: StackSets goes on with {deploy.name}; follow it with `aws cloudformation "
            f"list-stack-set-operations --stack-set-name {deploy.name} --region {deploy.region}`"
        ) from None
    deploy.protect_instances(account)
    say(f"stack set {deploy.name} deployed: {targets.described()}")
    return True


def _failure(
    name: str, succeeded: list[str], failed: list[str], updated: bool = False
) -> AwsError | Incomplete:
    """What is true after a failed operation. An update's new template and parameters stay in the set even so
    (CloudFormation API Reference, UpdateStackSet): an instance created from it later gets them."""
    held = (
        "; the stack set itself now holds the new template and parameters (StackSets keeps them after a failed "
        "update), so any instance created from it gets them: fix the cause and deploy again before adding "
        "accounts or regions"
        if updated
        else ""
    )
    if succeeded:
        return Incomplete(
            f"stack set {name}: {len(failed)} instance(s) failed after {len(succeeded)} succeeded, which run the "
            f"new template; the rest were not touched{held}",
            failed,
        )
    return AwsError(
        f"stack set {name}: the first instance failed, and no instance was changed{held}",
        failed,
    )
