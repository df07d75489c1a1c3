"""A credential-leak scanner for templates, parameter files and everything the tools print or log.

It looks for what a leaked credential looks like: the shapes of AWS keys and
of each integration's keys (its catalogue spec), and long high-entropy tokens. A finding names the
source, the line and the kind of credential, never the text it matched, so a
finding is itself safe to print. Placeholders never match: they are built of
words joined by hyphens, which no pattern here accepts.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from generator.catalogue import CATALOGUE, SecretSpec
from generator.environments import ENVIRONMENTS
from generator.files import printable

# Real key shapes (what the providers hand out), bounded so that a longer
# token does not match in its middle: AWS's, and each integration's own (its spec).
CREDENTIAL_SHAPES: dict[str, re.Pattern[str]] = {
    "AWS access key id": re.compile(
        r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"
    ),
    **{kind: shape for spec in CATALOGUE for kind, shape in spec.shapes().items()},
}
# Alpaca secret keys and AWS secret access keys are 40 mixed-case characters;
# both fall under the high-entropy rule below, as do most other tokens.
# "=" only as base64 padding, so "Key=Value" pairs are not tokens; "_" splits
# tokens, so snake_case names are not one either.
_SHORTEST_TOKEN = 20
_TOKEN = re.compile(r"[A-Za-z0-9+/]{20,}={0,2}")
HIGH_ENTROPY_BITS_PER_CHARACTER = 3.5
# An npm lock file's Subresource Integrity field: a SHA-512 digest of a
# public package, 64 bytes in base64. A digest, not a secret; matched whole,
# field name, algorithm and exact length, so nothing else passes for one.
_PACKAGE_DIGEST = re.compile(r'"integrity": "sha512-[A-Za-z0-9+/]{86}=="')
# Letter runs: upper-case, lower-case, or anything else.
_RUNS = re.compile(r"[A-Z]+|[a-z]+|[^A-Za-z]+")
_DIGIT = re.compile(r"[0-9]")
# A path segment: lower-case letters and digits, as directories and files are named.
_PATH_SEGMENT = re.compile(r"[a-z0-9]+")
# 99% of random 20- to 40-character alphanumeric tokens switch class at least this often (measured).
RANDOM_CLASS_SWITCH_RATE = 0.35
# 96% of random 40-letter tokens switch case at least this often; identifiers,
# which do too, are told apart by _WORDS (measured).
RANDOM_LETTERS_SWITCH_RATE = 0.3


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
    return (
        "upper"
        if character.isupper()
        else "lower"
        if character.islower()
        else "digit"
        if character.isdigit()
        else "other"
    )


def class_switch_rate(token: str) -> float:
    """How often neighbouring characters differ in class: about 0.6 for random keys, under 0.35 for CamelCase names."""
    return sum(
        _character_class(a) != _character_class(b) for a, b in itertools.pairwise(token)
    ) / (len(token) - 1)


def _words(part: str) -> bool:
    """Whether `part` is words run together, as identifiers are: "Role", "Arn", "AWS" before "Cloud", "latest".

    Read run by run, in one pass: a regular expression for the same grammar
    backtracks exponentially on a long run that fails at its end.
    """
    runs = _RUNS.findall(part)
    for index, run in enumerate(runs):
        if not run.isalpha():
            return False
        if run.islower():
            starts_word = index > 0  # its capital ends the upper-case run before it
            if not starts_word and len(run) < 2:
                return False
        else:  # upper-case: an acronym, and maybe the capital of the next word
            follows = index + 1 < len(runs)
            acronym = run[:-1] if follows else run
            if acronym and len(acronym) < 2:
                return False
    return bool(runs)


def _identifiers(text: str) -> bool:
    """Words run together, as identifiers are (RoleArnMatchesAnyPath, Key=Value pairs of them)."""
    return all(_words(part) for part in re.split(r"[=+]", text) if part)


def _plain(segment: str) -> bool:
    """A path segment as people name them: lower-case letters and digits, or identifiers."""
    return bool(_PATH_SEGMENT.fullmatch(segment)) or _identifiers(segment)


def _suspect_runs(token: str) -> list[str]:
    """The parts of `token` that could hold a credential.

    Outside a path, the token itself, unless it is identifiers. In a path,
    each run of segments that are not plain names, when long enough for a
    key: run.jV70fY/templates/dev/secrets keeps its names out of the
    judgement and its 6-character random part is too short to be a key,
    while a base64 key's own slashes keep it in one run, judged whole.
    """
    if "/" not in token:
        return [] if _identifiers(token) else [token]
    runs: list[str] = []
    current: list[str] = []
    for segment in token.split("/"):
        if segment and _plain(segment):
            if current:
                runs.append("/".join(current))
                current = []
        else:
            current.append(segment)
    if current:
        runs.append("/".join(current))
    return [run for run in runs if len(run.strip("/")) >= _SHORTEST_TOKEN]


def _random(token: str) -> bool:
    """Whether `token` is mixed the way random text is, and not identifiers run together."""
    # Tokens are ASCII (see _TOKEN); string methods keep these C loops, so a
    # 200,000-character token costs microseconds, not a Python loop per character.
    has_upper = token != token.lower()
    has_lower = token != token.upper()
    has_digit = _DIGIT.search(token) is not None
    if shannon_entropy(token) < HIGH_ENTROPY_BITS_PER_CHARACTER:
        return False
    if has_digit and (has_upper or has_lower):
        # Letters and digits (hex keys included), mixed the way random text mixes
        # them: identifiers such as Synthetic000CredentialsArn switch class rarely.
        return class_switch_rate(token) >= RANDOM_CLASS_SWITCH_RATE
    if has_upper and has_lower:
        # Letters only: ask for the near-coin-flip switching of random upper and lower case.
        return class_switch_rate(token) >= RANDOM_LETTERS_SWITCH_RATE
    return False


def _high_entropy_runs(token: str) -> list[str]:
    """The runs of `token` that look like a credential."""
    return [run for run in _suspect_runs(token) if _random(run)]


def _high_entropy(token: str) -> bool:
    return bool(_high_entropy_runs(token))


def scan_line(line: str) -> list[str]:
    """The kinds of credential `line` seems to hold; empty when none."""
    kinds = [
        kind for kind, pattern in CREDENTIAL_SHAPES.items() if pattern.search(line)
    ]
    tokens = _TOKEN.findall(_PACKAGE_DIGEST.sub("", line))
    if any(_high_entropy(token) for token in tokens):
        kinds.append("a high-entropy token")
    return kinds


def scan_text(text: str, source: str) -> list[Leak]:
    return [
        Leak(source, number, kind)
        for number, line in enumerate(text.splitlines(), 1)
        for kind in scan_line(line)
    ]


def known_placeholder_values(
    catalogue: Iterable[SecretSpec] = CATALOGUE,
) -> frozenset[str]:
    """Every placeholder field that is not a public constant (an endpoint URL is not a secret)."""
    return frozenset(
        spec.placeholder(env)[field]
        for env in ENVIRONMENTS.values()
        for spec in catalogue
        for field in spec.secret_fields(env)
    )


def redact(line: str, known_values: Iterable[str] = ()) -> str:
    """`line` with every credential-shaped token and known value replaced by a marker naming its kind."""
    for value in known_values:
        if value:
            line = line.replace(value, "[REDACTED secret value]")
    for kind, pattern in CREDENTIAL_SHAPES.items():
        line = pattern.sub(f"[REDACTED {kind}]", line)
    return _TOKEN.sub(lambda m: _redact_runs(m.group()), line)


def _redact_runs(token: str) -> str:
    """`token` with each credential-like run replaced, and the names around it (a path's) kept."""
    for run in _high_entropy_runs(token):
        token = token.replace(run, "[REDACTED high-entropy token]")
    return token


class RedactingFilter(logging.Filter):
    """The last line of defence on a tool's log handler: a line that would leak is redacted, never printed, and escaped.

    Tests assert the tools never log a value in the first place; this keeps a
    future slip from reaching a terminal or a CI log.
    """

    def __init__(self, known_values: Iterable[str] = ()):
        super().__init__()
        self._known = tuple(known_values)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        # Escaped too: a logged name or path could carry a control character.
        clean = printable(redact(message, self._known))
        if clean != message:
            record.msg, record.args = clean, ()
        return True
