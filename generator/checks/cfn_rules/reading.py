"""Reading a template the way the AWS-semantics rules need: no rule of its own, shared by all of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def as_list(value: Any) -> list[Any]:
    """A policy field that may be one item or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


def resources_of_type(
    cfn: Any, resource_type: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, properties) of each resource of `resource_type` in cfn-lint's template."""
    for logical_id, resource in cfn.template.get("Resources", {}).items():
        if isinstance(resource, dict) and resource.get("Type") == resource_type:
            yield logical_id, resource.get("Properties", {})


def referenced(value: Any) -> str | None:
    """The logical id behind a Ref or a Fn::GetAtt, if `value` is one."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
            return attribute[0]
    return None


def statements(document: Any) -> list[dict[str, Any]]:
    """The statements of a policy document, each a dict; nothing for anything else."""
    if not isinstance(document, dict):
        return []
    return [s for s in as_list(document.get("Statement", [])) if isinstance(s, dict)]


def service_principals(statement: dict[str, Any]) -> list[Any]:
    """The AWS services a statement names as its principal."""
    principal = statement.get("Principal")
    return as_list(principal.get("Service", [])) if isinstance(principal, dict) else []


def lowered_actions(statement: dict[str, Any]) -> set[str]:
    """A statement's actions, lower-cased: IAM compares them without case."""
    return {
        a.lower() for a in as_list(statement.get("Action", [])) if isinstance(a, str)
    }
