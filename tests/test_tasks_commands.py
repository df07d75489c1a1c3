"""tasks.py's commands, continued: the unit selection, Ctrl-C, build.py outside its environment, and xdist's grouping of deployment modules."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from support.repository import ROOT
from test_tasks import TASKS

from devtools import testrun


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


def test_the_unit_selection_leaves_out_every_engine_and_checkov_test():
    """What `-m "not engine and not checkov"` drops is exactly the deployment modules and the checkov gate."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "engine or checkov",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    left_out = {
        line.split("::")[0] for line in done.stdout.splitlines() if "::" in line
    }
    expected = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests" / "integration").glob("test_*.py")
    } | {"tests/checks/test_checkov_gate.py"}
    assert left_out == expected


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


def test_xdist_keeps_each_deployment_module_on_one_process(tmp_path):
    """The test command's --dist loadgroup, with groups added as tests/integration/conftest.py adds them.

    Each deployment module deploys its stacks once, in its own account; split
    over processes it would deploy them twice and collide. pytest 9.2 made
    xdist ignore the groups without a word (setup.cfg pins below it): this
    fails if that happens again.
    """
    (tmp_path / "conftest.py").write_text(
        "from pathlib import Path\n"
        "import pytest\n"
        "@pytest.hookimpl(tryfirst=True)\n"
        "def pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        "        item.add_marker(pytest.mark.xdist_group(Path(item.path).stem))\n"
    )
    for module in ("test_first", "test_second"):
        (tmp_path / f"{module}.py").write_text(
            "".join(f"def test_{n}():\n    pass\n" for n in range(6))
        )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "3",
            "--dist",
            "loadgroup",
            "-v",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers: dict[str, set[str]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("[gw") and "PASSED" in line:
            worker, module = line.split()[0], line.split()[-1].split("::")[0]
            workers.setdefault(module, set()).add(worker)
    assert set(workers) == {"test_first.py", "test_second.py"}
    assert all(len(used) == 1 for used in workers.values()), workers
