"""How the generated JSON is written: byte-stable, readable, and small enough to upload.

Sorted keys, a one-space indent, a trailing newline, and every object or
list that fits on one line within WIDTH columns written on one line, as code
formatters do. A template is what `--template-body` uploads, and CloudFormation
takes at most 51,200 bytes that way; one element per line would spend a
third of that on indentation. At 160 columns a template of three
integrations still fits (tests/test_catalogue.py builds one).
"""

from __future__ import annotations

import json
from typing import Any

WIDTH = 160


def _write(node: Any, level: int) -> str:
    flat = json.dumps(node, sort_keys=True)
    if not isinstance(node, (dict, list)) or not node or level + len(flat) <= WIDTH:
        return flat
    pad = " " * (level + 1)
    if isinstance(node, dict):
        items = [
            f"{pad}{json.dumps(key)}: {_write(value, level + 1)}"
            for key, value in sorted(node.items())
        ]
        opening, closing = "{", "}"
    else:
        items = [pad + _write(value, level + 1) for value in node]
        opening, closing = "[", "]"
    return opening + "\n" + ",\n".join(items) + "\n" + " " * level + closing


def pretty_json(document: Any) -> str:
    """`document` as JSON text, laid out as above, with a trailing newline."""
    return _write(document, 0) + "\n"
