"""Clients, paths and timing records shared by the deployment tests."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from generator.catalogue import CATALOGUE
from generator.environments import Environment
from generator.naming import secret_name
from generator.params import cloudformation_parameters, load_parameter_file, parameter_file_path
from bench.deploy_timing import client, stack_timings
from helpers import ROOT

# Stacks settle in seconds on LocalStack; two minutes is the ticket's bar per secret.
WAIT = {"Delay": 1, "MaxAttempts": 120}
TIMINGS_REPORT = ROOT / "reports" / "deploy-timings.json"
TIMINGS: list[dict] = []


def stack_parameters(env: Environment, **overrides: str) -> list[dict[str, str]]:
    """The environment's parameter file, as CloudFormation's Parameters argument."""
    return cloudformation_parameters({**load_parameter_file(parameter_file_path(ROOT / "params", env)), **overrides})


def record_stack_timings(stack_id: str, region: str, label: str) -> dict:
    """Create time of the stack and of each secret, read from the stack's events, kept for the run's report."""
    entry = stack_timings(stack_id, region, label)
    TIMINGS.append(entry)
    return entry


# The checks below are shared by the deployment suite and by
# test_broken_templates.py, which shows each one failing on a template broken
# on purpose: a check that cannot fail proves nothing.


def assert_secrets_encrypted_with_stack_key(env: Environment, region: str, key_arn: str) -> None:
    kms = client("kms", region)
    key = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER", f"{key_arn} is not a customer-managed key"
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True, f"{key_arn} has rotation off"
    for spec in CATALOGUE:
        described = client("secretsmanager", region).describe_secret(SecretId=secret_name(env, spec))
        assert described.get("KmsKeyId") in (key_arn, key["KeyId"]), (
            f"{described['Name']} in {region} is not encrypted with the stack's customer-managed key "
            f"(KmsKeyId: {described.get('KmsKeyId', 'none, so the AWS-managed default key')})"
        )


def assert_secrets_hold_no_value(env: Environment, region: str) -> None:
    """Prod secrets are created empty: a value can only come from `put`, never from a deploy."""
    for spec in CATALOGUE:
        described = client("secretsmanager", region).describe_secret(SecretId=secret_name(env, spec))
        stages = described.get("VersionIdsToStages", {})
        assert not stages, (
            f"{described['Name']} in {region} was given a value by the deploy "
            f"({len(stages)} version(s)); {env.name} secrets must be created empty"
        )
        with pytest.raises(ClientError) as raised:
            client("secretsmanager", region).get_secret_value(SecretId=described["ARN"])
        error = raised.value.response["Error"]
        assert error["Code"] == "ResourceNotFoundException" and "AWSCURRENT" in error["Message"], error
