"""The replacement guard (generator/checks/replacement.py) on planted changes, and the build that runs it.

Each create-only property of each stateful type in today's templates, read
from the provider schema, is changed in a copy of the committed template; so
are logical ids, the resource list, deletion policies and conditions. The
guard must name each one, and only those.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from support.repository import ENV_NAMES, ROOT

import build as cli
from generator import catalogue, naming
from generator.build import generate
from generator.checks.replacement import (
    DOCUMENTED_IMMUTABLE,
    blocking,
    create_only_properties,
    replacements,
)
from generator.environments import ENVIRONMENTS
from generator.stack_policy import STATEFUL_TYPES, stateful_logical_ids

# Lint in this process: these tests are about what the build refuses, not where it lints.
pytestmark = pytest.mark.usefixtures("lint_in_this_process")


def committed(env_name: str) -> dict:
    return json.loads((ROOT / "templates" / env_name / "secrets.json").read_text())


def with_property(
    template: dict, logical_id: str, path: tuple[str, ...], value
) -> dict:
    planted = copy.deepcopy(template)
    node = planted["Resources"][logical_id].setdefault("Properties", {})
    for segment in path[:-1]:
        node = node.setdefault(segment, {})
    node[path[-1]] = value
    return planted


def _create_only_cases() -> list[tuple[str, str, tuple[str, ...]]]:
    cases = []
    for env_name in ENV_NAMES:
        template = committed(env_name)
        for logical_id in stateful_logical_ids(template):
            resource_type = template["Resources"][logical_id]["Type"]
            cases += [
                (env_name, logical_id, path)
                for path in create_only_properties(resource_type)
            ]
    return cases


CREATE_ONLY = _create_only_cases()


def test_every_stateful_type_of_the_templates_is_known_and_has_its_schema():
    types = {
        resource["Type"]
        for env_name in ENV_NAMES
        for resource in committed(env_name)["Resources"].values()
    }
    assert set(STATEFUL_TYPES) <= types
    # Read from cfn-lint's files without importing it; its own API agrees.
    for resource_type in STATEFUL_TYPES:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
            "us-east-1", resource_type
        ).schema
        assert create_only_properties(resource_type) == tuple(
            tuple(path.split("/")[2:])
            for path in schema.get("createOnlyProperties", [])
        )
    assert ("Name",) in create_only_properties("AWS::SecretsManager::Secret")
    assert ("Description",) in create_only_properties("AWS::IAM::ManagedPolicy")


@pytest.mark.parametrize(
    "env_name, logical_id, path",
    CREATE_ONLY,
    ids=[f"{e}-{lid}-{'.'.join(p)}" for e, lid, p in CREATE_ONLY],
)
def test_a_changed_create_only_property_is_a_replacement(env_name, logical_id, path):
    before = committed(env_name)
    after = with_property(before, logical_id, path, "changed-by-the-test")
    found = replacements(before, after)
    assert [(r.logical_id, r.change) for r in found] == [
        (
            logical_id,
            f"create-only property {'.'.join(path)} changes: CloudFormation would replace it",
        )
    ]
    assert STATEFUL_TYPES[found[0].resource_type] in str(found[0])


@pytest.mark.parametrize("name", DOCUMENTED_IMMUTABLE["AWS::KMS::Key"][0])
def test_a_key_property_aws_documents_as_immutable_is_refused_too(name):
    before = committed("prod")
    found = replacements(before, with_property(before, "SecretsKey", (name,), "X"))
    assert len(found) == 1
    assert found[0].change.startswith(f"property {name} changes: the update fails")
    assert "AWS::KMS::Key" in found[0].change


def test_a_renamed_logical_id_is_a_removal_of_the_old_one():
    before = committed("prod")
    after = copy.deepcopy(before)
    after["Resources"]["AlpacaSecret"] = after["Resources"].pop("AlpacaCredentials")
    found = replacements(before, after)
    assert [(r.logical_id, r.change) for r in found] == [
        (
            "AlpacaCredentials",
            "removed from the template (or renamed): CloudFormation would leave it unmanaged",
        )
    ]


def test_a_removed_dev_resource_would_be_deleted():
    before = committed("dev")
    after = copy.deepcopy(before)
    del after["Resources"]["SecretsKeyAlias"]
    found = replacements(before, after)
    assert [str(r) for r in found] == [
        "SecretsKeyAlias (AWS::KMS::Alias): removed from the template (or renamed): CloudFormation "
        "would delete it; consumers name the key by its alias"
    ]


@pytest.mark.parametrize(
    "attribute, before_value, after_value, weaker",
    [
        ("DeletionPolicy", "RetainExceptOnCreate", "Delete", True),
        ("DeletionPolicy", "RetainExceptOnCreate", None, True),
        ("DeletionPolicy", "RetainExceptOnCreate", "Snapshot", True),
        # For a stack that exists, the two differ only while it is first created.
        ("DeletionPolicy", "RetainExceptOnCreate", "Retain", False),
        ("DeletionPolicy", "Retain", "RetainExceptOnCreate", False),
        ("UpdateReplacePolicy", "Retain", "Delete", True),
        ("UpdateReplacePolicy", "Retain", "Snapshot", True),
        ("UpdateReplacePolicy", "Delete", "Retain", False),
    ],
)
def test_a_weakened_retention_policy_is_refused_and_a_kept_one_is_not(
    attribute, before_value, after_value, weaker
):
    before = copy.deepcopy(committed("staging"))
    before["Resources"]["AlpacaCredentials"][attribute] = before_value
    after = copy.deepcopy(before)
    if after_value is None:
        del after["Resources"]["AlpacaCredentials"][attribute]
    else:
        after["Resources"]["AlpacaCredentials"][attribute] = after_value
    found = replacements(before, after)
    assert bool(found) is weaker
    if weaker:
        assert found[0].change == (
            f"{attribute} weakens from {before_value} to {after_value or 'Delete'}"
        )


def test_a_condition_put_on_a_stateful_resource_is_refused():
    before = committed("prod")
    after = copy.deepcopy(before)
    after["Resources"]["SecretsKey"]["Condition"] = "HasAlertEmail"
    assert [r.change for r in replacements(before, after)] == [
        "its Condition changes: where it is false, CloudFormation deletes the resource"
    ]


def test_changes_to_what_holds_no_state_pass():
    before = committed("prod")
    after = with_property(before, "AlertTopic", ("DisplayName",), "renamed")
    after = with_property(after, "AlpacaCredentials", ("Description",), "new words")
    del after["Resources"]["AlertEmailSubscription"]
    assert replacements(before, after) == []


def test_allowed_ids_let_their_own_findings_through_and_no_other():
    before = committed("prod")
    after = with_property(before, "AlpacaCredentials", ("Name",), "x")
    after = with_property(after, "SecretsKeyAlias", ("AliasName",), "alias/x")
    stopped, allowed = blocking(replacements(before, after), ["SecretsKeyAlias"])
    assert [r.logical_id for r in stopped] == ["AlpacaCredentials"]
    assert [r.logical_id for r in allowed] == ["SecretsKeyAlias"]


# The build itself: a planted change in the code, against a copy of the committed templates.


# The stack policy: generated, committed and checked beside each template.


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


@pytest.mark.usefixtures("lint_in_this_process")
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
