"""Benchmark the build, side by side with `cdk synth` of the same stacks. Prints a table; writes reports/benchmark.json.

    python3 tasks.py bench            # build, CDK and scaling figures
    python -m bench --runs 7          # inside .venv

The CDK app (bench/cdk/app.js) makes the same three stacks, with the same
resources, as plain JavaScript; it runs when Node and npm are on PATH, and is
checked for parity with our templates before it is timed. The two tools run
in turn, ours then CDK's, run after run, and each ratio is the median of the
run-by-run ratios, so a machine that speeds up or slows down during the
benchmark moves both sides alike. Without Node, no ratio is printed: a ratio
is quoted only when both sides were measured in the same run.

The go-live gate is timed once at its default deadline against a loopback
endpoint that never answers (bench/gate_deadline.py): about a minute. Then,
on the engine, status and put over 10 accounts x 2 regions against one
account and region, without and with 100 ms added to every call
(bench/accounts.py): a few minutes.

Every figure is a whole process timed from outside, the way a user waits for
it: interpreter start, imports and all. Peak memory is the child's own
maximum resident set (os.wait4), not this process's. Deployment times come
from the deployment tests' report (reports/deploy-timings.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import accounts, cdk_app, gate_deadline
from bench.report import REPORT, ROOT, print_table

DEPLOY_TIMINGS = ROOT / "reports" / "deploy-timings.json"
SCALING_SIZES = (10, 50, 200)
COLD = "cold full validated build (--no-cache)"
WARM = "rebuild, nothing changed (cache warm)"
GENERATION = "generation only"
CHECK = "--check"
# Ours against `cdk synth` of the same stacks (issue 12), and absolute bounds
# for the figures that have no CDK counterpart.
RATIO_GOALS = {COLD: 0.35, WARM: 0.12}
SECONDS_GOALS = {GENERATION: 0.25, CHECK: 0.5}


def run_measured(
    command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> tuple[float, float, str]:
    """(wall seconds, peak MiB, stdout) of one run of `command`; the peak is the child's own, from os.wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, stdout=out, stderr=err, text=True, env=env
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(
                f"bench: {' '.join(command)} exited {process.returncode}: {err.read().strip()[-500:]}"
            )
        return wall, usage.ru_maxrss / 1024, out.read()


def progress(message: str) -> None:
    """One line on stderr per step, so a run of several minutes is never silent (the tables go to stdout)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def summary(name: str, walls: list[float], peaks: list[float]) -> dict[str, Any]:
    return {
        "name": name,
        "runs": len(walls),
        "wall_median_s": round(statistics.median(walls), 3),
        "wall_min_s": round(min(walls), 3),
        "wall_max_s": round(max(walls), 3),
        "peak_mib_median": round(statistics.median(peaks), 1),
    }


Command = tuple[list[str], dict[str, str] | None, Path]


def side_by_side(commands: dict[str, Command], runs: int) -> dict[str, dict[str, Any]]:
    """Each command run `runs` times after one warm-up, in turn (A B C A B C ...); per name, its summary and samples."""
    samples: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in commands
    }
    for round_number in range(runs + 1):
        progress(
            f"{', '.join(commands)}: "
            + (f"run {round_number} of {runs}" if round_number else "warm-up")
        )
        for name, (command, env, cwd) in commands.items():
            wall, peak, _ = run_measured(command, env, cwd)
            if round_number:  # the first round warms up (and fills the lint cache)
                samples[name][0].append(wall)
                samples[name][1].append(peak)
    return {
        name: {**summary(name, walls, peaks), "walls": walls}
        for name, (walls, peaks) in samples.items()
    }


def paired_ratio(ours: list[float], theirs: list[float]) -> dict[str, float]:
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    return {
        "median": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
    }


def cdk_or_reason(scratch: Path) -> tuple[bool, str]:
    """Whether `cdk synth` can be timed here; if not, why. Checks the app's parity with our templates first."""
    progress("installing the CDK app (npm ci, first run only) and checking its parity")
    try:
        cdk_app.ensure_installed()
    except cdk_app.CdkUnavailable as reason:
        return False, str(reason)
    output = scratch / "cdk-parity"
    run_measured(
        cdk_app.synth_command(output), cdk_app.synth_environment(), cwd=cdk_app.APP
    )
    problems = cdk_app.parity_problems(output, ROOT / "templates")
    if problems:
        raise SystemExit(
            "bench: the CDK app no longer makes the same resources as our templates: "
            + "; ".join(problems)
        )
    return True, "same resource types and counts as templates/ in every stack"


def build_figures(
    runs: int, scratch: Path, with_cdk: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    python = sys.executable
    build = [python, "build.py", "--quiet", "--output-dir", str(scratch / "templates")]
    commands: dict[str, Command] = {
        COLD: ([*build, "--no-cache"], None, ROOT),
        WARM: ([*build, "--cache-dir", str(scratch / "cache")], None, ROOT),
    }
    if with_cdk:
        commands["cdk synth"] = (
            cdk_app.synth_command(scratch / "cdk.out"),
            cdk_app.synth_environment(),
            cdk_app.APP,
        )
    measured = side_by_side(commands, runs)
    others = side_by_side(
        {
            GENERATION: ([python, "-m", "bench.generate_only"], None, ROOT),
            CHECK: ([python, "build.py", "--check"], None, ROOT),
        },
        runs,
    )
    figures = []
    for name in (COLD, WARM, GENERATION, CHECK):
        figure = {**measured, **others}[name]
        walls = figure.pop("walls")
        if name in RATIO_GOALS:
            figure["goal_ratio"] = RATIO_GOALS[name]
            if with_cdk:
                figure["vs_cdk_synth"] = paired_ratio(
                    walls, measured["cdk synth"]["walls"]
                )
        else:
            figure["goal_s"] = SECONDS_GOALS[name]
        figures.append(figure)
    cdk = measured.get("cdk synth", {})
    cdk.pop("walls", None)
    return figures, cdk


def scaling_figures(runs: int, scratch: Path, with_cdk: bool) -> list[dict[str, Any]]:
    figures = []
    for size in SCALING_SIZES:
        samples, cdk_walls, cdk_peaks = [], [], []
        for run in range(1, runs + 1):
            progress(f"scaling: {size} secrets, run {run} of {runs}")
            wall, peak, stdout = run_measured(
                [sys.executable, "-m", "bench.scaling", str(size)]
            )
            samples.append({**json.loads(stdout), "wall_s": wall, "peak_mib": peak})
            if with_cdk:
                wall, peak, _ = run_measured(
                    cdk_app.synth_command(scratch / f"cdk-{size}", size),
                    cdk_app.synth_environment(size),
                    cwd=cdk_app.APP,
                )
                cdk_walls.append(wall)
                cdk_peaks.append(peak)
        figure: dict[str, Any] = {"secrets": size}
        for key in (
            "generate_s",
            "static_checks_s",
            "lint_rules_load_s",
            "lint_s",
            "validate_s",
            "wall_s",
            "peak_mib",
        ):
            figure[key] = round(statistics.median(sample[key] for sample in samples), 3)
        figure.update(
            {key: samples[0][key] for key in ("resources", "bytes", "findings")}
        )
        if with_cdk:
            figure["cdk_synth_s"] = round(statistics.median(cdk_walls), 3)
            figure["cdk_peak_mib"] = round(statistics.median(cdk_peaks), 1)
            figure["vs_cdk_synth"] = paired_ratio(
                [sample["wall_s"] for sample in samples], cdk_walls
            )
        figures.append(figure)
    return figures


def deploy_figures() -> dict[str, Any]:
    """The create times of the last test run's deployments, from its report."""
    if not DEPLOY_TIMINGS.exists():
        return {
            "measured": False,
            "note": f"no {DEPLOY_TIMINGS.relative_to(ROOT)}: run `python3 tasks.py test` first",
        }
    return {"measured": True, "stacks": json.loads(DEPLOY_TIMINGS.read_text())}


def gate_figure() -> dict[str, Any]:
    """`status` at its default deadline against an endpoint that never answers (about a minute)."""
    progress(
        f"the go-live gate against an endpoint that never answers (default deadline, "
        f"{gate_deadline.DEFAULT_DEADLINE} s)"
    )
    return gate_deadline.main()


def _machine() -> str:
    """The processor model, cores and Python: what a reader needs to weigh the figures."""
    model = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=5,
        help="measured runs per figure (default 5; at most 3 for scaling)",
    )
    parser.add_argument("--no-cdk", action="store_true", help="do not time `cdk synth`")
    parser.add_argument(
        "--no-accounts",
        action="store_true",
        help="do not time status and put over 10 accounts x 2 regions on the engine (about 3 minutes)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="trading-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        with_cdk, why = (
            (False, "--no-cdk given") if args.no_cdk else cdk_or_reason(scratch)
        )
        build, cdk = build_figures(args.runs, scratch, with_cdk)
        report = {
            "machine": _machine(),
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "runs": args.runs,
            "build": build,
            "cdk_synth": {
                "measured": with_cdk,
                **({"parity": why, **cdk} if with_cdk else {"reason": why}),
            },
            "scaling": scaling_figures(min(args.runs, 3), scratch, with_cdk),
            "deploy": deploy_figures(),
            "gate": gate_figure(),
            "accounts": (
                {"measured": False}
                if args.no_accounts
                else {"measured": True, **accounts.main(min(args.runs, 3), progress)}
            ),
        }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
