"""The benchmark's printed table: each figure beside its goal, with the date and machine it was measured on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "benchmark.json"


def _verdict(met: bool) -> str:
    return "meets goal" if met else "MISSES GOAL"


def print_table(report: dict[str, Any]) -> None:
    print(
        f"\nbuild benchmark, {report['date']}, {report['machine']}; median of {report['runs']} runs, whole process"
    )
    cdk = report["cdk_synth"]
    print(
        f"{'what':<40} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9} {'x cdk synth':>12} {'goal':>7}  verdict"
    )
    for figure in report["build"]:
        if "goal_ratio" in figure:
            ratio = figure.get("vs_cdk_synth")
            shown = f"{ratio['median']:.2f}" if ratio else "-"
            goal = f"<={figure['goal_ratio']}x"
            verdict = _verdict(ratio["median"] <= figure["goal_ratio"]) if ratio else ""
        else:
            shown = "-"
            goal = f"<={figure['goal_s']}s"
            verdict = _verdict(figure["wall_median_s"] <= figure["goal_s"])
        print(
            f"{figure['name']:<40} {figure['wall_median_s']:>9.3f} {figure['wall_min_s']:>7.3f} "
            f"{figure['wall_max_s']:>7.3f} {figure['peak_mib_median']:>9.1f} {shown:>12} {goal:>7}  {verdict}"
        )
    if cdk.get("measured"):
        print(
            f"{'cdk synth, the same three stacks (Node)':<40} {cdk['wall_median_s']:>9.3f} {cdk['wall_min_s']:>7.3f} "
            f"{cdk['wall_max_s']:>7.3f} {cdk['peak_mib_median']:>9.1f}"
        )
        print(
            f"(x cdk synth: median of the run-by-run ratios, measured in turn; CDK app: {cdk['parity']})"
        )
    else:
        print(f"cdk synth not measured: {cdk['reason']}; no ratio is quoted")

    print(
        "\nscaling: one template with N synthetic secrets (medians; in-process times, then the whole process)"
    )
    header = f"{'secrets':>7} {'resources':>9} {'bytes':>9} {'generate s':>10} {'checks s':>8} {'rules s':>7} {'lint s':>7} {'process s':>9} {'peak MiB':>8} {'findings':>8}"
    if cdk.get("measured"):
        header += f" {'cdk synth s':>11} {'x cdk':>6}"
    print(header)
    for figure in report["scaling"]:
        line = (
            f"{figure['secrets']:>7} {figure['resources']:>9} {figure['bytes']:>9} {figure['generate_s']:>10.3f} "
            f"{figure['static_checks_s']:>8.3f} {figure['lint_rules_load_s']:>7.3f} {figure['lint_s']:>7.3f} "
            f"{figure['wall_s']:>9.3f} {figure['peak_mib']:>8.1f} {figure['findings']:>8}"
        )
        if "cdk_synth_s" in figure:
            line += f" {figure['cdk_synth_s']:>11.3f} {figure['vs_cdk_synth']['median']:>6.2f}"
        print(line)
    print(
        "(findings at 10+ secrets are CloudFormation's own limits, such as the 51,200-byte direct upload; expected."
        " CDK's own 500-resource limit is lifted for these runs.)"
    )

    deploy = report["deploy"]
    print("\ndeployments on the local engine (from the last test run)")
    if not deploy["measured"]:
        print(f"  not available: {deploy['note']}")
    else:
        print(f"{'stack':<22} {'region':<10} {'stack s':>8} {'slowest secret s':>17}")
        for stack in deploy["stacks"]:
            print(
                f"{stack['stack']:<22} {stack['region']:<10} {stack['stack_seconds']:>8.2f} "
                f"{max(stack['secrets'].values(), default=0.0):>17.2f}"
            )
    gate = report.get("gate")
    if gate:
        print(
            f"\nthe go-live gate, every call unanswered: `status --env prod` exited {gate['exit']} after "
            f"{gate['wall_s']:.1f} s (deadline {gate['deadline_s']} s; bound {gate['bound_s']} s)  "
            f"{_verdict(gate['met'])}"
        )
    _print_accounts(report.get("accounts", {}))
    print(f"\nwritten to {REPORT.relative_to(ROOT)}")


def _print_accounts(measured: dict[str, Any]) -> None:
    """status and put over many accounts against one, with and without the added latency."""
    if not measured.get("measured"):
        return
    print(
        f"\nstatus and put over {measured['accounts']} accounts x {measured['regions']} regions against one "
        "account and region (medians, whole processes, in turn; LocalStack's CPU during each beside it)"
    )
    print(
        f"{'latency':>8} {'command':<8} {'1x1 s':>7} {'10x2 s':>7} {'ratio':>6} {'goal':>6} {'engine CPU s 1x1':>17} {'10x2':>6}"
    )
    for latency, figures in measured["figures"].items():
        for name, f in figures.items():
            verdict = (
                _verdict(f["ratio"] <= measured["goal_ratio"])
                if latency != "0ms"
                else ""
            )
            print(
                f"{latency:>8} {name:<8} {f['one_s']:>7.2f} {f['all_s']:>7.2f} {f['ratio']:>6.2f} "
                f"{'<=' + str(measured['goal_ratio']):>6} {f['engine_cpu_one_s']:>17.2f} {f['engine_cpu_all_s']:>6.2f}  {verdict}"
            )
