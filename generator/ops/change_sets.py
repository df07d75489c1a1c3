"""Change sets: made, read as rows, judged for what they would lose, and the stack policy lifted for one update."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from generator.errors import AwsError, ReplacementRefused
from generator.ops.release import Release, cloudformation_errors
from generator.ops.waiting import poll_delay
from generator.stack_policy import STATEFUL_TYPES

POLL_SECONDS = 1.0
WAIT_LIMIT_SECONDS = 3600.0
NO_CHANGES = "didn't contain changes"


@dataclass(frozen=True)
class Change:
    """One row of a change set."""

    logical_id: str
    resource_type: str
    action: str
    replacement: str
    policy_action: str

    @property
    def loses_state(self) -> bool:
        """A stateful resource removed, or replaced (True, or Conditional: CloudFormation may)."""
        return self.resource_type in STATEFUL_TYPES and (
            self.action == "Remove" or self.replacement in ("True", "Conditional")
        )


def change_table(changes: Iterable[Change]) -> list[str]:
    lines = [
        f"{'logical id':<38} {'type':<38} {'action':<8} {'replacement':<12} policy action"
    ]
    lines += [
        f"{c.logical_id:<38} {c.resource_type:<38} {c.action:<8} {c.replacement:<12} {c.policy_action}"
        for c in changes
    ]
    return lines


def create_change_set(
    cloudformation: Any, stack: str, region: str, release: Release, kind: str
) -> tuple[str, list[Change]]:
    """The change set's name and rows; an empty list when there is nothing to change (and no change set)."""
    name = f"trading-secrets-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    with cloudformation_errors("create a change set for", stack, region):
        cloudformation.create_change_set(
            StackName=stack,
            ChangeSetName=name,
            ChangeSetType=kind,
            TemplateBody=release.body,
            Parameters=release.parameters,
            Capabilities=release.capabilities,
            Description=f"trading-secrets deploy, generator {release.generator_version}",
        )
    started, polls = time.monotonic(), 0
    while True:
        with cloudformation_errors("read the change set of", stack, region):
            described = cloudformation.describe_change_set(
                ChangeSetName=name, StackName=stack
            )
        if described["Status"] == "CREATE_COMPLETE":
            break
        if described["Status"] == "FAILED":
            reason = described.get("StatusReason", "")
            delete_change_set(cloudformation, stack, region, name)
            if NO_CHANGES in reason:
                return name, []
            raise AwsError(
                f"CloudFormation refused the change set for {stack} in {region}: {reason}"
            )
        if time.monotonic() - started > WAIT_LIMIT_SECONDS:
            raise AwsError(f"the change set for {stack} in {region} never became ready")
        time.sleep(poll_delay(polls, POLL_SECONDS))
        polls += 1
    changes = []
    while True:
        for row in described.get("Changes", []):
            change = row.get("ResourceChange", {})
            changes.append(
                Change(
                    change.get("LogicalResourceId", "?"),
                    change.get("ResourceType", "?"),
                    change.get("Action", "?"),
                    change.get("Replacement", "-") or "-",
                    change.get("PolicyAction", "-") or "-",
                )
            )
        if not described.get("NextToken"):
            return name, changes
        with cloudformation_errors("read the change set of", stack, region):
            described = cloudformation.describe_change_set(
                ChangeSetName=name,
                StackName=stack,
                NextToken=described["NextToken"],
            )


def delete_change_set(cloudformation: Any, stack: str, region: str, name: str) -> None:
    with cloudformation_errors("delete the change set of", stack, region):
        cloudformation.delete_change_set(ChangeSetName=name, StackName=stack)


def refuse_lost_state(
    cloudformation: Any,
    stack: str,
    region: str,
    change_set: str,
    changes: list[Change],
    allowed: set[str],
) -> None:
    refused = [c for c in changes if c.loses_state and c.logical_id not in allowed]
    if refused:
        delete_change_set(cloudformation, stack, region, change_set)
        raise ReplacementRefused(
            f"{stack} in {region}: the change set would remove or replace {len(refused)} stateful "
            "resource(s); nothing was changed",
            [
                f"{c.logical_id} ({c.resource_type}): {c.action}, replacement {c.replacement}; if reviewed, "
                f"deploy with --allow-replacement {c.logical_id}"
                for c in refused
            ],
        )


def lifted_policy(stack_policy: str, lifted: Iterable[str]) -> str:
    """The stack policy with `lifted` logical ids taken out of its Deny: for one reviewed update only."""
    policy = json.loads(stack_policy)
    gone = {f"LogicalResourceId/{logical_id}" for logical_id in lifted}
    kept = []
    for statement in policy["Statement"]:
        if statement["Effect"] != "Deny":
            kept.append(statement)
        elif resources := [r for r in statement["Resource"] if r not in gone]:
            kept.append({**statement, "Resource": resources})
    return json.dumps({"Statement": kept}, sort_keys=True)
