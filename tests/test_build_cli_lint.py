"""build.py's command line, continued: interrupts, and the lint cache and lint processes as a user meets them."""

from __future__ import annotations

import pytest
import test_build_cli
from test_build_cli import (
    _plant_invalid_topic_name,
    run_cli,
)

import build as cli
import generator.build

# test_build_cli's fixture, for these tests too.
private_cache = test_build_cli.private_cache


def test_interrupt_exits_130_with_one_line(monkeypatch, capfd):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    # build.py imports the library once cfn-lint has started loading, so this
    # also interrupts a build whose early lint workers are running.
    monkeypatch.setattr(generator.build, "build", interrupted)
    assert cli.main(["--env", "dev", "--no-cache"]) == 130
    # Read at the descriptor: the lint loader, a child, must not have printed either.
    assert capfd.readouterr().err.splitlines() == [
        "build.py: error: interrupted; nothing was written"
    ]


def _lint_column(stdout: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[4] for line in stdout.splitlines()[1:]}


def test_an_unchanged_template_is_not_linted_again_until_something_in_its_key_changes(
    tmp_path, params_copy, private_cache
):
    args = [
        "--output-dir",
        str(tmp_path / "out"),
        "--params-dir",
        str(params_copy),
        "--cache-dir",
        str(private_cache),
    ]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert set(_lint_column(first.stdout).values()) == {"passed"}  # linted
    assert len(list(private_cache.rglob("*.passed"))) == 3

    second = run_cli(*args)
    assert set(_lint_column(second.stdout).values()) == {"cached"}
    assert "cfn-lint:" not in second.stderr  # cfn-lint never ran

    # A parameter value is part of the key: only that environment is linted again.
    path = params_copy / "staging/secrets.json"
    edited = path.read_text().replace(
        '{"ParameterKey": "AlertEmail", "ParameterValue": ""}',
        '{"ParameterKey": "AlertEmail", "ParameterValue": "ops@example.com"}',
    )
    assert edited != path.read_text()
    path.write_text(edited)
    third = run_cli(*args)
    assert _lint_column(third.stdout) == {
        "dev": "cached",
        "staging": "passed",
        "prod": "cached",
    }

    uncached = run_cli(*args, "--no-cache", "--env", "dev")
    assert _lint_column(uncached.stdout) == {"dev": "passed"}


@pytest.mark.usefixtures("lint_in_this_process")
def test_a_template_with_lint_findings_is_never_recorded_as_passed(
    committed_copy, monkeypatch, private_cache
):
    _plant_invalid_topic_name(monkeypatch, only="prod")
    assert cli.main(["--output-dir", str(committed_copy)]) == 1
    # dev and staging passed and were recorded; prod was not, so it is linted (and fails) every time.
    assert len(list(private_cache.rglob("*.passed"))) == 2
    assert cli.main(["--output-dir", str(committed_copy)]) == 1


# In-process, and two processes for three templates (one lints twice).
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_every_lint_process_count_reports_the_same_findings(
    committed_copy, monkeypatch, capsys, jobs
):
    _plant_invalid_topic_name(monkeypatch)
    assert (
        cli.main(["--jobs", jobs, "--no-cache", "--output-dir", str(committed_copy)])
        == 1
    )
    lint_lines = [
        line for line in capsys.readouterr().err.splitlines() if "cfn-lint E" in line
    ]
    assert [line.split(":")[1].strip() for line in lint_lines] == [
        "dev",
        "staging",
        "prod",
    ]
    assert all(
        "E3033 Resources/AlertTopic/Properties/TopicName" in line for line in lint_lines
    )


def test_jobs_must_be_a_positive_number(capsys):
    assert cli.main(["--jobs", "0"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "build.py: error: argument --jobs: expected a whole number of at least 1, got '0'"
    )
