"""Nothing committed holds anything shaped like a real credential: the leak scanner over every tracked file."""

from __future__ import annotations

import subprocess

import pytest
from support.repository import ROOT

from generator.leaks import scan_text


def _tracked_text_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return sorted(
        path
        for path in listed.split("\0")
        if path and not path.endswith((".png", ".ico"))
    )


TRACKED = _tracked_text_files()


@pytest.mark.parametrize("path", TRACKED)
def test_tracked_file_holds_nothing_credential_shaped(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    assert scan_text(text, path) == []


def test_templates_and_parameter_files_are_among_the_scanned():
    scanned = set(TRACKED)
    for env in ("dev", "staging", "prod"):
        assert {
            f"templates/{env}/secrets.json",
            f"params/{env}/secrets.json",
        } <= scanned
