"""Clients, paths and timing records shared by the deployment tests."""

from __future__ import annotations

import boto3
from botocore.config import Config

from generator.environments import Environment
from generator.params import load_parameter_file, parameter_file_path
from helpers import ROOT

# Stacks settle in seconds on LocalStack; two minutes is the ticket's bar per secret.
WAIT = {"Delay": 1, "MaxAttempts": 120}
TIMINGS_REPORT = ROOT / "reports" / "deploy-timings.json"
TIMINGS: list[dict] = []


def client(service: str, region: str = "us-east-1"):
    return boto3.client(service, region_name=region, config=Config(retries={"mode": "standard"}))


def stack_parameters(env: Environment, **overrides: str) -> list[dict[str, str]]:
    """The environment's parameter file, as CloudFormation's Parameters argument."""
    values = {**load_parameter_file(parameter_file_path(ROOT / "params", env)), **overrides}
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


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


