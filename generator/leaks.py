"""A credential-leak scanner for templates, parameter files and everything the tools print or log.

It looks for what a leaked credential looks like: the shapes of AlphaVantage,
Alpaca and AWS keys, and long high-entropy tokens. A finding names the
source, the line and the kind of credential, never the text it matched, so a
finding is itself safe to print. Placeholders never match: they are built of
words joined by hyphens, which no pattern here accepts.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from generator.catalogue import CATALOGUE, SecretSpec
from generator.environments import ENVIRONMENTS

# Real key shapes (what the providers hand out), bounded so that a longer
# token does not match in its middle.
CREDENTIAL_SHAPES: dict[str, re.Pattern[str]] = {
    "AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
    # Alpaca key ids: PK (paper) or AK (live), then 18 upper-case letters or digits.
    "Alpaca key id": re.compile(r"(?<![A-Za-z0-9])(?:PK|AK)(?=[A-Z0-9]*[0-9])[A-Z0-9]{18}(?![A-Za-z0-9])"),
    # AlphaVantage keys: 16 upper-case letters and digits, with at least one of each.
    "AlphaVantage key": re.compile(r"(?<![A-Za-z0-9])(?=[A-Z0-9]{0,15}[0-9])(?=[A-Z0-9]{0,15}[A-Z])[A-Z0-9]{16}(?![A-Za-z0-9])"),
}
# Alpaca secret keys and AWS secret access keys are 40 mixed-case characters;
# both fall under the high-entropy rule below, as do most other tokens.
# "=" only as base64 padding, so "Key=Value" pairs are not tokens; "_" splits
# tokens, so snake_case names are not one either.
_TOKEN = re.compile(r"[A-Za-z0-9+/]{20,}={0,2}")
HIGH_ENTROPY_BITS_PER_CHARACTER = 3.5
# 99% of random 20- to 40-character alphanumeric tokens switch class at least this often (measured).
RANDOM_CLASS_SWITCH_RATE = 0.35
RANDOM_LETTERS_SWITCH_RATE = 0.45


@dataclass(frozen=True)
class Leak:
    source: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.source} line {self.line}: something shaped like {self.kind}"


def shannon_entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def _character_class(character: str) -> str:
    return "upper" if character.isupper() else "lower" if character.islower() else "digit" if character.isdigit() else "other"


def class_switch_rate(token: str) -> float:
    """How often neighbouring characters differ in class: about 0.6 for random keys, under 0.35 for CamelCase names."""
    return sum(_character_class(a) != _character_class(b) for a, b in zip(token, token[1:])) / (len(token) - 1)


def _high_entropy(token: str) -> bool:
    has_upper, has_lower = any(c.isupper() for c in token), any(c.islower() for c in token)
    has_digit = any(c.isdigit() for c in token)
    if shannon_entropy(token) < HIGH_ENTROPY_BITS_PER_CHARACTER:
        return False
    if has_digit and (has_upper or has_lower):
        # Letters and digits (hex keys included), mixed the way random text mixes
        # them: identifiers such as Synthetic000CredentialsArn switch class rarely.
        return class_switch_rate(token) >= RANDOM_CLASS_SWITCH_RATE
    if has_upper and has_lower:
        # Letters only: CamelCase names switch case at every word, so ask for the
        # near-coin-flip switching of random upper and lower case.
        return class_switch_rate(token) >= RANDOM_LETTERS_SWITCH_RATE
    return False


def scan_line(line: str) -> list[str]:
    """The kinds of credential `line` seems to hold; empty when none."""
    kinds = [kind for kind, pattern in CREDENTIAL_SHAPES.items() if pattern.search(line)]
    if any(_high_entropy(token) for token in _TOKEN.findall(line)):
        kinds.append("a high-entropy token")
    return kinds


def scan_text(text: str, source: str) -> list[Leak]:
    return [Leak(source, number, kind) for number, line in enumerate(text.splitlines(), 1) for kind in scan_line(line)]


def known_placeholder_values(catalogue: Iterable[SecretSpec] = CATALOGUE) -> frozenset[str]:
    """Every placeholder field that is not a public constant (an endpoint URL is not a secret)."""
    values = set()
    for env in ENVIRONMENTS.values():
        for spec in catalogue:
            constants = {schema.get("const") for schema in spec.schema(env)["properties"].values()}
            values |= {value for value in spec.placeholder(env).values() if value not in constants}
    return frozenset(values)


def output_leaks(text: str, source: str, known_values: Iterable[str] = ()) -> list[Leak]:
    """For what a tool prints or logs: credential shapes, plus any value it must never show.

    A placeholder is fine inside a dev template, but printed by a tool it
    means the tool prints values: that is the bug this catches.
    """
    known = [value for value in known_values if value]
    leaks = scan_text(text, source)
    for number, line in enumerate(text.splitlines(), 1):
        if any(value in line for value in known):
            leaks.append(Leak(source, number, "a secret value"))
    return leaks


def redact(line: str, known_values: Iterable[str] = ()) -> str:
    """`line` with every credential-shaped token and known value replaced by a marker naming its kind."""
    for value in known_values:
        if value:
            line = line.replace(value, "[REDACTED secret value]")
    for kind, pattern in CREDENTIAL_SHAPES.items():
        line = pattern.sub(f"[REDACTED {kind}]", line)
    return _TOKEN.sub(lambda m: "[REDACTED high-entropy token]" if _high_entropy(m.group()) else m.group(), line)


class RedactingFilter(logging.Filter):
    """The last line of defence on a tool's log handler: a line that would leak is redacted, never printed.

    Tests assert the tools never log a value in the first place; this keeps a
    future slip from reaching a terminal or a CI log.
    """

    def __init__(self, known_values: Iterable[str] = ()):
        super().__init__()
        self._known = tuple(known_values)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self._known)
        if clean != message:
            record.msg, record.args = clean, ()
        return True
