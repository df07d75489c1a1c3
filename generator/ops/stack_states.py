"""What a stack's status means for a deploy: whether one can start, how one ended, what an interrupt leaves."""

from __future__ import annotations

from typing import Any

from generator.errors import AwsError, Conflict, Incomplete, Interrupted

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
