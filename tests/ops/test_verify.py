"""trading-secrets verify, offline: each region's AWSCURRENT checked at a loopback provider, one exit code per outcome."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.fake_aws import StubbedClients
from support.fake_providers import fake_providers

from generator.catalogue import CATALOGUE, alpaca_endpoint
from generator.environments import ENVIRONMENTS
from generator.errors import ExitCode
from generator.ops.change import provider
from generator.ops.live.verify import verify

PROD, DEV = ENVIRONMENTS["prod"], ENVIRONMENTS["dev"]
ALPACA = next(spec for spec in CATALOGUE if spec.name_suffix == "alpaca")


class OneSecret:
    """A Secrets Manager client holding one version of one secret (or none), with its labels."""

    class exceptions:  # noqa: N801 (as botocore names them)
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self, value: Any | None, labels: tuple[str, ...] = ("AWSCURRENT",)):
        self.value, self.labels, self.removed = value, list(labels), []

    def list_secret_version_ids(self, **_arguments: Any) -> dict[str, Any]:
        if self.value is None:
            return {"Versions": []}
        return {"Versions": [{"VersionId": "v1", "VersionStages": self.labels}]}

    def get_secret_value(self, **_arguments: Any) -> dict[str, Any]:
        if self.value is None:
            raise self.exceptions.ResourceNotFoundException
        return {"SecretString": json.dumps(self.value)}

    def update_secret_version_stage(self, **arguments: Any) -> dict[str, Any]:
        assert arguments["RemoveFromVersionId"] == "v1"
        self.labels.remove(arguments["VersionStage"])
        self.removed.append(arguments["VersionStage"])
        return {}


@pytest.fixture(autouse=True)
def providers(monkeypatch):
    with fake_providers() as running:
        monkeypatch.setenv(provider.ENDPOINT_OVERRIDE, running.url)
        monkeypatch.setattr(provider, "RETRY_PAUSE_SECONDS", 0.05)
        yield running


def key(kind: str, env=PROD) -> dict[str, str]:
    return {
        "apiKeyId": f"FAKE-{kind}-id",
        "apiSecretKey": f"FAKE-{kind}-secret",
        "baseUrl": alpaca_endpoint(env),
    }


def run(env, clients: dict[str, OneSecret]) -> tuple[ExitCode, list[str]]:
    lines: list[str] = []
    code = verify(env, [ALPACA], tuple(clients), StubbedClients(clients), lines.append)
    return code, lines


def test_every_region_passing_is_0_and_the_unchecked_mark_comes_off_where_it_was():
    east = OneSecret(key("valid"), ("AWSCURRENT", "UNCHECKED"))
    west = OneSecret(key("valid"))
    code, lines = run(PROD, {"us-east-1": east, "us-west-2": west})
    assert code == ExitCode.OK
    assert [line.split(": ")[0] for line in lines] == [
        "trading/prod/alpaca in us-east-1",
        "trading/prod/alpaca in us-east-1",
        "trading/prod/alpaca in us-west-2",
    ]
    assert "the UNCHECKED mark is taken off" in lines[1]
    assert east.removed == ["UNCHECKED"] and west.removed == []


def test_a_refused_value_in_one_region_is_3_whatever_the_other_says():
    code, lines = run(
        PROD,
        {"us-east-1": OneSecret(key("revoked")), "us-west-2": OneSecret(None)},
    )
    assert code == ExitCode.VALUE_REFUSED
    assert "rejected: Alpaca refused the credential (HTTP 401)" in lines[0]
    assert lines[1] == "trading/prod/alpaca in us-west-2: EMPTY: no value to check"
    assert not any("FAKE-revoked" in line for line in lines)


def test_a_value_that_cannot_be_checked_is_10_and_keeps_its_mark():
    held = OneSecret(key("rate-limited"), ("AWSCURRENT", "UNCHECKED"))
    code, lines = run(PROD, {"us-east-1": held})
    assert code == ExitCode.PROVIDER_UNCHECKED
    assert "unreachable: Alpaca is rate-limiting" in lines[0]
    assert held.labels == ["AWSCURRENT", "UNCHECKED"]


@pytest.mark.parametrize(
    ("env", "value", "expected", "word"),
    [
        (PROD, None, ExitCode.FAILED, "EMPTY"),
        (PROD, {"apiKeyId": "x"}, ExitCode.FAILED, "INVALID"),
        (DEV, ALPACA.placeholder(DEV), ExitCode.OK, "PLACEHOLDER"),
    ],
    ids=["prod-empty", "prod-invalid", "dev-placeholder"],
)
def test_nothing_to_check_is_1_except_a_placeholder_where_placeholders_belong(
    env, value, expected, word
):
    code, lines = run(env, {env.regions[0]: OneSecret(value)})
    assert code == expected
    assert f": {word}: " in lines[0]
