"""Checking a credential value against its secret's schema without ever repeating it.

jsonschema's own messages quote the offending instance, which here is a
credential. Every message below is built from field names and the schema
alone, so it is safe to print, log and raise.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

import jsonschema

from generator.catalogue import PLACEHOLDER_MARKER, SecretSpec
from generator.environments import Environment
from generator.errors import GeneratorError

# Field names come from the user too; only a plain identifier is echoed back.
_PRINTABLE_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


class ValueRefused(GeneratorError):
    """A credential value failed its checks; nothing was written (exit 3)."""

    exit_code = 3

    def __init__(self, secret: str, problems: list[str]):
        self.problems = list(problems)
        super().__init__(f"{secret}: refused, nothing written: {'; '.join(self.problems)}")


def _field(name: object) -> str:
    return f"field {name!r}" if isinstance(name, str) and _PRINTABLE_FIELD_NAME.fullmatch(name) else "a field with an unusual name"


def _describe(error: jsonschema.ValidationError, env: Environment) -> str:
    where = _field(error.path[-1]) if error.path else "the value"
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return "missing " + ", ".join(_field(name) for name in missing)
    if error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        extra = sorted((name for name in error.instance if name not in allowed), key=str)
        return "unexpected " + ", ".join(_field(name) for name in extra)
    if error.validator == "type":
        return f"{where} must be a JSON {error.validator_value}"
    if error.validator == "minLength":
        return f"{where} is empty"
    if error.validator == "pattern":
        return f"{where} has leading or trailing whitespace or a line break"
    if error.validator == "const":
        return f"{where} must be {error.validator_value} in {env.name}"
    return f"{where} fails the schema's {error.validator!r} rule"


def schema_problems(env: Environment, spec: SecretSpec, value: Any) -> list[str]:
    """Why `value` does not match `spec`'s schema in `env`; empty when it does. Never quotes the value."""
    validator = jsonschema.Draft7Validator(spec.schema(env))
    problems = []
    for error in sorted(validator.iter_errors(value), key=lambda e: (list(map(str, e.path)), e.validator)):
        # An empty string also fails the whitespace pattern; "is empty" says it all.
        if error.validator == "pattern" and error.instance == "":
            continue
        problems.append(_describe(error, env))
    # jsonschema reports each missing field as its own error; one line names them all.
    return list(dict.fromkeys(problems))


def value_problems(env: Environment, spec: SecretSpec, value: Any) -> list[str]:
    """Why `value` may not be put as `spec`'s secret in `env`: the schema, and no placeholder where placeholders are not seeded."""
    problems = schema_problems(env, spec, value)
    if not env.seed_placeholders and isinstance(value, Mapping):
        for name, field_value in value.items():
            if isinstance(field_value, str) and PLACEHOLDER_MARKER.lower() in field_value.lower():
                problems.append(f"{_field(name)} holds placeholder text, which {env.name} never accepts")
    return problems


def is_placeholder(value: Mapping[str, Any]) -> bool:
    return any(isinstance(v, str) and PLACEHOLDER_MARKER in v for v in value.values())


def parse_document(text: str, secret: str) -> Any:
    """The JSON document of a credential; a parse error names the position, never the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueRefused(secret, [f"not a JSON document ({error.msg} at line {error.lineno} column {error.colno})"]) from None
