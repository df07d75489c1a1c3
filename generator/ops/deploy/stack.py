"""deploy for an environment deployed as a stack (dev, staging): through a change set, reviewed before it runs.

The change set says, per resource, what CloudFormation will do: a Remove of
a stateful resource, or its Replacement (True or Conditional), is refused
unless --allow-replacement names it. An allowed replacement runs as an
UpdateStack whose StackPolicyDuringUpdateBody lifts the stack policy for
that resource only, since a change set cannot carry one. The stack's status
says whether a deploy can start, how one ended, and what an interrupt leaves.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from generator.errors import (
    AwsError,
    Cancelled,
    Conflict,
    Incomplete,
    Interrupted,
    OutcomeUnknown,
    ReplacementRefused,
)
from generator.ops.aws import AwsClients
from generator.ops.deploy.release import (
    LostResponse,
    Release,
    Say,
    cloudformation_errors,
    event_line,
    landed_before,
    stack_name,
)
from generator.ops.deploy.review import Review, review
from generator.ops.deploy.waiting import Heartbeat, poll_delay
from generator.stack_policy import STATEFUL_TYPES

# A change set is ready in about a second; a stack can take many minutes.
CHANGE_SET_POLL_SECONDS = 1.0
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
        time.sleep(poll_delay(polls, CHANGE_SET_POLL_SECONDS))
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


DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
ROLLED_BACK = {"ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
BUSY_SUFFIX = "_IN_PROGRESS"


def deploy_kind(name: str, region: str, stack: dict[str, Any] | None) -> str:
    """CREATE or UPDATE, or why neither can run on the stack as it stands."""
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        return "CREATE"
    status = stack["StackStatus"]
    if status.endswith(BUSY_SUFFIX):
        raise Conflict(
            f"{name} in {region} is {status}: another change is running; nothing was changed"
        )
    if status == "ROLLBACK_COMPLETE":
        raise AwsError(
            f"{name} in {region} is ROLLBACK_COMPLETE: its first create failed and nothing of it "
            f"remains; delete it (aws cloudformation delete-stack --stack-name {name} --region "
            f"{region}), then deploy again"
        )
    if status.endswith("_FAILED"):
        raise AwsError(
            f"{name} in {region} is {status}: see its events and fix it by hand before a deploy"
        )
    return "UPDATE"


def judge(
    name: str, region: str, stack: dict[str, Any], kind: str, reasons: list[str]
) -> None:
    """Raise what is true when the stack did not reach a complete state; `reasons` are its failed events."""
    status = stack.get("StackStatus", "")
    if status in DONE:
        return
    if status in ROLLED_BACK:
        what = "create" if kind == "CREATE" else "update"
        after = (
            f"nothing of it remains; delete the stack before a retry (aws cloudformation delete-stack "
            f"--stack-name {name} --region {region})"
            if kind == "CREATE"
            else "the stack is as it was"
        )
        raise AwsError(
            f"the {what} of {name} in {region} failed and was rolled back: {after}",
            reasons,
        )
    raise Incomplete(
        f"{name} in {region} is {status}: the deploy failed and was not rolled back whole; "
        "see the events above and fix it by hand",
        reasons,
    )


def interrupted(name: str, region: str) -> Interrupted:
    return Interrupted(
        f"interrupted: CloudFormation goes on deploying {name} in {region}; follow it with "
        f"`aws cloudformation describe-stack-events --stack-name {name} --region {region}`"
    )


# A change set's ExecutionStatus once it has been run.
EXECUTED = {"EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE", "EXECUTE_FAILED"}


class StackDeploy:
    """One stack in one region: look, plan, ask, run, watch."""

    def __init__(self, release: Release, region: str, aws: AwsClients, say: Say):
        self.release, self.region, self.say = release, region, say
        self.name = stack_name(release.env)
        self.cloudformation = aws.client("cloudformation", region)

    def describe(self) -> dict[str, Any] | None:
        with cloudformation_errors("describe", self.name, self.region):
            try:
                return dict(
                    self.cloudformation.describe_stacks(StackName=self.name)["Stacks"][
                        0
                    ]
                )
            except self.cloudformation.exceptions.ClientError as error:
                if "does not exist" in error.response["Error"].get("Message", ""):
                    return None
                raise

    def review(self, kind: str, stack: dict[str, Any] | None) -> Review:
        """What the new template and parameters change against the template the stack runs now, with its values."""
        where = f"{self.name} in {self.region}"
        if kind == "CREATE" or stack is None:
            return review(
                where, None, {}, self.release.template, self.release.parameter_values
            )
        with cloudformation_errors("read the template of", self.name, self.region):
            body = self.cloudformation.get_template(
                StackName=self.name, TemplateStage="Original"
            )["TemplateBody"]
        deployed = body if isinstance(body, dict) else json.loads(body)
        values = {
            p["ParameterKey"]: str(p.get("ParameterValue", ""))
            for p in stack.get("Parameters", [])
        }
        return review(
            where,
            deployed,
            values,
            self.release.template,
            self.release.parameter_values,
        )

    def newest_event(self) -> str | None:
        with cloudformation_errors("read the events of", self.name, self.region):
            try:
                events = self.cloudformation.describe_stack_events(StackName=self.name)[
                    "StackEvents"
                ]
            except self.cloudformation.exceptions.ClientError:
                return None
        return str(events[0]["EventId"]) if events else None

    def execute(self, change_set: str, lifted: list[str]) -> None:
        """Run the change set, or, to let `lifted` resources be replaced, the same update with the policy lifted.

        A lost answer is read back rather than trusted either way, and so is
        the refusal a retried request meets when the first one did land.
        """
        try:
            if lifted:
                delete_change_set(
                    self.cloudformation, self.name, self.region, change_set
                )
                with (
                    cloudformation_errors("update", self.name, self.region, write=True),
                    landed_before("InvalidChangeSetStatus", busy="ValidationError"),
                ):
                    self.cloudformation.update_stack(
                        StackName=self.name,
                        TemplateBody=self.release.body,
                        Parameters=self.release.parameters,
                        Capabilities=self.release.capabilities,
                        StackPolicyDuringUpdateBody=lifted_policy(
                            self.release.stack_policy, lifted
                        ),
                    )
            else:
                with (
                    cloudformation_errors(
                        "run the change set of", self.name, self.region, write=True
                    ),
                    landed_before("InvalidChangeSetStatus", busy="ValidationError"),
                ):
                    self.cloudformation.execute_change_set(
                        ChangeSetName=change_set, StackName=self.name
                    )
        except LostResponse as lost:
            self._read_back_after(lost, change_set, lifted)

    def _read_back_after(
        self, lost: LostResponse, change_set: str, lifted: list[str]
    ) -> None:
        """A lost answer to the request that starts the update: did it start?"""
        try:
            if lifted:
                status = self.describe() or {}
                started = str(status.get("StackStatus", "")).endswith(BUSY_SUFFIX)
            else:
                with cloudformation_errors(
                    "read the change set of", self.name, self.region
                ):
                    described = self.cloudformation.describe_change_set(
                        ChangeSetName=change_set, StackName=self.name
                    )
                started = described.get("ExecutionStatus") in EXECUTED
        except AwsError:
            raise OutcomeUnknown(
                f"the request to deploy {self.name} in {self.region} got no answer ({lost}), and its state cannot be "
                "read back: it may be running",
                [
                    f"see it with `aws cloudformation describe-stacks --stack-name {self.name} --region {self.region}`"
                ],
            ) from None
        if not started:
            raise AwsError(
                f"the request to deploy {self.name} in {self.region} got no answer ({lost}); nothing was changed"
            )
        self.say(
            f"{self.region} {self.name}: the request got no answer ({lost}), but the deploy is running"
        )

    def watch(
        self, since: str | None, clock: Callable[[], float] = time.monotonic
    ) -> tuple[dict[str, Any], list[str]]:
        """One line per new stack event, and a line every HEARTBEAT_SECONDS without one, until the stack settles.

        Returns the stack as it settled, and the lines of the events that failed.
        """
        seen: set[str] = set()
        failures: list[str] = []
        beat = Heartbeat(
            self.say,
            f"{self.region} {self.name}",
            WAIT_LIMIT_SECONDS,
            lambda status: OutcomeUnknown(
                f"{self.name} in {self.region} is still {status} after {WAIT_LIMIT_SECONDS / 60:.0f} minutes",
                [
                    f"follow it with `aws cloudformation describe-stack-events --stack-name {self.name} "
                    f"--region {self.region}`"
                ],
            ),
            clock,
        )
        while True:
            # The state first, then the events: every event written before the
            # stack settled is then on the page read after it.
            stack = self.describe() or {"StackStatus": "DELETE_COMPLETE"}
            status = str(stack["StackStatus"])
            with cloudformation_errors("read the events of", self.name, self.region):
                page = self.cloudformation.describe_stack_events(StackName=self.name)[
                    "StackEvents"
                ]
            new = []
            for (
                event
            ) in page:  # newest first, down to the last event before this deploy
                if event["EventId"] == since:
                    break
                if event["EventId"] not in seen:
                    new.append(event)
            for event in reversed(new):
                seen.add(event["EventId"])
                line = f"{self.region} {event_line(event)}"
                self.say(line)
                beat.said()
                if str(event["ResourceStatus"]).endswith("_FAILED"):
                    failures.append(line)
            if not status.endswith(BUSY_SUFFIX):
                return stack, failures
            beat.wait(status)

    def protect(self) -> None:
        """The stack policy (kept current with the template) and, where data must survive, termination protection."""
        with cloudformation_errors("set the stack policy of", self.name, self.region):
            self.cloudformation.set_stack_policy(
                StackName=self.name, StackPolicyBody=self.release.stack_policy
            )
        if self.release.env.retain_stateful_resources:
            with cloudformation_errors(
                "turn on termination protection of", self.name, self.region
            ):
                self.cloudformation.update_termination_protection(
                    StackName=self.name, EnableTerminationProtection=True
                )


def deploy_stack(
    release: Release,
    region: str,
    aws: AwsClients,
    say: Say,
    ask: Callable[[str], None],
    allowed: set[str],
    plan: str,
    allowed_policy_changes: Iterable[str] = (),
    plan_only: bool = False,
) -> bool:
    """Create or update the stack through a change set: reviewed, judged, asked, then run and watched.

    With `plan_only`, it stops after the review, changing nothing. Returns
    whether there were changes to make.
    """
    deploy = StackDeploy(release, region, aws, say)
    stack = deploy.describe()
    kind = deploy_kind(deploy.name, region, stack)
    reviewed = deploy.review(kind, stack)
    for line in reviewed.lines(allowed):
        say(line)
    reviewed.refuse(allowed, allowed_policy_changes)
    if plan_only:
        return reviewed.created or reviewed.changes
    change_set, changes = create_change_set(
        deploy.cloudformation, deploy.name, region, release, kind
    )
    if not changes:
        deploy.protect()
        say(f"{deploy.name} in {region} is up to date: the change set holds no change")
        return False
    say(f"{deploy.name} in {region}: change set {change_set} ({kind.lower()}):")
    for line in change_table(changes):
        say(f"  {line}")
    refuse_lost_state(
        deploy.cloudformation, deploy.name, region, change_set, changes, allowed
    )
    lifted = sorted({c.logical_id for c in changes if c.loses_state})
    for logical_id in lifted:
        say(
            f"{deploy.name} in {region}: --allow-replacement {logical_id}: its replacement or removal goes ahead"
        )
    try:
        ask(f"{plan} Run this change set?")
        since = deploy.newest_event()
    except (Cancelled, KeyboardInterrupt):
        # Nothing ran: leave no change set behind.
        with contextlib.suppress(AwsError):
            delete_change_set(deploy.cloudformation, deploy.name, region, change_set)
        raise
    try:
        deploy.execute(change_set, lifted)
        stack, failures = deploy.watch(since)
    except KeyboardInterrupt:
        raise interrupted(deploy.name, region) from None
    judge(deploy.name, region, stack, kind, failures)
    deploy.protect()
    outputs = sorted(stack.get("Outputs", []), key=lambda o: o["OutputKey"])
    say(f"{deploy.name} deployed in {region}" + (":" if outputs else ""))
    for output in outputs:
        say(f"  {output['OutputKey']}: {output['OutputValue']}")
    return True
