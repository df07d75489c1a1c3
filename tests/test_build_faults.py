"""build.py keeps its promises on a bad day: all or nothing at write time, true exit codes, hostile trees and inputs."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.repository import ROOT

import build as cli
from generator import files
from generator.checks.lint import LintJob
from generator.checks.lint_cache import LintVerdictCache

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
        str(path.relative_to(ROOT / "templates")): path.read_bytes()
        for path in (ROOT / "templates").rglob("*.json")
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


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(status.parent.name))
    return found


def _descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        children = _children(pending.pop())
        found += children
        pending += children
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_cold_build(output_dir: Path) -> subprocess.Popen[str]:
    """build.py in a process of its own, linting from scratch, its output piped."""
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "build.py"),
            "--no-cache",
            "--output-dir",
            str(output_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    "generation", [1, 2], ids=["while-cfn-lint-loads", "while-templates-are-linted"]
)
def test_a_killed_build_leaves_no_lint_worker_and_no_traceback(tmp_path, generation):
    """The loader is the build's child, the linters its children: kill -9 the build, and all go."""
    process = _start_cold_build(tmp_path / "out")
    deadline = time.monotonic() + 20
    workers: list[int] = []
    while len(workers) < generation and time.monotonic() < deadline:
        # One process (the loader), then more (its linters).
        workers = _descendants(process.pid)
        time.sleep(0.005)
    assert len(workers) >= generation, (
        f"the build started {len(workers)} lint process(es)"
    )
    process.kill()
    _, err = process.communicate(timeout=20)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid in workers if _alive(pid)]
    assert survivors == [], "lint workers outlived their killed parent"
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_sigterm_unwinds_like_ctrl_c(tmp_path):
    process = _start_cold_build(tmp_path / "out")
    deadline = time.monotonic() + 20
    while not _children(process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.terminate()
    _, err = process.communicate(timeout=20)
    assert process.returncode == 130
    assert (
        err.strip().splitlines()[-1]
        == "build.py: error: interrupted; nothing was written"
    )
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_check_never_prints_a_credential_pasted_into_a_template(tmp_path, capsys):
    tree = tmp_path / "templates"
    for env in ("dev", "staging", "prod"):
        (tree / env).mkdir(parents=True)
        (tree / env / "secrets.json").write_text(
            (ROOT / "templates" / env / "secrets.json").read_text()
        )
    pasted = "PK" + "7QW3ZL9XK2M4B8N6R1"
    path = tree / "prod" / "secrets.json"
    path.write_text(
        path.read_text().replace(
            '"Description"', f'"Note": "{pasted}",\n  "Description"', 1
        )
    )
    assert cli.main(["--check", "--output-dir", str(tree)]) == 1
    err = capsys.readouterr().err
    assert pasted not in err and "[REDACTED Alpaca key id]" in err


@pytest.mark.parametrize(
    "plant, message",
    [
        ("symlink-out", "is a symbolic link out of"),
        ("fifo", "is a FIFO, not a file; not read"),
        ("not-utf8", "is not UTF-8"),
        ("huge", "is over 102400 bytes; not read"),
        ("directory", "is a directory, not a file; not read"),
    ],
)
def test_check_reads_only_regular_utf8_files_of_bounded_size_inside_the_tree(
    tmp_path, capsys, plant, message
):
    tree = tmp_path / "templates"
    (tree / "dev").mkdir(parents=True)
    target = tree / "dev" / "secrets.json"
    outside = tmp_path / "credentials"
    outside.write_text("[default]\naws_secret_access_key = not-a-real-key\n")
    if plant == "symlink-out":
        target.symlink_to(outside)
    elif plant == "fifo":
        os.mkfifo(target)
    elif plant == "not-utf8":
        target.write_bytes(b'{"\xff": 1}')
    elif plant == "huge":
        target.write_text(" " * 200_000)
    else:
        target.mkdir()
    started = time.monotonic()
    assert cli.main(["--check", "--env", "dev", "--output-dir", str(tree)]) == 2
    assert time.monotonic() - started < 10  # a FIFO must not block
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and message in err[0]
    assert "aws_secret_access_key" not in err[0]


@pytest.mark.parametrize(
    "plant, message",
    [
        ("dev-zero", "is a character device, not a file; not read"),
        ("fifo", "is a FIFO, not a file; not read"),
        ("huge", "is over 1048576 bytes; not read"),
    ],
)
def test_a_parameter_file_that_is_not_a_bounded_regular_file_is_one_line(
    params_copy, tmp_path, capsys, plant, message
):
    path = params_copy / "dev" / "secrets.json"
    path.unlink()
    if plant == "dev-zero":
        path.symlink_to("/dev/zero")
    elif plant == "fifo":
        os.mkfifo(path)
    else:
        path.write_text("[" + " " * 2_000_000 + "]")
    assert (
        cli.main(
            [
                "--env",
                "dev",
                "--params-dir",
                str(params_copy),
                "--output-dir",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and message in err[0]


@pytest.mark.usefixtures("lint_in_this_process")
def test_a_parameter_key_cannot_forge_a_line_of_output(params_copy, tmp_path, capsys):
    path = params_copy / "dev" / "secrets.json"
    entries = json.loads(path.read_text())
    entries.append(
        {
            "ParameterKey": "X\nbuild.py: dev: all checks passed\x1b[2K",
            "ParameterValue": "",
        }
    )
    path.write_text(json.dumps(entries))
    assert (
        cli.main(
            [
                "--env",
                "dev",
                "--no-cache",
                "--params-dir",
                str(params_copy),
                "--output-dir",
                str(tmp_path / "out"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "build.py: dev: all checks passed" not in err.splitlines()
    assert (
        "\x1b" not in err
        and "parameter X\\nbuild.py: dev: all checks passed\\x1b[2K is not in the template"
        in err
    )


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage", b'{"vouches_for": "someone else"}'],
    ids=["empty", "garbage", "mismatched"],
)
def test_a_planted_cache_entry_does_not_make_a_rejected_template_pass(
    tmp_path, content
):
    cache = LintVerdictCache(tmp_path / "cache", ROOT / ".cfnlintrc")
    job = LintJob('{"Resources": {}}', ("us-east-1",), {}, "p")
    key = cache.key(job)
    entry = tmp_path / "cache" / key[:2] / f"{key}.passed"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(content)
    assert cache.passed(key) is False
    cache.record_pass(key)
    assert cache.passed(key) is True
    entry.write_text(entry.read_text().replace(key, "0" * 64))
    assert cache.passed(key) is False
