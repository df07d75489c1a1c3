"""The secret catalogue: one declarative spec per integration.

Adding an integration means adding one `SecretSpec` to `CATALOGUE`; the
builders, validators, outputs and tests pick it up from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.environments import Environment

# A value must not start or end with whitespace: a pasted key with a stray
# newline authenticates nowhere, and fails far from where it was typed. The
# lookahead refuses any newline: "$" alone would accept one at the very end.
TRIMMED_NON_EMPTY = r"^(?!.*\n)\S(?:.*\S)?$"

PLACEHOLDER_MARKER = "PLACEHOLDER"


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
class SecretSpec:
    """What one integration's secret is: identity, description, value schema and placeholder.

    `logical_id` never changes once released: CloudFormation replaces a
    resource whose logical ID changes, and the stored credential goes with it.
    """

    logical_id: str
    name_suffix: str
    integration: str
    description: str
    schema_for: Callable[[Environment], Mapping[str, Any]]
    placeholder_for: Callable[[Environment], Mapping[str, str]]
    # Values refused outright, in every environment, before any provider is asked.
    refused: tuple[RefusedValue, ...] = ()

    def schema(self, env: Environment) -> dict[str, Any]:
        return dict(self.schema_for(env))

    def placeholder(self, env: Environment) -> dict[str, str]:
        return dict(self.placeholder_for(env))

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
    refused=(
        RefusedValue(
            "apiKey",
            "demo",
            # Said without the value: nothing a tool prints repeats one.
            "the public key of AlphaVantage's documentation examples, which anyone may use and which "
            "serves only those examples",
        ),
    ),
)

ALPACA = SecretSpec(
    logical_id="AlpacaCredentials",
    name_suffix="alpaca",
    integration="Alpaca",
    description="Alpaca trading API key id and secret key, with the endpoint they belong to",
    # Paper and live keys are different credentials at Alpaca, so the endpoint
    # travels with the keys and is pinned to the environment's.
    schema_for=lambda env: _object_schema(
        "Alpaca credentials",
        {
            "apiKeyId": _string_field("Alpaca API key id"),
            "apiSecretKey": _string_field("Alpaca API secret key"),
            "baseUrl": {
                "type": "string",
                "const": env.alpaca_endpoint,
                "description": "Alpaca trading endpoint",
            },
        },
    ),
    placeholder_for=lambda env: {
        "apiKeyId": "PLACEHOLDER-alpaca-key-id-not-real",
        "apiSecretKey": "PLACEHOLDER-alpaca-secret-key-not-real",
        "baseUrl": env.alpaca_endpoint,
    },
)

CATALOGUE: tuple[SecretSpec, ...] = (ALPHAVANTAGE, ALPACA)
