"""Security rules every generated template must keep, checked on the template's JSON.

These overlap checkov's on purpose: checkov is an independent second opinion
that runs in the test command, while these run in every build and know our
conventions. Each finding names the resource and statement at fault.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

WILDCARD = "*"
# Actions that grant everything a service (or every service) offers.
_ALL_ACTIONS = ("kms:*", "*")


def _statements(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every policy statement anywhere under `node`, both branches of an Fn::If included."""
    if isinstance(node, Mapping):
        statements = node.get("Statement")
        if isinstance(statements, list):
            yield from (s for s in statements if isinstance(s, Mapping))
        elif isinstance(statements, Mapping):
            yield statements
        for value in node.values():
            yield from _statements(value)
    elif isinstance(node, list):
        for item in node:
            yield from _statements(item)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def has_wildcard_principal(principal: Any) -> bool:
    """`"*"`, or `"*"` anywhere among the AWS principals: `{"AWS": "*"}` and `{"AWS": [..., "*"]}` alike."""
    if principal == WILDCARD:
        return True
    return isinstance(principal, Mapping) and WILDCARD in _as_list(principal.get("AWS"))


def security_problems(template: Mapping[str, Any]) -> list[str]:
    """Why `template` breaks a security rule; empty when it keeps them all."""
    problems = []
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type", "")
        properties = resource.get("Properties", {})
        if kind == "AWS::SecretsManager::Secret" and "KmsKeyId" not in properties:
            problems.append(
                f"{logical_id}: secret has no KmsKeyId, so it is encrypted with the AWS-managed key, not the stack's key"
            )
        for statement in _statements(properties):
            if statement.get("Effect") != "Allow":
                continue
            sid = statement.get("Sid", "(no Sid)")
            if "NotPrincipal" in statement:
                problems.append(
                    f"{logical_id} statement {sid}: Allow with NotPrincipal grants nearly everybody"
                )
            if has_wildcard_principal(statement.get("Principal")):
                problems.append(
                    f"{logical_id} statement {sid}: Allow to Principal '*' (everybody)"
                )
            granted = [
                action
                for action in _as_list(statement.get("Action", []))
                if action in _ALL_ACTIONS
            ]
            if granted:
                problems.append(
                    f"{logical_id} statement {sid}: Allow grants {granted[0]} (every action)"
                )
    return problems
