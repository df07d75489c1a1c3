"""The build's own gates refuse what they are for: each one shown catching a violation planted on purpose."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
from support.repository import ENV_NAMES, ROOT

import build as cli
from generator import build as build_library
from generator.catalogue import ALPHAVANTAGE, CATALOGUE
from generator.checks import template_rules
from generator.checks.security import security_problems
from generator.environments import ENVIRONMENTS
from generator.errors import ValidationFailed

# Lint in this process: these tests are about what the build refuses, not where it lints.
pytestmark = pytest.mark.usefixtures("lint_in_this_process")


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_generated_templates_keep_every_security_rule(templates, env_name):
    assert security_problems(templates[env_name]) == []


def _plant(template: dict, where: str, statement: dict) -> dict:
    broken = copy.deepcopy(template)
    properties = broken["Resources"][where]["Properties"]
    document = (
        properties.get("KeyPolicy")
        or properties.get("PolicyDocument")
        or properties["ResourcePolicy"]
    )
    document["Statement"].append(statement)
    return broken


PLANTED = {
    "allow-to-everybody-on-a-secret": (
        "AlphaVantageCredentialsResourcePolicy",
        {
            "Sid": "Oops",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        },
        "AlphaVantageCredentialsResourcePolicy statement Oops: Allow to Principal '*' (everybody)",
    ),
    "kms-star-to-a-wildcard": (
        "SecretsKey",
        {
            "Sid": "Oops",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["kms:*"],
            "Resource": "*",
        },
        "SecretsKey statement Oops: Allow grants kms:* (every action)",
    ),
    # The two below passed the gate before: it compared the principal for
    # equality, and checked kms:* only together with a wildcard principal.
    "wildcard-among-listed-principals": (
        "SecretsKey",
        {
            "Sid": "Oops",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::000000000000:root", "*"]},
            "Action": ["kms:Decrypt"],
            "Resource": "*",
        },
        "SecretsKey statement Oops: Allow to Principal '*' (everybody)",
    ),
    "kms-star-to-a-named-principal": (
        "SecretsKey",
        {
            "Sid": "Oops",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::000000000000:role/admin"},
            "Action": "kms:*",
            "Resource": "*",
        },
        "SecretsKey statement Oops: Allow grants kms:* (every action)",
    ),
    "allow-with-not-principal-on-the-topic": (
        "AlertTopicPolicy",
        {
            "Sid": "Oops",
            "Effect": "Allow",
            "NotPrincipal": {"AWS": "arn:aws:iam::000000000000:root"},
            "Action": "sns:Publish",
            "Resource": "*",
        },
        "AlertTopicPolicy statement Oops: Allow with NotPrincipal grants nearly everybody",
    ),
}


@pytest.mark.parametrize("case", PLANTED)
def test_the_policy_gate_catches_a_planted_statement(templates, case):
    where, statement, message = PLANTED[case]
    assert message in security_problems(_plant(templates["prod"], where, statement))


def test_the_gate_catches_a_secret_without_a_kms_key(templates):
    broken = copy.deepcopy(templates["staging"])
    del broken["Resources"]["AlpacaCredentials"]["Properties"]["KmsKeyId"]
    assert security_problems(broken) == [
        "AlpacaCredentials: secret has no KmsKeyId, so it is encrypted with the AWS-managed key, not the stack's key"
    ]


def test_the_build_refuses_a_template_that_breaks_a_security_rule(
    tmp_path, monkeypatch
):
    original = build_library.render

    def render_without_kms_key(template):
        document = json.loads(original(template))
        document["Resources"]["AlphaVantageCredentials"]["Properties"].pop("KmsKeyId")
        return json.dumps(document, indent=2)

    monkeypatch.setattr(build_library, "render", render_without_kms_key)
    with pytest.raises(ValidationFailed) as refused:
        build_library.build(
            [ENVIRONMENTS["dev"]],
            tmp_path / "out",
            ROOT / "params",
            ROOT / ".cfnlintrc",
        )
    assert any(
        f.startswith("dev: AlphaVantageCredentials: secret has no KmsKeyId")
        for f in refused.value.findings
    )
    assert not (tmp_path / "out").exists()


def test_the_build_refuses_a_template_with_a_credential_in_it(tmp_path):
    leaky = dataclasses.replace(
        ALPHAVANTAGE,
        description="AlphaVantage key, e.g. " + "AKIA" + "IOSFODNN7" + "EXAMPLE",
    )
    catalogue = [leaky if spec is ALPHAVANTAGE else spec for spec in CATALOGUE]
    with pytest.raises(ValidationFailed) as refused:
        build_library.build(
            [ENVIRONMENTS["prod"]],
            tmp_path / "out",
            ROOT / "params",
            ROOT / ".cfnlintrc",
            catalogue=catalogue,
        )
    assert any(
        f.startswith("prod: prod template line ")
        and f.endswith("something shaped like AWS access key id")
        for f in refused.value.findings
    )
    assert "IOSFODNN7" not in "\n".join(refused.value.findings)
    assert not (tmp_path / "out").exists()


def test_the_build_refuses_a_parameter_file_with_an_alpaca_key_in_it(tmp_path, capsys):
    params = tmp_path / "params"
    for env in ENV_NAMES:
        (params / env).mkdir(parents=True)
        (params / env / "secrets.json").write_text(
            (ROOT / "params" / env / "secrets.json").read_text()
        )
    path = params / "dev" / "secrets.json"
    path.write_text(
        path.read_text().replace(
            '"ParameterKey": "OperatorRoleNames", "ParameterValue": ""',
            '"ParameterKey": "OperatorRoleNames", "ParameterValue": "'
            + "PK"
            + "7QW3ZL9XK2M4B8N6R1"
            + '"',
        )
    )
    assert (
        cli.main(
            [
                "--env",
                "dev",
                "--no-cache",
                "--params-dir",
                str(params),
                "--output-dir",
                str(tmp_path / "out"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert (
        f"build.py: dev: {path}: parameter OperatorRoleNames holds something shaped like Alpaca key id"
        in err.splitlines()
    )
    assert "7QW3ZL9XK2M4B8N6R1" not in err
    assert not (tmp_path / "out").exists()


def test_the_build_log_redacts_a_value_that_slipped_into_it(
    tmp_path, monkeypatch, capsys
):
    placeholder = ALPHAVANTAGE.placeholder(ENVIRONMENTS["dev"])["apiKey"]
    original = template_rules.placeholder_problems

    def leaky(env, catalogue):
        template_rules.LOG.info("%s: oops, logged %s", env.name, placeholder)
        return original(env, catalogue)

    monkeypatch.setattr(template_rules, "placeholder_problems", leaky)
    assert cli.main(["--env", "dev", "--no-cache", "--output-dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "build.py: dev: oops, logged [REDACTED secret value]" in err
    assert placeholder not in err
