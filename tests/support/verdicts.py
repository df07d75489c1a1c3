"""What a slow, deterministic scanner said about inputs that have not changed since: checkov, the cfn-lint CLI, cfn-lint's API.

Like the build's lint cache (generator/checks/lint_cache.py), but for a whole
command's output. The key holds everything the output depends on: the
command line, the installed tool (its virtual environment's fingerprint, which
covers every pinned package and the Python), and the bytes of every file it
reads (the checked templates, .cfnlintrc, the rule files, the planted
fixtures, checkov's configuration). So a warm run skips what it has already
proven, a changed rule file runs the scanner again, and the tests assert on
the output either way. Records live in .cache/verdicts/ (git-ignored); an
output that says the tool itself failed is never recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from generator.checks.lint import LintJob
from support.repository import ROOT

# Bump when what a key covers changes, to orphan every older record.
FORMAT = "1"
DIRECTORY = ROOT / ".cache" / "verdicts"


@dataclass(frozen=True)
class ToolRun:
    returncode: int
    stdout: str
    stderr: str
    # Read from a record rather than run now.
    remembered: bool = False


def installed(tool: Path) -> str:
    """Which install of `tool` this is: its virtual environment's fingerprint stamp (devtools/environments.py)."""
    environment = tool.parent.parent
    stamps = sorted(path.name for path in environment.glob(".installed-*"))
    return f"{tool}:{','.join(stamps) or 'unstamped'}"


def _files(inputs: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file())
        else:
            found.append(path)
    return sorted(set(found))


def key(command: Sequence[str], inputs: Iterable[Path], tool: str) -> str:
    """The record's name: a digest of the command, the tool and every input's path and bytes."""
    digest = hashlib.sha256(
        json.dumps([FORMAT, list(command), tool], separators=(",", ":")).encode()
    )
    for path in _files(inputs):
        digest.update(str(path).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def run(
    command: Sequence[str],
    *,
    inputs: Iterable[Path],
    tool: str,
    sound: Callable[[ToolRun], bool],
    directory: Path = DIRECTORY,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> ToolRun:
    """The tool's output for these inputs: remembered if a sound run was recorded under the same key, else run now."""
    inputs = list(inputs)
    record = directory / f"{key(command, inputs, tool)}.json"
    try:
        return ToolRun(**json.loads(record.read_text()), remembered=True)
    except (OSError, ValueError, TypeError):
        pass
    done = subprocess.run(
        list(command),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    fresh = ToolRun(done.returncode, done.stdout, done.stderr)
    if sound(fresh):
        directory.mkdir(parents=True, exist_ok=True)
        scratch = record.with_suffix(f".{os.getpid()}.tmp")
        fields = asdict(fresh)
        del fields["remembered"]
        scratch.write_text(json.dumps(fields))
        scratch.replace(record)
    return fresh


class LintFindings:
    """cfn-lint's findings for a job, as the session's linter (tests/conftest.py) found them before.

    The key is the build's lint-cache key (the template, its regions and
    parameter values, .cfnlintrc, every rule file, cfn-lint's version) and the
    parameter file's name, which a finding may quote. Unlike the build's cache
    it keeps findings, not only passes: a test asserts on them either way.
    """

    def __init__(self, directory: Path, lint_config: Path):
        from generator.checks.lint_cache import LintVerdictCache

        self._directory = directory
        self._keys = LintVerdictCache(directory, lint_config)

    def _path(self, job: LintJob) -> Path:
        material = json.dumps(
            [FORMAT, self._keys.key(job), job.parameter_source, list(job.regions)]
        )
        return self._directory / f"{hashlib.sha256(material.encode()).hexdigest()}.json"

    def get(self, job: LintJob) -> list[str] | None:
        try:
            findings = json.loads(self._path(job).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(findings, list) or not all(
            isinstance(f, str) for f in findings
        ):
            return None
        return findings

    def put(self, job: LintJob, findings: list[str]) -> None:
        path = self._path(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps(findings))
        scratch.replace(path)
