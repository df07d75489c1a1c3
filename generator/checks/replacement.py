"""The replacement guard: no new template may remove or replace a stateful resource of the one deployed.

CloudFormation replaces a resource when a create-only property changes, and
deletes one whose logical id leaves the template (a rename is a removal plus
an addition). Which properties are create-only is data: each type's provider
schema, which cfn-lint ships. The guard compares two templates, so it
protects console and stack-set deploys too, which no change set reviews.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.checks.limits import TEMPLATE_BODY_MAX_BYTES
from generator.errors import ConfigurationError
from generator.files import printable, read_regular_text
from generator.stack_policy import STATEFUL_TYPES

LOG = logging.getLogger(__name__)

# Replacements the provider schemas do not list, each with where AWS says so.
DOCUMENTED_IMMUTABLE: Mapping[str, tuple[tuple[str, ...], str]] = {
    "AWS::KMS::Key": (
        ("KeySpec", "KeyUsage", "Origin", "MultiRegion"),
        "CloudFormation Template Reference, AWS::KMS::Key: changing KeySpec, KeyUsage, Origin or "
        "MultiRegion of an existing key fails the update",
    ),
}
# How much of a resource each policy keeps; RetainExceptOnCreate differs from
# Retain only while a stack is first created, so for a deployed one they are equal.
_DELETION_KEEPS = {"Delete": 0, "Snapshot": 1, "RetainExceptOnCreate": 2, "Retain": 2}
_REPLACE_KEEPS = {"Delete": 0, "Snapshot": 1, "Retain": 2}
_SCHEMA_REGION = "us-east-1"


@dataclass(frozen=True)
class Replacement:
    """One stateful resource that the new template would remove, replace, or keep less of."""

    logical_id: str
    resource_type: str
    change: str

    def __str__(self) -> str:
        return (
            f"{self.logical_id} ({self.resource_type}): {self.change}; "
            f"{STATEFUL_TYPES[self.resource_type]}"
        )


def _schemas_directory() -> Path:
    """cfn-lint's bundled provider schemas, found without importing cfn-lint (which takes a second)."""
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cfn-lint is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@functools.cache
def provider_schema(resource_type: str) -> dict[str, Any]:
    """The type's provider schema as cfn-lint bundles it, read as a file: importing cfn-lint takes a second."""
    schemas = _schemas_directory()
    index = json.loads((schemas / "providers" / f"{_SCHEMA_REGION}.json").read_text())
    schema: dict[str, Any] = json.loads(
        (schemas / "resources" / f"{index[resource_type]}.json").read_text()
    )
    return schema


@functools.cache
def create_only_properties(resource_type: str) -> tuple[tuple[str, ...], ...]:
    """The create-only property paths of `resource_type`, from its provider schema ("/properties/A/B" -> ("A", "B"))."""
    schema = provider_schema(resource_type)
    return tuple(
        tuple(path.split("/")[2:]) for path in schema.get("createOnlyProperties", [])
    )


def _at(properties: Any, path: tuple[str, ...]) -> Any:
    """The value at `path`, or None; a "*" (any list item) compares the whole list."""
    node = properties
    for segment in path:
        if segment == "*" or not isinstance(node, dict):
            break
        node = node.get(segment)
    return node


def _rank(resource: Mapping[str, Any], attribute: str, keeps: Mapping[str, int]) -> int:
    return keeps.get(resource.get(attribute, "Delete"), 0)


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    """Why `new`, the same logical id as `old`, would replace it or keep less of it."""
    resource_type = old["Type"]
    if new.get("Type") != resource_type:
        yield f"its type changes to {new.get('Type')}: CloudFormation would replace it"
        return
    before, after = old.get("Properties", {}), new.get("Properties", {})
    for path in create_only_properties(resource_type):
        if _at(before, path) != _at(after, path):
            yield f"create-only property {'.'.join(path)} changes: CloudFormation would replace it"
    names, source = DOCUMENTED_IMMUTABLE.get(resource_type, ((), ""))
    for name in names:
        if before.get(name) != after.get(name):
            yield f"property {name} changes: the update fails ({source})"
    if old.get("Condition") != new.get("Condition"):
        yield "its Condition changes: where it is false, CloudFormation deletes the resource"
    for attribute, keeps in (
        ("DeletionPolicy", _DELETION_KEEPS),
        ("UpdateReplacePolicy", _REPLACE_KEEPS),
    ):
        if _rank(new, attribute, keeps) < _rank(old, attribute, keeps):
            yield (
                f"{attribute} weakens from {old.get(attribute, 'Delete')} to "
                f"{new.get(attribute, 'Delete')}"
            )


def replacements(
    deployed: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Replacement]:
    """Every stateful resource of `deployed` that `new` would remove, replace, or keep less of."""
    found = []
    new_resources = new.get("Resources", {})
    for logical_id, old in sorted(deployed.get("Resources", {}).items()):
        if not isinstance(old, dict) or old.get("Type") not in STATEFUL_TYPES:
            continue
        if logical_id not in new_resources:
            kept = _rank(old, "DeletionPolicy", _DELETION_KEEPS) > 0
            found.append(
                Replacement(
                    logical_id,
                    old["Type"],
                    "removed from the template (or renamed): CloudFormation would "
                    + ("leave it unmanaged" if kept else "delete it"),
                )
            )
            continue
        found += [
            Replacement(logical_id, old["Type"], change)
            for change in _changes(old, new_resources[logical_id])
        ]
    return found


def blocking(
    found: Iterable[Replacement], allowed: Iterable[str]
) -> tuple[list[Replacement], list[Replacement]]:
    """`found` split into what stops the change and what `allowed` (reviewed logical ids) lets through."""
    allowed = set(allowed)
    listed = list(found)
    return (
        [r for r in listed if r.logical_id not in allowed],
        [r for r in listed if r.logical_id in allowed],
    )


def _previous_template(path: Path, output_dir: Path) -> dict[str, object] | None:
    """The template on disk (the committed one), or None where there is none yet."""
    if not path.exists() and not path.is_symlink():
        LOG.info("%s: no template yet: nothing to compare for replacements", path)
        return None
    try:
        document = json.loads(
            read_regular_text(path, 2 * TEMPLATE_BODY_MAX_BYTES, within=output_dir)
        )
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise ConfigurationError(
            f"cannot check {printable(str(path))} for replacements: it is not a JSON template; "
            "restore the committed file (git checkout -- <file>), or remove it to build without comparing"
        )
    return document


def guard_findings(
    drafts: Mapping[str, tuple[Path, str]], output_dir: Path, allowed: frozenset[str]
) -> list[str]:
    """The guard as the build runs it: what each new template (env -> path, text) would remove or replace of
    the one on disk at that path, less what `allowed` names; an allowed id with nothing to allow is an error."""
    found: dict[str, list[Replacement]] = {}
    for env_name, (path, text) in drafts.items():
        previous = _previous_template(path, output_dir)
        if previous is not None:
            found[env_name] = replacements(previous, json.loads(text))
    changed = {r.logical_id for listed in found.values() for r in listed}
    if unused := sorted(allowed - changed):
        raise ConfigurationError(
            f"--allow-replacement {', '.join(unused)}: no template would remove or replace "
            + ("that resource" if len(unused) == 1 else "those resources")
            + (f" (these would be: {', '.join(sorted(changed))})" if changed else "")
        )
    findings = []
    for env_name, listed in found.items():
        stopped, let_through = blocking(listed, allowed)
        for replacement in let_through:
            LOG.warning(
                "%s: allowed by --allow-replacement %s: %s",
                env_name,
                replacement.logical_id,
                replacement,
            )
        findings += [
            f"{env_name}: {replacement}; once reviewed, build with "
            f"--allow-replacement {replacement.logical_id}"
            for replacement in stopped
        ]
        LOG.info(
            "%s: replacement guard: %d stateful resource(s) removed or replaced, %d allowed",
            env_name,
            len(stopped),
            len(let_through),
        )
    return findings
