"""tasks.py, as a newcomer meets it: the interpreter check, environments that are rebuilt rather than
reused when broken, the unit command, Ctrl-C, and a deploy that works on the local engine only."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from support.grouping import UNIT_GROUP, split_groups
from support.repository import ROOT

import tasks
from devtools import environments, testrun

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


def test_the_unit_command_runs_neither_engine_nor_checkov_nor_the_coverage_floor(
    monkeypatch,
):
    commands = []
    monkeypatch.setattr(testrun, "ensure", lambda environment: Path(sys.executable))
    environments = []
    monkeypatch.setattr(
        testrun,
        "run",
        lambda command, label, env=None: (
            commands.append(command) or environments.append(env) or 0
        ),
    )
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("TRADING_SOMETHING_ELSE", "kept")
    monkeypatch.setattr(
        testrun.engine,
        "engine_started",
        lambda: pytest.fail("the unit command started the engine"),
    )
    assert testrun.unit(["-k", "policies"]) == 0
    [command] = commands
    assert command[command.index("-m", 3) + 1] == "not engine and not checkov"
    assert not any(argument.startswith("--cov") for argument in command)
    assert command[-2:] == ["-k", "policies"]
    # Bytecode caches stay on for the run (devtools/testrun.py says why); the rest passes through.
    [env] = environments
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["TRADING_SOMETHING_ELSE"] == "kept"


def test_a_ctrl_c_the_moment_a_step_starts_still_stops_it(monkeypatch):
    """The interrupt lands before the step's output is followed: the step must not outlive tasks.py."""
    from devtools import processes

    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    class InterruptedWhileStarting(threading.Thread):
        def start(self) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(processes.subprocess, "Popen", popen)
    # Only the reader thread of processes.run, not every thread of this test process.
    monkeypatch.setattr(
        processes, "threading", types.SimpleNamespace(Thread=InterruptedWhileStarting)
    )
    with pytest.raises(KeyboardInterrupt):
        processes.run(["sleep", "60"], "sleep")
    [step] = started
    assert step.poll() is not None  # ended and reaped, not left running


def test_the_unit_selection_leaves_out_every_engine_and_checkov_test_and_nothing_else(
    request,
):
    """What `-m "not engine and not checkov"` drops, read from this run's own collection.

    In the whole suite every test is here: exactly the deployment modules and
    the checkov gate carry those marks. In `tasks.py unit` none of them is.
    """
    marked, unmarked = set(), set()
    for item in request.session.items:
        module = item.nodeid.split("::")[0]
        kinds = {
            name for name in ("engine", "checkov") if item.get_closest_marker(name)
        }
        (marked if kinds else unmarked).add(module)
    expected = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests" / "integration").glob("test_*.py")
    } | {"tests/checks/test_checkov_gate.py"}
    assert not marked & unmarked
    collected = marked | unmarked
    if request.config.getoption("markexpr") == testrun.UNIT_SELECTION:
        assert marked == set() and not collected & expected
    else:
        # The whole suite has them all; a run of a few modules, those of them it has.
        assert marked == expected & collected


def test_ctrl_c_during_a_step_is_one_line_and_exit_130_and_stops_the_step():
    process = subprocess.Popen(
        [sys.executable, TASKS, "build", "--no-cache", "--output-dir", "/dev/null/x"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until build.py runs under it, in a session of its own.
    deadline = time.monotonic() + 60
    step = None
    while step is None and time.monotonic() < deadline:
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
                command = (status.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == process.pid and b"build.py" in command:
                step = int(status.parent.name)
        time.sleep(0.02)
    assert step is not None, "tasks.py build never started build.py"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.splitlines()[-1] == "tasks.py: error: interrupted"
    assert "Traceback" not in err
    assert (
        not Path(f"/proc/{step}").exists()
        or "Z" in Path(f"/proc/{step}/stat").read_text().rsplit(")", 1)[1].split()[:1]
    )


def test_ctrl_c_while_tasks_py_starts_is_one_line_too(tmp_path):
    starter = tmp_path / "starter.py"
    starter.write_text(
        "import builtins, os, runpy, signal, sys\n"
        "sys.argv = ['tasks.py']\n"
        "real_import = builtins.__import__\n"
        "def importing(name, *args, **kwargs):\n"
        "    # Ctrl-C arrives during tasks.py's imports, before main() runs.\n"
        "    if name == 'devtools':\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = importing\n"
        f"runpy.run_path({TASKS!r}, run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, str(starter)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines() == ["tasks.py: error: interrupted"]


def test_build_py_outside_its_environment_says_how_to_run_it():
    # -S: no site-packages, as a system Python without the project's dependencies.
    done = subprocess.run(
        [sys.executable, "-S", str(ROOT / "build.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("build.py: error: ") and "is not installed for" in line
    assert "python3 tasks.py build" in line


def test_a_group_split_over_processes_or_left_out_fails_the_run():
    """The test command's --dist loadgroup keeps each deployment module, and the unit tests, on one process.

    tests/conftest.py checks it at the end of the real run from which worker
    ran each test; pytest 9.2 made xdist ignore the groups without a word
    (setup.cfg pins below it). This is that check, on runs made up here.
    """
    kept = {
        "tests/integration/test_deploy.py::test_a@test_deploy": "gw1",
        "tests/integration/test_deploy.py::test_b@test_deploy": "gw1",
        "tests/test_cli.py::test_c@unit": "gw0",
        "tests/test_cli.py::test_d@unit": "gw0",
    }
    assert split_groups(kept) == {}
    assert split_groups({**kept, "tests/test_files.py::test_e@unit": "gw2"}) == {
        "unit": ["gw0", "gw2"]
    }
    ignored = {"tests/integration/test_deploy.py::test_a": "gw1"}
    assert list(split_groups(ignored)) == [
        "(none: tests/integration/test_deploy.py::test_a)"
    ]


def test_every_test_of_this_run_has_its_group(request):
    if request.config.getoption("dist", "no") != "loadgroup":
        return  # the grouping is the test command's: `tasks.py unit` and plain pytest do not use it
    groups = {
        item.get_closest_marker("xdist_group").args[0] for item in request.session.items
    }
    assert UNIT_GROUP in groups and "checkov" in groups
    assert {
        Path(item.path).stem
        for item in request.session.items
        if item.get_closest_marker("engine")
    } <= groups
