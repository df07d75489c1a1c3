"""One exit-code table per tool in docs/, each equal to what the tool's code defines.

A code added, renamed or dropped in generator/errors.py (or devtools/processes.py
for tasks.py) without its row fails here, and so does a row for a code that
no longer exists.
"""

from __future__ import annotations

import re

import pytest
from support.repository import ROOT

from devtools.processes import EXIT_CODES as TASKS_EXIT_CODES
from generator.errors import BUILD_EXIT_CODES, TRADING_SECRETS_EXIT_CODES

DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
_MARKER = re.compile(r"<!-- exit-codes: (\S+) -->\n((?:\|.*\n)+)")
_ROW = re.compile(r"^\| (\d+) \| `([A-Z_]+)` \| (.+) \|$")

EXPECTED = {
    "build.py": {int(code): code.name for code in BUILD_EXIT_CODES},
    "trading-secrets": {int(code): code.name for code in TRADING_SECRETS_EXIT_CODES},
    "tasks.py": TASKS_EXIT_CODES,
}


def tables(documents=DOCS) -> dict[str, list[tuple[str, dict[int, str]]]]:
    """tool -> [(document, {code: name})] for every marked table in the documentation."""
    found: dict[str, list[tuple[str, dict[int, str]]]] = {}
    for document in documents:
        for table in _MARKER.finditer(document.read_text()):
            rows = {}
            for line in table.group(2).splitlines()[2:]:
                row = _ROW.match(line)
                assert row, f"{document.name}: not a code | name | meaning row: {line}"
                assert int(row[1]) not in rows, f"{document.name}: code {row[1]} twice"
                rows[int(row[1])] = row[2]
            found.setdefault(table.group(1), []).append((document.name, rows))
    return found


def test_each_tool_has_exactly_one_table():
    assert {tool: len(where) for tool, where in tables().items()} == dict.fromkeys(
        EXPECTED, 1
    )


@pytest.mark.parametrize("tool", sorted(EXPECTED))
def test_the_table_holds_every_code_of_the_tool_and_no_other(tool):
    [(_document, rows)] = tables()[tool]
    assert rows == EXPECTED[tool]


def test_no_other_exit_code_table_is_left_in_the_documentation():
    """The five hand-kept tables the README once had, in any form: a header row naming exit codes."""
    for document in DOCS:
        text = _MARKER.sub("", document.read_text())
        assert not re.search(r"^\| *exit( code)? *\|", text, re.M | re.I), document.name


def test_a_table_missing_a_code_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- exit-codes: build.py -->\n| code | name | meaning |\n|---|---|---|\n"
        "| 0 | `OK` | success |\n| 1 | `FAILED` | failed |\n| 130 | `INTERRUPTED` | interrupted |\n"
    )
    [(_document, rows)] = tables([page])["build.py"]
    assert rows != EXPECTED["build.py"]
    assert set(EXPECTED["build.py"]) - set(rows) == {2}
