"""Templates broken on purpose, deployed for real, and caught by the deployment suite's own checks.

Each case breaks one promise of the prod template (a hand edit, a bad merge),
deploys it on the engine under a throwaway project name, and shows that the
same check the suite runs on the real stacks fails with a message naming the fault.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest
from support.engine import BROKEN, deployed
from support.tool_runs import (
    assert_secrets_encrypted_with_stack_key,
    assert_secrets_hold_no_value,
)

from generator.build import generate
from generator.environments import ENVIRONMENTS, Environment


def _without_kms_key(template: dict[str, Any]) -> None:
    del template["Resources"]["AlpacaCredentials"]["Properties"]["KmsKeyId"]


def _prod_given_a_secret_string(template: dict[str, Any]) -> None:
    template["Resources"]["AlphaVantageCredentials"]["Properties"]["SecretString"] = (
        '{"apiKey":"PLACEHOLDER-broken-not-real"}'
    )


def _encryption_check(env: Environment, stack_id: str) -> None:
    outputs = BROKEN.client("cloudformation").describe_stacks(StackName=stack_id)[
        "Stacks"
    ][0]["Outputs"]
    key_arn = next(
        o["OutputValue"] for o in outputs if o["OutputKey"] == "SecretsKeyArn"
    )
    assert_secrets_encrypted_with_stack_key(BROKEN, env, "us-east-1", key_arn)


def _empty_check(env: Environment, stack_id: str) -> None:
    assert_secrets_hold_no_value(BROKEN, env, "us-east-1")


CHECKS = {"encryption": _encryption_check, "empty": _empty_check}
BREAKAGES = {
    "secret-without-kms-key": (
        _without_kms_key,
        "encryption",
        r"/prod/alpaca in us-east-1 is not encrypted with the stack's customer-managed key",
    ),
    "prod-given-a-secret-string": (
        _prod_given_a_secret_string,
        "empty",
        r"/prod/alphavantage in us-east-1 was given a value by the deploy",
    ),
}


@pytest.mark.parametrize("case", BREAKAGES)
def test_the_suite_catches_a_template_broken_on_purpose(case):
    breakage, failing_check, message = BREAKAGES[case]
    env = dataclasses.replace(
        ENVIRONMENTS["prod"], project=f"broken{uuid.uuid4().hex[:6]}"
    )
    template = json.loads(generate(env))
    breakage(template)
    with deployed(BROKEN, env, json.dumps(template), regions=("us-east-1",)) as stacks:
        with pytest.raises(AssertionError, match=message):
            CHECKS[failing_check](env, stacks["us-east-1"])
        # Every other check passes: the failure is the breakage, not the harness.
        for name, check in CHECKS.items():
            if name != failing_check:
                check(env, stacks["us-east-1"])
