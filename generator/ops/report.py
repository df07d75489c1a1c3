"""What trading-secrets prints: the status table or document, and the alert self-test's verdict.

Built from states, version ids, names and counts; never from a value.
"""

from __future__ import annotations

import json

from generator.environments import Environment
from generator.ops.alert_check import DeadLetters, SelfTestResult
from generator.ops.status import SecretStatus


def dead_letter_problem(queue: DeadLetters) -> str | None:
    """Why the dead-letter queue fails the gate: an alert went undelivered, or the queue cannot be read."""
    if queue.error:
        return queue.error
    if not queue.messages:
        return None
    return (
        f"{queue.messages} undelivered alert(s) in {queue.queue} in {queue.region}: read them, "
        "fix delivery (topic policy, key policy), then purge the queue"
    )


def passes_gate(rows: list[SecretStatus], queues: list[DeadLetters]) -> bool:
    return not any(row.gate_problems for row in rows) and not any(
        map(dead_letter_problem, queues)
    )


def status_document(
    env: Environment, rows: list[SecretStatus], queues: list[DeadLetters]
) -> str:
    document = {
        "environment": env.name,
        "ok": passes_gate(rows, queues),
        "secrets": [row.as_json() for row in rows],
        "dead_letter_queues": [queue.as_json() for queue in queues],
    }
    return json.dumps(document, indent=2)


def _row(s: SecretStatus) -> str:
    age = f"{s.current_age_days:.1f}" if s.current_age_days is not None else "-"
    every = (
        str(s.rotation_interval_days) if s.rotation_interval_days is not None else "-"
    )
    return (
        f"{s.secret:<28} {s.region:<10} {s.state.value:<16} {s.version_count:>8} "
        f"{age:>7} {every:>7} {'yes' if s.overdue else 'no':>7} "
        f"{'FIX' if s.tag_drift else 'ok':<5} {s.current_version or '-'}"
    )


def status_table(
    env: Environment, rows: list[SecretStatus], queues: list[DeadLetters]
) -> str:
    lines = [
        f"{'secret':<28} {'region':<10} {'state':<16} {'versions':>8} {'age d':>7} "
        f"{'every d':>7} {'overdue':>7} {'tags':<5} AWSCURRENT",
        *map(_row, rows),
    ]
    for queue in queues:
        held = (
            "not deployed"
            if queue.messages is None and not queue.error
            else "unreadable"
            if queue.error
            else f"{queue.messages} undelivered alert(s)"
        )
        lines.append(f"dead-letter queue {queue.queue} in {queue.region}: {held}")
    for s in rows:
        if s.pending_version:
            lines.append(
                f"note: {s.secret} in {s.region}: version {s.pending_version} is staged "
                "(AWSPENDING), not current: a put left half done"
            )
        lines += [f"note: {s.secret} in {s.region}: {drift}" for drift in s.tag_drift]
        lines += [
            f"FAIL: {s.secret} in {s.region}: {problem}" for problem in s.gate_problems
        ]
    undelivered = [text for q in queues if (text := dead_letter_problem(q))]
    lines += [f"FAIL: {text}" for text in undelivered]
    failing = sum(1 for s in rows if s.gate_problems)
    verdict = (
        f"{failing} of {len(rows)} secret(s) fail the go-live gate"
        if failing
        else f"all {len(rows)} secret(s) pass the go-live gate"
    )
    if undelivered:
        verdict += f"; {len(undelivered)} dead-letter queue problem(s)"
    lines.append(f"{env.name}: {verdict}")
    return "\n".join(lines)


def self_test_verdict(
    env: Environment, region: str, result: SelfTestResult, rule: str
) -> list[str]:
    """One line when the alert arrived; otherwise, what to check, in the order to check it."""
    if result.arrived:
        return [
            f"{env.name} in {region}: the alert arrived after {result.seconds:.0f} s; the alert path works"
        ]
    held = result.dead_letters.messages
    return [
        f"{env.name} in {region}: no alert within {result.seconds:.0f} s. Check, in order:",
        f"  1. a CloudTrail trail logs management events in {region} (the event history alone never reaches EventBridge)",
        f"  2. the FailedInvocations metric of {rule} (namespace AWS/Events) in {region}",
        f"  3. the dead-letter queue {result.dead_letters.queue}: "
        + ("not deployed" if held is None else f"{held} undelivered alert(s)"),
    ]
