"""Reading from the operator: credential fields without echo, and confirmations."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import Any

from generator.catalogue import SecretSpec, fixed_fields
from generator.environments import Environment
from generator.errors import Cancelled, ConfigurationError


def read_value_from_terminal(
    env: Environment, spec: SecretSpec, prompt: Callable[[str], str] = getpass.getpass
) -> dict[str, Any]:
    """Each field without echo; a field the schema fixes (Alpaca's endpoint) is filled in, not asked."""
    if not sys.stdin.isatty():
        raise ConfigurationError(
            "no terminal to prompt on; pipe one JSON document with --from-stdin"
        )
    schema = spec.schema(env)
    value = fixed_fields(schema)
    for field in value:
        print(f"{field}: {value[field]} (fixed for {env.name})", file=sys.stderr)
    for field in spec.secret_fields(env):
        description = schema["properties"][field].get("description", "")
        try:
            value[field] = prompt(f"{field} ({description}, not echoed): ")
        except EOFError:
            raise Cancelled("input closed at a prompt; nothing written") from None
    return value


def confirm(question: str, action: str = "rollback") -> None:
    """Ask on the terminal; anything but yes cancels `action` (its name, for the messages)."""
    if not sys.stdin.isatty():
        raise ConfigurationError(
            f"no terminal to confirm on; pass --yes to {action} from a script"
        )
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        raise Cancelled("input closed at the prompt; nothing changed") from None
    if answer.strip().lower() not in ("y", "yes"):
        raise Cancelled(f"{action} cancelled; nothing changed")
