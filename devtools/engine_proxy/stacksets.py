"""StackSets for the local engine, over its real stacks.

LocalStack 4.10 creates stack instances without the set's parameters and
capabilities, and cannot describe, list, update or report on a stack set its
default engine made. Here the set is kept by the proxy, and each instance is
a real stack in the engine, in its own account and region, created, updated
and deleted with the set's template, parameters and capabilities. Operations
run one instance at a time in region order, and stop at the first failure
beyond FailureToleranceCount, as AWS does with MaxConcurrentCount 1.

Service-managed sets (with an organization, organizations.py) as AWS keeps
them (CloudFormation API Reference, CreateStackSet, CallAs): they belong to
the management account; a delegated administrator reaches them only with
CallAs DELEGATED_ADMIN (without it, its own account is searched, and the set
is not there), and any other account not at all. Instances go to every
account of each organizational unit named, and carry that unit's id. A set
keeps its new template and parameters even when the update's operation
fails (UpdateStackSet).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from devtools.engine_proxy.organizations import Organization
from devtools.engine_proxy.strict import required_capability
from devtools.engine_proxy.wire import Caller, Reply, query_error, query_reply

_WAIT = {"Delay": 1, "MaxAttempts": 300}


@dataclass
class Instance:
    account: str
    region: str
    stack_id: str | None = None
    status: str = "OUTDATED"  # CURRENT, OUTDATED or INOPERABLE, as AWS reports them
    reason: str = ""
    organizational_unit: str | None = None


@dataclass
class Operation:
    operation_id: str
    action: str
    preferences: dict[str, Any]
    status: str = "RUNNING"
    results: list[dict[str, str]] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None


@dataclass
class StackSet:
    name: str
    stack_set_id: str
    template: str
    parameters: list[dict[str, str]]
    capabilities: list[str]
    permission_model: str
    instances: dict[tuple[str, str], Instance] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    auto_deployment: dict[str, Any] = field(default_factory=dict)


class InstanceStacks:
    """Create, update and delete one instance's stack with its set's template, parameters and capabilities."""

    def __init__(self, engine_client: Callable[[str, Caller], Any]):
        self._engine_client = engine_client

    def _client_for(self, instance: Instance) -> Any:
        return self._engine_client(
            "cloudformation",
            Caller(instance.account, instance.region, "cloudformation"),
        )

    def _arguments(self, stack_set: StackSet) -> dict[str, Any]:
        return {
            "TemplateBody": stack_set.template,
            "Parameters": stack_set.parameters,
            "Capabilities": stack_set.capabilities,
        }

    def _settle(self, instance: Instance, waiter: str) -> None:
        cloudformation = self._client_for(instance)
        try:
            cloudformation.get_waiter(waiter).wait(
                StackName=instance.stack_id, WaiterConfig=_WAIT
            )
        except WaiterError:
            events = cloudformation.describe_stack_events(StackName=instance.stack_id)[
                "StackEvents"
            ]
            reasons = [
                e.get("ResourceStatusReason", "")
                for e in events
                if "FAILED" in e["ResourceStatus"]
            ]
            raise InstanceFailed(
                "; ".join(r for r in reasons if r) or "the stack did not settle"
            ) from None
        instance.status, instance.reason = "CURRENT", ""

    def create(self, stack_set: StackSet, instance: Instance) -> None:
        name = f"StackSet-{stack_set.name}-{uuid.uuid4()}"
        try:
            instance.stack_id = self._client_for(instance).create_stack(
                StackName=name, **self._arguments(stack_set)
            )["StackId"]
        except ClientError as error:
            raise InstanceFailed(error.response["Error"].get("Message", "")) from None
        self._settle(instance, "stack_create_complete")

    def update(self, stack_set: StackSet, instance: Instance) -> None:
        try:
            self._client_for(instance).update_stack(
                StackName=instance.stack_id, **self._arguments(stack_set)
            )
        except ClientError as error:
            message = error.response["Error"].get("Message", "")
            if "No updates are to be performed" in message:
                instance.status = "CURRENT"
                return
            raise InstanceFailed(message) from None
        self._settle(instance, "stack_update_complete")

    def delete(self, stack_set: StackSet, instance: Instance, retain: bool) -> None:
        if not retain and instance.stack_id:
            cloudformation = self._client_for(instance)
            stack = cloudformation.describe_stacks(StackName=instance.stack_id)[
                "Stacks"
            ][0]
            if stack.get("EnableTerminationProtection"):
                raise InstanceFailed(
                    f"Stack [{stack['StackName']}] cannot be deleted while TerminationProtection is enabled"
                )
            cloudformation.delete_stack(StackName=instance.stack_id)
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=instance.stack_id, WaiterConfig=_WAIT
            )
        del stack_set.instances[(instance.account, instance.region)]


class InstanceFailed(Exception):
    """One instance's stack could not be created, updated or deleted; the message is the engine's reason."""


ACTIONS = {
    "CreateStackSet",
    "DescribeStackSet",
    "ListStackSets",
    "UpdateStackSet",
    "DeleteStackSet",
    "CreateStackInstances",
    "DeleteStackInstances",
    "ListStackInstances",
    "DescribeStackSetOperation",
    "ListStackSetOperationResults",
}


class StackSets:
    """The StackSets API for one proxy: sets keyed by the administrator account and region."""

    def __init__(
        self,
        engine_client: Callable[[str, Caller], Any],
        organization: Callable[[], Organization | None] = lambda: None,
        failing: Callable[[Instance], bool] = lambda instance: False,
    ):
        self._stacks = InstanceStacks(engine_client)
        self._sets: dict[tuple[str, str, str], StackSet] = {}
        self._lock = threading.Lock()
        self._organization = organization
        # Whether a test makes this instance's next operation fail, as an instance fails in AWS.
        self._failing = failing

    def _administrator(self, who: Caller, params: dict[str, Any]) -> str | Reply:
        """Whose sets the call reaches: the caller's own, or with CallAs DELEGATED_ADMIN the management account's."""
        call_as = params.get("CallAs", "SELF")
        if call_as == "SELF":
            return who.access_key
        organization = self._organization()
        if organization is None or not organization.is_delegated_administrator(
            who.access_key
        ):
            return query_error(
                "ValidationError",
                f"Account {who.access_key} is not registered as a delegated administrator for StackSets",
            )
        return organization.management_account

    def handle(self, who: Caller, action: str, params: dict[str, Any]) -> Reply:
        administrator = self._administrator(who, params)
        if isinstance(administrator, Reply):
            return administrator
        found = self._sets.get(
            (administrator, who.region, params.get("StackSetName", ""))
        )
        if action == "CreateStackSet":
            return self._create_set(who, administrator, params, found)
        if action == "ListStackSets":
            summaries = [
                {
                    "StackSetName": s.name,
                    "StackSetId": s.stack_set_id,
                    "Status": "ACTIVE",
                }
                for (key, region, _), s in self._sets.items()
                if (key, region) == (administrator, who.region)
            ]
            return query_reply(action, {"Summaries": summaries})
        if found is None:
            return query_error(
                "StackSetNotFoundException",
                f"StackSet {params.get('StackSetName')} not found",
            )
        if action == "DescribeStackSet":
            return query_reply(action, {"StackSet": self._description(found)})
        if action == "UpdateStackSet":
            return self._update_set(who, params, found)
        if action == "DeleteStackSet":
            if found.instances:
                return query_error("StackSetNotEmptyException", "StackSet is not empty")
            del self._sets[(administrator, who.region, found.name)]
            return query_reply(action, {})
        if action in ("CreateStackInstances", "DeleteStackInstances"):
            return self._instances(action, found, params)
        if action == "ListStackInstances":
            return query_reply(
                action,
                {
                    "Summaries": [
                        self._instance_summary(found, i)
                        for i in found.instances.values()
                    ]
                },
            )
        operation = found.operations.get(params.get("OperationId", ""))
        if operation is None:
            return query_error("OperationNotFoundException", "Operation not found")
        if action == "DescribeStackSetOperation":
            return query_reply(
                action,
                {
                    "StackSetOperation": {
                        "OperationId": operation.operation_id,
                        "StackSetId": found.stack_set_id,
                        "Action": operation.action,
                        "Status": operation.status,
                        "OperationPreferences": operation.preferences,
                        "CreationTimestamp": operation.created,
                        "EndTimestamp": operation.ended,
                    }
                },
            )
        return query_reply(action, {"Summaries": list(operation.results)})

    def _instances(self, action: str, found: StackSet, params: dict[str, Any]) -> Reply:
        """CreateStackInstances or DeleteStackInstances: an operation over the targets they name."""
        creating = action == "CreateStackInstances"
        targets = self._targets(params, found, new=creating)
        if isinstance(targets, Reply):
            return targets
        if creating:
            return self._start(
                action, found, "CREATE", params, targets, self._stacks.create
            )
        retain = params.get("RetainStacks") == "true"
        return self._start(
            action,
            found,
            "DELETE",
            params,
            targets,
            lambda s, i: self._stacks.delete(s, i, retain),
        )

    # The set -------------------------------------------------------------------------------

    def _refused_capabilities(
        self, template: str, capabilities: list[str]
    ) -> Reply | None:
        needed = required_capability(template)
        if (
            needed
            and needed not in capabilities
            and "CAPABILITY_NAMED_IAM" not in capabilities
        ):
            return query_error(
                "InsufficientCapabilitiesException",
                f"Requires capabilities : [{needed}]",
            )
        return None

    def _create_set(
        self,
        who: Caller,
        administrator: str,
        params: dict[str, Any],
        found: StackSet | None,
    ) -> Reply:
        if found is not None:
            return query_error(
                "NameAlreadyExistsException", f"StackSet {found.name} already exists"
            )
        capabilities = params.get("Capabilities", [])
        if refused := self._refused_capabilities(params["TemplateBody"], capabilities):
            return refused
        model = params.get("PermissionModel", "SELF_MANAGED")
        organization = self._organization()
        if model == "SERVICE_MANAGED" and (
            organization is None or administrator != organization.management_account
        ):
            return query_error(
                "ValidationError",
                "A service-managed StackSet can be created only by the management account, or by a "
                "delegated administrator with CallAs DELEGATED_ADMIN",
            )
        name = params["StackSetName"]
        stack_set = StackSet(
            name,
            f"{name}:{uuid.uuid4()}",
            params["TemplateBody"],
            params.get("Parameters", []),
            capabilities,
            model,
            auto_deployment=params.get("AutoDeployment", {}),
        )
        self._sets[(administrator, who.region, name)] = stack_set
        return query_reply("CreateStackSet", {"StackSetId": stack_set.stack_set_id})

    def _description(self, stack_set: StackSet) -> dict[str, Any]:
        return {
            "StackSetName": stack_set.name,
            "StackSetId": stack_set.stack_set_id,
            "Status": "ACTIVE",
            "TemplateBody": stack_set.template,
            "Parameters": stack_set.parameters,
            "Capabilities": stack_set.capabilities,
            "PermissionModel": stack_set.permission_model,
            "Regions": sorted({i.region for i in stack_set.instances.values()}),
            **(
                {"AutoDeployment": stack_set.auto_deployment}
                if stack_set.auto_deployment
                else {}
            ),
        }

    def _update_set(
        self, who: Caller, params: dict[str, Any], stack_set: StackSet
    ) -> Reply:
        template = (
            stack_set.template
            if params.get("UsePreviousTemplate") == "true"
            else params["TemplateBody"]
        )
        capabilities = params.get("Capabilities", [])
        if refused := self._refused_capabilities(template, capabilities):
            return refused
        # Kept whatever the operation's outcome: UpdateStackSet changes the set first.
        stack_set.template, stack_set.capabilities = template, capabilities
        stack_set.parameters = params.get("Parameters", stack_set.parameters)
        if params.get("AutoDeployment"):
            stack_set.auto_deployment = params["AutoDeployment"]
        targets = (
            self._targets(params, stack_set, new=False)
            if params.get("Accounts")
            else list(stack_set.instances.values())
        )
        if isinstance(targets, Reply):
            return targets
        for instance in targets:
            instance.status = "OUTDATED"
        return self._start(
            "UpdateStackSet",
            stack_set,
            "UPDATE",
            params,
            targets,
            self._stacks.update,
        )

    # Operations ----------------------------------------------------------------------------

    def _targets(
        self, params: dict[str, Any], stack_set: StackSet, new: bool
    ) -> list[Instance] | Reply:
        deployment = params.get("DeploymentTargets", {})
        units = deployment.get("OrganizationalUnitIds", [])
        by_account: dict[str, str | None] = dict.fromkeys(
            params.get("Accounts") or deployment.get("Accounts", [])
        )
        if units:
            organization = self._organization()
            if stack_set.permission_model != "SERVICE_MANAGED" or organization is None:
                return query_error(
                    "ValidationError",
                    "OrganizationalUnitIds are for service-managed StackSets only",
                )
            for unit in units:
                accounts = organization.accounts_in(unit)
                if accounts is None:
                    return query_error(
                        "ValidationError", f"Organizational unit {unit} not found"
                    )
                by_account |= dict.fromkeys(accounts, unit)
        regions = params.get("OperationPreferences", {}).get(
            "RegionOrder"
        ) or params.get("Regions", [])
        regions = [r for r in regions if r in params.get("Regions", regions)]
        targets = []
        for region in regions:
            for account, unit in by_account.items():
                key = (account, region)
                if new:
                    stack_set.instances.setdefault(
                        key, Instance(account, region, organizational_unit=unit)
                    )
                if key in stack_set.instances:
                    targets.append(stack_set.instances[key])
        return targets

    def _start(
        self,
        reply_to: str,
        stack_set: StackSet,
        action: str,
        params: dict[str, Any],
        targets: list[Instance],
        run_one: Callable[[StackSet, Instance], None],
    ) -> Reply:
        """Run an operation over `targets` in the background, as StackSets does; one at a time per set."""
        preferences = params.get("OperationPreferences", {})
        operation = Operation(
            params.get("OperationId") or str(uuid.uuid4()), action, preferences
        )
        with self._lock:
            if any(op.status == "RUNNING" for op in stack_set.operations.values()):
                return query_error(
                    "OperationInProgressException", "Another operation is in progress"
                )
            stack_set.operations[operation.operation_id] = operation
        tolerance = int(preferences.get("FailureToleranceCount", 0))
        threading.Thread(
            target=self._run,
            args=(stack_set, operation, targets, run_one, tolerance),
            daemon=True,
        ).start()
        return query_reply(reply_to, {"OperationId": operation.operation_id})

    def _run(
        self,
        stack_set: StackSet,
        operation: Operation,
        targets: list[Instance],
        run_one: Callable[[StackSet, Instance], None],
        tolerance: int,
    ) -> None:
        failures = 0
        for instance in targets:
            result = {"Account": instance.account, "Region": instance.region}
            if failures > tolerance:
                operation.results.append(
                    {
                        **result,
                        "Status": "CANCELLED",
                        "StatusReason": "Cancelled since failure tolerance has exceeded",
                    }
                )
                continue
            try:
                if self._failing(instance):
                    raise InstanceFailed("injected by the fault proxy")
                run_one(stack_set, instance)
                operation.results.append({**result, "Status": "SUCCEEDED"})
            except InstanceFailed as failure:
                failures += 1
                instance.status, instance.reason = "OUTDATED", str(failure)
                operation.results.append(
                    {**result, "Status": "FAILED", "StatusReason": str(failure)}
                )
        operation.status = "FAILED" if failures > tolerance else "SUCCEEDED"
        operation.ended = datetime.now(UTC)

    # One instance --------------------------------------------------------------------------

    def _instance_summary(
        self, stack_set: StackSet, instance: Instance
    ) -> dict[str, Any]:
        return {
            "StackSetId": stack_set.stack_set_id,
            "Region": instance.region,
            "Account": instance.account,
            "StackId": instance.stack_id,
            "Status": instance.status,
            "StatusReason": instance.reason or None,
            "StackInstanceStatus": {
                "DetailedStatus": "SUCCEEDED"
                if instance.status == "CURRENT"
                else "FAILED"
            },
            **(
                {"OrganizationalUnitId": instance.organizational_unit}
                if instance.organizational_unit
                else {}
            ),
        }
