"""The build as a library: generate, validate, and write every template or none.

`build.py` at the repository root is a thin command-line layer over this.
"""

from __future__ import annotations

import difflib
import logging
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from troposphere import Template

from generator.catalogue import CATALOGUE, SecretSpec
from generator.environments import Environment
from generator.errors import ConfigurationError, ValidationError
from generator.files import write_atomically
from generator.params import load_parameter_file, parameter_file_path
from generator.template import build_template, render
from generator.lint_cache import ValidationCache
from generator.validation import Linter, static_problems

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
    lint_cached: bool = False


def template_path(output_dir: Path, env: Environment) -> Path:
    return output_dir / env.name / TEMPLATE_FILE_NAME


def generate(env: Environment, catalogue: Iterable[SecretSpec] = CATALOGUE) -> str:
    """The rendered template for one environment; pure, no validation, no I/O."""
    return render(build_template(env, tuple(catalogue)))


@dataclass
class _Draft:
    """One environment's template on its way through the build: generated, checked, then written or refused."""

    env: Environment
    template: Template
    text: str
    parameters: dict[str, str]
    parameter_source: str
    cache_key: str
    lint_cached: bool
    seconds: float
    findings: list[str] = field(default_factory=list)


_WORKER_LINTER: Linter | None = None


def _load_worker_linter(lint_config: Path) -> None:
    global _WORKER_LINTER
    _WORKER_LINTER = Linter(lint_config)


def _lint_job(job: tuple[str, tuple[str, ...], dict[str, str], str]) -> list[str]:
    assert _WORKER_LINTER is not None
    return _WORKER_LINTER.lint(*job)


class _LintWorkers:
    """cfn-lint in worker processes that start importing it and loading its rules at once,
    on their own cores, while the parent goes on with the static checks.

    Importing cfn-lint and loading its rules is over half of a cold build; the
    three lints then run side by side. One job, or one core, runs in-process.
    """

    def __init__(self, lint_config: Path, jobs: int, processes: int | None):
        workers = min(jobs, processes or os.cpu_count() or 1)
        self._pool = None
        if workers >= 2 and "fork" in multiprocessing.get_all_start_methods():
            self._pool = multiprocessing.get_context("fork").Pool(workers, _load_worker_linter, (lint_config,))
        else:
            _load_worker_linter(lint_config)

    def lint(self, jobs: list[tuple[str, tuple[str, ...], dict[str, str], str]]) -> list[list[str]]:
        if self._pool is None:
            return [_lint_job(job) for job in jobs]
        with self._pool:
            return self._pool.map(_lint_job, jobs, chunksize=1)


def build(
    environments: Sequence[Environment],
    output_dir: Path,
    params_dir: Path,
    lint_config: Path,
    catalogue: Iterable[SecretSpec] = CATALOGUE,
    cache_dir: Path | None = None,
    processes: int | None = None,
) -> list[BuildResult]:
    """Generate and validate every environment's template, then write them all, or none if any fails.

    With `cache_dir`, a template cfn-lint already passed with the same
    parameters, regions, configuration and cfn-lint version is not linted again.
    `processes` caps the lint workers (default: one per core).
    """
    catalogue = tuple(catalogue)
    cache = ValidationCache(cache_dir, lint_config)
    drafts = []
    for env in environments:
        started = time.perf_counter()
        source = parameter_file_path(params_dir, env)
        parameters = load_parameter_file(source)
        template = build_template(env, catalogue)
        text = render(template)
        key = cache.key(text, env.regions, parameters)
        drafts.append(_Draft(env, template, text, parameters, str(source), key, cache.passed(key), time.perf_counter() - started))
    to_lint = [draft for draft in drafts if not draft.lint_cached]
    # Started before the static checks so that cfn-lint loads while they run.
    workers = _LintWorkers(lint_config, len(to_lint), processes) if to_lint else None

    for draft in drafts:
        started = time.perf_counter()
        draft.findings = static_problems(draft.env, catalogue, draft.text, draft.parameters, draft.parameter_source)
        if draft.lint_cached:
            LOG.info("%s: cfn-lint passed this exact template before (cache %s)", draft.env.name, draft.cache_key[:12])
        draft.seconds += time.perf_counter() - started
    if workers:
        started = time.perf_counter()
        jobs = [(draft.text, draft.env.regions, draft.parameters, draft.parameter_source) for draft in to_lint]
        for draft, lint_findings in zip(to_lint, workers.lint(jobs)):
            LOG.info("%s: cfn-lint (informational included) in %s: %d finding(s)", draft.env.name, ", ".join(draft.env.regions), len(lint_findings))
            draft.findings += lint_findings
            if not lint_findings:
                cache.record_pass(draft.cache_key)
        LOG.info("cfn-lint: %d template(s) in %.2f s", len(to_lint), time.perf_counter() - started)
    all_findings = [f"{draft.env.name}: {finding}" for draft in drafts for finding in draft.findings]
    if all_findings:
        raise ValidationError(all_findings)
    results = []
    for draft in drafts:
        result = BuildResult(
            env=draft.env,
            path=template_path(output_dir, draft.env),
            resource_count=len(draft.template.resources),
            size_bytes=len(draft.text.encode("utf-8")),
            lint_findings=len(draft.findings),
            seconds=draft.seconds,
            lint_cached=draft.lint_cached,
        )
        write_atomically(result.path, draft.text)
        LOG.info("%s: wrote %s", draft.env.name, result.path)
        results.append(result)
    return results


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
