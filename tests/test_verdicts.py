"""The record of scanners' verdicts (tests/support/verdicts.py): used while the inputs stay, ignored once one changes."""

from __future__ import annotations

import sys

from support import verdicts

# Says what its input holds, and counts its own runs.
_TOOL = (
    "import sys; from pathlib import Path; "
    "runs = Path(sys.argv[2]); runs.write_text(runs.read_text() + 'x'); "
    "print(Path(sys.argv[1]).read_text()); sys.exit(int(sys.argv[3]))"
)


def test_a_verdict_is_remembered_until_an_input_changes_and_a_failed_tool_is_never_remembered(
    tmp_path,
):
    checked, runs, records = (
        tmp_path / "checked.json",
        tmp_path / "runs",
        tmp_path / "records",
    )
    checked.write_text("first")
    runs.write_text("")

    def scan(exit_code: int = 0) -> verdicts.ToolRun:
        return verdicts.run(
            [sys.executable, "-c", _TOOL, str(checked), str(runs), str(exit_code)],
            inputs=[checked],
            tool="the test's tool",
            sound=lambda done: done.returncode != 1,
            directory=records,
        )

    first = scan()
    assert (first.stdout, first.remembered, runs.read_text()) == ("first\n", False, "x")
    again = scan()
    assert (again.stdout, again.remembered, runs.read_text()) == ("first\n", True, "x")
    checked.write_text("second")
    changed = scan()
    assert (changed.stdout, changed.remembered, runs.read_text()) == (
        "second\n",
        False,
        "xx",
    )
    # A run that says the tool itself failed is run again next time.
    assert scan(exit_code=1).remembered is False
    assert scan(exit_code=1).remembered is False
    assert runs.read_text() == "xxxx"


def test_a_garbled_record_is_no_verdict(tmp_path):
    checked = tmp_path / "checked.json"
    checked.write_text("{}")
    command = [sys.executable, "-c", "print('ran')"]
    records = tmp_path / "records"
    records.mkdir()
    (records / f"{verdicts.key(command, [checked], 't')}.json").write_text("{not json")
    done = verdicts.run(
        command, inputs=[checked], tool="t", sound=lambda _: True, directory=records
    )
    assert (done.stdout, done.remembered) == ("ran\n", False)
