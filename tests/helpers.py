"""Helpers shared by the unit tests (a module of its own: conftest.py names clash across folders)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from generator.environments import ENVIRONMENTS

ROOT = Path(__file__).resolve().parent.parent
ENV_NAMES = list(ENVIRONMENTS)
# The deployment tests' create times: gathered from every test process into the
# controller's config stash, printed at the end of the run, read by bench/.
DEPLOY_TIMINGS_KEY = pytest.StashKey[list[dict[str, Any]]]()
DEPLOY_TIMINGS_REPORT = ROOT / "reports" / "deploy-timings.json"


def deploy_timings_table(entries: list[dict[str, Any]]) -> list[str]:
    """One line per deployed stack, sorted: its create time and its slowest secret's."""
    lines = [f"{'stack':<22} {'region':<10} {'stack s':>8} {'slowest secret s':>17}"]
    for entry in sorted(entries, key=lambda e: (e["stack"], e["region"])):
        slowest = max(entry["secrets"].values(), default=0.0)
        lines.append(
            f"{entry['stack']:<22} {entry['region']:<10} {entry['stack_seconds']:>8.2f} {slowest:>17.2f}"
        )
    return lines


def write_deploy_timings(
    entries: list[dict[str, Any]], path: Path = DEPLOY_TIMINGS_REPORT
) -> None:
    path.parent.mkdir(exist_ok=True)
    ordered = sorted(entries, key=lambda e: (e["stack"], e["region"]))
    path.write_text(json.dumps(ordered, indent=2, sort_keys=True) + "\n")


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
