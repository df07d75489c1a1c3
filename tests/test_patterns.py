"""Every pattern the tools match user input with runs in linear time: long adversarial input, well under a second.

A pattern that backtracks turns a long parameter value, tag or log line into
minutes of CPU (the e-mail pattern once took over a minute on 200,000 characters).
"""

from __future__ import annotations

import gc
import re
import sys
import time
from collections.abc import Callable

import pytest

from generator import leaks, naming, tagging
from generator.catalogue import ALPACA, TRIMMED_NON_EMPTY
from generator.environments import ENVIRONMENTS
from generator.ops.change.values import parse_document, value_problems

LENGTH = 200_000
# CPU seconds of this thread, not wall-clock time: the test command runs
# several test processes and the engine on two cores, and time spent waiting
# for a core says nothing about a pattern.
BUDGET_CPU_SECONDS = 0.5
# Sixteen times the input: about sixteen times the work if linear, 256 if
# quadratic. The limit leaves room for a short run's timing noise.
GROWTH = 16
GROWTH_LIMIT = 64
# Runs of each size before a slow first measurement counts as a verdict.
RETRIES = 3
# Below this, the short run is too short to time; the full run is then fast anyway.
TIMER_FLOOR = 0.005

# Inputs that make backtracking patterns work hardest: long runs that fail at the very end.
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "dotted-then-space": lambda n: "a@" + "a." * (n // 2) + " ",
    "letters-then-digit": lambda n: "A" + "a" * n + "1",
    "alternating-case": lambda n: "aB" * (n // 2) + "!",
    "arn-like": lambda n: "arn:aws:iam::123456789012:" + "x" * n + " ",
    "commas": lambda n: (
        ",".join(["arn:aws:iam::123456789012:role/r"] * (n // 40)) + " "
    ),
    "spaces": lambda n: "a" + " " * n + "\n",
    "dashes": lambda n: "-" * n,
    "upper-digits": lambda n: "AKIA" + "A" * n,
    "base64ish": lambda n: "+/" * (n // 2) + "==",
}


def cpu_seconds(check: Callable[[str], object], text: str) -> float:
    """CPU seconds `check` spends on `text`, with the garbage collector and any tracer held off.

    A full collection walks every object the test process holds (cfn-lint's
    schemas among them) and would be charged to whichever check triggered it.
    The full test run measures coverage with a line tracer, which multiplies
    the cost of every Python line several-fold: that says nothing about how a
    pattern grows, and it once pushed a linear check over the budget in CI.
    """
    was_enabled = gc.isenabled()
    tracer = sys.gettrace()
    gc.disable()
    sys.settrace(None)
    try:
        started = time.thread_time()
        check(text)
        return time.thread_time() - started
    finally:
        sys.settrace(tracer)
        if was_enabled:
            gc.enable()


def best_of(attempts: int, check: Callable[[str], object], text: str) -> float:
    """The least CPU time over `attempts` runs, as timeit reports: noise only ever adds time."""
    return min(cpu_seconds(check, text) for _ in range(attempts))


def linear_enough(full: float, short: float) -> bool:
    return full < BUDGET_CPU_SECONDS and full < GROWTH_LIMIT * max(short, TIMER_FLOOR)


def _allowed_patterns() -> dict[str, str]:
    import json

    from generator.build import generate

    patterns = {}
    for env in ENVIRONMENTS.values():
        for name, parameter in json.loads(generate(env))["Parameters"].items():
            if "AllowedPattern" in parameter:
                patterns[name] = parameter["AllowedPattern"]
    return patterns


def _refused_or_parsed(text: str) -> object:
    try:
        return parse_document(text, "trading/prod/alpaca")
    except Exception as refused:  # refusals are expected; only the time matters here
        return refused


CHECKS: dict[str, Callable[[str], object]] = {
    **{
        f"AllowedPattern {name}": (lambda text, p=pattern: re.fullmatch(p, text))
        for name, pattern in _allowed_patterns().items()
    },
    "value pattern (jsonschema's re.search)": lambda text: re.search(
        TRIMMED_NON_EMPTY, text
    ),
    "secret name rules": naming.secret_name_problems,
    "export name rules": naming.export_name_problems,
    "tag rules": lambda text: tagging.aws_tag_rule_violations({text[:128]: text}),
    "leak scanner": leaks.scan_line,
    "redaction": leaks.redact,
    "value checks": lambda text: value_problems(
        ENVIRONMENTS["prod"],
        ALPACA,
        {"apiKeyId": text, "apiSecretKey": text, "baseUrl": text},
    ),
    "document parser": _refused_or_parsed,
}


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("shape", sorted(ADVERSARIAL))
def test_each_pattern_takes_linear_time_on_adversarial_input(check, shape):
    long_text = ADVERSARIAL[shape](LENGTH)
    short_text = ADVERSARIAL[shape](LENGTH // GROWTH)
    full = cpu_seconds(CHECKS[check], long_text)
    short = cpu_seconds(CHECKS[check], short_text)
    if not linear_enough(full, short):
        # One slow run can be a busy machine (another process's cache traffic, a
        # frequency drop); a backtracking pattern is slow every time.
        full = best_of(RETRIES, CHECKS[check], long_text)
        short = best_of(RETRIES, CHECKS[check], short_text)
    assert full < BUDGET_CPU_SECONDS, (
        f"{check} took {full:.2f} CPU s on {LENGTH:,} characters ({shape})"
    )
    assert full < GROWTH_LIMIT * max(short, TIMER_FLOOR), (
        f"{check} grew {full / max(short, 1e-6):.0f}-fold for {GROWTH} times the input ({shape}): not linear"
    )


def test_the_checks_would_catch_the_old_email_pattern():
    """The test can fail: the e-mail pattern as it was breaks both the budget and the growth limit.

    It breaks the budget at some length well under the one the current
    patterns pass at (doubling from 8,000 characters, a machine's speed
    decides where), and grows far faster than linearly on the way.
    """
    old = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"

    def match(text: str) -> object:
        return re.fullmatch(old, text)

    length = 8_000
    # One run per size, not the best of several: noise only ever adds time, and
    # here the budget is meant to break; the growth checks below still need the
    # pattern to be far from linear.
    while (
        full := cpu_seconds(match, ADVERSARIAL["dotted-then-space"](length))
    ) <= BUDGET_CPU_SECONDS:
        length *= 2
        assert length <= LENGTH // 4, (
            "the old pattern stayed within the budget: the checks could not catch it"
        )
    short = best_of(RETRIES, match, ADVERSARIAL["dotted-then-space"](length // GROWTH))
    assert full > GROWTH_LIMIT * short
    assert not linear_enough(full, short)
