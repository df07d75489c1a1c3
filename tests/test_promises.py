"""docs/security.md's promise table: every test it names exists, and each of the README's guarantees has a row.

A promise is a test: a row that names a test that was renamed or removed
would leave the promise standing on nothing.
"""

from __future__ import annotations

import ast
import re

from support.repository import ROOT

_TABLE = re.compile(r"<!-- promises -->\n\| promise .*?\n\|---.*?\n((?:\|.*\n)+)")
_TEST = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
_README_GUARANTEE = re.compile(r"^- \*\*(.+?)[:.]\*\*", re.M)


def promise_rows(text: str) -> dict[str, list[tuple[str, str]]]:
    """promise -> the (file, test) pairs its row names."""
    [table] = _TABLE.findall(text)
    rows = {}
    for line in table.splitlines():
        promise, tests = (cell.strip() for cell in line.strip("|").split("|", 1))
        rows[promise] = _TEST.findall(tests)
    return rows


def defined_tests(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


ROWS = promise_rows((ROOT / "docs" / "security.md").read_text())


def test_every_promise_names_tests_and_each_exists():
    assert len(ROWS) >= 10
    missing = [
        f"{promise}: {path}::{name}"
        for promise, tests in ROWS.items()
        for path, name in tests
        if not (ROOT / path).exists() or name not in defined_tests(path)
    ]
    assert not [promise for promise, tests in ROWS.items() if not tests]
    assert not missing, missing


def test_each_guarantee_of_the_readme_has_a_row():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Safety guarantees", 1)[1].split("\n## ", 1)[0]
    guarantees = _README_GUARANTEE.findall(section)
    assert guarantees
    lowered = {promise.lower() for promise in ROWS}
    assert not [g for g in guarantees if g.lower() not in lowered], guarantees


def test_a_renamed_test_is_caught(tmp_path):
    """The check can fail: a row naming a test that does not exist."""
    planted = promise_rows(
        "<!-- promises -->\n| promise | tests |\n|---|---|\n"
        "| Planted | `tests/test_promises.py::test_that_was_renamed` |\n"
    )
    [(path, name)] = planted["Planted"]
    assert name not in defined_tests(path)
