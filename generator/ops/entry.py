"""The `trading-secrets` console script: the early-interrupt guard first, then the tool."""

from __future__ import annotations

from generator.startup import interrupt_in_one_line, loaded


def main() -> int:
    interrupt_in_one_line("trading-secrets", "nothing was written")
    from generator.ops.cli import main as run_the_tool  # noqa: PLC0415 - boto3 loads under the guard

    loaded()
    return run_the_tool()
