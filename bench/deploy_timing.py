"""Create times of a stack and of each of its secrets, read from CloudFormation's stack events.

Shared by the deployment tests (which report the times of the stacks they
check) and the benchmark (which deploys each template once to time it).
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import boto3
from botocore.config import Config


def client(service: str, region: str = "us-east-1"):
    """A boto3 client with botocore's standard retries, for the deployment tests and the benchmark."""
    return boto3.client(service, region_name=region, config=Config(retries={"mode": "standard"}))


def stack_timings(stack_id: str, region: str, label: str) -> dict:
    """{stack, region, stack_seconds, secrets: {logical id: seconds}} from CREATE_IN_PROGRESS to CREATE_COMPLETE."""
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


def deploy_and_time(root: Path) -> list[dict]:
    """Each environment's template, deployed under a throwaway project name in its first region, timed, then deleted."""
    from generator.build import generate
    from generator.environments import ENVIRONMENTS
    from generator.params import cloudformation_parameters, load_parameter_file, parameter_file_path

    wait = {"Delay": 1, "MaxAttempts": 300}
    results = []
    for env in ENVIRONMENTS.values():
        bench_env = dataclasses.replace(env, project=f"bench{uuid.uuid4().hex[:6]}")
        region = env.regions[0]
        cloudformation = client("cloudformation", region)
        parameters = load_parameter_file(parameter_file_path(root / "params", env))
        stack_id = cloudformation.create_stack(
            StackName=f"{bench_env.project}-{env.name}-secrets",
            TemplateBody=generate(bench_env),
            Parameters=cloudformation_parameters(parameters),
        )["StackId"]
        try:
            cloudformation.get_waiter("stack_create_complete").wait(StackName=stack_id, WaiterConfig=wait)
            results.append(stack_timings(stack_id, region, env.name))
        finally:
            cloudformation.delete_stack(StackName=stack_id)
            cloudformation.get_waiter("stack_delete_complete").wait(StackName=stack_id, WaiterConfig=wait)
    return results
