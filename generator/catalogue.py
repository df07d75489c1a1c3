"""The secret catalogue: one declarative spec per integration, and everything that differs between them.

Adding an integration means adding one `SecretSpec` to `CATALOGUE`: its name,
schema and placeholder, how its provider checks a credential, the values it
refuses, its rotation interval and its key shapes. The builders, `put`,
`status`, `verify`, the leak scanner, the tests' loopback provider and the
benchmark's CDK peer all read it from there; nothing else in `generator/` is
keyed by an integration's name (tests/integration/test_third_integration.py
adds one to a copy of the repository and takes it to a verified value).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.environments import Environment

# A value must not start or end with whitespace: a pasted key with a stray
# newline authenticates nowhere, and fails far from where it was typed. The
# lookahead refuses any newline: "$" alone would accept one at the very end.
TRIMMED_NON_EMPTY = r"^(?!.*\n)\S(?:.*\S)?$"

PLACEHOLDER_MARKER = "PLACEHOLDER"
# How often a credential is rotated by hand, unless its spec or the environment says otherwise.
ROTATION_INTERVAL_DAYS = 90


def looks_like_placeholder(text: str) -> bool:
    """The one definition of placeholder text, in any case: the build, `put` and `status` all use it."""
    return PLACEHOLDER_MARKER.lower() in text.lower()


def fixed_fields(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose value the schema fixes (`const`), such as Alpaca's endpoint: public, never secret."""
    return {
        name: field["const"]
        for name, field in schema.get("properties", {}).items()
        if "const" in field
    }


def _string_field(description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "pattern": TRIMMED_NON_EMPTY,
        "description": description,
    }


def _object_schema(
    title: str, properties: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A closed JSON object: every field required, nothing else allowed."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": title,
        "type": "object",
        "properties": dict(properties),
        "required": sorted(properties),
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class RefusedValue:
    """A value no environment accepts for one field, whatever its provider says: a public key, say.

    Compared without regard to case. `why` is printed: it names what the
    value is, and the value is public, never a credential of ours.
    """

    field: str
    value: str
    why: str

    def refuses(self, value: object) -> bool:
        return isinstance(value, str) and value.strip().lower() == self.value.lower()


@dataclass(frozen=True)
class ProviderCheck:
    """How an integration's provider tells whether a credential works: one HTTP GET, read as declared here.

    Declared rather than coded, so that the check `put` and `verify` run, its
    messages, and the tests' loopback provider (tests/support/fake_providers.py)
    all come from the same facts. Nothing a provider sends back is ever
    printed: a message repeats a field's value only when `sayable` lists it.
    """

    provider: str  # named in every message
    path: str  # appended to the base URL
    # Where to send it: a fixed base URL, or the credential field that holds one (Alpaca's endpoint).
    base_url: str = ""
    base_url_field: str = ""
    query: tuple[tuple[str, str], ...] = ()  # fixed query parameters
    query_fields: tuple[
        tuple[str, str], ...
    ] = ()  # query parameter <- credential field
    header_fields: tuple[tuple[str, str], ...] = ()  # header <- credential field
    # HTTP statuses that refuse the credential, and what that means at this provider.
    refused_statuses: tuple[int, ...] = (401, 403)
    refused_means: str = "it is wrong or revoked"
    # A JSON answer accepts the credential when each of these fields holds its value; another value refuses it.
    accepted_when: tuple[tuple[str, Any], ...] = ()
    # Values of a field that may be repeated in a message (a status from the provider's fixed list).
    sayable: tuple[tuple[str, frozenset[str]], ...] = ()
    # Fields by which a JSON answer reports an error. One whose text holds every word of
    # `refused_words[0]` and any of `refused_words[1]` refuses the credential; any other is no verdict.
    error_fields: tuple[str, ...] = ()
    refused_words: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    # Fields by which a JSON answer gives a notice instead of data (a rate or plan limit): no verdict.
    notice_fields: tuple[str, ...] = ()
    # A JSON answer that neither accepts nor refuses still lets a put go on: it shows the key was served.
    served_vouches: bool = False
    # The field naming the account a credential belongs to: a new credential of another
    # account than the current one is refused unless `put --new-account` says it is meant.
    account_field: str = ""

    def credential_fields(self) -> list[str]:
        """The value's fields the request carries, in the order declared."""
        return [name for _, name in (*self.query_fields, *self.header_fields)]


@dataclass(frozen=True)
class SecretSpec:
    """What one integration's secret is: identity, value schema and placeholder, its provider and its checks.

    `logical_id` never changes once released: CloudFormation replaces a
    resource whose logical ID changes, and the stored credential goes with it.
    """

    logical_id: str
    name_suffix: str
    integration: str
    description: str
    schema_for: Callable[[Environment], Mapping[str, Any]]
    placeholder_for: Callable[[Environment], Mapping[str, str]]
    # None: the provider offers no way to check a credential; `put` then checks
    # the value's shape alone, says so, and `verify` reports "no check".
    provider_check: ProviderCheck | None = None
    # Values refused outright, in every environment, before any provider is asked.
    refused: tuple[RefusedValue, ...] = ()
    # What a leaked credential of this integration looks like: (kind, regular expression).
    credential_shapes: tuple[tuple[str, str], ...] = ()
    rotation_interval_days: int = ROTATION_INTERVAL_DAYS

    def schema(self, env: Environment) -> dict[str, Any]:
        return dict(self.schema_for(env))

    def placeholder(self, env: Environment) -> dict[str, str]:
        return dict(self.placeholder_for(env))

    def rotation_interval(self, env: Environment) -> int:
        """Days between rotations by hand: the environment's override where it has one, else the integration's."""
        return env.rotation_interval_override_days or self.rotation_interval_days

    def secret_fields(self, env: Environment) -> list[str]:
        """The fields that hold credentials: every field the schema does not fix."""
        schema = self.schema(env)
        return [
            name for name in schema["properties"] if name not in fixed_fields(schema)
        ]

    def is_placeholder(self, env: Environment, value: Mapping[str, Any]) -> bool:
        """Whether any credential field of `value` holds placeholder text."""
        return any(
            isinstance(value.get(name), str) and looks_like_placeholder(value[name])
            for name in self.secret_fields(env)
        )

    def shapes(self) -> dict[str, re.Pattern[str]]:
        return {kind: re.compile(pattern) for kind, pattern in self.credential_shapes}


ALPHAVANTAGE = SecretSpec(
    logical_id="AlphaVantageCredentials",
    name_suffix="alphavantage",
    integration="AlphaVantage",
    description="AlphaVantage market-data API key",
    schema_for=lambda env: _object_schema(
        "AlphaVantage credentials",
        {"apiKey": _string_field("AlphaVantage API key")},
    ),
    placeholder_for=lambda env: {"apiKey": "PLACEHOLDER-alphavantage-api-key-not-real"},
    # One quote request. It answers HTTP 200 even for a bad key, with the reason in the body. MSFT,
    # not the IBM of its documentation's examples: the public demo key is served those examples and
    # a notice for anything else, so it can pass no check here (and it is refused before asking).
    provider_check=ProviderCheck(
        provider="AlphaVantage",
        base_url="https://www.alphavantage.co",
        path="/query",
        query=(("function", "GLOBAL_QUOTE"), ("symbol", "MSFT")),
        query_fields=(("apikey", "apiKey"),),
        error_fields=("Error Message",),
        refused_words=(("apikey",), ("invalid", "missing")),
        notice_fields=("Information", "Note"),
        # Data for a key proves only that AlphaVantage served it: a wrong key can still get data.
        served_vouches=True,
    ),
    refused=(
        RefusedValue(
            "apiKey",
            "demo",
            # Said without the value: nothing a tool prints repeats one.
            "the public key of AlphaVantage's documentation examples, which anyone may use and which "
            "serves only those examples",
        ),
    ),
    # 16 upper-case letters and digits, with at least one of each.
    credential_shapes=(
        (
            "AlphaVantage key",
            r"(?<![A-Za-z0-9])(?=[A-Z0-9]{0,15}[0-9])(?=[A-Z0-9]{0,15}[A-Z])[A-Z0-9]{16}(?![A-Za-z0-9])",
        ),
    ),
)

PAPER_TRADING_ENDPOINT = "https://paper-api.alpaca.markets"
LIVE_TRADING_ENDPOINT = "https://api.alpaca.markets"


def alpaca_endpoint(env: Environment) -> str:
    """Paper and live keys are different credentials at Alpaca: the endpoint of the environment's tier."""
    return LIVE_TRADING_ENDPOINT if env.live_provider_tier else PAPER_TRADING_ENDPOINT


# Alpaca's account statuses (Trading API, "Account"): only these words are ever repeated.
ALPACA_STATUSES = frozenset(
    {
        "ONBOARDING",
        "SUBMISSION_FAILED",
        "SUBMITTED",
        "ACCOUNT_UPDATED",
        "APPROVAL_PENDING",
        "ACTIVE",
        "REJECTED",
        "DISABLED",
        "ACCOUNT_CLOSED",
        "INACTIVE",
    }
)

ALPACA = SecretSpec(
    logical_id="AlpacaCredentials",
    name_suffix="alpaca",
    integration="Alpaca",
    description="Alpaca trading API key id and secret key, with the endpoint they belong to",
    # The endpoint travels with the keys and is pinned to the environment's tier.
    schema_for=lambda env: _object_schema(
        "Alpaca credentials",
        {
            "apiKeyId": _string_field("Alpaca API key id"),
            "apiSecretKey": _string_field("Alpaca API secret key"),
            "baseUrl": {
                "type": "string",
                "const": alpaca_endpoint(env),
                "description": "Alpaca trading endpoint",
            },
        },
    ),
    placeholder_for=lambda env: {
        "apiKeyId": "PLACEHOLDER-alpaca-key-id-not-real",
        "apiSecretKey": "PLACEHOLDER-alpaca-secret-key-not-real",
        "baseUrl": alpaca_endpoint(env),
    },
    # GET {baseUrl}/v2/account with the key pair: it passes on 200, status ACTIVE, nothing blocked.
    provider_check=ProviderCheck(
        provider="Alpaca",
        base_url_field="baseUrl",
        path="/v2/account",
        header_fields=(
            ("APCA-API-KEY-ID", "apiKeyId"),
            ("APCA-API-SECRET-KEY", "apiSecretKey"),
        ),
        refused_means="it is wrong or revoked, or a live key sent to the paper endpoint or the reverse",
        accepted_when=(
            ("status", "ACTIVE"),
            ("account_blocked", False),
            ("trading_blocked", False),
        ),
        sayable=(("status", ALPACA_STATUSES),),
        account_field="id",
    ),
    credential_shapes=(
        # Key ids: PK (paper) or AK (live), then 18 upper-case letters or digits. Secret keys are 40
        # mixed-case characters, which the leak scanner's high-entropy rule finds.
        (
            "Alpaca key id",
            r"(?<![A-Za-z0-9])(?:PK|AK)(?=[A-Z0-9]*[0-9])[A-Z0-9]{18}(?![A-Za-z0-9])",
        ),
    ),
)

CATALOGUE: tuple[SecretSpec, ...] = (ALPHAVANTAGE, ALPACA)
