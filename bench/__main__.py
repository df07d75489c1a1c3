"""Benchmark the build and, when the local engine runs, deployments. Prints a table; writes reports/benchmark.json.

    python3 tasks.py bench            # build figures
    python3 tasks.py bench --deploy   # also starts LocalStack and times real deployments
    python -m bench --runs 7          # inside .venv

Every figure is a whole process timed from outside, the way a user waits for
it: interpreter start, imports and all. Peak memory is the child's own
maximum resident set (os.wait4), not this process's.
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

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "benchmark.json"
SCALING_SIZES = (10, 50, 200)
# Measured on these 2-core machines for the same three templates (issue 5).
CDK_SYNTH_SECONDS = (6.5, 7.6)
GOALS = {
    "cold full validated build (--no-cache)": 2.5,
    "rebuild, nothing changed (cache warm)": 0.5,
    "generation only": 0.25,
    "--check": 0.5,
}


def run_measured(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak MiB, stdout) of one run of `command`; the peak is the child's own, from os.wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"bench: {' '.join(command)} exited {process.returncode}: {err.read().strip()[-500:]}")
        return wall, usage.ru_maxrss / 1024, out.read()


def measure(name: str, command: list[str], runs: int, warmup: int = 1) -> dict:
    for _ in range(warmup):
        run_measured(command)
    walls, peaks = [], []
    for _ in range(runs):
        wall, peak, _ = run_measured(command)
        walls.append(wall)
        peaks.append(peak)
    return {
        "name": name,
        "runs": runs,
        "wall_median_s": round(statistics.median(walls), 3),
        "wall_min_s": round(min(walls), 3),
        "wall_max_s": round(max(walls), 3),
        "peak_mib_median": round(statistics.median(peaks), 1),
        "goal_s": GOALS.get(name),
    }


def build_figures(runs: int, scratch: Path) -> list[dict]:
    python = sys.executable
    out = str(scratch / "templates")
    cache = str(scratch / "cache")
    build = [python, "build.py", "--quiet", "--output-dir", out]
    figures = [
        measure("cold full validated build (--no-cache)", [*build, "--no-cache"], runs),
        # The warm-up run fills the cache; the measured runs find every template in it.
        measure("rebuild, nothing changed (cache warm)", [*build, "--cache-dir", cache], runs),
        measure("generation only", [python, "-m", "bench.generate_only"], runs),
        measure("--check", [python, "build.py", "--check"], runs),
    ]
    return figures


def scaling_figures(runs: int) -> list[dict]:
    figures = []
    for size in SCALING_SIZES:
        samples = []
        for _ in range(runs):
            wall, peak, stdout = run_measured([sys.executable, "-m", "bench.scaling", str(size)])
            samples.append({**json.loads(stdout), "wall_s": wall, "peak_mib": peak})
        figure = {"secrets": size}
        for key in ("generate_s", "static_checks_s", "lint_rules_load_s", "lint_s", "validate_s", "wall_s", "peak_mib"):
            figure[key] = round(statistics.median(sample[key] for sample in samples), 3)
        figure.update({key: samples[0][key] for key in ("resources", "bytes", "findings")})
        figures.append(figure)
    return figures


def deploy_figures() -> dict:
    """Deploy each committed template once on the running engine and read create times from the stack events."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith("http://127.0.0.1:"):
        last = ROOT / "reports" / "deploy-timings.json"
        note = f"engine not running; last test run's figures are in {last.relative_to(ROOT)}" if last.exists() else "engine not running"
        return {"measured": False, "note": note}
    from bench.deploy_timing import deploy_and_time

    return {"measured": True, "stacks": deploy_and_time(ROOT)}


def print_table(report: dict) -> None:
    print(f"\nbuild benchmark ({report['machine']}; median of {report['runs']} runs, whole process)")
    print(f"{'what':<42} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9} {'goal s':>7}  verdict")
    for figure in report["build"]:
        goal = figure["goal_s"]
        verdict = "" if goal is None else ("meets goal" if figure["wall_median_s"] <= goal else "MISSES GOAL")
        print(
            f"{figure['name']:<42} {figure['wall_median_s']:>9.3f} {figure['wall_min_s']:>7.3f} {figure['wall_max_s']:>7.3f} "
            f"{figure['peak_mib_median']:>9.1f} {goal if goal is not None else '-':>7}  {verdict}"
        )
    cold = report["build"][0]["wall_median_s"]
    low, high = CDK_SYNTH_SECONDS
    print(f"cold build vs `cdk synth` ({low}-{high} s): {cold / high:.2f}-{cold / low:.2f} of its time (goal: under 0.4)")

    print("\nscaling: one template with N synthetic secrets (medians; in-process times, then the whole process)")
    print(f"{'secrets':>7} {'resources':>9} {'bytes':>9} {'generate s':>10} {'checks s':>8} {'rules s':>7} {'lint s':>7} {'process s':>9} {'peak MiB':>8} {'findings':>8}")
    for figure in report["scaling"]:
        print(
            f"{figure['secrets']:>7} {figure['resources']:>9} {figure['bytes']:>9} {figure['generate_s']:>10.3f} "
            f"{figure['static_checks_s']:>8.3f} {figure['lint_rules_load_s']:>7.3f} {figure['lint_s']:>7.3f} "
            f"{figure['wall_s']:>9.3f} {figure['peak_mib']:>8.1f} {figure['findings']:>8}"
        )
    print("(findings at 10+ secrets are CloudFormation's own limits, such as the 51,200-byte direct upload; expected)")

    deploy = report["deploy"]
    print("\ndeployments on the local engine")
    if not deploy["measured"]:
        print(f"  not measured: {deploy['note']}")
    else:
        print(f"{'stack':<10} {'region':<10} {'stack s':>8} {'slowest secret s':>17}")
        for stack in deploy["stacks"]:
            print(f"{stack['stack']:<10} {stack['region']:<10} {stack['stack_seconds']:>8.2f} {max(stack['secrets'].values()):>17.2f}")
    print(f"\nwritten to {REPORT.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per figure (default 5; 3 for scaling)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="trading-bench-") as scratch:
        report = {
            "machine": f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores",
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "runs": args.runs,
            "build": build_figures(args.runs, Path(scratch)),
            "scaling": scaling_figures(min(args.runs, 3)),
            "deploy": deploy_figures(),
        }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
