"""Every `aws cloudformation` command the documentation shows, checked against the template it deploys.

A real account refuses an IAM template without CAPABILITY_IAM, and a stack
without its stack policy or termination protection is one an update or a
delete can hurt; the local engine enforces none of that. So each command in
the README and docs/ is read out of its code block and held to what the
template it names needs, and each of its flags to botocore's model of the
operation, so the next drift fails here.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from generator.environments import ENVIRONMENTS
from generator.ops.release import required_capabilities
from helpers import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The AWS CLI's own options, valid on every command.
GLOBAL_OPTIONS = {
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
_MODEL = botocore.session.get_session().get_service_model("cloudformation")
_OPERATIONS = {
    xform_name(name).replace("_", "-"): name for name in _MODEL.operation_names
}


def commands_in(document: Path) -> list[tuple[str, int, list[str]]]:
    """(document, line, words) for each `aws cloudformation` command in the document's code blocks."""
    found = []
    text = document.read_text()
    for block in _FENCE.finditer(text):
        first_line = text[: block.start(1)].count("\n") + 1
        command, started = "", 0
        for number, raw in enumerate(block.group(1).splitlines(), first_line):
            if not command:
                started = number
            command += raw.removesuffix("\\") + " "
            if raw.endswith("\\"):
                continue
            line, command = command.split(" #", 1)[0].strip(), ""
            if line.startswith("aws cloudformation "):
                found.append((document.name, started, shlex.split(line)[2:]))
    return found


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
    "document, line, words", COMMANDS, ids=[f"{d}:{n}" for d, n, _ in COMMANDS]
)
def test_each_flag_exists_for_its_operation(document, line, words):
    if words[0] == "wait":
        return
    assert words[0] in _OPERATIONS, f"{document}:{line}: no operation {words[0]}"
    members = _MODEL.operation_model(_OPERATIONS[words[0]]).input_shape.members
    known = {
        f"--{xform_name(name).replace('_', '-')}" for name in members
    } | GLOBAL_OPTIONS
    # The CLI's boolean flags come in a --no- form too.
    known |= {f"--no-{flag[2:]}" for flag in known}
    assert not set(options(words)) - known, (
        f"{document}:{line}: {sorted(set(options(words)) - known)}"
    )


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
