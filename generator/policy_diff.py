"""Policy documents and event patterns compared as AWS means them, statement by statement, not as text.

What a template sets and what AWS hands back differ in ways that mean
nothing: the order of statements, actions and values; a string where the
template had a one-element list; an account id where the template had its
root ARN; action names and condition keys in another case (IAM compares them
case-insensitively); `true` for `"true"`. Each policy is first normalized, so
that none of these shows as a difference, and then compared statement by
statement: a statement with a Sid is paired with the one of that Sid, one
without by its content. What remains is reported as what was added, what was
removed, and, for a changed statement, which actions, principals, resources
and condition values it gained or lost.

`status` uses it to hold what is live to the deployed template; a deploy's
review uses it to show what a new template changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_ACCOUNT_ID = re.compile(r"[0-9]{12}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """A condition or principal value as IAM reads it: JSON's true is "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _principals(node: Any) -> frozenset[tuple[str, str]]:
    """(type, value) pairs: "*" is every AWS principal; an account id is that account's root."""
    if node is None:
        return frozenset()
    if node == "*":
        return frozenset({("AWS", "*")})
    pairs = set()
    for kind, values in dict(node).items():
        for value in _as_list(values):
            text = _text(value)
            if kind == "AWS" and _ACCOUNT_ID.fullmatch(text):
                text = f"arn:aws:iam::{text}:root"
            pairs.add((kind, text))
    return frozenset(pairs)


def _conditions(node: Any) -> frozenset[tuple[str, str, str]]:
    """(operator, key, value) triples; condition keys compare case-insensitively, as IAM does."""
    triples = set()
    for operator, tests in dict(node or {}).items():
        for key, values in dict(tests).items():
            for value in _as_list(values):
                triples.add((operator, key.lower(), _text(value)))
    return frozenset(triples)


@dataclass(frozen=True)
class Statement:
    """One policy statement, normalized: every element a set, so order and one-element lists mean nothing."""

    sid: str | None
    effect: str
    actions: frozenset[str]
    not_actions: frozenset[str]
    resources: frozenset[str]
    not_resources: frozenset[str]
    principals: frozenset[tuple[str, str]]
    not_principals: frozenset[tuple[str, str]]
    conditions: frozenset[tuple[str, str, str]]

    @classmethod
    def of(cls, statement: Mapping[str, Any]) -> Statement:
        def lowered(name: str) -> frozenset[str]:
            return frozenset(_text(a).lower() for a in _as_list(statement.get(name)))

        def kept(name: str) -> frozenset[str]:
            return frozenset(_text(r) for r in _as_list(statement.get(name)))

        sid = statement.get("Sid")
        return cls(
            sid=str(sid) if sid else None,
            effect=str(statement.get("Effect", "")),
            actions=lowered("Action"),
            not_actions=lowered("NotAction"),
            resources=kept("Resource"),
            not_resources=kept("NotResource"),
            principals=_principals(statement.get("Principal")),
            not_principals=_principals(statement.get("NotPrincipal")),
            conditions=_conditions(statement.get("Condition")),
        )

    @property
    def name(self) -> str:
        """How a report names it: its Sid, or what it does."""
        if self.sid:
            return self.sid
        verbs = ", ".join(sorted(self.actions or self.not_actions)[:3])
        return f"an unnamed {self.effect} of {verbs or 'nothing'}"

    def without_sid(self) -> Statement:
        return Statement(
            None,
            self.effect,
            self.actions,
            self.not_actions,
            self.resources,
            self.not_resources,
            self.principals,
            self.not_principals,
            self.conditions,
        )


def normalize_policy(document: Any) -> tuple[Statement, ...]:
    """The statements of a policy document (a dict, or the JSON text AWS returns), normalized."""
    if isinstance(document, str):
        document = json.loads(document) if document.strip() else {}
    statements = _as_list((document or {}).get("Statement"))
    return tuple(Statement.of(s) for s in statements if isinstance(s, Mapping))


def _conditions_by_test(
    triples: Iterable[tuple[str, str, str]],
) -> dict[tuple[str, str], set[str]]:
    grouped: dict[tuple[str, str], set[str]] = {}
    for operator, key, value in triples:
        grouped.setdefault((operator, key), set()).add(value)
    return grouped


def _shown(values: Iterable[Any]) -> str:
    return ", ".join(
        sorted(f"{v[0]}:{v[1]}" if isinstance(v, tuple) else str(v) for v in values)
    )


@dataclass(frozen=True)
class StatementChange:
    """One statement added, removed, or changed between the expected policy and another."""

    kind: str  # "added", "removed" or "changed"
    before: Statement | None
    after: Statement | None

    @property
    def name(self) -> str:
        statement = self.before or self.after
        assert statement is not None
        return statement.name

    def gained(self, element: str) -> frozenset[Any]:
        """What the statement has now and had not before, in one element (actions, principals...)."""
        before = getattr(self.before, element) if self.before else frozenset()
        after = getattr(self.after, element) if self.after else frozenset()
        return frozenset(after - before)

    def lost(self, element: str) -> frozenset[Any]:
        before = getattr(self.before, element) if self.before else frozenset()
        after = getattr(self.after, element) if self.after else frozenset()
        return frozenset(before - after)

    def lines(self) -> list[str]:
        """The change, element by element; never the whole document."""
        if self.kind == "added":
            assert self.after is not None
            return [f"statement {self.name} ({self.after.effect}) was added"]
        if self.kind == "removed":
            assert self.before is not None
            return [f"statement {self.name} ({self.before.effect}) was removed"]
        assert self.before is not None and self.after is not None
        lines = []
        if self.before.effect != self.after.effect:
            lines.append(
                f"statement {self.name}: Effect {self.before.effect} became {self.after.effect}"
            )
        for element, label in (
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
            ("principals", "Principal"),
            ("not_principals", "NotPrincipal"),
        ):
            if lost := self.lost(element):
                lines.append(f"statement {self.name}: {label} lost {_shown(lost)}")
            if gained := self.gained(element):
                lines.append(f"statement {self.name}: {label} gained {_shown(gained)}")
        before = _conditions_by_test(self.before.conditions)
        after = _conditions_by_test(self.after.conditions)
        for test in sorted(set(before) | set(after)):
            operator, key = test
            was, now = before.get(test, set()), after.get(test, set())
            if not was:
                lines.append(
                    f"statement {self.name}: condition {operator} {key} was added: {_shown(now)}"
                )
            elif not now:
                lines.append(
                    f"statement {self.name}: condition {operator} {key} was removed (it held {_shown(was)})"
                )
            elif was != now:
                change = []
                if now - was:
                    change.append(f"gained {_shown(now - was)}")
                if was - now:
                    change.append(f"lost {_shown(was - now)}")
                lines.append(
                    f"statement {self.name}: condition {operator} {key} {' and '.join(change)}"
                )
        return lines


def _negated(operator: str) -> bool:
    """StringNotEquals, ArnNotLike, NotIpAddress...: a value there exempts, where elsewhere it includes."""
    return "Not" in operator.rsplit(":", maxsplit=1)[-1]


def weakenings(change: StatementChange) -> list[str]:
    """Why a change makes the policy allow more, or deny less; empty when it does neither.

    A Deny removed, turned into an Allow, or applying to fewer actions,
    resources or principals, or in fewer cases (a value gained by a negated
    condition is a new exemption; a value lost by another, or a condition
    added, narrows it). An Allow added, or granting more: actions, resources,
    principals, or a condition loosened. What tightens a policy is never one.
    """
    before, after = change.before, change.after
    if change.kind == "removed":
        assert before is not None
        return [f"the Deny {change.name} is removed"] if before.effect == "Deny" else []
    if change.kind == "added":
        assert after is not None
        return [f"the Allow {change.name} is added"] if after.effect == "Allow" else []
    assert before is not None and after is not None
    if before.effect != after.effect:
        return (
            [f"{change.name} turns from a Deny into an Allow"]
            if before.effect == "Deny"
            else []
        )
    return _wider_coverage(change, before.effect) + _looser_conditions(
        change, before.effect
    )


def _wider_coverage(change: StatementChange, effect: str) -> list[str]:
    """A Deny that covers less, or an Allow that covers more."""
    less, more = (
        (change.lost, change.gained)
        if effect == "Deny"
        else (change.gained, change.lost)
    )
    verb = "no longer denies" if effect == "Deny" else "now allows"
    reasons = [
        f"{change.name} {verb} {label} {_shown(found)}"
        for element, label in (
            ("actions", "actions"),
            ("resources", "resources"),
            ("principals", "principals"),
        )
        if (found := less(element))
    ]
    reasons += [
        f"{change.name}: {label} {'gained' if effect == 'Deny' else 'lost'} {_shown(found)}"
        for element, label in (
            ("not_actions", "NotAction"),
            ("not_resources", "NotResource"),
            ("not_principals", "NotPrincipal"),
        )
        if (found := more(element))
    ]
    return reasons


def _looser_conditions(change: StatementChange, effect: str) -> list[str]:
    """A Deny that applies in fewer cases, or an Allow in more."""
    assert change.before is not None and change.after is not None
    was, now = (
        _conditions_by_test(change.before.conditions),
        _conditions_by_test(change.after.conditions),
    )
    reasons = []
    for test in sorted(set(was) | set(now)):
        operator, key = test
        old, new = was.get(test, set()), now.get(test, set())
        gained, lost = new - old, old - new
        negated = _negated(operator)
        if effect == "Deny":
            if not old:
                reasons.append(
                    f"{change.name} applies only when {operator} {key} holds (a condition added)"
                )
            elif new and negated and gained:
                reasons.append(
                    f"{change.name} exempts {_shown(gained)} ({operator} {key})"
                )
            elif new and not negated and lost:
                reasons.append(
                    f"{change.name} applies to fewer {key}: lost {_shown(lost)}"
                )
        elif not new:
            reasons.append(f"{change.name} loses its condition {operator} {key}")
        elif old and negated and lost:
            reasons.append(f"{change.name} excludes fewer {key}: lost {_shown(lost)}")
        elif old and not negated and gained:
            reasons.append(f"{change.name} allows more {key}: gained {_shown(gained)}")
    return reasons


def compare_policies(expected: Any, actual: Any) -> list[StatementChange]:
    """How `actual` differs from `expected`, statement by statement; empty when they mean the same."""
    want, have = list(normalize_policy(expected)), list(normalize_policy(actual))
    changes: list[StatementChange] = []
    by_sid = {s.sid: s for s in have if s.sid}
    unnamed_have = [s for s in have if not s.sid]
    for statement in want:
        if statement.sid:
            other = by_sid.pop(statement.sid, None)
            if other is None:
                changes.append(StatementChange("removed", statement, None))
            elif other != statement:
                changes.append(StatementChange("changed", statement, other))
        elif statement in unnamed_have:
            unnamed_have.remove(statement)
        else:
            changes.append(StatementChange("removed", statement, None))
    # A statement that kept its content but lost its Sid, or the reverse, is one change, not two.
    for change in list(changes):
        if change.kind == "removed" and change.before is not None:
            twin = next(
                (
                    s
                    for s in [*by_sid.values(), *unnamed_have]
                    if s.without_sid() == change.before.without_sid()
                ),
                None,
            )
            if twin is not None:
                changes.remove(change)
                if twin.sid:
                    del by_sid[twin.sid]
                else:
                    unnamed_have.remove(twin)
    changes += [StatementChange("added", None, s) for s in by_sid.values()]
    changes += [StatementChange("added", None, s) for s in unnamed_have]
    return changes


def policy_lines(expected: Any, actual: Any) -> list[str]:
    """Every line of the comparison, in order."""
    return [
        line for change in compare_policies(expected, actual) for line in change.lines()
    ]


def normalize_pattern(pattern: Any) -> Any:
    """An event pattern (a dict, or the JSON text AWS returns) with its lists in one order: EventBridge matches a list as a set."""
    return _in_order(json.loads(pattern) if isinstance(pattern, str) else pattern)


def _in_order(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {key: _in_order(value) for key, value in sorted(node.items())}
    if isinstance(node, list):
        items = [_in_order(item) for item in node]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return node


def pattern_lines(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where two event patterns differ, field by field: what each field lost and gained."""
    want, have = (
        (normalize_pattern(expected), normalize_pattern(actual))
        if not path
        else (_in_order(expected), _in_order(actual))
    )
    if want == have:
        return []
    here = path or "the pattern"
    if isinstance(want, dict) and isinstance(have, dict):
        lines = []
        for key in sorted(set(want) | set(have)):
            where = f"{path}.{key}" if path else key
            if key not in have:
                lines.append(f"{where} was removed")
            elif key not in want:
                lines.append(
                    f"{where} was added: {json.dumps(have[key], sort_keys=True)}"
                )
            else:
                lines += pattern_lines(want[key], have[key], where)
        return lines
    if isinstance(want, list) and isinstance(have, list):
        shown = {json.dumps(i, sort_keys=True) for i in want}
        now = {json.dumps(i, sort_keys=True) for i in have}
        parts = []
        if now - shown:
            parts.append(f"gained {', '.join(sorted(now - shown))}")
        if shown - now:
            parts.append(f"lost {', '.join(sorted(shown - now))}")
        return [f"{here} {' and '.join(parts)}"]
    return [f"{here} was {json.dumps(want)}, is {json.dumps(have)}"]
