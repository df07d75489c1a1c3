"""Each validator catches what it is there to catch, and passes the real templates."""

from __future__ import annotations

import dataclasses
import json

import pytest
from support.repository import ENV_NAMES, committed_parameters

from generator.build import generate
from generator.catalogue import ALPHAVANTAGE, CATALOGUE
from generator.checks.limits import TEMPLATE_BODY_MAX_BYTES, template_limit_problems
from generator.checks.lint import LintJob
from generator.checks.template_rules import (
    name_and_tag_problems,
    parameter_problems,
    placeholder_problems,
    static_problems,
)
from generator.environments import ENVIRONMENTS, get_environment
from generator.parameter_files import load_parameter_file, parameter_file_path


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_real_templates_and_parameter_files_pass_every_check(env_name, linter, root):
    env = get_environment(env_name)
    path = parameter_file_path(root / "params", env)
    parameters = load_parameter_file(path)
    text = generate(env)
    assert static_problems(env, CATALOGUE, text, parameters, str(path)) == []
    assert linter.lint(LintJob(text, env.regions, parameters, str(path))) == []


def test_cloudformation_limits_on_size_and_counts():
    assert template_limit_problems("x" * TEMPLATE_BODY_MAX_BYTES, {}) == []
    assert (
        "over CloudFormation's 51200-byte limit"
        in template_limit_problems("x" * (TEMPLATE_BODY_MAX_BYTES + 1), {})[0]
    )
    crowded = {
        "Outputs": {key: {} for key in map(str, range(201))},
        "Resources": {key: {} for key in map(str, range(500))},
    }
    assert template_limit_problems("{}", crowded) == [
        "template has 201 outputs, over CloudFormation's limit of 200"
    ]


def test_a_parameter_value_over_4096_bytes_is_refused_before_its_pattern_is_tried(
    templates,
):
    parameters = committed_parameters("prod", AlertEmail="a@b.c" + "x" * 50_000_000)
    assert parameter_problems(templates["prod"], parameters, "p.json") == [
        "p.json: parameter AlertEmail is over CloudFormation's 4096-byte limit for a value"
    ]


def test_a_parameter_key_is_escaped_when_quoted_back(templates):
    parameters = committed_parameters("prod")
    forged = "X\nbuild.py: prod: all clear\x1b[2J"
    problems = parameter_problems(
        templates["prod"], {**parameters, forged: "v"}, "p.json"
    )
    assert problems == [
        "p.json: parameter X\\nbuild.py: prod: all clear\\x1b[2J is not in the template"
    ]
    assert all("\n" not in problem and "\x1b" not in problem for problem in problems)


def test_placeholder_that_breaks_its_schema_is_reported():
    broken = dataclasses.replace(
        ALPHAVANTAGE,
        placeholder_for=lambda env: {"apiKey": "PLACEHOLDER-x ", "more": "y"},
    )
    problems = placeholder_problems(get_environment("dev"), [broken])
    assert any(
        "field apiKey does not match the schema (pattern)" in p for p in problems
    )
    assert any(
        "field (root) does not match the schema (additionalProperties)" in p
        for p in problems
    )


def test_placeholder_that_looks_real_is_reported():
    realistic = dataclasses.replace(
        ALPHAVANTAGE, placeholder_for=lambda env: {"apiKey": "ABCDEFGHIJKLMNOP"}
    )
    problems = placeholder_problems(get_environment("dev"), [realistic])
    assert problems == [
        "AlphaVantageCredentials: placeholder field apiKey does not contain PLACEHOLDER"
    ]


def test_placeholders_are_not_checked_where_none_are_seeded():
    realistic = dataclasses.replace(
        ALPHAVANTAGE, placeholder_for=lambda env: {"apiKey": "ABCDEFGHIJKLMNOP"}
    )
    assert placeholder_problems(get_environment("prod"), [realistic]) == []


def test_bad_tag_missing_tag_and_bad_name_are_reported(templates):
    env = get_environment("dev")
    template = json.loads(json.dumps(templates["dev"]))
    topic_tags = template["Resources"]["AlertTopic"]["Properties"]["Tags"]
    topic_tags.append({"Key": "aws:team", "Value": "x"})
    secret_tags = template["Resources"]["AlpacaCredentials"]["Properties"]["Tags"]
    secret_tags[:] = [
        tag for tag in secret_tags if tag["Key"] != "RotationIntervalDays"
    ]
    template["Outputs"]["AlertTopicArn"]["Export"]["Name"] = "trading_dev"
    bad_name = dataclasses.replace(ALPHAVANTAGE, name_suffix="alpha-vantag")
    problems = name_and_tag_problems(env, [bad_name], template)
    assert any(
        "AlertTopic: tag key 'aws:team' uses the reserved prefix" in p for p in problems
    )
    assert "AlpacaCredentials: missing tags RotationIntervalDays" in problems
    assert any(
        p.startswith("output AlertTopicArn: export name 'trading_dev'")
        for p in problems
    )
    assert any(
        p.startswith("AlphaVantageCredentials: secret name") and "ARN suffix" in p
        for p in problems
    )


PROD = committed_parameters("prod")
WITHOUT_BREAK_GLASS = {k: v for k, v in PROD.items() if k != "BreakGlassRoleName"}


@pytest.mark.parametrize(
    "parameters, expected",
    [
        (PROD, []),
        (
            WITHOUT_BREAK_GLASS,
            [
                "p.json: parameter BreakGlassRoleName is missing (every parameter is set explicitly)"
            ],
        ),
        ({**PROD, "Extra": "x"}, ["p.json: parameter Extra is not in the template"]),
        (
            {**PROD, "AlertEmail": "not-an-email"},
            [
                "p.json: parameter AlertEmail does not match one email address: the alerts must reach a person"
            ],
        ),
        (
            {**PROD, "ReaderRoleNames": "a, b"},
            [
                "p.json: parameter ReaderRoleNames does not match empty, or IAM role names separated by "
                "commas, without spaces; a trailing * matches a suffix"
            ],
        ),
        (
            {**PROD, "ReaderRoleNames": "arn:aws:iam::111122223333:role/a"},
            [
                "p.json: parameter ReaderRoleNames does not match empty, or IAM role names separated by "
                "commas, without spaces; a trailing * matches a suffix"
            ],
        ),
        (
            {**PROD, "DeployerRoleNames": ""},
            [
                "p.json: parameter DeployerRoleNames does not match IAM role names separated by commas, "
                "without spaces; a trailing * matches a suffix"
            ],
        ),
        (
            {
                **PROD,
                "AlertEmail": "ops@example.com",
                "ReaderRoleNames": "quote-fetcher,order-router",
                "OperatorRoleNames": "AWSReservedSSO_PlatformEngineer_*",
            },
            [],
        ),
    ],
    ids=[
        "complete",
        "missing",
        "unknown",
        "bad-email",
        "space-in-list",
        "an-arn-not-a-name",
        "no-deployer",
        "filled-in",
    ],
)
def test_parameter_file_must_match_the_template(templates, parameters, expected):
    assert parameter_problems(templates["prod"], parameters, "p.json") == expected


def test_every_environment_has_a_parameter_file(root):
    for env in ENVIRONMENTS.values():
        assert parameter_file_path(root / "params", env).is_file()


def test_the_log_states_each_checks_verdict_not_an_assumed_success(templates, caplog):
    """A log line that says 'valid' must mean the check found nothing."""
    env = get_environment("dev")
    template = json.loads(json.dumps(templates["dev"]))
    template["Resources"]["AlertTopic"]["Properties"]["Tags"].append(
        {"Key": "aws:team", "Value": "x"}
    )
    bad_name = dataclasses.replace(ALPHAVANTAGE, name_suffix="alpha-vantag")
    broken_placeholder = dataclasses.replace(
        ALPHAVANTAGE, placeholder_for=lambda env: {"apiKey": "looks-real"}
    )
    with caplog.at_level("INFO"):
        name_and_tag_problems(env, [bad_name], template)
        placeholder_problems(env, [broken_placeholder])
    assert "dev: secret name trading/dev/alpha-vantag: 1 problem(s)" in caplog.text
    assert "AlertTopic tags (" in caplog.text and "aws:team" in caplog.text
    assert "): 1 problem(s)" in caplog.text
    assert (
        "dev: placeholder of AlphaVantageCredentials (fields: apiKey): 1 problem(s)"
        in caplog.text
    )
    assert "SecretsKey tags (" in caplog.text


def test_a_lower_case_placeholder_marker_counts_as_one():
    lower = dataclasses.replace(
        ALPHAVANTAGE,
        placeholder_for=lambda env: {"apiKey": "placeholder-lower-case-not-real"},
    )
    assert placeholder_problems(get_environment("dev"), [lower]) == []
