"""cfn-lint through its Python API: the rules loaded once, a template linted for every region it deploys to.

And the processes that run it beside the build: importing cfn-lint and
loading its rules is over a third of a cold build, so one loader process
starts doing that the moment the build asks, while the build goes on with the
other checks; the linters are forked from it, rules loaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import multiprocessing
import multiprocessing.process
import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml


def custom_rule_files(config_file: Path) -> list[Path]:
    """The rule files `config_file` appends (append_rules), found relative to the file, whatever the cwd.

    Read with PyYAML, not cfn-lint: the lint cache needs them without paying
    for cfn-lint's import.
    """
    settings = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    directories = [
        (config_file.parent / entry).resolve()
        for entry in settings.get("append_rules", [])
    ]
    return sorted(
        path for directory in directories for path in directory.glob("[A-Za-z1-9]*.py")
    )


@dataclass(frozen=True)
class LintJob:
    """One template to lint, with what cfn-lint's verdict depends on besides its rules."""

    text: str
    regions: tuple[str, ...]
    parameters: Mapping[str, str]
    parameter_source: str


class Linter:
    """cfn-lint with the rule set loaded once and reused for every template.

    Loading the rules is the expensive part of cfn-lint; `cfnlint.api.lint`
    would reload them on every call.
    """

    def __init__(self, config_file: Path):
        # Imported here: cfn-lint takes over a second to import, and only
        # linting, not --check or the library's pure builders, needs it.
        from cfnlint.runner import Runner

        self._config_file = config_file
        self._rules = Runner(self._config(regions=["us-east-1"])).rules

    def _config(self, **manual_args: Any) -> Any:
        from cfnlint.config import ConfigMixIn

        # The rule directories as absolute paths: the file's own entries are
        # relative to the repository root, so they hold only when run from there.
        rule_directories = sorted(
            {str(path.parent) for path in custom_rule_files(self._config_file)}
        )
        return ConfigMixIn(
            ["--config-file", str(self._config_file)],
            append_rules=rule_directories,
            **manual_args,
        )

    def lint(self, job: LintJob) -> list[str]:
        """Findings of every enabled rule, in every region, with the parameter file's values checked too."""
        from cfnlint.context.parameters import ParameterSet
        from cfnlint.decode.decode import decode_str
        from cfnlint.helpers import REGIONS
        from cfnlint.runner import run_template_by_data

        unknown_regions = sorted(set(job.regions) - set(REGIONS))
        if unknown_regions:
            return [f"cfn-lint: unknown region(s) {', '.join(unknown_regions)}"]
        template, parse_errors = decode_str(job.text)
        matches = list(parse_errors or [])
        if not parse_errors:
            config = self._config(
                regions=list(job.regions),
                parameters=[ParameterSet(job.parameter_source, dict(job.parameters))],
            )
            matches = list(run_template_by_data(template, config, self._rules))
        return [self._describe(match) for match in matches]

    @staticmethod
    def _describe(match: Any) -> str:
        path = "/".join(str(part) for part in getattr(match, "path", None) or ())
        where = (
            f"{path} (line {match.linenumber})" if path else f"line {match.linenumber}"
        )
        return f"cfn-lint {match.rule.id} {where}: {match.message}"


_WORKER_LINTER: Linter | None = None
# prctl(2): deliver a signal to this process when its parent thread dies.
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to end this process when its parent dies, however it dies (a killed build leaves no orphans)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before the request was made
        os._exit(0)


def _quiet_child() -> None:
    # Ctrl-C is the build's to handle: it stops the workers and says one line.
    # A SIGTERM (the workers stopping, or a parent dying) ends a child quietly,
    # whatever handler it inherited.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING_SIGNALS)
    _die_with_parent()


_STOPPING_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while forking: the child inherits them blocked.

    A signal that came between the fork and the child's own handlers would
    otherwise run the parent's handler in the child (a traceback). The child
    unblocks them once its handlers are set (_quiet_child); this process gets
    any that arrived meanwhile the moment the block ends.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _lint_in_worker(job: LintJob) -> list[str]:
    assert _WORKER_LINTER is not None, "worker started without its linter"
    # A lint allocates heavily and lives for one template: collecting cycles
    # while it runs costs an eighth of its time and frees little (measured).
    gc.disable()
    try:
        return _WORKER_LINTER.lint(job)
    finally:
        gc.enable()


def _serve(lint_config: Path, requests: Connection, max_linters: int) -> None:
    """The loader: import cfn-lint and load its rules once, then lint each batch in children forked from it.

    The children inherit the loaded rules instead of loading them again, so
    the cores go to linting, not to loading the same rules twice. Whatever
    goes wrong is handed back as the answer, for the build to raise.
    """
    _quiet_child()
    global _WORKER_LINTER
    failed: Exception | None = None
    # The rule set is a large graph of objects built once and kept: the
    # collector's passes over it while it is built cost a third of the load,
    # and find nothing to free.
    gc.disable()
    try:
        _WORKER_LINTER = Linter(lint_config)
    except Exception as error:
        failed = error
    # Out of the collector's sight for good: the children neither scan these
    # objects nor touch their pages, which they share with this process.
    gc.freeze()
    gc.enable()
    context = multiprocessing.get_context("fork")
    with contextlib.suppress(EOFError, BrokenPipeError):  # the build has gone
        while (jobs := requests.recv()) is not None:
            answer: Any = failed
            if failed is None:
                try:
                    if len(jobs) == 1 or max_linters == 1:
                        answer = [_lint_in_worker(job) for job in jobs]
                    else:
                        linters = min(len(jobs), max_linters)
                        with context.Pool(linters, _quiet_child) as pool:
                            answer = pool.map(_lint_in_worker, jobs, chunksize=1)
                except Exception as error:
                    answer = error
            requests.send(answer)


class LintWorkers:
    """A context manager: cfn-lint in processes of its own, loading as soon as the block starts.

    One loader process imports cfn-lint and loads its rules while the build
    goes on; each `lint` call then lints in children forked from it, one per
    template, up to `max_workers` at once (default: one per core, and one
    more, so that no core idles while the last template finishes). A single
    template is linted in the loader itself. `lint` may be called any number
    of times inside the block; each block starts afresh. Without fork, or
    with nothing to lint, cfn-lint runs in this process instead, when asked.
    """

    def __init__(
        self, lint_config: Path, templates: int, max_workers: int | None = None
    ):
        self._lint_config = lint_config
        self._templates = templates
        self._max_linters = max_workers or (os.cpu_count() or 1) + 1
        self._loader: multiprocessing.process.BaseProcess | None = None
        self._requests: Connection | None = None
        self._in_process: Linter | None = None

    def __enter__(self) -> LintWorkers:
        if self._templates >= 1 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._requests, loader_end = context.Pipe()
            # Not a daemon: daemonic processes may not have children. It ends
            # with the block, or with this process (_die_with_parent).
            self._loader = context.Process(
                target=_serve,
                args=(self._lint_config, loader_end, self._max_linters),
                name="cfn-lint loader",
            )
            with _signals_held():
                self._loader.start()
            loader_end.close()
        return self

    def lint(self, jobs: Sequence[LintJob]) -> list[list[str]]:
        """Each job's findings, in the order of `jobs`."""
        if self._requests is not None:
            self._requests.send(list(jobs))
            try:
                answer = self._requests.recv()
            except EOFError:
                raise RuntimeError("the cfn-lint loader process died") from None
            if isinstance(answer, Exception):
                raise answer
            return list(answer)
        if self._in_process is None:
            self._in_process = Linter(self._lint_config)
        return [self._in_process.lint(job) for job in jobs]

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._loader is not None:
            assert self._requests is not None
            if kind is None:
                with contextlib.suppress(OSError):
                    self._requests.send(None)
                self._loader.join(timeout=5)
            # After an error or an interrupt nothing more is wanted from it;
            # its linters end with it (_die_with_parent).
            if self._loader.is_alive():
                self._loader.terminate()
                self._loader.join()
            self._requests.close()
            self._loader = None
            self._requests = None
