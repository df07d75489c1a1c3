"""The replacement guard as build.py runs it: refusing, allowing one named resource at a time, and the stack policies beside the templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.repository import ENV_NAMES, ROOT
from test_replacement import committed

import build as cli
from generator import catalogue, naming
from generator.build import generate
from generator.environments import ENVIRONMENTS
from generator.stack_policy import STATEFUL_TYPES, stateful_logical_ids


@pytest.fixture
def renamed_alpaca(monkeypatch):
    """The code changes the Alpaca secret's name, a create-only property, in every environment."""
    original = naming.secret_name

    def renamed(env, spec):
        name = original(env, spec)
        return f"{name}-v2" if spec is catalogue.ALPACA else name

    monkeypatch.setattr(naming, "secret_name", renamed)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def build(committed_copy: Path, warm_lint_cache: Path, *extra: str) -> int:
    return cli.main(
        [
            "--output-dir",
            str(committed_copy),
            "--cache-dir",
            str(warm_lint_cache),
            *extra,
        ]
    )


def test_the_build_refuses_a_replacement_one_finding_per_resource_and_writes_nothing(
    committed_copy, warm_lint_cache, renamed_alpaca, capsys
):
    before = snapshot(committed_copy)
    assert build(committed_copy, warm_lint_cache, "--env", "prod") == 1
    err = capsys.readouterr().err.splitlines()
    findings = [line for line in err if "--allow-replacement" in line]
    assert findings == [
        "build.py: prod: AlpacaCredentials (AWS::SecretsManager::Secret): create-only property Name changes: "
        "CloudFormation would replace it; a replaced secret loses its value; once reviewed, build with "
        "--allow-replacement AlpacaCredentials",
        # Its description names the secret, and a new description is a new policy ARN.
        "build.py: prod: AlpacaCredentialsReaderPolicy (AWS::IAM::ManagedPolicy): create-only property "
        "Description changes: CloudFormation would replace it; its ARN is exported and attached to consumer "
        "roles; once reviewed, build with --allow-replacement AlpacaCredentialsReaderPolicy",
    ]
    assert err[-1].startswith(
        "build.py: error: validation failed with 2 finding(s); nothing was written"
    )
    assert snapshot(committed_copy) == before


def test_allow_replacement_lets_each_named_resource_through_and_says_so(
    committed_copy, warm_lint_cache, renamed_alpaca, capsys
):
    assert (
        build(
            committed_copy,
            warm_lint_cache,
            "--env",
            "prod",
            "--allow-replacement",
            "AlpacaCredentials",
            "--allow-replacement",
            "AlpacaCredentialsReaderPolicy",
        )
        == 0
    )
    err = capsys.readouterr().err
    assert (
        "build.py: prod: allowed by --allow-replacement AlpacaCredentials: AlpacaCredentials "
        "(AWS::SecretsManager::Secret): create-only property Name changes" in err
    )
    assert (
        json.loads((committed_copy / "prod" / "secrets.json").read_text())["Resources"][
            "AlpacaCredentials"
        ]["Properties"]["Name"]
        == "trading/prod/alpaca-v2"
    )


def test_one_allowance_does_not_cover_another_resource(
    committed_copy, warm_lint_cache, renamed_alpaca, capsys
):
    before = snapshot(committed_copy)
    assert (
        build(
            committed_copy,
            warm_lint_cache,
            "--env",
            "prod",
            "--allow-replacement",
            "AlpacaCredentials",
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "--allow-replacement AlpacaCredentialsReaderPolicy" in err
    assert snapshot(committed_copy) == before


def test_an_allowance_with_nothing_to_allow_is_a_usage_error(
    committed_copy, warm_lint_cache, capsys
):
    before = snapshot(committed_copy)
    assert (
        build(
            committed_copy,
            warm_lint_cache,
            "--quiet",
            "--allow-replacement",
            "AlpacaCredentals",
        )
        == 2
    )
    assert capsys.readouterr().err.splitlines() == [
        "build.py: error: --allow-replacement AlpacaCredentals: no template would remove or replace that resource"
    ]
    assert snapshot(committed_copy) == before


def test_a_template_on_disk_that_is_not_json_is_one_line_and_exit_2(
    committed_copy, warm_lint_cache, capsys
):
    path = committed_copy / "staging" / "secrets.json"
    path.write_text("<<<<<<< HEAD\n")
    assert build(committed_copy, warm_lint_cache) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"build.py: error: cannot check {path} for replacements: it is not a JSON template; restore the "
        "committed file (git checkout -- <file>), or remove it to build without comparing"
    )


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_the_committed_stack_policy_denies_replacing_and_deleting_every_stateful_resource(
    env_name,
):
    template = committed(env_name)
    policy = json.loads(
        (ROOT / "templates" / env_name / "stack-policy.json").read_text()
    )
    allow, deny = policy["Statement"]
    assert (allow["Effect"], allow["Action"], allow["Resource"]) == (
        "Allow",
        ["Update:*"],
        ["*"],
    )
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert sorted(deny["Action"]) == ["Update:Delete", "Update:Replace"]
    protected = sorted(r.removeprefix("LogicalResourceId/") for r in deny["Resource"])
    assert protected == sorted(
        lid for lid, r in template["Resources"].items() if r["Type"] in STATEFUL_TYPES
    )
    assert {"AlpacaCredentials", "SecretsKey", "SecretsKeyAlias"} <= set(protected)
    assert "AlertTopic" not in protected


def test_check_catches_a_hand_edited_or_missing_stack_policy(committed_copy, capsys):
    path = committed_copy / "prod" / "stack-policy.json"
    path.write_text(path.read_text().replace('"LogicalResourceId/SecretsKey",\n', ""))
    (committed_copy / "dev" / "stack-policy.json").unlink()
    assert cli.main(["--check", "--output-dir", str(committed_copy)]) == 1
    err = capsys.readouterr().err
    assert f"{path} differs from what the code generates" in err
    assert '+    "LogicalResourceId/SecretsKey",' in err
    assert f"{committed_copy / 'dev' / 'stack-policy.json'} is missing" in err


def test_the_stack_policies_are_generated_from_the_environment(tmp_path):
    for env_name, env in ENVIRONMENTS.items():
        assert stateful_logical_ids(json.loads(generate(env))) == stateful_logical_ids(
            committed(env_name)
        )
