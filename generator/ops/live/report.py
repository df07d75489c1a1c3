"""What trading-secrets prints: the status table or document, and the alert self-test's verdict.

Built from states, version ids, names and counts; never from a value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from generator.environments import Environment
from generator.ops.aws import account_of, region_of
from generator.ops.live.alerts import DeadLetters, SelfTestResult
from generator.ops.live.status import EnvironmentStatus, SecretStatus


def dead_letter_problem(queue: DeadLetters) -> str | None:
    """Why the dead-letter queue fails the gate: a change to the alert path, an alert not delivered, or no answer."""
    if queue.error:
        return queue.error
    if not queue.messages:
        return None
    parts = []
    if queue.changes:
        parts.append(
            f"{len(queue.changes)} change(s) to the alert path ({'; '.join(queue.changes)}): if not yours, "
            "find who and undo it"
        )
    if queue.undelivered:
        parts.append(
            f"{len(queue.undelivered)} alert(s) not delivered ({'; '.join(queue.undelivered)}): fix delivery"
        )
    looked_at = len(queue.changes) + len(queue.undelivered)
    if queue.messages > looked_at:
        parts.append(f"{queue.messages - looked_at} more not looked at")
    env = queue.queue.split("-")[1] if queue.queue.count("-") >= 2 else "<env>"
    account = account_of(queue.region)
    as_account = f" as the operator role in {account}" if account else ""
    return (
        f"{queue.messages} message(s) in {queue.queue} in {queue.region}: {'; '.join(parts)}; then empty it "
        f"with `trading-secrets dead-letters --env {env} --region {region_of(queue.region)} --purge`{as_account}"
    )


def passes_gate(status: EnvironmentStatus) -> bool:
    return (
        not any(row.gate_problems for row in status.rows)
        and not status.placement_problems
        and not any(map(dead_letter_problem, status.queues))
        and not status.unknown
    )


def status_document(env: Environment, status: EnvironmentStatus) -> str:
    document = {
        "environment": env.name,
        "ok": passes_gate(status),
        "unknown_regions": list(status.unknown),
        "secrets": [row.as_json() for row in status.rows],
        "keys": [key.as_json() for key in status.keys],
        "alert_rules": [rule.as_json() for rule in status.rules],
        "placement": [region.placement.as_json() for region in status.regions],
        "dead_letter_queues": [queue.as_json() for queue in status.queues],
        # Every difference from the deployed template, flat, each with `expected`: what undoes it.
        "findings": [
            finding.as_json()
            for region in status.regions
            for finding in region.placement.every_finding()
        ],
    }
    return json.dumps(document, indent=2)


def _row(s: SecretStatus) -> str:
    age = f"{s.current_age_days:.1f}" if s.current_age_days is not None else "-"
    every = (
        str(s.rotation_interval_days) if s.rotation_interval_days is not None else "-"
    )
    checked = s.state.value not in ("MISSING", "ERROR", "PENDING_DELETION", "UNKNOWN")
    key = ("FIX" if s.key_problem else "ok") if checked else "-"
    policy = ("FIX" if s.policy_problems else "ok") if checked else "-"
    return (
        f"{s.secret:<28} {s.region:<10} {s.state.value:<16} {s.version_count:>8} "
        f"{age:>7} {every:>7} {'yes' if s.overdue else 'no':>7} "
        f"{'FIX' if s.tag_drift else 'ok':<5} {key:<4} {policy:<6} {s.last_read or 'never':<10} "
        f"{s.current_version or '-'}"
    )


def _failed(problems: Iterable[str], where: str = "") -> list[str]:
    """FAIL lines: a problem's own indented lines (a difference, statement by statement) follow it as they are."""
    return [
        f"      {problem}" if problem.startswith(" ") else f"FAIL: {where}{problem}"
        for problem in problems
    ]


def status_table(env: Environment, status: EnvironmentStatus) -> str:
    rows = status.rows
    lines = [
        f"{'secret':<28} {'region':<10} {'state':<16} {'versions':>8} {'age d':>7} "
        f"{'every d':>7} {'overdue':>7} {'tags':<5} {'key':<4} {'policy':<6} {'last read':<10} AWSCURRENT",
        *map(_row, rows),
        # Secrets Manager keeps the day of the last GetSecretValue by anyone: status,
        # verify and put read the value too, so the column says little about consumers.
        "(last read: the day anything last read the value, this tool's own reads included)",
    ]
    for region in status.regions:
        placed = region.placement
        if placed.stack:
            lines.append(f"stack in {region.region}: {placed.stack}")
        if placed.subscriptions.confirmed or placed.subscriptions.pending:
            lines.append(
                f"alert subscribers in {region.region}: "
                f"{', '.join(placed.subscriptions.confirmed) or 'none'} confirmed"
                + (
                    f"; {', '.join(placed.subscriptions.pending)} pending"
                    if placed.subscriptions.pending
                    else ""
                )
            )
    for key in status.keys:
        held = (
            f"{key.state}, rotation {'on' if key.rotation else 'off'}"
            if key.state is not None
            else "unreadable"
        )
        lines.append(f"key {key.alias} in {key.region}: {held}")
    for region_name in dict.fromkeys(rule.region for rule in status.rules):
        in_region = [rule for rule in status.rules if rule.region == region_name]
        right = sum(1 for rule in in_region if not rule.problems)
        lines.append(
            f"alert rules in {region_name}: {right} of {len(in_region)} as their template sets them"
        )
    for queue in status.queues:
        held = (
            "not deployed"
            if queue.messages is None and not queue.error
            else "unreadable"
            if queue.error
            else f"{queue.messages} message(s)"
        )
        lines.append(f"dead-letter queue {queue.queue} in {queue.region}: {held}")
    for s in rows:
        if s.pending_version:
            lines.append(
                f"note: {s.secret} in {s.region}: version {s.pending_version} is staged "
                "(AWSPENDING), not current: a put left half done"
            )
        lines += [f"note: {s.secret} in {s.region}: {drift}" for drift in s.tag_drift]
        lines += _failed(s.gate_problems, f"{s.secret} in {s.region}: ")
    lines += _failed(status.placement_problems)
    undelivered = [text for q in status.queues if (text := dead_letter_problem(q))]
    lines += [f"FAIL: {text}" for text in undelivered]
    answered = [s for s in rows if s.state.value != "UNKNOWN"]
    failing = sum(1 for s in answered if s.gate_problems)
    verdict = (
        f"{failing} of {len(answered)} secret(s) fail the go-live gate"
        if failing
        else f"all {len(answered)} secret(s) pass the go-live gate"
    )
    if headed := [p for p in status.placement_problems if not p.startswith(" ")]:
        verdict += f"; {len(headed)} problem(s) with what the deploy put in place"
    if undelivered:
        verdict += f"; {len(undelivered)} dead-letter queue problem(s)"
    if status.unknown:
        verdict = (
            f"UNKNOWN: {', '.join(status.unknown)} did not answer by the deadline, so the gate cannot be "
            f"decided there; {verdict} in the regions that did"
        )
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
