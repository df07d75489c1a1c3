"""The build as a library: generate, validate, and write every template or none.

`build.py` at the repository root is a thin command-line layer over this.
"""

from __future__ import annotations

import difflib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from generator.catalogue import CATALOGUE, SecretSpec
from generator.environments import Environment
from generator.errors import ConfigurationError, ValidationError
from generator.params import load_parameter_file, parameter_file_path
from generator.template import build_template, render
from generator.validation import Linter, validate

LOG = logging.getLogger(__name__)
TEMPLATE_FILE_NAME = "secrets.json"
DIFF_LINES_SHOWN = 20


@dataclass(frozen=True)
class BuildResult:
    """What the build did for one environment; the CLI's summary line."""

    env: Environment
    path: Path
    resource_count: int
    size_bytes: int
    lint_findings: int
    seconds: float


def template_path(output_dir: Path, env: Environment) -> Path:
    return output_dir / env.name / TEMPLATE_FILE_NAME


def generate(env: Environment, catalogue: Iterable[SecretSpec] = CATALOGUE) -> str:
    """The rendered template for one environment; pure, no validation, no I/O."""
    return render(build_template(env, tuple(catalogue)))


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step, so that a reader or a crash never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        )
    except OSError as error:
        raise ConfigurationError(f"cannot write to {path.parent}: {error.strerror}") from None
    try:
        with handle:
            # NamedTemporaryFile creates 0600; a template is a public artefact.
            os.fchmod(handle.fileno(), 0o666 & ~_current_umask())
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except OSError as error:
        raise ConfigurationError(f"cannot write {path}: {error.strerror}") from None
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)


def build(
    environments: Sequence[Environment],
    output_dir: Path,
    params_dir: Path,
    lint_config: Path,
    catalogue: Iterable[SecretSpec] = CATALOGUE,
) -> list[BuildResult]:
    """Generate and validate every environment's template, then write them all, or none if any fails."""
    catalogue = tuple(catalogue)
    parameter_sets = {
        env.name: load_parameter_file(parameter_file_path(params_dir, env)) for env in environments
    }
    linter = Linter(lint_config)
    rendered: list[tuple[BuildResult, str]] = []
    findings: list[str] = []
    for env in environments:
        started = time.perf_counter()
        template = build_template(env, catalogue)
        text = render(template)
        source = str(parameter_file_path(params_dir, env))
        env_findings = validate(env, catalogue, text, parameter_sets[env.name], source, linter)
        findings += [f"{env.name}: {finding}" for finding in env_findings]
        result = BuildResult(
            env=env,
            path=template_path(output_dir, env),
            resource_count=len(template.resources),
            size_bytes=len(text.encode("utf-8")),
            lint_findings=len(env_findings),
            seconds=time.perf_counter() - started,
        )
        rendered.append((result, text))
    if findings:
        raise ValidationError(findings)
    for result, text in rendered:
        write_atomically(result.path, text)
        LOG.info("%s: wrote %s", result.env.name, result.path)
    return [result for result, _ in rendered]


def check(
    environments: Sequence[Environment],
    output_dir: Path,
    catalogue: Iterable[SecretSpec] = CATALOGUE,
) -> list[str]:
    """How the templates on disk differ from what the code generates; empty when they match.

    No lint here: a byte-identical template was validated when it was written.
    """
    catalogue = tuple(catalogue)
    differences = []
    for env in environments:
        path = template_path(output_dir, env)
        expected = generate(env, catalogue)
        try:
            actual = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            differences.append(f"{path} is missing")
            continue
        except OSError as error:
            raise ConfigurationError(f"cannot read {path}: {error.strerror}") from None
        if actual != expected:
            diff = list(
                difflib.unified_diff(
                    actual.splitlines(), expected.splitlines(), f"{path} (on disk)", f"{path} (generated)", lineterm=""
                )
            )
            shown = "\n".join(diff[:DIFF_LINES_SHOWN])
            more = f"\n... {len(diff) - DIFF_LINES_SHOWN} more diff lines" if len(diff) > DIFF_LINES_SHOWN else ""
            differences.append(f"{path} differs from what the code generates:\n{shown}{more}")
    return differences
