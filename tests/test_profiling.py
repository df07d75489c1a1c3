"""`python3 tasks.py test --profile`: each process of a run keeps its own lines, and the report adds them up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support import profiling as pytest_profiling

from devtools import profiling, testrun

# One child process, as a test run starts many: it makes a stack through botocore
# (stubbed: no engine), a change set of each type, and loads cfn-lint's rules.
_CHILD = """
import boto3
from botocore.stub import Stubber
from cfnlint.config import ConfigMixIn
from cfnlint.runner import Runner

client = boto3.client("cloudformation", region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")
with Stubber(client) as stub:
    stub.add_response("create_stack", {"StackId": "s"})
    stub.add_response("create_change_set", {"Id": "c"})
    stub.add_response("create_change_set", {"Id": "u"})
    client.create_stack(StackName="a", TemplateBody="{}")
    client.create_change_set(StackName="b", ChangeSetName="c", ChangeSetType="CREATE")
    client.create_change_set(StackName="a", ChangeSetName="u", ChangeSetType="UPDATE")
Runner(ConfigMixIn([], regions=["us-east-1"]))
"""


def test_every_python_process_of_a_profiled_run_writes_its_lines(tmp_path):
    ledger = profiling.Ledger(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env={**os.environ, **ledger.environment()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [path] = tmp_path.glob("process-*.jsonl")
    events = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = [event["event"] for event in events]
    assert kinds[0] == "started" and events[0]["program"] == "-c"
    # The update is not a new stack.
    assert [e["operation"] for e in events if e["event"] == "stack created"] == [
        "CreateStack",
        "CreateChangeSet",
    ]
    assert kinds.count("cfn-lint rules loaded") == 1
    [exited] = [event for event in events if event["event"] == "exited"]
    assert exited["calls"] == {
        "cloudformation.CreateStack": 1,
        "cloudformation.CreateChangeSet": 2,
    }
    assert exited["cpu"] > 0


def test_a_run_without_a_ledger_records_nothing(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import boto3"],
        env={
            **os.environ,
            "PYTHONPATH": str(profiling.SITE),
            "TMPDIR": str(tmp_path),
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []


def _session(path: Path, worker: str, tests: list[dict], cpu: float, children: float):
    path.write_text(
        json.dumps(
            {
                "worker": worker,
                "wall": 10.0,
                "cpu": cpu,
                "children": children,
                "before_first_test": {"wall": 1.0, "cpu": 2.0},
                "tests": tests,
            }
        )
    )


def test_the_report_adds_up_steps_kinds_modules_and_processes(tmp_path):
    ledger = profiling.Ledger(tmp_path)
    ledger.steps = {
        "ruff and mypy": {"wall": 3.0, "cpu": 2.5},
        "pytest, its test processes and their children": {"wall": 40.0, "cpu": 30.0},
        "LocalStack (the engine)": {"wall": 45.0, "cpu": 12.0},
    }
    unit = {"module": "tests/test_a.py", "kind": "unit", "wall": 2.0}
    _session(
        tmp_path / "pytest-1.json",
        "gw0",
        [
            {**unit, "test": "tests/test_a.py::test_dear", "cpu": 3.0, "children": 1.0},
            {
                **unit,
                "test": "tests/test_a.py::test_cheap",
                "cpu": 1.0,
                "children": 0.0,
            },
        ],
        cpu=8.0,
        children=1.5,
    )
    deploy = {"module": "tests/integration/test_b.py", "kind": "deployment"}
    _session(
        tmp_path / "pytest-2.json",
        "gw1",
        [{**deploy, "wall": 9.0, "cpu": 4.0, "children": 0.0}],
        cpu=7.0,
        children=0.0,
    )
    _session(tmp_path / "pytest-3.json", "controller", [], cpu=1.25, children=16.5)
    (tmp_path / "process-7.jsonl").write_text(
        "\n".join(
            json.dumps(event)
            for event in [
                {"event": "started", "pid": 7, "program": "build.py"},
                {"event": "cfn-lint rules loaded", "pid": 7},
                {"event": "stack created", "pid": 7, "operation": "CreateStack"},
                {"event": "forked", "pid": 7},
                {"event": "exited", "pid": 7, "cpu": 1.0, "calls": {"s.Op": 4}},
            ]
        )
        + "\nnot json, cut short by a kill\n"
    )
    lines = profiling.report(ledger)
    text = "\n".join(lines)
    assert "  all steps" in text and "44.5" in text
    assert [line.split()[-3:] for line in lines if line.split()[:1] == ["unit"]] == [
        ["2", "4.0", "5.0"]
    ]
    assert [line.split()[-1] for line in lines if "set-up of each process" in line] == [
        "4.0"
    ]
    # Workers: 8 + 1.5 + 7 = 16.5, less 5 + 4 for tests and 4 for set-up; the controller's own 1.25.
    assert [line.split()[-1] for line in lines if "the rest (" in line] == ["4.8"]
    assert lines.index(
        next(line for line in lines if "tests/test_a.py" in line)
    ) < lines.index(
        next(line for line in lines if "tests/integration/test_b.py" in line)
    )
    costly = lines[lines.index("  the 12 tests that cost the most CPU") + 1 :][:3]
    assert [line.split()[0] for line in costly] == [
        "tests/test_a.py::test_dear",
        "tests/integration/test_b.py",  # a record without its test's name: its module
        "tests/test_a.py::test_cheap",
    ]
    assert "stacks created: 1" in text
    assert "AWS calls made through botocore by the run's processes: 4" in text
    assert "cfn-lint rule sets loaded: 1, in 1 process(es)" in text
    assert "Python processes started: 1, and 1 forked; by program: build.py 1" in text


def test_the_switch_is_taken_off_pytest_s_arguments_and_gives_the_profile(
    monkeypatch, capsys
):
    commands, environments = [], []
    monkeypatch.setattr(testrun, "ensure", lambda environment: Path(sys.executable))
    monkeypatch.setattr(testrun, "code_checks", lambda python: None)
    monkeypatch.setattr(testrun.engine, "wait_until_healthy", lambda *args: None)

    class Engine:
        def __enter__(self):
            return None, {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(testrun.engine, "engine_started", Engine)
    monkeypatch.setattr(
        testrun,
        "run",
        lambda command, label, env=None: (
            commands.append(command) or environments.append(env) or 0
        ),
    )
    assert testrun.whole_suite(["--profile", "-k", "policies"]) == 0
    [command], [env] = commands, environments
    assert "--profile" not in command and command[-2:] == ["-k", "policies"]
    ledger = Path(env[profiling.LEDGER_VARIABLE])
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(profiling.SITE)
    out = capsys.readouterr().out
    assert "where the test command's time went" in out
    assert "LocalStack (the engine)" in out
    assert str(ledger.relative_to(testrun.ROOT)) in out


def test_the_pytest_plugin_is_loaded_only_for_a_profiled_run(monkeypatch, pytestconfig):
    # This run's own configuration: the plugin is there exactly when the ledger variable is.
    registered = pytestconfig.pluginmanager.get_plugin("trading-profile") is not None
    assert registered == bool(os.environ.get(pytest_profiling.LEDGER_VARIABLE))
