"""`python3 tasks.py test --profile`: where the test command's time went, printed at the end of the run.

A profiled run keeps a ledger in .cache/profile/<run>/ (git-ignored):
- each step's wall and CPU (ruff and mypy, pytest with all its workers and
  children, LocalStack), measured here from the operating system's own
  accounting of each finished child;
- per test, from a pytest plugin (tests/support/profiling.py): wall, the test
  process's own CPU and its children's, by kind (unit, deployment, checkov);
- per Python process of the run, from `profiling_site/sitecustomize.py`: which
  program it was, its CPU, the stacks it created, the AWS calls it made, and
  each time cfn-lint loaded its rule set.

The figures cost little to gather, but a profiled run is not a timed run:
compare two profiled runs with each other, never with a plain one.

Standard library only: tasks.py imports this before any virtual environment exists.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.processes import ROOT

FLAG = "--profile"
LEDGER_VARIABLE = "TRADING_PROFILE_DIR"
SITE = ROOT / "devtools" / "profiling_site"


def children_cpu() -> float:
    """CPU seconds of every child this process has waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Ledger:
    """One profiled run: its directory, and the steps measured by tasks.py itself."""

    directory: Path
    steps: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def start(cls) -> Ledger:
        directory = ROOT / ".cache" / "profile" / time.strftime("%Y%m%d-%H%M%S")
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory)

    def environment(self) -> dict[str, str]:
        """What every process of the run needs to keep its own lines in the ledger."""
        path = os.environ.get("PYTHONPATH")
        return {
            LEDGER_VARIABLE: str(self.directory),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(SITE), path])),
        }

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Wall and CPU of the children waited for inside the block (a step that runs alone)."""
        wall, cpu = time.monotonic(), children_cpu()
        try:
            yield
        finally:
            self.steps[name] = {
                "wall": time.monotonic() - wall,
                "cpu": children_cpu() - cpu,
            }


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    events = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return events


def report(ledger: Ledger, top: int = 12) -> list[str]:
    """The profile's lines, from what the run left in the ledger."""
    sessions = [
        json.loads(path.read_text())
        for path in sorted(ledger.directory.glob("pytest-*.json"))
    ]
    events = [
        event
        for path in sorted(ledger.directory.glob("process-*.jsonl"))
        for event in _read_jsonl(path)
    ]
    lines = ["where the test command's time went (tasks.py test --profile)"]
    lines.append(f"  {'step':<44} {'wall s':>8} {'CPU s':>8}")
    for name, figures in ledger.steps.items():
        lines.append(f"  {name:<44} {figures['wall']:>8.1f} {figures['cpu']:>8.1f}")
    total_cpu = sum(figures["cpu"] for figures in ledger.steps.values())
    lines.append(f"  {'all steps':<44} {'':>8} {total_cpu:>8.1f}")
    lines += _tests(sessions, top)
    lines += _processes(events)
    shown = (
        ledger.directory.relative_to(ROOT)
        if ledger.directory.is_relative_to(ROOT)
        else ledger.directory
    )
    lines.append(f"  the ledger: {shown}")
    return lines


def _tests(sessions: list[dict[str, Any]], top: int) -> list[str]:
    """pytest's part: by kind of test, by module, the costliest tests."""
    workers = [s for s in sessions if s["worker"] != "controller"] or sessions
    tests = [test for session in workers for test in session["tests"]]
    by_kind: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])
    by_module: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
    for test in tests:
        cpu = test["cpu"] + test["children"]
        sums = by_kind[test["kind"]]
        sums[0] += test["wall"]
        sums[1] += cpu
        sums[2] += 1
        by_module[test["module"]][0] += test["wall"]
        by_module[test["module"]][1] += cpu
    lines = [
        "",
        f"  pytest, by kind of test (summed over {len(workers)} test process(es); "
        "wall overlaps between them)",
        f"  {'kind':<44} {'tests':>8} {'wall s':>8} {'CPU s':>8}",
    ]
    for kind, (wall, cpu, count) in sorted(by_kind.items()):
        lines.append(f"  {kind:<44} {count:>8.0f} {wall:>8.1f} {cpu:>8.1f}")
    set_up = sum(s["before_first_test"]["cpu"] for s in workers)
    lines.append(
        f"  {'set-up of each process before its first test':<44} {len(workers):>8} "
        f"{'':>8} {set_up:>8.1f}"
    )
    # A worker's own CPU and its children's, less what its tests and its set-up
    # account for; and the controller's own (its children are the workers).
    accounted = set_up + sum(cpu for _, cpu, _ in by_kind.values())
    unaccounted = sum(s["cpu"] + s["children"] for s in workers) - accounted
    unaccounted += sum(s["cpu"] for s in sessions if s not in workers)
    lines.append(
        f"  {'the rest (controller, session teardown)':<44} {'':>8} {'':>8} {unaccounted:>8.1f}"
    )
    lines += ["", f"  the {top} test modules that cost the most CPU"]
    costliest = sorted(by_module.items(), key=lambda item: -item[1][1])[:top]
    for module, (wall, cpu) in costliest:
        lines.append(f"  {module:<44} {'':>8} {wall:>8.1f} {cpu:>8.1f}")
    lines += ["", f"  the {top} tests that cost the most CPU"]
    for test in sorted(tests, key=lambda t: -(t["cpu"] + t["children"]))[:top]:
        name = test.get("test", test["module"])
        lines.append(
            f"  {name[-72:]:<72} {test['wall']:>6.1f} {test['cpu'] + test['children']:>6.1f}"
        )
    return lines


def _processes(events: list[dict[str, Any]]) -> list[str]:
    """What every process of the run recorded: stacks, AWS calls, rule loads, programs."""
    started = [e for e in events if e["event"] == "started"]
    programs = collections.Counter(e["program"] for e in started)
    forks = sum(1 for e in events if e["event"] == "forked")
    rule_loads = [e for e in events if e["event"] == "cfn-lint rules loaded"]
    stacks = [e for e in events if e["event"] == "stack created"]
    calls: collections.Counter[str] = collections.Counter()
    for event in events:
        if event["event"] == "exited":
            calls.update(event.get("calls", {}))
    return [
        "",
        f"  stacks created: {len(stacks)} (CreateStack, and CreateChangeSet of type CREATE)",
        f"  AWS calls made through botocore by the run's processes: {sum(calls.values())}",
        f"  cfn-lint rule sets loaded: {len(rule_loads)}, in "
        f"{len({e['pid'] for e in rule_loads})} process(es)",
        f"  Python processes started: {len(started)}, and {forks} forked; by program: "
        + ", ".join(f"{name} {count}" for name, count in programs.most_common()),
    ]
