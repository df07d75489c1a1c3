"""The deployment tests' create times, per stack and per secret, read from the stack events.

Gathered from every test process into the controller's config stash, printed
at the end of the run, written for bench/ (reports/deploy-timings.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support.engine import Account
from support.repository import ROOT

TIMINGS: list[dict[str, Any]] = []
DEPLOY_TIMINGS_KEY = pytest.StashKey[list[dict[str, Any]]]()
DEPLOY_TIMINGS_REPORT = ROOT / "reports" / "deploy-timings.json"


def deploy_timings_table(entries: list[dict[str, Any]]) -> list[str]:
    """One line per deployed stack, sorted: its create time and its slowest secret's."""
    lines = [f"{'stack':<22} {'region':<10} {'stack s':>8} {'slowest secret s':>17}"]
    for entry in sorted(entries, key=lambda e: (e["stack"], e["region"])):
        slowest = max(entry["secrets"].values(), default=0.0)
        lines.append(
            f"{entry['stack']:<22} {entry['region']:<10} {entry['stack_seconds']:>8.2f} {slowest:>17.2f}"
        )
    return lines


def write_deploy_timings(
    entries: list[dict[str, Any]], path: Path = DEPLOY_TIMINGS_REPORT
) -> None:
    path.parent.mkdir(exist_ok=True)
    ordered = sorted(entries, key=lambda e: (e["stack"], e["region"]))
    path.write_text(json.dumps(ordered, indent=2, sort_keys=True) + "\n")


def stack_timings(
    account: Account, stack_id: str, region: str, label: str
) -> dict[str, Any]:
    """{stack, region, stack_seconds, secrets: {logical id: seconds}} from CREATE_IN_PROGRESS to CREATE_COMPLETE."""
    events = []
    for page in (
        account.client("cloudformation", region)
        .get_paginator("describe_stack_events")
        .paginate(StackName=stack_id)
    ):
        events += page["StackEvents"]
    started: dict[str, Any] = {}
    finished: dict[str, Any] = {}
    types = {}
    for event in sorted(events, key=lambda e: e["Timestamp"]):
        resource = event["LogicalResourceId"]
        types[resource] = event["ResourceType"]
        if event["ResourceStatus"] == "CREATE_IN_PROGRESS":
            started.setdefault(resource, event["Timestamp"])
        elif event["ResourceStatus"] == "CREATE_COMPLETE":
            finished[resource] = event["Timestamp"]
    stack_name = next(
        e["LogicalResourceId"]
        for e in events
        if e["ResourceType"] == "AWS::CloudFormation::Stack"
    )
    return {
        "stack": label,
        "region": region,
        "stack_seconds": (finished[stack_name] - started[stack_name]).total_seconds(),
        "secrets": {
            resource: (finished[resource] - started[resource]).total_seconds()
            for resource, kind in types.items()
            if kind == "AWS::SecretsManager::Secret" and resource in finished
        },
    }


def record_stack_timings(
    account: Account, stack_id: str, region: str, label: str
) -> dict[str, Any]:
    """Create time of the stack and of each secret, read from the stack's events, kept for the run's report."""
    entry = stack_timings(account, stack_id, region, label)
    TIMINGS.append(entry)
    return entry
