"""The provider check against a real HTTP server on loopback (tests/fake_providers.py).

Each case plants the credential in the provider's answer (body and header);
every test then scans what was printed and logged for the credential and for
any piece of it.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
import uuid
from typing import Any

import pytest
from support.fake_providers import ACCOUNT, fake_providers
from support.third_integration import planted_spec

from generator.catalogue import ALPACA, ALPHAVANTAGE, alpaca_endpoint
from generator.environments import ENVIRONMENTS
from generator.errors import ConfigurationError, ValueRefused
from generator.ops import cli as ops_cli
from generator.ops.change import provider
from generator.ops.change.provider import Verdict

PROD, DEV = ENVIRONMENTS["prod"], ENVIRONMENTS["dev"]


def alpaca(kind: str, env=PROD) -> dict[str, str]:
    """A fake key pair whose id picks the server's answer; the rest is random, so a piece of it is findable."""
    return {
        "apiKeyId": f"FAKE-{kind}-{uuid.uuid4().hex[:12]}",
        "apiSecretKey": f"FAKE-secret-{uuid.uuid4().hex}",
        "baseUrl": alpaca_endpoint(env),
    }


def alphavantage(kind: str) -> dict[str, str]:
    return {"apiKey": f"FAKE-{kind}-{uuid.uuid4().hex[:16]}"}


def assert_no_piece_of(value: dict[str, str], *texts: str) -> None:
    """Neither a credential field nor any 8 characters of its random part appear in `texts`."""
    said = "\n".join(texts)
    for key, field in value.items():
        if key == "baseUrl":
            continue
        assert field not in said, key
        random_part = field.rsplit("-", 1)[-1]
        for start in range(len(random_part) - 7):
            assert random_part[start : start + 8] not in said, (key, start)


@pytest.fixture
def providers(monkeypatch):
    with fake_providers() as running:
        monkeypatch.setenv(provider.ENDPOINT_OVERRIDE, running.url)
        monkeypatch.setattr(provider, "TIMEOUT_SECONDS", 1.0)
        monkeypatch.setattr(provider, "RETRY_PAUSE_SECONDS", 0.05)
        yield running


ALPACA_CASES = [
    ("valid", Verdict.PASSED, "accepts the credential at https://api.alpaca.markets"),
    ("revoked", Verdict.REJECTED, "wrong or revoked"),
    ("live-on-paper", Verdict.REJECTED, "a live key sent to the paper endpoint"),
    ("forbidden", Verdict.REJECTED, "HTTP 403"),
    ("blocked", Verdict.REJECTED, "trading_blocked is true, not false"),
    ("closed", Verdict.REJECTED, "status is ACCOUNT_CLOSED, not ACTIVE"),
    ("strange-status", Verdict.REJECTED, "status is another value, not ACTIVE"),
    ("rate-limited", Verdict.UNREACHABLE, "rate-limiting"),
    ("broken", Verdict.INCONCLUSIVE, "HTTP 500"),
    ("slow", Verdict.UNREACHABLE, "did not answer"),
]


@pytest.mark.parametrize(
    ("kind", "verdict", "phrase"), ALPACA_CASES, ids=[c[0] for c in ALPACA_CASES]
)
def test_alpaca_answers_give_their_verdict_and_never_repeat_the_key(
    providers, caplog, kind, verdict, phrase
):
    value = alpaca(kind)
    with caplog.at_level(logging.DEBUG):
        checked = provider.check(ALPACA, value)
    assert checked.verdict is verdict
    assert phrase in checked.reason
    assert checked.vouches is (verdict is Verdict.PASSED)
    assert checked.account == (ACCOUNT if verdict is Verdict.PASSED else None)
    assert_no_piece_of(value, checked.reason, caplog.text)


def test_a_refusal_is_not_retried_and_a_rate_limit_or_an_error_is_retried_once(
    providers,
):
    provider.check(ALPACA, alpaca("revoked"))
    provider.check(ALPACA, alpaca("rate-limited"))
    provider.check(ALPACA, alpaca("broken"))
    assert providers.requests == ["/v2/account"] * 5


def test_a_slow_provider_costs_two_timeouts_and_a_pause_at_most(providers):
    started = time.monotonic()
    assert provider.check(ALPACA, alpaca("slow")).verdict is Verdict.UNREACHABLE
    # Two attempts of 1 s each (the fixture's timeout) and a 0.05 s pause; the server sleeps 2 s.
    assert time.monotonic() - started < 2 * provider.TIMEOUT_SECONDS + 1.5
    assert providers.requests == ["/v2/account"] * 2


def test_the_default_timeouts_keep_an_unanswered_check_within_about_30_seconds():
    worst = 2 * provider.TIMEOUT_SECONDS + provider.RETRY_PAUSE_SECONDS
    assert 10 <= worst <= 30


def test_nothing_listening_is_unreachable_at_once(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(provider.ENDPOINT_OVERRIDE, f"http://127.0.0.1:{port}")
    monkeypatch.setattr(provider, "RETRY_PAUSE_SECONDS", 0.05)
    assert provider.check(ALPACA, alpaca("valid")).verdict is Verdict.UNREACHABLE
    assert (
        provider.check(ALPHAVANTAGE, alphavantage("valid")).verdict
        is Verdict.UNREACHABLE
    )


ALPHAVANTAGE_CASES = [
    ("av-invalid", Verdict.REJECTED, False, "invalid or missing"),
    ("av-rate-limited", Verdict.INCONCLUSIVE, False, "neither accepted nor refused"),
    ("av-note", Verdict.INCONCLUSIVE, False, "a notice (a rate limit or a plan limit)"),
    ("av-bad-call", Verdict.INCONCLUSIVE, False, "does not concern the credential"),
    ("av-valid", Verdict.INCONCLUSIVE, True, "a wrong one can still get data"),
]


@pytest.mark.parametrize(
    ("kind", "verdict", "vouches", "phrase"),
    ALPHAVANTAGE_CASES,
    ids=[c[0] for c in ALPHAVANTAGE_CASES],
)
def test_alphavantage_is_rejected_or_inconclusive_and_never_repeated(
    providers, caplog, kind, verdict, vouches, phrase
):
    value = alphavantage(kind)
    with caplog.at_level(logging.DEBUG):
        checked = provider.check(ALPHAVANTAGE, value)
    assert (checked.verdict, checked.vouches) == (verdict, vouches)
    assert phrase in checked.reason
    assert_no_piece_of(value, checked.reason, caplog.text)


@pytest.mark.parametrize(
    "override",
    [
        "http://203.0.113.7:8080",
        "https://127.0.0.1:443",
        "http://paper-api.alpaca.markets",
        "http://127.0.0.1.evil.example",
    ],
)
def test_the_endpoint_override_is_refused_for_anything_but_loopback(
    monkeypatch, override
):
    monkeypatch.setenv(provider.ENDPOINT_OVERRIDE, override)
    with pytest.raises(ConfigurationError, match="may only point at this machine"):
        provider.check(ALPACA, alpaca("valid"))


class PastTheCheck(Exception):
    """The put went on to read the versions: the check let the value through."""


class NoWrites:
    """A Secrets Manager client that holds `current` and fails the test on any call but reading it."""

    class exceptions:  # noqa: N801 (as botocore names them)
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self, current: str | None):
        self.current, self.calls = current, []

    def get_secret_value(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append("GetSecretValue")
        if self.current is None:
            raise self.exceptions.ResourceNotFoundException
        return {"SecretString": self.current}

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        raise PastTheCheck(name)


@pytest.fixture
def put(providers, monkeypatch, capsys, caplog):
    """`trading-secrets put --from-stdin` in this process, on NoWrites clients in every region."""
    import io
    import json
    import sys

    from support.fake_aws import StubbedClients

    def run(
        value: dict[str, str],
        *flags: str,
        env=PROD,
        current: dict[str, str] | None = None,
    ):
        clients = {
            region: NoWrites(json.dumps(current) if current else None)
            for region in env.regions
        }
        monkeypatch.setattr(ops_cli, "AwsClients", lambda: StubbedClients(clients))
        monkeypatch.setattr(
            sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(value).encode()))
        )
        secret = "alpaca" if "apiKeyId" in value else "alphavantage"
        with caplog.at_level(logging.DEBUG):
            try:
                code = ops_cli.main(
                    [
                        "put",
                        "--env",
                        env.name,
                        "--secret",
                        secret,
                        "--from-stdin",
                        *flags,
                    ]
                )
            except PastTheCheck:
                code = None
        out, err = capsys.readouterr()
        assert_no_piece_of(value, out, err, caplog.text)
        if current:
            assert_no_piece_of(current, out, err, caplog.text)
        return code, (err.strip().splitlines() or [""])[-1], clients

    return run


@pytest.mark.parametrize("kind", ["revoked", "live-on-paper", "blocked", "closed"])
def test_a_key_the_provider_refuses_writes_nothing_in_any_region_and_exits_3(put, kind):
    code, line, clients = put(alpaca(kind))
    assert code == 3
    assert line.startswith(
        "trading-secrets: error: trading/prod/alpaca: refused, nothing written: the provider refused it"
    )
    assert all(client.calls == [] for client in clients.values())


def test_an_alphavantage_key_it_calls_invalid_is_refused_with_exit_3(put):
    code, line, _ = put(alphavantage("av-invalid"))
    assert code == 3 and "invalid or missing" in line


@pytest.mark.parametrize("kind", ["slow", "rate-limited"])
def test_no_provider_answer_refuses_the_put_with_exit_10_and_says_how_to_go_on(
    put, kind
):
    code, line, clients = put(alpaca(kind))
    assert code == 10
    assert "refused, nothing written: the value could not be checked" in line
    assert (
        "--skip-provider-check" in line
        and "trading-secrets verify --env prod --secret alpaca" in line
    )
    assert all(client.calls == [] for client in clients.values())


def test_a_key_of_another_account_is_refused_unless_new_account_says_it_is_meant(put):
    current = alpaca("valid")
    code, line, clients = put(alpaca("other-account"), current=current)
    assert (
        code == 3 and "belongs to another Alpaca account than the current one" in line
    )
    # Only the current value was read, in the first region; nothing else.
    assert [client.calls for client in clients.values()] == [["GetSecretValue"], []]
    code, line, clients = put(alpaca("other-account"), "--new-account", current=current)
    # Past the check without reading the current value: the put reads the versions next.
    assert code is None
    assert clients["us-east-1"].calls == ["list_secret_version_ids"]


def test_a_valid_key_goes_past_the_check_and_a_skipped_check_is_logged(put, caplog):
    code, _, clients = put(alpaca("valid"), current=alpaca("valid"))
    assert code is None
    assert clients["us-east-1"].calls == ["GetSecretValue", "list_secret_version_ids"]
    code, _, clients = put(alpaca("revoked"), "--skip-provider-check")
    assert code is None and clients["us-east-1"].calls == ["list_secret_version_ids"]
    assert (
        "the provider check is skipped (--skip-provider-check, by arn:aws:iam::111111111111:user/test)"
        in caplog.text
    )


def test_a_current_key_the_provider_no_longer_accepts_cannot_vouch_for_the_new_ones_account(
    put,
):
    code, line, _ = put(alpaca("valid"), current=alpaca("revoked"))
    assert code == 3 and "--new-account" in line and "cannot be compared" in line


@pytest.mark.parametrize("env", list(ENVIRONMENTS.values()), ids=list(ENVIRONMENTS))
@pytest.mark.parametrize(
    "flags", [(), ("--skip-provider-check",)], ids=["checked", "check-skipped"]
)
@pytest.mark.parametrize("key", ["demo", "DEMO"])
def test_alphavantages_public_demo_key_is_refused_everywhere_before_any_provider_is_asked(
    put, providers, env, flags, key
):
    providers_asked = len(providers.requests)
    code, line, clients = put({"apiKey": key}, *flags, env=env)
    assert code == 3
    assert line == (
        f"trading-secrets: error: trading/{env.name}/alphavantage: refused, nothing written: field 'apiKey' "
        "holds the public key of AlphaVantage's documentation examples, which anyone may use and which serves "
        "only those examples"
    )
    assert all(client.calls == [] for client in clients.values())
    assert len(providers.requests) == providers_asked


def test_the_check_asks_for_what_the_demo_key_is_not_served(providers):
    """Were the demo key not refused first, the check's own request could not pass it."""
    checked = provider.check(ALPHAVANTAGE, {"apiKey": "demo"})
    assert checked.verdict is Verdict.INCONCLUSIVE and not checked.vouches
    assert "a notice" in checked.reason


# A provider declared in a spec, served by the loopback double made from that declaration alone.
DECLARED_CASES = [
    ("valid", Verdict.PASSED, "ExampleData accepts the credential: active is true"),
    ("refused", Verdict.REJECTED, "ExampleData refused the credential (HTTP 401)"),
    ("unaccepted", Verdict.REJECTED, "active is false, not true"),
    ("rate-limited", Verdict.UNREACHABLE, "rate-limiting"),
    ("broken", Verdict.INCONCLUSIVE, "HTTP 500"),
]


@pytest.mark.parametrize(
    ("kind", "verdict", "phrase"), DECLARED_CASES, ids=[c[0] for c in DECLARED_CASES]
)
def test_a_provider_declared_in_a_spec_is_checked_as_declared(
    monkeypatch, caplog, kind, verdict, phrase
):
    spec = planted_spec()
    value = {"token": f"FAKE-{kind}-{uuid.uuid4().hex}"}
    with fake_providers(catalogue=(spec,)) as running:
        monkeypatch.setenv(provider.ENDPOINT_OVERRIDE, running.url)
        monkeypatch.setattr(provider, "RETRY_PAUSE_SECONDS", 0.05)
        with caplog.at_level(logging.DEBUG):
            checked = provider.check(spec, value)
    assert (checked.verdict, phrase in checked.reason) == (verdict, True), checked
    assert checked.account == (ACCOUNT if verdict is Verdict.PASSED else None)
    assert running.requests == ["/v1/whoami"] * (
        2 if kind in ("rate-limited", "broken") else 1
    )
    assert_no_piece_of(value, checked.reason, caplog.text)


def test_a_spec_that_declares_no_provider_check_is_put_on_its_shape_alone(monkeypatch):
    """No check to make: no request, a verdict that says so, and the put goes on (docs/templates.md)."""
    monkeypatch.setenv(
        provider.ENDPOINT_OVERRIDE, "http://127.0.0.1:9"
    )  # nothing may be asked
    spec = dataclasses.replace(planted_spec(), provider_check=None)
    checked = provider.check(spec, {"token": "FAKE-anything"})
    assert checked.verdict is Verdict.NO_CHECK and checked.vouches
    assert "declares no provider check" in checked.reason


def test_a_credential_of_another_account_is_refused_wherever_a_spec_names_accounts(
    monkeypatch,
):
    """The same-account check is the spec's account_field, not Alpaca's alone."""
    spec = planted_spec()
    current = {"token": f"FAKE-valid-{uuid.uuid4().hex}"}
    with fake_providers(catalogue=(spec,)) as running:
        monkeypatch.setenv(provider.ENDPOINT_OVERRIDE, running.url)
        new = provider.check(spec, {"token": f"FAKE-other-account-{uuid.uuid4().hex}"})
        with pytest.raises(ValueRefused, match="another ExampleData account"):
            provider._same_account(DEV, spec, new, current, "trading/dev/exampledata")
        provider._same_account(DEV, spec, provider.check(spec, current), current, "n")
