"""Each validator catches what it is there to catch, and passes the real templates."""

from __future__ import annotations

import dataclasses
import json

import pytest

from helpers import ENV_NAMES
from generator.build import generate
from generator.catalogue import ALPHAVANTAGE, CATALOGUE
from generator.environments import ENVIRONMENTS, get_environment
from generator.params import load_parameter_file, parameter_file_path
from generator.validation import (
    TEMPLATE_BODY_MAX_BYTES,
    name_and_tag_problems,
    parameter_problems,
    placeholder_problems,
    size_problems,
    validate,
)


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_real_templates_and_parameter_files_pass_every_check(env_name, linter, root):
    env = get_environment(env_name)
    path = parameter_file_path(root / "params", env)
    findings = validate(env, CATALOGUE, generate(env), load_parameter_file(path), str(path), linter)
    assert findings == []


def test_linter_reports_errors_with_rule_id(linter):
    template = json.loads(generate(get_environment("dev")))
    template["Resources"]["SecretsKey"]["Properties"]["PendingWindowInDays"] = 3
    findings = linter.lint(json.dumps(template), ["us-east-1"], {}, "none")
    assert any(f.startswith("cfn-lint E") and "PendingWindowInDays" in f for f in findings), findings


def test_linter_includes_informational_checks(linter):
    template = json.loads(generate(get_environment("dev")))
    del template["Resources"]["AlphaVantageCredentials"]["DeletionPolicy"]
    findings = linter.lint(json.dumps(template), ["us-east-1"], {}, "none")
    assert any(f.startswith("cfn-lint I3011") for f in findings), findings


def test_linter_checks_parameter_file_values(linter):
    findings = linter.lint(generate(get_environment("dev")), ["us-east-1"], {"Unknown": "x"}, "p.json")
    assert any("E2900" in f and "Unknown" in f for f in findings), findings


def test_linter_reports_unparseable_text(linter):
    assert linter.lint("{not json", ["us-east-1"], {}, "none")


def test_linter_refuses_an_unknown_region(linter):
    template = json.loads(generate(get_environment("prod")))
    findings = linter.lint(json.dumps(template), ["us-east-1", "xx-nowhere-1"], {}, "none")
    assert findings == ["cfn-lint: unknown region(s) xx-nowhere-1"]


def test_size_limit():
    assert size_problems("x" * TEMPLATE_BODY_MAX_BYTES) == []
    assert "over CloudFormation's 51200-byte limit" in size_problems("x" * (TEMPLATE_BODY_MAX_BYTES + 1))[0]


def test_placeholder_that_breaks_its_schema_is_reported():
    broken = dataclasses.replace(ALPHAVANTAGE, placeholder_for=lambda env: {"apiKey": "PLACEHOLDER-x ", "more": "y"})
    problems = placeholder_problems(get_environment("dev"), [broken])
    assert any("field apiKey does not match the schema (pattern)" in p for p in problems)
    assert any("field (root) does not match the schema (additionalProperties)" in p for p in problems)


def test_placeholder_that_looks_real_is_reported():
    realistic = dataclasses.replace(ALPHAVANTAGE, placeholder_for=lambda env: {"apiKey": "ABCDEFGHIJKLMNOP"})
    problems = placeholder_problems(get_environment("dev"), [realistic])
    assert problems == ["AlphaVantageCredentials: placeholder field apiKey does not contain PLACEHOLDER"]


def test_placeholders_are_not_checked_where_none_are_seeded():
    realistic = dataclasses.replace(ALPHAVANTAGE, placeholder_for=lambda env: {"apiKey": "ABCDEFGHIJKLMNOP"})
    assert placeholder_problems(get_environment("prod"), [realistic]) == []


def test_bad_tag_missing_tag_and_bad_name_are_reported(templates):
    env = get_environment("dev")
    template = json.loads(json.dumps(templates["dev"]))
    topic_tags = template["Resources"]["AlertTopic"]["Properties"]["Tags"]
    topic_tags.append({"Key": "aws:team", "Value": "x"})
    secret_tags = template["Resources"]["AlpacaCredentials"]["Properties"]["Tags"]
    secret_tags[:] = [tag for tag in secret_tags if tag["Key"] != "RotationIntervalDays"]
    template["Outputs"]["AlertTopicArn"]["Export"]["Name"] = "trading_dev"
    bad_name = dataclasses.replace(ALPHAVANTAGE, name_suffix="alpha-vantag")
    problems = name_and_tag_problems(env, [bad_name], template)
    assert any("AlertTopic: tag key 'aws:team' uses the reserved prefix" in p for p in problems)
    assert "AlpacaCredentials: missing tags RotationIntervalDays" in problems
    assert any(p.startswith("output AlertTopicArn: export name 'trading_dev'") for p in problems)
    assert any(p.startswith("AlphaVantageCredentials: secret name") and "ARN suffix" in p for p in problems)


@pytest.mark.parametrize(
    "parameters, expected",
    [
        ({"AlertEmail": "", "ReaderPrincipalArns": "", "BreakGlassRoleName": "bg"}, []),
        ({"AlertEmail": "", "ReaderPrincipalArns": ""}, ["p.json: parameter BreakGlassRoleName is missing (every parameter is set explicitly)"]),
        ({"AlertEmail": "", "ReaderPrincipalArns": "", "BreakGlassRoleName": "bg", "Extra": "x"}, ["p.json: parameter Extra is not in the template"]),
        ({"AlertEmail": "not-an-email", "ReaderPrincipalArns": "", "BreakGlassRoleName": "bg"}, ["p.json: parameter AlertEmail does not match empty, or one email address"]),
        (
            {"AlertEmail": "", "ReaderPrincipalArns": "arn:aws:iam::111122223333:role/a, arn:aws:iam::111122223333:role/b", "BreakGlassRoleName": "bg"},
            ["p.json: parameter ReaderPrincipalArns does not match empty, or IAM principal ARNs separated by commas, without spaces"],
        ),
        ({"AlertEmail": "ops@example.com", "ReaderPrincipalArns": "arn:aws:iam::111122223333:role/a,arn:aws:iam::111122223333:role/b", "BreakGlassRoleName": "bg"}, []),
    ],
    ids=["complete", "missing", "unknown", "bad-email", "space-in-list", "filled-in"],
)
def test_parameter_file_must_match_the_template(templates, parameters, expected):
    assert parameter_problems(templates["prod"], parameters, "p.json") == expected


def test_every_environment_has_a_parameter_file(root):
    for env in ENVIRONMENTS.values():
        assert parameter_file_path(root / "params", env).is_file()
