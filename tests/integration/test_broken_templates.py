"""Templates broken on purpose, deployed for real, and caught by the deployment suite's own checks.

Each breakage breaks one promise of the prod template (a hand edit, a bad
merge); one stack, deployed on the engine under a throwaway project name,
holds them all, and the same check the suite runs on the real stacks fails on
it with a message naming its own fault, and only that one.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterator
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


# Each check, the breakage it must catch, and what it must say: one stack holds both breakages,
# and each check names its own and no other.
BREAKAGES = {
    "secret-without-kms-key": (
        _without_kms_key,
        _encryption_check,
        r"/prod/alpaca in us-east-1 is not encrypted with the stack's customer-managed key",
    ),
    "prod-given-a-secret-string": (
        _prod_given_a_secret_string,
        _empty_check,
        r"/prod/alphavantage in us-east-1 was given a value by the deploy",
    ),
}


@pytest.fixture(scope="module")
def broken() -> Iterator[tuple[Environment, str]]:
    """prod under a throwaway project name, with every breakage above, deployed for real."""
    env = dataclasses.replace(
        ENVIRONMENTS["prod"], project=f"broken{uuid.uuid4().hex[:6]}"
    )
    template = json.loads(generate(env))
    for breakage, _, _ in BREAKAGES.values():
        breakage(template)
    with deployed(BROKEN, env, json.dumps(template), regions=("us-east-1",)) as stacks:
        yield env, stacks["us-east-1"]


@pytest.mark.parametrize("case", BREAKAGES)
def test_the_suite_catches_a_template_broken_on_purpose(broken, case):
    _, check, message = BREAKAGES[case]
    with pytest.raises(AssertionError, match=message) as caught:
        check(*broken)
    # Its own breakage, not the other one: the checks each see one thing.
    others = [m for name, (_, _, m) in BREAKAGES.items() if name != case]
    assert not any(re.search(other, str(caught.value)) for other in others)
