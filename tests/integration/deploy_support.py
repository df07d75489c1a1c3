"""Clients, paths and timing records shared by the deployment tests."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
TIMINGS_REPORT = ROOT / "reports" / "deploy-timings.json"
TIMINGS: list[dict] = []


def client(service: str, region: str = "us-east-1"):
    return boto3.client(service, region_name=region, config=Config(retries={"mode": "standard"}))


def record_stack_timings(stack_id: str, region: str, label: str) -> dict:
    """Create time of the stack and of each secret, read from the stack's events."""
    events = []
    for page in client("cloudformation", region).get_paginator("describe_stack_events").paginate(StackName=stack_id):
        events += page["StackEvents"]
    started: dict[str, object] = {}
    finished: dict[str, object] = {}
    types = {}
    for event in sorted(events, key=lambda e: e["Timestamp"]):
        resource = event["LogicalResourceId"]
        types[resource] = event["ResourceType"]
        if event["ResourceStatus"] == "CREATE_IN_PROGRESS":
            started.setdefault(resource, event["Timestamp"])
        elif event["ResourceStatus"] == "CREATE_COMPLETE":
            finished[resource] = event["Timestamp"]
    stack_name = next(e["LogicalResourceId"] for e in events if e["ResourceType"] == "AWS::CloudFormation::Stack")
    entry = {
        "stack": label,
        "region": region,
        "stack_seconds": (finished[stack_name] - started[stack_name]).total_seconds(),
        "secrets": {
            resource: (finished[resource] - started[resource]).total_seconds()
            for resource, kind in types.items()
            if kind == "AWS::SecretsManager::Secret" and resource in finished
        },
    }
    TIMINGS.append(entry)
    return entry


