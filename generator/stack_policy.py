"""The resources whose replacement or removal loses something, and the stack policy that protects them.

A stack policy guards a stack's later updates, console and CLI alike: it is
set once, at create (`--stack-policy-body`), or with `set-stack-policy`.
Stack sets have no stack policy; the build's replacement guard covers them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from awacs.aws import (
    Action,
    Allow,
    Deny,
    Everybody,
    PolicyDocument,
    Principal,
    Statement,
)

from generator.json_text import pretty_json

# What each type holds that a replacement or a removal would lose.
STATEFUL_TYPES: Mapping[str, str] = {
    "AWS::SecretsManager::Secret": "a replaced secret loses its value",
    "AWS::SecretsManager::ResourcePolicy": "its replacement deletes the guards while it runs",
    "AWS::KMS::Key": "every secret's ciphertext needs this key",
    "AWS::KMS::Alias": "consumers name the key by its alias",
    "AWS::IAM::ManagedPolicy": "its ARN is exported and attached to consumer roles",
}
STACK_POLICY_FILE_NAME = "stack-policy.json"


def stateful_logical_ids(template: Mapping[str, Any]) -> list[str]:
    """The logical ids of the template's stateful resources, sorted."""
    return sorted(
        logical_id
        for logical_id, resource in template.get("Resources", {}).items()
        if isinstance(resource, dict) and resource.get("Type") in STATEFUL_TYPES
    )


def stack_policy(template: Mapping[str, Any]) -> PolicyDocument:
    """Every update is allowed, but no update may replace or delete a stateful resource."""
    return PolicyDocument(
        Statement=[
            Statement(
                Sid="AllowEveryUpdate",
                Effect=Allow,
                Principal=Principal(Everybody),
                Action=[Action("Update", "*")],
                Resource=["*"],
            ),
            Statement(
                Sid="DenyReplacingOrDeletingStatefulResources",
                Effect=Deny,
                Principal=Principal(Everybody),
                Action=[Action("Update", "Replace"), Action("Update", "Delete")],
                Resource=[
                    f"LogicalResourceId/{logical_id}"
                    for logical_id in stateful_logical_ids(template)
                ],
            ),
        ]
    )


def render_stack_policy(template: Mapping[str, Any]) -> str:
    """Byte-stable JSON, rendered as the templates are."""
    return pretty_json(json.loads(stack_policy(template).to_json()))
