"""Security rules every generated template must keep, checked on the template's JSON.

These overlap checkov's on purpose: checkov is an independent second opinion
that runs in the test command, while these run in every build and know our
conventions. Each finding names the resource and statement at fault.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

_WILDCARDS = ("*", ["*"])


def _statements(node: Any) -> Iterator[dict[str, Any]]:
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


def _is_wildcard_principal(principal: Any) -> bool:
    if principal in _WILDCARDS:
        return True
    return isinstance(principal, Mapping) and principal.get("AWS") in _WILDCARDS


def _actions(statement: Mapping[str, Any]) -> list[Any]:
    actions = statement.get("Action", [])
    return actions if isinstance(actions, list) else [actions]


def security_problems(template: Mapping[str, Any]) -> list[str]:
    """Why `template` breaks a security rule; empty when it keeps them all."""
    problems = []
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type", "")
        properties = resource.get("Properties", {})
        if kind == "AWS::SecretsManager::Secret" and "KmsKeyId" not in properties:
            problems.append(f"{logical_id}: secret has no KmsKeyId, so it is encrypted with the AWS-managed key, not the stack's key")
        for statement in _statements(properties):
            sid = statement.get("Sid", "(no Sid)")
            if statement.get("Effect") != "Allow":
                continue
            if "NotPrincipal" in statement:
                problems.append(f"{logical_id} statement {sid}: Allow with NotPrincipal grants nearly everybody")
            if _is_wildcard_principal(statement.get("Principal")):
                problems.append(f"{logical_id} statement {sid}: Allow to Principal '*' (everybody)")
            if kind == "AWS::KMS::Key" and "kms:*" in _actions(statement) and _is_wildcard_principal(statement.get("Principal")):
                problems.append(f"{logical_id} statement {sid}: key policy grants kms:* to a wildcard principal")
    return problems
