"""What trading-secrets prints: the status table or document, and the alert self-test's verdict.

Built from states, version ids, names and counts; never from a value.
"""

from __future__ import annotations

import json

from generator.environments import Environment
from generator.ops.live.alerts import DeadLetters, SelfTestResult
from generator.ops.live.status import EnvironmentStatus, SecretStatus


def dead_letter_problem(queue: DeadLetters) -> str | None:
    """Why the dead-letter queue fails the gate: an alert went undelivered, or the queue cannot be read."""
    if queue.error:
        return queue.error
    if not queue.messages:
        return None
    return (
        f"{queue.messages} undelivered alert(s) in {queue.queue} in {queue.region}: read them (an alert "
        "delivery failed, or the alerting key was tampered with), fix the cause, then purge the queue"
    )


def passes_gate(status: EnvironmentStatus, queues: list[DeadLetters]) -> bool:
    return (
        not any(row.gate_problems for row in status.rows)
        and not status.placement_problems
        and not any(map(dead_letter_problem, queues))
    )


def status_document(
    env: Environment, status: EnvironmentStatus, queues: list[DeadLetters]
) -> str:
    document = {
        "environment": env.name,
        "ok": passes_gate(status, queues),
        "secrets": [row.as_json() for row in status.rows],
        "keys": [key.as_json() for key in status.keys],
        "alert_rules": [rule.as_json() for rule in status.rules],
        "dead_letter_queues": [queue.as_json() for queue in queues],
    }
    return json.dumps(document, indent=2)


def _row(s: SecretStatus) -> str:
    age = f"{s.current_age_days:.1f}" if s.current_age_days is not None else "-"
    every = (
        str(s.rotation_interval_days) if s.rotation_interval_days is not None else "-"
    )
    checked = s.state.value not in ("MISSING", "ERROR", "PENDING_DELETION")
    key = ("FIX" if s.key_problem else "ok") if checked else "-"
    policy = ("FIX" if s.policy_problems else "ok") if checked else "-"
    return (
        f"{s.secret:<28} {s.region:<10} {s.state.value:<16} {s.version_count:>8} "
        f"{age:>7} {every:>7} {'yes' if s.overdue else 'no':>7} "
        f"{'FIX' if s.tag_drift else 'ok':<5} {key:<4} {policy:<6} {s.last_read or 'never':<10} "
        f"{s.current_version or '-'}"
    )


def status_table(
    env: Environment, status: EnvironmentStatus, queues: list[DeadLetters]
) -> str:
    rows = status.rows
    lines = [
        f"{'secret':<28} {'region':<10} {'state':<16} {'versions':>8} {'age d':>7} "
        f"{'every d':>7} {'overdue':>7} {'tags':<5} {'key':<4} {'policy':<6} {'last read':<10} AWSCURRENT",
        *map(_row, rows),
    ]
    for key in status.keys:
        held = (
            f"{key.state}, rotation {'on' if key.rotation else 'off'}"
            if key.state is not None
            else "unreadable"
        )
        lines.append(f"key {key.alias} in {key.region}: {held}")
    for region in dict.fromkeys(rule.region for rule in status.rules):
        in_region = [rule for rule in status.rules if rule.region == region]
        right = sum(1 for rule in in_region if not rule.problems)
        lines.append(
            f"alert rules in {region}: {right} of {len(in_region)} in the state their template sets"
        )
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
    lines += [f"FAIL: {problem}" for problem in status.placement_problems]
    undelivered = [text for q in queues if (text := dead_letter_problem(q))]
    lines += [f"FAIL: {text}" for text in undelivered]
    failing = sum(1 for s in rows if s.gate_problems)
    verdict = (
        f"{failing} of {len(rows)} secret(s) fail the go-live gate"
        if failing
        else f"all {len(rows)} secret(s) pass the go-live gate"
    )
    if status.placement_problems:
        verdict += f"; {len(status.placement_problems)} key or alert-rule problem(s)"
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
