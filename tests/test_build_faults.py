"""build.py keeps its promises on a bad day: all or nothing at write time, true exit codes, hostile trees and inputs."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.repository import ROOT

import build as cli
from generator import files

TEMPORARIES = "**/.secrets.json.*"


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def stale(tmp_path) -> Path:
    """A copy of the committed templates, each a little out of date, so that a build changes every one."""
    target = tmp_path / "templates"
    for env in ("dev", "staging", "prod"):
        (target / env).mkdir(parents=True)
        (target / env / "secrets.json").write_text(
            (ROOT / "templates" / env / "secrets.json").read_text() + " "
        )
    return target


@pytest.fixture(autouse=True)
def private_cache(warm_lint_cache, monkeypatch) -> Path:
    """The faults here are in writing and reading files, not in cfn-lint: its passes of the committed templates are known."""
    monkeypatch.setattr(cli, "CACHE_DIR", warm_lint_cache)
    return warm_lint_cache


def _failing_on(monkeypatch, name: str, failing_env: str, error: OSError) -> None:
    original = getattr(files, name)

    def fail_for_one(path, *args):
        if failing_env in str(path):
            raise error
        return original(path, *args)

    monkeypatch.setattr(files, name, fail_for_one)


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.EACCES, "Permission denied"),
        OSError(errno.ENOSPC, "No space left on device"),
    ],
    ids=["read-only-staging", "disk-full-after-dev"],
)
def test_a_write_that_fails_for_one_environment_changes_no_environment(
    stale, monkeypatch, capsys, error
):
    before = snapshot(stale)
    _failing_on(monkeypatch, "_temporary_beside", "staging", error)
    assert cli.main(["--quiet", "--output-dir", str(stale)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(f"{error.strerror}; nothing was written")
    )
    assert snapshot(stale) == before and not list(stale.glob(TEMPORARIES))


def test_a_rename_that_fails_puts_back_the_ones_already_moved(
    stale, monkeypatch, capsys
):
    before = snapshot(stale)
    real_replace = os.replace
    calls = []

    def replace(source, target):
        if str(target).startswith(str(stale)):
            calls.append(target)
            if len(calls) == 2:  # dev is in place; staging fails
                raise OSError(errno.EIO, "Input/output error")
        return real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
    assert cli.main(["--quiet", "--output-dir", str(stale)]) == 2
    assert "Input/output error; nothing was written" in capsys.readouterr().err
    assert snapshot(stale) == before and not list(stale.glob(TEMPORARIES))


def test_an_interrupt_during_the_renames_waits_for_them_and_says_so(
    stale, monkeypatch, capsys
):
    real_replace = os.replace

    def replace_then_interrupted(source, target):
        real_replace(source, target)
        if str(target).startswith(str(stale)):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives between two renames

    monkeypatch.setattr(files.os, "replace", replace_then_interrupted)
    assert cli.main(["--quiet", "--output-dir", str(stale)]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "build.py: error: interrupted after every file was written"
    ]
    assert snapshot(stale) == {
        f"{env}/{name}": (ROOT / "templates" / env / name).read_bytes()
        for env in ("dev", "prod", "staging")
        for name in ("secrets.json", "stack-policy.json")
    }
    assert not list(stale.glob(TEMPORARIES))


def test_an_interrupt_before_the_renames_writes_nothing_and_leaves_no_temporary_file(
    stale, monkeypatch, capsys
):
    before = snapshot(stale)
    _failing_on(monkeypatch, "_temporary_beside", "prod", KeyboardInterrupt())  # type: ignore[arg-type]
    assert cli.main(["--quiet", "--output-dir", str(stale)]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "build.py: error: interrupted; nothing was written"
    ]
    assert snapshot(stale) == before and not list(stale.glob(TEMPORARIES))


def test_a_temporary_file_left_by_a_killed_build_is_removed_by_the_next(stale):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    leftover = stale / "dev" / f".secrets.json.{dead}.abcd1234.tmp"
    leftover.write_text("half a template")
    assert cli.main(["--quiet", "--env", "dev", "--output-dir", str(stale)]) == 0
    assert not leftover.exists()


# --check on a hostile tree: what it reads, and what it lets reach a CI log.


# Parameter files a user got wrong, or that someone made hostile.


# The lint cache, shared in CI, vouches only through sound entries.
