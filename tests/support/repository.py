"""The repository as the tests read it: where it is, its environments, its committed files, its documentation's commands."""

from __future__ import annotations

import re
from pathlib import Path

from generator.environments import ENVIRONMENTS

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = list(ENVIRONMENTS)


def resources_of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {
        lid: res
        for lid, res in template["Resources"].items()
        if res["Type"] == resource_type
    }


def committed_parameters(env_name: str, **overrides: str) -> dict[str, str]:
    """The committed parameter file of `env_name`, with `overrides` on top."""
    from generator.parameter_files import load_parameter_file, parameter_file_path

    values = load_parameter_file(
        parameter_file_path(ROOT / "params", ENVIRONMENTS[env_name])
    )
    return {**values, **overrides}


def commands_in_code_blocks(
    document: Path, fence: re.Pattern[str]
) -> list[tuple[int, str]]:
    """(line, command) for each command in the document's blocks that `fence` matches (group 1: the body).

    Continuation lines (a trailing backslash) are joined, and a comment after
    the command is cut; lines that are only a comment are left out.
    """
    found = []
    text = document.read_text()
    for block in fence.finditer(text):
        first = text[: block.start(1)].count("\n") + 1
        command, started = "", 0
        for number, raw in enumerate(block.group(1).splitlines(), first):
            if not command:
                started = number
            command += raw.removesuffix("\\") + " "
            if raw.endswith("\\"):
                continue
            line, command = re.split(r"\s#\s", command, maxsplit=1)[0].strip(), ""
            if line and not line.startswith("#"):
                found.append((started, line))
    return found
