"""Stacks that a deployment module and the module split from it share: deployed once per test process, as session fixtures (tests/integration/conftest.py), in the first module's account."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.engine import DEFAULT, FAULTS, OPERATIONS, USED_ACCOUNTS, deployed
from support.repository import ROOT
from support.timings import record_stack_timings

from generator.environments import ENVIRONMENTS

DEV, PROD = ENVIRONMENTS["dev"], ENVIRONMENTS["prod"]
DEPLOYMENTS = [(env, region) for env in ENVIRONMENTS.values() for region in env.regions]


DEPLOYMENT_IDS = [f"{env.name}-{region}" for env, region in DEPLOYMENTS]


# taskcat refreshes a stack's status every 60 s and polls that every 10 s;
# stacks settle in about a second here.
POLL_SECONDS = 0.5


def prompt_printer() -> Any:
    """taskcat's progress printer, refreshing every stack and polling every POLL_SECONDS instead."""
    from taskcat._tui import TerminalPrinter

    class PromptPrinter(TerminalPrinter):  # type: ignore[misc]
        def report_test_progress(
            self, stacker: Any, poll_interval: float = POLL_SECONDS
        ) -> None:
            while True:
                for stack in stacker.stacks:
                    stack.refresh()
                if not stacker.status()["IN_PROGRESS"]:
                    return
                time.sleep(POLL_SECONDS)

    return PromptPrinter(minimalist=True)


@pytest.fixture(scope="session")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    """Deploy every taskcat test (every environment, every region); delete them all afterwards."""
    from taskcat.testing import CFNTest

    # taskcat makes its own clients in the default account: claim it here,
    # so the session's leftover check looks there even if a deploy fails.
    USED_ACCOUNTS.add(DEFAULT)
    # taskcat uploads its whole project directory to S3 before it deploys,
    # skipping only dot-files: from the repository root that is every cache,
    # report and package directory (35 s here). Its project is the committed
    # configuration and templates, so stage just those.
    project = tmp_path_factory.mktemp("taskcat-project")
    shutil.copy(ROOT / ".taskcat.yml", project / ".taskcat.yml")
    shutil.copytree(ROOT / "templates", project / "templates")
    test = CFNTest.from_file(
        project_root=str(project),
        input_file=str(project / ".taskcat.yml"),
    )
    test.printer = prompt_printer()
    # Our build already linted the templates with our own .cfnlintrc.
    test.lint_disable = True
    test.dont_wait_for_delete = False
    with test as deployed:
        by_env_region = {}
        for stack in deployed:
            env_name = next(name for name in ENVIRONMENTS if f"-{name}-" in stack.name)
            assert stack.status == "CREATE_COMPLETE", (
                f"{stack.name} in {stack.region_name}: {stack.status}"
            )
            by_env_region[(env_name, stack.region_name)] = stack.id
            record_stack_timings(DEFAULT, stack.id, stack.region_name, env_name)
        assert set(by_env_region) == {(env.name, region) for env, region in DEPLOYMENTS}
        yield by_env_region


@pytest.fixture(scope="session")
def prod() -> Iterator[None]:
    """prod in both its regions, in the faults' account (test_faults and the module split from it)."""
    with deployed(FAULTS, PROD):
        yield


@pytest.fixture(scope="session")
def deployed_dev_and_prod():
    """dev in its region and prod in both of its, from the committed templates, in this module's own account."""
    with deployed(OPERATIONS, DEV), deployed(OPERATIONS, PROD):
        yield
