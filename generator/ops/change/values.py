"""Reading and checking a credential value without ever repeating any of it.

jsonschema's own messages quote the offending instance, which here is a
credential, and a field name typed by mistake can be a credential too (keys
look like identifiers). Every message below is built from the schema's own
field names, counts and positions, so it is safe to print, log and raise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, BinaryIO

import jsonschema

from generator.catalogue import SecretSpec, looks_like_placeholder
from generator.environments import Environment
from generator.errors import ValueRefused

# Secrets Manager's limit for a SecretString.
MAX_VALUE_BYTES = 65_536
# The secrets' shape is an object of strings: anything nested deeper is refused
# before it is parsed (Python's parser recurses, and a deep document crashes it).
MAX_NESTING = 2
LINE_SEPARATORS = "\u2028\u2029"


def _ordinal(number: int) -> str:
    suffix = (
        "th"
        if 10 <= number % 100 <= 20
        else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _field(name: object, known: Mapping[str, Any]) -> str:
    """A field the schema knows, by name; anything else is never echoed."""
    return (
        f"field {name!r}"
        if isinstance(name, str) and name in known
        else "an unknown field"
    )


def _describe(
    error: jsonschema.ValidationError, env: Environment, known: Mapping[str, Any]
) -> str:
    where = _field(error.path[-1], known) if error.path else "the value"
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return "missing " + ", ".join(_field(name, known) for name in missing)
    if error.validator == "additionalProperties":
        positions = [
            _ordinal(index)
            for index, name in enumerate(error.instance, 1)
            if name not in known
        ]
        return f"{len(positions)} unexpected field(s), the {', '.join(positions)}"
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
    schema = spec.schema(env)
    known = schema["properties"]
    problems = []
    for error in sorted(
        jsonschema.Draft7Validator(schema).iter_errors(value),
        key=lambda e: (list(map(str, e.path)), e.validator),
    ):
        # An empty string also fails the whitespace pattern; "is empty" says it all.
        if error.validator == "pattern" and error.instance == "":
            continue
        problems.append(_describe(error, env, known))
    # jsonschema reports each missing field as its own error; one line names them all.
    return list(dict.fromkeys(problems))


# Unicode's categories Cc (control characters, a range fixed by the standard)
# and Cs (surrogates), and the line separators, as one character class: a
# search over it runs at C speed, where a loop over unicodedata did not.
UNSAFE_CHARACTER = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff{LINE_SEPARATORS}]")


def _has_unsafe_character(text: str) -> bool:
    """Control characters (CR, NUL, ESC, ...), the Unicode line separators, and lone surrogates."""
    return UNSAFE_CHARACTER.search(text) is not None


def refused_problems(spec: SecretSpec, value: Any) -> list[str]:
    """Which fields hold a value the spec refuses outright (a public key); never the value itself."""
    if not isinstance(value, Mapping):
        return []
    return [
        f"field {refused.field!r} holds {refused.why}"
        for refused in spec.refused
        if refused.refuses(value.get(refused.field))
    ]


def value_problems(env: Environment, spec: SecretSpec, value: Any) -> list[str]:
    """Why `value` may not be put as `spec`'s secret in `env`: its schema, a refused value, no control character,
    no placeholder where placeholders are never accepted."""
    problems = schema_problems(env, spec, value) + refused_problems(spec, value)
    if not isinstance(value, Mapping):
        return problems
    known = spec.schema(env)["properties"]
    for name, field_value in value.items():
        if not isinstance(field_value, str):
            continue
        if _has_unsafe_character(field_value):
            problems.append(
                f"{_field(name, known)} holds a control character, a line separator or a lone surrogate"
            )
        if not env.seed_placeholders and looks_like_placeholder(field_value):
            problems.append(
                f"{_field(name, known)} holds placeholder text, which {env.name} never accepts"
            )
    return list(dict.fromkeys(problems))


def _nesting(text: str) -> int:
    """How deep the arrays and objects of a JSON text go, strings skipped; linear in the text."""
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("a member appears twice")
    return dict(pairs)


def parse_document(text: str, secret: str) -> Any:
    """The JSON document of a credential; every refusal names a position or a count, never the text."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
        raise ValueRefused(
            secret,
            [f"the document is over Secrets Manager's {MAX_VALUE_BYTES}-byte limit"],
        )
    if _nesting(text) > MAX_NESTING:
        raise ValueRefused(
            secret,
            [
                "the document nests deeper than the secret's shape (an object of strings)"
            ],
        )
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as error:
        raise ValueRefused(
            secret,
            [
                f"not a JSON document ({error.msg} at line {error.lineno} column {error.colno})"
            ],
        ) from None
    except ValueError as error:  # a duplicate member
        raise ValueRefused(secret, [f"not one JSON object: {error}"]) from None


def read_document(stream: BinaryIO, secret: str) -> Any:
    """One JSON document from a byte stream: bounded in size, strictly UTF-8, then parsed as above."""
    data = stream.read(MAX_VALUE_BYTES + 1)
    if len(data) > MAX_VALUE_BYTES:
        raise ValueRefused(
            secret,
            [f"the document is over Secrets Manager's {MAX_VALUE_BYTES}-byte limit"],
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueRefused(
            secret,
            [f"the document is not UTF-8 (invalid byte at offset {error.start})"],
        ) from None
    return parse_document(text, secret)
