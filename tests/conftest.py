from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from support import profiling, verdicts
from support.grouping import UNIT_GROUP, split_groups
from support.repository import ROOT
from support.timings import (
    DEPLOY_TIMINGS_KEY,
    DEPLOY_TIMINGS_REPORT,
    deploy_timings_table,
    write_deploy_timings,
)

from generator.build import generate
from generator.checks.lint import Linter, LintJob
from generator.environments import ENVIRONMENTS

INTEGRATION = Path(__file__).parent / "integration"


# First: pytest-xdist reads the groups in its own hook of the same name.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Which process runs what, under the test command's `--dist loadgroup`.

    Each deployment module (tests/integration/) needs the engine, which
    `python3 tasks.py unit` leaves out by its mark, and runs whole in one
    process: its stacks are module fixtures, deployed once, in accounts of its
    own. The unit tests run together in one process: on two cores, each more
    process cost its own collection, imports and rule set, and bought no time.
    A module that names its own group (the checkov gate) keeps it.
    """
    for item in items:
        if INTEGRATION in Path(item.path).parents:
            item.add_marker(pytest.mark.engine)
            item.add_marker(pytest.mark.xdist_group(Path(item.path).stem))
        elif not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(UNIT_GROUP))


_RAN_ON = pytest.StashKey[dict[str, str]]()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """In the xdist controller: which worker ran each test."""
    node = getattr(report, "node", None)
    if node is not None and report.when == "call":
        config = node.config
        config.stash.setdefault(_RAN_ON, {})[report.nodeid] = node.gateway.id


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The test command's grouping, checked in the run itself: a group split over processes fails it."""
    ran_on = session.config.stash.get(_RAN_ON, {})
    if session.config.getoption("dist", "no") != "loadgroup" or not ran_on:
        return
    split = split_groups(ran_on)
    if split:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for group, workers in split.items():
            line = f"xdist group {group} ran on {', '.join(workers)}: it must run whole on one process"
            if reporter is not None:
                reporter.write_line(f"ERROR: {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    """Under `python3 tasks.py test --profile`, each test's cost is recorded (tests/support/profiling.py)."""
    profiling.register(config)


# The same examples on every run, and no deadline on a busy machine: a test
# run must not pass or fail by chance.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.load_profile("repeatable")


@pytest.fixture(scope="session", autouse=True)
def cfn_lint_untraced() -> Iterator[None]:
    """cfn-lint's own checks run without the coverage tracer.

    Coverage measures generator/, not cfn-lint, yet a line tracer still takes
    every call cfn-lint's schema validation makes: it doubled the CPU of every
    test that lints. The tracer stops for the call into cfn-lint only; the
    project's own cfn-lint rules are measured where they are tested directly
    (tests/checks/test_cfn_rules.py calls each rule's match).
    """
    import cfnlint.runner

    run = cfnlint.runner.run_template_by_data

    def untraced(*args: Any, **kwargs: Any) -> Any:
        tracer = sys.gettrace()
        sys.settrace(None)
        try:
            # A list: the generator would otherwise run after the tracer is back.
            return list(run(*args, **kwargs))
        finally:
            sys.settrace(tracer)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cfnlint.runner, "run_template_by_data", untraced)
        yield


@pytest.fixture(autouse=True)
def generator_logging_as_it_was() -> Iterator[None]:
    """A tool run in this process configures the package's logger (`--quiet` sets WARNING); undo it.

    Otherwise a later test in the same process, asking caplog for INFO, would
    see nothing, depending on which tests ran before it.
    """
    logger = logging.getLogger("generator")
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


class RememberingLinter(Linter):
    """The build's linter, remembering its findings for an input it has already linted, in this run or an earlier one.

    cfn-lint's findings depend only on the job (template text, regions,
    parameters) and the rule set; many tests build the committed templates
    again, and each lint costs about a second. The findings are kept in
    memory for this run, and on disk (tests/support/verdicts.py) under a key
    that holds every rule file and cfn-lint's version, so that a warm run
    skips what it has proven and a changed rule lints everything again. The
    rule set is loaded only once a job is not remembered. A test that changes
    a template or a parameter makes a new job and gets a real lint; `lint_now`
    always lints. Builds that fork lint processes (tests/checks/test_lint.py)
    use the build's own Linter there, not this one.
    """

    def __init__(self, config_file: Path, record: verdicts.LintFindings | None = None):
        # Not Linter.__init__ yet: loading the rules is the cost this class avoids.
        self._config_path = config_file
        self._loaded = False
        self._record = record
        self._findings: dict[tuple[object, ...], list[str]] = {}

    def lint_now(self, job: LintJob) -> list[str]:
        """cfn-lint's findings, linted now, whatever is remembered."""
        if not self._loaded:
            super().__init__(self._config_path)
            self._loaded = True
        return super().lint(job)

    def lint(self, job: LintJob) -> list[str]:
        # Every field of the job, so a field added to LintJob is part of the key too.
        key = tuple(
            tuple(sorted(value.items())) if isinstance(value, Mapping) else value
            for value in (getattr(job, field.name) for field in dataclasses.fields(job))
        )
        if key not in self._findings:
            recorded = self._record.get(job) if self._record else None
            if recorded is None:
                recorded = self.lint_now(job)
                if self._record:
                    self._record.put(job, recorded)
            self._findings[key] = recorded
        return list(self._findings[key])


@pytest.fixture(scope="session")
def linter() -> RememberingLinter:
    """One rule set for the whole session, as the build uses it; findings remembered across runs."""
    return RememberingLinter(
        ROOT / ".cfnlintrc",
        verdicts.LintFindings(
            verdicts.DIRECTORY / "lint-findings", ROOT / ".cfnlintrc"
        ),
    )


@pytest.fixture(scope="session")
def templates() -> dict[str, dict]:
    return {name: json.loads(generate(env)) for name, env in ENVIRONMENTS.items()}


@pytest.fixture(scope="session")
def passed_lint_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lint cache holding cfn-lint's passes of the committed templates, filled by one real build per test run.

    Under xdist the test processes of one run share it (the first fills it,
    under a lock), instead of each linting the same three templates again.
    """
    from generator.build import build

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:
        directory = tmp_path_factory.mktemp("passed-lint-cache")
    else:
        # The base temp of each worker sits in one directory per run.
        directory = tmp_path_factory.getbasetemp().parent / f"passed-lint-cache-{run}"
    directory.mkdir(exist_ok=True)
    with open(directory / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / "filled").exists():
            build(
                list(ENVIRONMENTS.values()),
                directory / "templates",
                ROOT / "params",
                ROOT / ".cfnlintrc",
                cache_dir=directory / "cache",
            )
            (directory / "filled").touch()
    return directory / "cache"


@pytest.fixture
def lint_in_this_process(monkeypatch: pytest.MonkeyPatch, linter: Linter) -> Linter:
    """Builds in this test lint here, with the session's rule set, not in forked lint processes.

    For tests about something other than how linting is spread over processes
    (tests/checks/test_lint.py and the process-count tests keep the real
    thing): each build would otherwise fork a loader that loads cfn-lint's
    rules again, a second of CPU per build.
    """
    from generator.checks import lint

    monkeypatch.setattr(lint.LintWorkers, "__enter__", lambda self: self)
    monkeypatch.setattr(lint, "Linter", lambda _config: linter)
    return linter


@pytest.fixture
def warm_lint_cache(passed_lint_cache: Path, tmp_path: Path) -> Path:
    """A copy of that cache, for a test about something other than cfn-lint: it spends no time linting
    the committed templates again, and whatever it changes is linted as usual."""
    import shutil

    cache = tmp_path / "warm-lint-cache"
    shutil.copytree(passed_lint_cache, cache)
    return cache


@pytest.fixture
def params_copy(tmp_path, root) -> Path:
    """A copy of the parameter files, to break without touching the repository."""
    target = tmp_path / "params"
    shutil.copytree(root / "params", target)
    return target


@pytest.fixture
def committed_copy(tmp_path, root) -> Path:
    """A copy of the committed templates, to edit and rebuild without touching the repository."""
    target = tmp_path / "templates"
    shutil.copytree(root / "templates", target)
    return target


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook; absent without it
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the controller: gather each worker's deploy timings (tests/integration/conftest.py sends them)."""
    gathered = json.loads(node.workeroutput.get("deploy_timings", "[]"))
    node.config.stash.setdefault(DEPLOY_TIMINGS_KEY, []).extend(gathered)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Every deployment's create time, from every test process, printed once and written for bench/."""
    if hasattr(config, "workeroutput"):
        return
    entries = config.stash.get(DEPLOY_TIMINGS_KEY, [])
    if not entries:
        return
    write_deploy_timings(entries)
    terminalreporter.section(
        "deployment timings (LocalStack; the ticket's bar is < 120 s per secret)"
    )
    for line in deploy_timings_table(entries):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"written to {DEPLOY_TIMINGS_REPORT.relative_to(ROOT)}")
