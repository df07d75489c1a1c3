"""Every shell command the README and docs/ show, run or checked as written.

Each line of an ```sh block is one of:
- `aws ...`: held to botocore's model and the templates by tests/test_docs_commands.py;
- `python3 tasks.py X ...`: X must be a tasks.py command, and build's options build.py's;
- `trading-secrets ...` (or `.venv/bin/trading-secrets`): parsed by trading-secrets' own parser,
  so a renamed or removed flag fails here; the local try-out is also run whole, on the engine
  (tests/integration/test_docs_tryout.py);
- `python3 -c ...`: run, here, on a file shaped like the one the documentation feeds it.
A line that is none of these fails: nothing the documentation shows goes unchecked.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from support.repository import ROOT, commands_in_code_blocks

import build
import tasks
from generator.ops.cli import parse_args

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_SHELL_BLOCK = re.compile(r"^```(?:sh|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PLACEHOLDERS = {"<version>": "0c4a10d2-1111-4222-8333-444455556666", "R": "us-east-1"}


def shell_commands() -> list[tuple[str, int, str]]:
    """(document, line, command) for each command in a shell block."""
    return [
        (document.name, line, command)
        for document in DOCUMENTS
        for line, command in commands_in_code_blocks(document, _SHELL_BLOCK)
    ]


COMMANDS = shell_commands()


def _words(command: str) -> list[str]:
    """The words of the last command of a pipeline, without a redirection."""
    words = shlex.split(command.rsplit(" | ", maxsplit=1)[-1])
    while len(words) >= 2 and words[-2] in ("<", ">"):
        words = words[:-2]
    return words


def _option_variants(words: list[str]) -> list[list[str]]:
    """`[--to <version>] [--yes]` as the documentation writes optional flags: once without, once with all."""
    text = " ".join(words)
    without = re.sub(r"\s*\[[^\]]*\]", "", text)
    with_all = re.sub(r"\[([^\]]*)\]", r"\1", text)
    return [
        [_PLACEHOLDERS.get(word, word) for word in variant.split()]
        for variant in (without, with_all)
    ]


def test_the_documentation_shows_each_kind_of_command():
    kinds = {_kind(command) for _, _, command in COMMANDS}
    assert kinds == {"aws", "tasks.py", "trading-secrets", "python3 -c"}


def _kind(command: str) -> str:
    words = _words(command)
    if words[0] == "aws":
        return "aws"
    if words[:2] == ["python3", "tasks.py"]:
        return "tasks.py"
    if Path(words[0]).name == "trading-secrets":
        return "trading-secrets"
    if words[:2] == ["python3", "-c"]:
        return "python3 -c"
    return f"unchecked: {command}"


@pytest.mark.parametrize(
    ("document", "line", "command"), COMMANDS, ids=[f"{d}:{n}" for d, n, _ in COMMANDS]
)
def test_each_command_is_one_this_test_checks(document, line, command):
    assert not _kind(command).startswith("unchecked"), f"{document}:{line}: {command}"


TASKS = [c for c in COMMANDS if _kind(c[2]) == "tasks.py"]


@pytest.mark.parametrize(
    ("document", "line", "command"), TASKS, ids=[f"{d}:{n}" for d, n, _ in TASKS]
)
def test_each_tasks_command_exists_and_its_build_options_parse(document, line, command):
    words = _words(command)
    assert words[2] in tasks.COMMANDS, f"{document}:{line}: no tasks.py {words[2]}"
    if words[2] == "build":
        build.parse_args(words[3:])


TOOL = [c for c in COMMANDS if _kind(c[2]) == "trading-secrets"]


@pytest.mark.parametrize(
    ("document", "line", "command"), TOOL, ids=[f"{d}:{n}" for d, n, _ in TOOL]
)
def test_each_trading_secrets_command_parses(document, line, command):
    for variant in _option_variants(_words(command)[1:]):
        parse_args(variant)


def test_a_flag_the_tool_does_not_have_is_caught():
    from generator.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        for variant in _option_variants(
            _words("trading-secrets rollback --env prod --secret alpaca [--force]")[1:]
        ):
            parse_args(variant)


def test_the_extraction_snippet_writes_the_document_of_the_finding_it_names(tmp_path):
    """docs/operations.md's python3 -c line, run as written on JSON shaped as `status --json` writes it.

    The line is also run on a real failing status in tests/integration/test_tampering.py.
    """
    from generator.ops.live.deployed import Finding

    [(document, line, command)] = [c for c in COMMANDS if _kind(c[2]) == "python3 -c"]
    template = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())
    policy = template["Resources"]["AlpacaCredentialsResourcePolicy"]["Properties"][
        "ResourcePolicy"
    ]
    where = "trading/prod/alpaca in us-east-1"
    findings = [
        Finding(where, "KMS key", ("encrypted with k",), "undo", "alias/x"),
        Finding(
            where,
            "resource policy",
            ("statement S (Deny) was removed",),
            "undo",
            policy,
        ),
        Finding(
            "trading/prod/alpaca in us-west-2",
            "resource policy",
            (),
            "undo",
            {"other": 1},
        ),
    ]
    (tmp_path / "status.json").write_text(
        json.dumps({"ok": False, "findings": [f.as_json() for f in findings]}, indent=2)
    )
    done = subprocess.run(
        ["bash", "-c", command.replace("python3", shlex.quote(sys.executable), 1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, f"{document}:{line}: {done.stderr}"
    assert json.loads((tmp_path / "policy.json").read_text()) == policy
