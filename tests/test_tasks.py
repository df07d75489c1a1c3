"""tasks.py, as a newcomer meets it: the interpreter check, environments that are rebuilt rather than
reused when broken, the unit command, Ctrl-C, and a deploy that works on the local engine only."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.repository import ROOT

import tasks
from devtools import environments

TASKS = str(ROOT / "tasks.py")


def _python_310() -> list[str]:
    """Real Python 3.10 interpreters that run on this machine, if any (CI has only 3.11)."""
    candidates = [shutil.which("python3.10")]
    candidates += [
        str(p) for p in Path("/root/.pyenv/versions").glob("3.10.*/bin/python")
    ]
    working = []
    for candidate in sorted({path for path in candidates if path}):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "(3, 10)":
            working.append(candidate)
    return working


def test_another_python_is_refused_in_one_line_before_anything_is_created(tmp_path):
    """As Python 3.10 would run it: the same file, with the interpreter's version as 3.10 reports it."""
    copy = tmp_path / "tasks.py"
    shutil.copy(ROOT / "tasks.py", copy)
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy, sys; sys.version_info = (3, 10, 13, 'final', 0); "
            f"sys.argv = ['tasks.py', 'build']; runpy.run_path({str(copy)!r}, run_name='__main__')",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    # The refusal comes before any install (nothing is created, below), and takes
    # a fraction of a second; the bound is loose because the suite shares two
    # cores with the engine, and only a pip run would come near it.
    assert time.monotonic() - started < 10
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "tasks.py: error: needs CPython 3.11, 3.12 or 3.13 (this is 3.10.13); "
        "run it as `python3.13 tasks.py ...`, for example"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.py"]


@pytest.mark.parametrize("python", _python_310() or ["(none here)"])
def test_a_real_python_310_is_refused_too(tmp_path, python):
    if python == "(none here)":
        # Nothing to run: the test above covers the check on every machine.
        assert not _python_310()
        return
    copy = tmp_path / "tasks.py"
    shutil.copy(ROOT / "tasks.py", copy)
    done = subprocess.run(
        [python, str(copy), "build"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert (
        "needs CPython 3.11, 3.12 or 3.13" in done.stderr
        and len(done.stderr.splitlines()) == 1
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.py"]


@pytest.fixture
def scratch_environment(tmp_path, monkeypatch):
    """A VirtualEnvironment under tmp_path; venv creation and pip are recorded, not run."""
    environment = environments.VirtualEnvironment(
        ".venv-scratch", ("example==1.0",), "a test environment", "scratch"
    )
    monkeypatch.setattr(environments, "ROOT", tmp_path)
    monkeypatch.setattr(environments, "CONSTRAINTS", tmp_path / "constraints")
    (tmp_path / "constraints").mkdir()
    (tmp_path / "constraints" / "scratch.txt").write_text("example==1.0\n")
    made, pip_runs = [], []

    def create(python, directory):
        assert python == sys.executable
        made.append(Path(directory))
        (Path(directory) / "bin").mkdir(parents=True)
        (Path(directory) / "bin" / "python").touch()
        (Path(directory) / "pyvenv.cfg").write_text(
            f"version = {'.'.join(map(str, sys.version_info[:3]))}\n"
        )

    def run(command, label, env=None):
        pip_runs.append(command)
        return 0

    monkeypatch.setattr(environments, "create_venv", create)
    monkeypatch.setattr(environments, "run", run)
    return environment, made, pip_runs


def test_a_new_environment_is_installed_under_its_constraints_file(
    scratch_environment,
):
    environment, made, pip_runs = scratch_environment
    environments.ensure(environment)
    assert made == [environment.directory]
    [command] = pip_runs
    assert command[command.index("-c") + 1] == str(environment.constraints)
    assert command[-1] == "example==1.0"
    # Installed and stamped: the next call reuses it without pip.
    environments.ensure(environment)
    assert len(pip_runs) == 1 and len(made) == 1


def test_a_half_installed_environment_is_rebuilt_not_reused(scratch_environment):
    environment, made, pip_runs = scratch_environment
    environments.ensure(environment)
    # An install that broke off (Ctrl-C, a network error) leaves its marker.
    (environment.directory / ".installing").touch()
    (environment.directory / "leftover").touch()
    assert environments.why_rebuild(environment) == "an install into it broke off"
    environments.ensure(environment)
    assert len(made) == 2 and len(pip_runs) == 2
    assert not (environment.directory / "leftover").exists()
    assert not (environment.directory / ".installing").exists()


def test_an_environment_made_by_another_python_is_rebuilt(scratch_environment):
    environment, made, pip_runs = scratch_environment
    environments.ensure(environment)
    (environment.directory / "pyvenv.cfg").write_text("version = 3.10.13\n")
    assert environments.why_rebuild(environment) == "another Python made it"
    environments.ensure(environment)
    assert len(made) == 2 and len(pip_runs) == 2


def test_a_changed_constraints_file_reinstalls(scratch_environment):
    environment, made, pip_runs = scratch_environment
    environments.ensure(environment)
    environment.constraints.write_text("example==1.1\n")
    environments.ensure(environment)
    assert len(pip_runs) == 2 and len(made) == 1  # installed again, not rebuilt


def test_an_unknown_command_is_the_usage_line_and_exit_2(capsys):
    assert tasks.main(["deploy"]) == 2
    assert capsys.readouterr().err == (
        "usage: python3 tasks.py {build|test|unit|localstack|bench|lock} [options]\n"
    )


def test_two_tasks_at_once_install_an_environment_once(scratch_environment):
    """Two shells run tasks.py together: the second waits for the first's install and reuses it."""
    environment, made, pip_runs = scratch_environment
    first_is_installing = threading.Event()
    real_run = environments.run

    def slow_pip(command, label, env=None):
        first_is_installing.set()
        time.sleep(0.5)
        return real_run(command, label, env)

    environments.run = slow_pip  # undone by monkeypatch, which set it in the fixture
    first = threading.Thread(target=environments.ensure, args=(environment,))
    first.start()
    assert first_is_installing.wait(10)
    environments.ensure(environment)
    first.join(10)
    assert len(made) == 1 and len(pip_runs) == 1


def test_the_engine_environment_is_made_by_python_3_11_whichever_python_runs_tasks():
    assert environments.LOCALSTACK.python_version == (3, 11)
    found = environments.find_python((3, 11))
    probe = subprocess.run(
        [found, "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == ["3", "11"]


def test_no_python_for_an_environment_is_one_line_and_exit_2():
    with pytest.raises(environments.TaskFailed) as refused:
        environments.find_python((3, 99))
    assert refused.value.code == 2
    [line] = str(refused.value).splitlines()
    assert line.startswith("python3.99 is needed for the local engine")
    assert "`python3.99 tasks.py ...`" in line
