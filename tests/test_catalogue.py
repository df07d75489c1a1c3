"""The catalogue: fixed identities, schemas, placeholders, and extension by one spec."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema
import pytest
from support.repository import ROOT, committed_parameters

from generator import tagging
from generator.build import generate
from generator.catalogue import (
    ALPACA,
    ALPHAVANTAGE,
    CATALOGUE,
    PLACEHOLDER_MARKER,
    SecretSpec,
    _object_schema,
    _string_field,
    alpaca_endpoint,
)
from generator.checks.lint import LintJob
from generator.checks.template_rules import static_problems
from generator.environments import ENVIRONMENTS, get_environment

PLACEHOLDER_GOLDEN = Path(__file__).parent / "golden" / "placeholders.json"


def test_logical_ids_never_change():
    # A renamed logical ID replaces the secret and loses its value.
    assert [spec.logical_id for spec in CATALOGUE] == [
        "AlphaVantageCredentials",
        "AlpacaCredentials",
    ]


@pytest.mark.parametrize("env_name", list(ENVIRONMENTS))
@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.logical_id)
def test_placeholder_is_valid_against_its_schema(spec, env_name):
    env = get_environment(env_name)
    jsonschema.Draft7Validator(spec.schema(env)).validate(spec.placeholder(env))


@pytest.mark.parametrize("env_name", list(ENVIRONMENTS))
@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.logical_id)
def test_placeholder_looks_fake(spec, env_name):
    env = get_environment(env_name)
    for field, value in spec.placeholder(env).items():
        if field == "baseUrl":
            continue
        assert value.startswith(f"{PLACEHOLDER_MARKER}-") and value.endswith(
            "-not-real"
        ), field


def test_placeholders_never_change_once_released():
    """Consumers test against these exact values. This golden file is never regenerated."""
    released = json.loads(PLACEHOLDER_GOLDEN.read_text())
    current = {
        env_name: {spec.logical_id: spec.placeholder(env) for spec in CATALOGUE}
        for env_name, env in ENVIRONMENTS.items()
    }
    assert current == released


@pytest.mark.parametrize(
    "value, problem",
    [
        ({"apiKey": "x"}, None),
        ({}, "required"),
        ({"apiKey": "x", "extra": "y"}, "additionalProperties"),
        ({"apiKey": ""}, "minLength"),
        ({"apiKey": " x"}, "pattern"),
        ({"apiKey": "x\n"}, "pattern"),
        ({"apiKey": "x\ny"}, "pattern"),
        ({"apiKey": 42}, "type"),
    ],
    ids=[
        "valid",
        "missing",
        "extra",
        "empty",
        "leading-space",
        "trailing-newline",
        "embedded-newline",
        "not-a-string",
    ],
)
def test_alphavantage_schema_rejects_bad_values(value, problem):
    errors = list(
        jsonschema.Draft7Validator(
            ALPHAVANTAGE.schema(get_environment("dev"))
        ).iter_errors(value)
    )
    assert [error.validator for error in errors][:1] == ([problem] if problem else [])


@pytest.mark.parametrize(
    "env_name, base_url, valid",
    [
        ("dev", "https://paper-api.alpaca.markets", True),
        ("dev", "https://api.alpaca.markets", False),
        ("prod", "https://api.alpaca.markets", True),
        ("prod", "https://paper-api.alpaca.markets", False),
    ],
    ids=["dev-paper", "dev-live-refused", "prod-live", "prod-paper-refused"],
)
def test_alpaca_base_url_is_pinned_to_the_environment(env_name, base_url, valid):
    value = {"apiKeyId": "k", "apiSecretKey": "s", "baseUrl": base_url}
    validator = jsonschema.Draft7Validator(ALPACA.schema(get_environment(env_name)))
    assert validator.is_valid(value) is valid


THIRD_INTEGRATION = SecretSpec(
    logical_id="PolygonCredentials",
    name_suffix="polygon",
    integration="Polygon",
    description="Polygon market-data API key",
    schema_for=lambda env: _object_schema(
        "Polygon credentials", {"apiKey": _string_field("Polygon API key")}
    ),
    placeholder_for=lambda env: {"apiKey": "PLACEHOLDER-polygon-api-key-not-real"},
)


@pytest.mark.parametrize("env_name", list(ENVIRONMENTS))
def test_a_third_integration_needs_only_a_spec(env_name, linter, root):
    env = get_environment(env_name)
    catalogue = (*CATALOGUE, THIRD_INTEGRATION)
    text = generate(env, catalogue)
    template = json.loads(text)
    resources = template["Resources"]

    secret = resources["PolygonCredentials"]
    assert secret["Properties"]["Name"] == f"trading/{env_name}/polygon"
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["SecretsKey", "Arn"]}
    tag_keys = {tag["Key"] for tag in secret["Properties"]["Tags"]}
    assert tag_keys == set(tagging.SECRET_TAG_KEYS)
    assert (
        resources["PolygonCredentialsResourcePolicy"]["Properties"]["BlockPublicPolicy"]
        is True
    )
    assert (
        template["Outputs"]["PolygonCredentialsArn"]["Export"]["Name"]
        == f"trading-{env_name}-PolygonCredentialsArn"
    )
    assert ("SecretString" in secret["Properties"]) is env.seed_placeholders

    parameters = committed_parameters(env_name)
    assert static_problems(env, catalogue, text, parameters, "test-parameters") == []
    assert linter.lint(LintJob(text, env.regions, parameters, "test-parameters")) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("PLACEHOLDER-x", True),
        ("placeholder-x", True),
        ("a Placeholder", True),
        ("FAKE-real-looking", False),
    ],
)
def test_placeholder_text_is_recognised_in_any_case(text, expected):
    from generator.catalogue import looks_like_placeholder

    assert looks_like_placeholder(text) is expected


@pytest.mark.parametrize("env_name", list(ENVIRONMENTS))
def test_fixed_fields_are_the_schemas_constants_and_the_rest_are_secret(env_name):
    from generator.catalogue import fixed_fields

    env = get_environment(env_name)
    assert fixed_fields(ALPACA.schema(env)) == {"baseUrl": alpaca_endpoint(env)}
    assert ALPACA.secret_fields(env) == ["apiKeyId", "apiSecretKey"]
    assert fixed_fields(ALPHAVANTAGE.schema(env)) == {} and ALPHAVANTAGE.secret_fields(
        env
    ) == ["apiKey"]


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module's code: docstrings left out, comments are not in the tree."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(
            node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        )
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def keyed_by_integration(root: Path, catalogue) -> list[str]:
    """Where code outside the catalogue names an integration: its name suffix, its name or its logical id."""
    names = {
        word
        for spec in catalogue
        for word in (spec.name_suffix, spec.integration, spec.logical_id)
    }
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "catalogue.py":
            continue
        for line, text in _code_strings(path):
            found += [
                f"{path.relative_to(root)}:{line}: {word}"
                for word in sorted(names)
                if word in text
            ]
    return found


def test_nothing_in_the_generator_but_the_catalogue_is_keyed_by_an_integration():
    """One catalogue entry is the integration (tests/integration/test_third_integration.py takes one live)."""
    assert keyed_by_integration(ROOT / "generator", CATALOGUE) == []


def test_code_keyed_by_an_integration_is_caught(tmp_path):
    """The check can fail: a provider table keyed by name suffix, as provider.CHECKS once was."""
    (tmp_path / "provider.py").write_text(
        '"""Checks; alpaca is named in this docstring, which is fine."""\n'
        'CHECKS = {"alpaca": None, "alphavantage": None}\n'
    )
    assert keyed_by_integration(tmp_path, CATALOGUE) == [
        "provider.py:2: alpaca",
        "provider.py:2: alphavantage",
    ]
