"""A content-addressed record of templates cfn-lint has already passed.

cfn-lint is most of a build's time (importing it alone takes longer than
generating every template), and its verdict depends only on what the key
holds: the template bytes, the parameter values (rule E2900 reads them), the
regions, `.cfnlintrc` and cfn-lint's version. So a key that passed once passes
again, and an unchanged rebuild never imports cfn-lint. Only passes are
recorded: a template with findings is linted every time, so its findings are
always printed fresh.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path
from typing import Iterable, Mapping

from generator.errors import ConfigurationError
from generator.files import write_atomically

# Bump when what a key covers changes, to orphan every older entry.
CACHE_FORMAT = "1"


class ValidationCache:
    """Pass records under `directory`; with `directory=None` every lookup misses and nothing is recorded."""

    def __init__(self, directory: Path | None, lint_config: Path):
        self.directory = directory
        self._fixed = (CACHE_FORMAT, version("cfn-lint"), lint_config.read_text(encoding="utf-8")) if directory else ()

    def key(self, text: str, regions: Iterable[str], parameters: Mapping[str, str]) -> str:
        material = json.dumps(
            [*self._fixed, sorted(regions), sorted(parameters.items()), text], ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def _entry(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.passed"

    def passed(self, key: str) -> bool:
        return self.directory is not None and self._entry(key).is_file()

    def record_pass(self, key: str) -> None:
        """Best effort: a cache that cannot be written costs time on the next build, never correctness."""
        if self.directory is None:
            return
        try:
            write_atomically(self._entry(key), "cfn-lint: 0 findings\n")
        except ConfigurationError:
            pass
