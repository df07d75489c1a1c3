"""The build as a library: generate, validate, and write every template or none.

`build.py` at the repository root is a thin command-line layer over this.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from troposphere import Template

from generator.catalogue import CATALOGUE, SecretSpec
from generator.checks.limits import TEMPLATE_BODY_MAX_BYTES
from generator.checks.lint import LintJob, LintWorkers
from generator.checks.lint_cache import LintVerdictCache
from generator.checks.replacement import guard_findings
from generator.checks.template_rules import static_problems
from generator.deployer import deployer_files, lint_template, size_problems
from generator.environments import Environment
from generator.errors import ValidationFailed
from generator.files import printable, read_regular_text, write_all_or_nothing
from generator.leaks import redact
from generator.parameter_files import (
    load_parameter_file,
    parameter_file_path,
    refuse_unworkable,
)
from generator.stack_policy import STACK_POLICY_FILE_NAME, render_stack_policy
from generator.template import build_template, render

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
    seconds: float
    # True when cfn-lint passed this exact template before and was not run again.
    lint_cached: bool


def template_path(output_dir: Path, env: Environment) -> Path:
    return output_dir / env.name / TEMPLATE_FILE_NAME


def stack_policy_path(output_dir: Path, env: Environment) -> Path:
    return output_dir / env.name / STACK_POLICY_FILE_NAME


def companion_files(output_dir: Path, env: Environment, text: str) -> dict[Path, str]:
    """What is written beside a template: its stack policy, and what deploys it (generator/deployer.py)."""
    template = json.loads(text)
    return {
        stack_policy_path(output_dir, env): render_stack_policy(template),
        **{
            output_dir / env.name / name: body
            for name, body in deployer_files(env, template).items()
        },
    }


def _read_on_disk(path: Path, output_dir: Path) -> str:
    """A file the build wrote before, read as untrusted: regular, bounded, inside `output_dir`."""
    return read_regular_text(path, 2 * TEMPLATE_BODY_MAX_BYTES, within=output_dir)


def generate(env: Environment, catalogue: Iterable[SecretSpec] = CATALOGUE) -> str:
    """The rendered template for one environment; pure, no validation, no I/O."""
    return render(build_template(env, tuple(catalogue)))


@dataclass
class _Draft:
    """One environment's template on its way through the build: generated, checked, then written or refused."""

    env: Environment
    template: Template
    lint_job: LintJob
    cache_key: str
    lint_cached: bool
    seconds: float
    findings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.lint_job.text


def _deployer_job(env: Environment, text: str, params_dir: Path) -> LintJob:
    """The deployer policy (and prod's execution role) as a template to lint, in the environment's regions."""
    checked = lint_template(env, json.loads(text))
    parameters = (
        {"AdministratorAccountId": "111111111111"} if env.deployed_as_stack_set else {}
    )
    return LintJob(checked, env.regions, parameters, f"{env.name} deployer policy")


def _draft(
    env: Environment,
    catalogue: tuple[SecretSpec, ...],
    params_dir: Path,
    cache: LintVerdictCache,
) -> _Draft:
    started = time.perf_counter()
    source = parameter_file_path(params_dir, env)
    parameters = load_parameter_file(source)
    refuse_unworkable(env, parameters, source)
    template = build_template(env, catalogue)
    job = LintJob(render(template), env.regions, parameters, str(source))
    key = cache.key(job)
    return _Draft(
        env, template, job, key, cache.passed(key), time.perf_counter() - started
    )


def build(
    environments: Sequence[Environment],
    output_dir: Path,
    params_dir: Path,
    lint_config: Path,
    catalogue: Iterable[SecretSpec] = CATALOGUE,
    cache_dir: Path | None = None,
    max_lint_workers: int | None = None,
    lint_workers: LintWorkers | None = None,
    allow_replacement: Iterable[str] = (),
) -> list[BuildResult]:
    """Generate and validate every environment's template, then write them all, or none if any fails.

    With `cache_dir`, a template cfn-lint already passed with the same
    parameters, regions, configuration and cfn-lint version is not linted again.
    `max_lint_workers` caps the lint processes (default: one per core, and one
    more). A caller that knows cfn-lint will be needed can pass `lint_workers`
    it entered earlier, so that cfn-lint loads while this module's own
    imports do; the caller then ends them.

    Before anything is written, each new template is compared with the one on
    disk (the committed one): a change that removes or replaces a stateful
    resource fails the build unless its logical id is in `allow_replacement`.
    """
    catalogue = tuple(catalogue)
    cache = LintVerdictCache(cache_dir, lint_config)
    drafts = [_draft(env, catalogue, params_dir, cache) for env in environments]
    # What deploys each template is linted beside it: every action and ARN of its policies.
    deployers = {
        draft.env.name: _deployer_job(draft.env, draft.text, params_dir)
        for draft in drafts
    }
    deployers_to_lint = {
        name: job for name, job in deployers.items() if not cache.passed(cache.key(job))
    }
    to_lint = [draft for draft in drafts if not draft.lint_cached]
    # Entered before the static checks so that cfn-lint loads while they run.
    with (
        LintWorkers(
            lint_config, len(to_lint) + len(deployers_to_lint), max_lint_workers
        )
        if lint_workers is None
        else contextlib.nullcontext(lint_workers)
    ) as workers:
        for draft in drafts:
            started = time.perf_counter()
            draft.findings = static_problems(
                draft.env,
                catalogue,
                draft.text,
                draft.lint_job.parameters,
                draft.lint_job.parameter_source,
            )
            if draft.lint_cached:
                LOG.info(
                    "%s: cfn-lint passed this exact template before (cache %s)",
                    draft.env.name,
                    draft.cache_key[:12],
                )
            draft.seconds += time.perf_counter() - started
        for draft in drafts:
            draft.findings += size_problems(draft.env, json.loads(draft.text))
        if to_lint or deployers_to_lint:
            started = time.perf_counter()
            linted = workers.lint(
                [draft.lint_job for draft in to_lint] + list(deployers_to_lint.values())
            )
            for (name, job), lint_findings in zip(
                deployers_to_lint.items(), linted[len(to_lint) :], strict=True
            ):
                drafted = next(draft for draft in drafts if draft.env.name == name)
                drafted.findings += [
                    f"{job.parameter_source}: {f}" for f in lint_findings
                ]
                if not lint_findings:
                    cache.record_pass(cache.key(job))
            for draft, lint_findings in zip(
                to_lint,
                linted[: len(to_lint)],
                strict=True,
            ):
                LOG.info(
                    "%s: cfn-lint (informational included) in %s: %d finding(s)",
                    draft.env.name,
                    ", ".join(draft.env.regions),
                    len(lint_findings),
                )
                draft.findings += lint_findings
                if not lint_findings:
                    cache.record_pass(draft.cache_key)
            LOG.info(
                "cfn-lint: %d template(s) in %.2f s",
                len(to_lint) + len(deployers_to_lint),
                time.perf_counter() - started,
            )
    all_findings = [
        f"{draft.env.name}: {finding}" for draft in drafts for finding in draft.findings
    ]
    all_findings += guard_findings(
        {d.env.name: (template_path(output_dir, d.env), d.text) for d in drafts},
        output_dir,
        frozenset(allow_replacement),
    )
    if all_findings:
        raise ValidationFailed(all_findings)
    results = [
        BuildResult(
            env=draft.env,
            path=template_path(output_dir, draft.env),
            resource_count=len(draft.template.resources),
            size_bytes=len(draft.text.encode("utf-8")),
            seconds=draft.seconds,
            lint_cached=draft.lint_cached,
        )
        for draft in drafts
    ]
    files = {}
    for result, draft in zip(results, drafts, strict=True):
        files[result.path] = draft.text
        files |= companion_files(output_dir, draft.env, draft.text)
    write_all_or_nothing(files)
    for path in files:
        LOG.info("wrote %s", path)
    return results


def _diff(path: Path, actual: str, expected: str) -> str:
    """The first lines of the difference, redacted and escaped: the file on disk may hold anything."""
    lines = list(
        difflib.unified_diff(
            actual.splitlines(),
            expected.splitlines(),
            f"{path} (on disk)",
            f"{path} (generated)",
            lineterm="",
        )
    )
    shown = "\n".join(printable(redact(line)) for line in lines[:DIFF_LINES_SHOWN])
    more = (
        f"\n... {len(lines) - DIFF_LINES_SHOWN} more diff lines"
        if len(lines) > DIFF_LINES_SHOWN
        else ""
    )
    return (
        f"{printable(str(path))} differs from what the code generates:\n{shown}{more}"
    )


def check(
    environments: Sequence[Environment],
    output_dir: Path,
    catalogue: Iterable[SecretSpec] = CATALOGUE,
) -> list[str]:
    """How the templates and the files beside them differ from what the code generates; empty when they match.

    No lint here: a byte-identical template was validated when it was written.
    The files on disk are read as untrusted: regular files only, bounded,
    never through a link out of `output_dir`.
    """
    catalogue = tuple(catalogue)
    differences = []
    for env in environments:
        template = generate(env, catalogue)
        expected_files = {
            template_path(output_dir, env): template,
            **companion_files(output_dir, env, template),
        }
        for path, expected in expected_files.items():
            if not path.exists() and not path.is_symlink():
                differences.append(f"{printable(str(path))} is missing")
                continue
            actual = _read_on_disk(path, output_dir)
            if actual != expected:
                differences.append(_diff(path, actual, expected))
    return differences
