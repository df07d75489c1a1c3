"""The stacks behind a stack set's instances: each a real stack in the engine, in its own account and region."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from devtools.engine_proxy.wire import Caller

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
