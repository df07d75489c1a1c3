"""StackSets for the local engine, over its real stacks.

LocalStack 4.10 creates stack instances without the set's parameters and
capabilities, and cannot describe, list, update or report on a stack set its
default engine made. Here the set is kept by the proxy, and each instance is
a real stack in the engine, in its own account and region, created, updated
and deleted with the set's template, parameters and capabilities. Operations
run one instance at a time in region order, and stop at the first failure
beyond FailureToleranceCount, as AWS does with MaxConcurrentCount 1.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

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

    def __init__(self, engine_client: Callable[[str, Caller], Any]):
        self._stacks = InstanceStacks(engine_client)
        self._sets: dict[tuple[str, str, str], StackSet] = {}
        self._lock = threading.Lock()

    def handle(self, who: Caller, action: str, params: dict[str, Any]) -> Reply:
        found = self._sets.get(
            (who.access_key, who.region, params.get("StackSetName", ""))
        )
        if action == "CreateStackSet":
            return self._create_set(who, params, found)
        if action == "ListStackSets":
            summaries = [
                {
                    "StackSetName": s.name,
                    "StackSetId": s.stack_set_id,
                    "Status": "ACTIVE",
                }
                for (key, region, _), s in self._sets.items()
                if (key, region) == (who.access_key, who.region)
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
            del self._sets[(who.access_key, who.region, found.name)]
            return query_reply(action, {})
        if action == "CreateStackInstances":
            targets = self._targets(params, found, new=True)
            return self._start(
                action, found, "CREATE", params, targets, self._stacks.create
            )
        if action == "DeleteStackInstances":
            retain = params.get("RetainStacks") == "true"
            return self._start(
                action,
                found,
                "DELETE",
                params,
                self._targets(params, found, new=False),
                lambda s, i: self._stacks.delete(s, i, retain),
            )
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
        self, who: Caller, params: dict[str, Any], found: StackSet | None
    ) -> Reply:
        if found is not None:
            return query_error(
                "NameAlreadyExistsException", f"StackSet {found.name} already exists"
            )
        capabilities = params.get("Capabilities", [])
        if refused := self._refused_capabilities(params["TemplateBody"], capabilities):
            return refused
        name = params["StackSetName"]
        stack_set = StackSet(
            name,
            f"{name}:{uuid.uuid4()}",
            params["TemplateBody"],
            params.get("Parameters", []),
            capabilities,
            params.get("PermissionModel", "SELF_MANAGED"),
        )
        self._sets[(who.access_key, who.region, name)] = stack_set
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
        stack_set.template, stack_set.capabilities = template, capabilities
        stack_set.parameters = params.get("Parameters", stack_set.parameters)
        targets = (
            self._targets(params, stack_set, new=False)
            if params.get("Accounts")
            else list(stack_set.instances.values())
        )
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
    ) -> list[Instance]:
        accounts = params.get("Accounts") or params.get("DeploymentTargets", {}).get(
            "Accounts", []
        )
        regions = params.get("OperationPreferences", {}).get(
            "RegionOrder"
        ) or params.get("Regions", [])
        regions = [r for r in regions if r in params.get("Regions", regions)]
        targets = []
        for region in regions:
            for account in accounts:
                key = (account, region)
                if new:
                    stack_set.instances.setdefault(key, Instance(account, region))
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
        }
