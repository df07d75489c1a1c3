"""Every `aws` command the documentation shows, checked against botocore and the templates.

A real account refuses an IAM template without CAPABILITY_IAM, and a stack
without its stack policy or termination protection is one an update or a
delete can hurt; the local engine enforces none of that. So each command in
the README and docs/ is read out of its code block: each of its flags is held
to botocore's model of the operation, each logical id and rule name it gives
to the templates, and each deploy to what the template it names needs, so the
next drift fails here.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name
from support.repository import ROOT, commands_in_code_blocks

from generator.environments import ENVIRONMENTS
from generator.ops.deploy.release import required_capabilities

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The AWS CLI's own options, valid on every command.
GLOBAL_OPTIONS = {
    "--cli-input-json",
    "--query",
    "--region",
    "--profile",
    "--output",
    "--endpoint-url",
    "--no-cli-pager",
    "--debug",
}
TEMPLATE_CALLS = {
    "create-stack",
    "update-stack",
    "create-change-set",
    "create-stack-set",
    "update-stack-set",
}
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SESSION = botocore.session.get_session()


def cli_name(name: str) -> str:
    """An operation or member as the AWS CLI spells it: PutRule -> put-rule."""
    return xform_name(name).replace("_", "-")


def all_commands_in(document: Path) -> list[tuple[str, int, list[str]]]:
    """(document, line, words after `aws`) for each `aws` command in the document's code blocks."""
    return [
        (document.name, line, shlex.split(command)[1:])
        for line, command in commands_in_code_blocks(document, _FENCE)
        if command.startswith("aws ")
    ]


def commands_in(document: Path) -> list[tuple[str, int, list[str]]]:
    """(document, line, words after `aws cloudformation`) for each CloudFormation command."""
    return [
        (name, line, words[1:])
        for name, line, words in all_commands_in(document)
        if words[0] == "cloudformation"
    ]


ALL_COMMANDS = [c for document in DOCUMENTS for c in all_commands_in(document)]
COMMANDS = [command for document in DOCUMENTS for command in commands_in(document)]


def options(words: list[str]) -> dict[str, list[str]]:
    """--flag -> the values after it, up to the next flag."""
    parsed: dict[str, list[str]] = {}
    current = None
    for word in words[1:]:
        if word.startswith("--"):
            current = word
            parsed.setdefault(current, [])
        elif current is not None:
            parsed[current].append(word)
    return parsed


def file_of(value: list[str]) -> Path:
    assert len(value) == 1 and value[0].startswith("file://"), value
    path = ROOT / value[0].removeprefix("file://")
    assert path.exists(), path
    return path


def test_the_documentation_shows_the_commands_this_test_is_for():
    shown = {words[0] for _, _, words in COMMANDS}
    assert {
        "create-stack",
        "create-change-set",
        "create-stack-set",
        "create-stack-instances",
        "update-stack-set",
    } <= shown


@pytest.mark.parametrize(
    "document, line, words",
    ALL_COMMANDS,
    ids=[f"{d}:{n}" for d, n, _ in ALL_COMMANDS],
)
def test_each_flag_exists_for_its_operation(document, line, words):
    service, operation = words[0], words[1]
    if operation == "wait":
        return
    model = _SESSION.get_service_model(service)
    operations = {cli_name(name): name for name in model.operation_names}
    assert operation in operations, f"{document}:{line}: no operation {operation}"
    members = model.operation_model(operations[operation]).input_shape.members
    known = {f"--{cli_name(name)}" for name in members} | GLOBAL_OPTIONS
    # The CLI's boolean flags come in a --no- form too.
    known |= {f"--no-{flag[2:]}" for flag in known}
    given = set(options(words[1:]))
    assert not given - known, f"{document}:{line}: {sorted(given - known)}"


def _templates() -> dict[str, dict]:
    return {
        env: json.loads((ROOT / "templates" / env / "secrets.json").read_text())
        for env in ENVIRONMENTS
    }


def _environment_named_in(words: list[str]) -> str:
    """The environment a command acts on, from the stack, secret or rule it names."""
    text = " ".join(words)
    (env,) = {
        name
        for name in ENVIRONMENTS
        if f"trading-{name}-" in text or f"trading/{name}/" in text
    }
    return env


@pytest.mark.parametrize(
    "document, line, words",
    [
        c
        for c in ALL_COMMANDS
        if {"--logical-resource-id", "--name"} & set(options(c[2][1:]))
    ],
    ids=[
        f"{d}:{n}"
        for d, n, w in ALL_COMMANDS
        if {"--logical-resource-id", "--name"} & set(options(w[1:]))
    ],
)
def test_each_logical_id_and_rule_name_is_in_the_template(document, line, words):
    """A runbook that names a resource the stack does not have fails on the worst day to find out."""
    given = options(words[1:])
    template = _templates()[_environment_named_in(words)]
    for logical_id in given.get("--logical-resource-id", []):
        assert logical_id in template["Resources"], f"{document}:{line}: {logical_id}"
    if words[0] == "events":
        assert set(given["--name"]) <= set(_rule_states(template)), f"{document}:{line}"


def _rule_states(template: dict) -> dict[str, str]:
    return {
        resource["Properties"]["Name"]: resource["Properties"]["State"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Events::Rule"
    }


def test_a_rule_put_back_gets_the_state_its_template_gives_it():
    """put-rule replaces the whole rule: the state shown must be that of the rule read just before."""
    put_backs = 0
    for (document, _, before), (_, line, words) in itertools.pairwise(ALL_COMMANDS):
        if words[:2] != ["events", "put-rule"]:
            continue
        assert before[:2] == ["events", "describe-rule"], f"{document}:{line}"
        (name,) = options(before[1:])["--name"]
        state = _rule_states(_templates()[_environment_named_in(before)])[name]
        assert options(words[1:])["--state"] == [state], f"{document}:{line}"
        put_backs += 1
    assert put_backs


@pytest.mark.parametrize(
    "document, line, words",
    [c for c in COMMANDS if c[2][0] in TEMPLATE_CALLS],
    ids=[f"{d}:{n}" for d, n, w in COMMANDS if w[0] in TEMPLATE_CALLS],
)
def test_each_deploy_command_passes_what_its_template_needs(document, line, words):
    where = f"{document}:{line}"
    given = options(words)
    template_path = file_of(given["--template-body"])
    env = ENVIRONMENTS[template_path.parent.name]
    template = json.loads(template_path.read_text())
    assert set(required_capabilities(template)) <= set(
        given.get("--capabilities", [])
    ), where
    if template_path.name == "execution-role.json":
        # Its only parameter is the administrator account; no parameter file, no stack policy.
        assert [p.split(",")[0] for p in given["--parameters"]] == [
            f"ParameterKey={name}" for name in template["Parameters"]
        ], where
        return
    assert (
        file_of(given["--parameters"]) == ROOT / "params" / env.name / "secrets.json"
    ), where
    if words[0] == "create-stack":
        assert (
            file_of(given["--stack-policy-body"])
            == template_path.parent / "stack-policy.json"
        ), where
        assert (
            "--enable-termination-protection" in given
        ) is env.retain_stateful_resources, where
    if words[0] in ("create-stack-set", "update-stack-set"):
        assert env.deployed_as_stack_set, (
            f"{where}: {env.name} is not deployed as a stack set"
        )


def test_stack_set_instances_go_one_at_a_time_to_every_region():
    for document, line, words in COMMANDS:
        if words[0] not in ("create-stack-instances", "update-stack-set"):
            continue
        given = options(words)
        assert given["--operation-preferences"] == [
            "FailureToleranceCount=0,MaxConcurrentCount=1"
        ], (document, line)
        if words[0] == "create-stack-instances":
            assert tuple(given["--regions"]) == ENVIRONMENTS["prod"].regions, (
                document,
                line,
            )


def test_a_command_without_its_capability_would_be_caught(tmp_path):
    """The check can fail: the same command without --capabilities, as the README once showed it."""
    planted = tmp_path / "planted.md"
    planted.write_text(
        "```sh\naws cloudformation create-stack --stack-name trading-prod-secrets \\\n"
        "  --template-body file://templates/prod/secrets.json \\\n"
        "  --parameters file://params/prod/secrets.json \\\n"
        "  --enable-termination-protection\n```\n"
    )
    ((_, line, words),) = commands_in(planted)
    with pytest.raises(AssertionError):
        test_each_deploy_command_passes_what_its_template_needs(
            "planted.md", line, words
        )


def _writes_a_json_file_without_saying_json(command: str) -> bool:
    return (
        bool(re.search(r">\s*\S+\.json\s*$", command))
        and "--output json" not in command
    )


def test_an_aws_command_that_writes_a_json_file_asks_for_json_output():
    """The AWS CLI prints in the user's configured output (text, table, yaml): a file meant as JSON must ask for it."""
    writing = [
        f"{document.name}:{line}"
        for document in DOCUMENTS
        for line, command in commands_in_code_blocks(document, _FENCE)
        if command.startswith("aws ")
        and _writes_a_json_file_without_saying_json(command)
    ]
    assert writing == []
    # The check can fail: the command as docs/operations.md once showed it.
    assert _writes_a_json_file_without_saying_json(
        "aws events describe-rule --name trading-prod-secrets-changes --query '{Name: Name}' > rule.json"
    )
