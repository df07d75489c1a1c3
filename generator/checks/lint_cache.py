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

import contextlib
import hashlib
import json
from importlib.metadata import version
from pathlib import Path

from generator.checks.lint import LintJob, custom_rule_files
from generator.errors import ConfigurationError
from generator.files import read_regular_text, write_atomically

# Bump when what a key covers changes, to orphan every older entry.
CACHE_FORMAT = "2"
ENTRY_MAX_BYTES = 1024


class LintVerdictCache:
    """cfn-lint passes recorded under `directory`; with `directory=None` every lookup misses and nothing is recorded."""

    def __init__(self, directory: Path | None, lint_config: Path):
        self.directory = directory
        self._version = version("cfn-lint")
        # What a verdict depends on besides the job: cfn-lint's version, its
        # configuration, and our own rules, by content.
        self._fixed: tuple[str, ...] = (
            (
                CACHE_FORMAT,
                version("cfn-lint"),
                lint_config.read_text(encoding="utf-8"),
                *(
                    path.read_text(encoding="utf-8")
                    for path in custom_rule_files(lint_config)
                ),
            )
            if directory
            else ()
        )

    def key(self, job: LintJob) -> str:
        material = json.dumps(
            [
                *self._fixed,
                sorted(job.regions),
                sorted(job.parameters.items()),
                job.text,
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def _entry(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.passed"

    def passed(self, key: str) -> bool:
        """Whether a sound entry vouches for `key`; an empty, garbled or mismatched entry is no pass."""
        if self.directory is None:
            return False
        try:
            text = read_regular_text(
                self._entry(key), ENTRY_MAX_BYTES, within=self.directory
            )
            entry = json.loads(text)
        except (ConfigurationError, ValueError):
            return False
        return isinstance(entry, dict) and entry == self._entry_for(key)

    def _entry_for(self, key: str) -> dict[str, object]:
        """What an entry holds: the digest it vouches for (its file name is no evidence) and the verdict."""
        return {
            "format": CACHE_FORMAT,
            "cfn-lint": self._version,
            "vouches_for": key,
            "findings": 0,
        }

    def record_pass(self, key: str) -> None:
        """Best effort: a cache that cannot be written costs time on the next build, never correctness."""
        if self.directory is None:
            return
        with contextlib.suppress(ConfigurationError):
            write_atomically(
                self._entry(key),
                json.dumps(self._entry_for(key), sort_keys=True) + "\n",
            )
