"""Loaded by every Python process of a `python3 tasks.py test --profile` run: what each one costs, in a ledger.

`tasks.py test --profile` puts this directory first on PYTHONPATH and names a
ledger directory in TRADING_PROFILE_DIR; Python imports `sitecustomize` from
the path at start-up, so every process the run starts (pytest's workers, a
build, trading-secrets, the cfn-lint CLI, checkov) appends its own lines to
`<ledger>/process-<pid>.jsonl`:

- "started": the program (a script's name, or `-m module`), never the rest of
  the command line;
- "cfn-lint rules loaded": each time cfn-lint's Runner loads its rule set (the
  costly part of linting, which the suite tries to do once);
- "stack created": each CreateStack, and each CreateChangeSet of type CREATE,
  made through botocore by any process (taskcat, the tests, the tools, the
  proxy's StackSets);
- "exited": the process's own CPU seconds and its AWS calls, by operation.

Standard library only, and nothing at all happens without TRADING_PROFILE_DIR.
"""

from __future__ import annotations

import atexit
import collections
import importlib.abc
import importlib.machinery
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

LEDGER_VARIABLE = "TRADING_PROFILE_DIR"
_calls: collections.Counter[str] = collections.Counter()


def _program() -> str:
    argv = [str(part) for part in getattr(sys, "orig_argv", sys.argv)[1:]]
    while argv and argv[0].startswith("-") and argv[0] not in ("-m", "-c"):
        argv.pop(0)
    if not argv:
        return "python"
    if argv[0] == "-m" and len(argv) > 1:
        return f"-m {argv[1]}"
    if argv[0] == "-c":
        return "-c"
    return os.path.basename(argv[0])


def _record(event: str, **fields: Any) -> None:
    directory = os.environ.get(LEDGER_VARIABLE)
    if not directory:
        return
    line = json.dumps(
        {"event": event, "pid": os.getpid(), "time": time.time(), **fields}
    )
    try:
        with open(
            os.path.join(directory, f"process-{os.getpid()}.jsonl"), "a"
        ) as ledger:
            ledger.write(line + "\n")
    except OSError:
        pass  # a profile is a help, never a reason for a run to fail


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs a hook on a module right after its first import, whoever imports it."""

    def __init__(self, hooks: dict[str, Callable[[ModuleType], None]]):
        self._hooks = hooks

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        hook = self._hooks.pop(fullname, None)
        if hook is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if (
            spec is None
            or spec.loader is None
            or not hasattr(spec.loader, "exec_module")
        ):
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            hook(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _count_rule_loads(module: ModuleType) -> None:
    runner = module.Runner
    load = runner._get_rules

    def counted(self: Any) -> None:
        _record("cfn-lint rules loaded")
        load(self)

    runner._get_rules = counted


def _count_aws_calls(module: ModuleType) -> None:
    client = module.BaseClient
    call = client._make_api_call

    def counted(self: Any, operation: str, parameters: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        _calls[f"{service}.{operation}"] += 1
        if service == "cloudformation" and (
            operation == "CreateStack"
            or (
                operation == "CreateChangeSet"
                and parameters.get("ChangeSetType") == "CREATE"
            )
        ):
            _record("stack created", operation=operation)
        return call(self, operation, parameters)

    client._make_api_call = counted


def _exited() -> None:
    _record("exited", cpu=_cpu_seconds(), calls=dict(_calls))


if os.environ.get(LEDGER_VARIABLE):
    _record("started", program=_program(), parent=os.getppid())
    os.register_at_fork(after_in_child=lambda: _record("forked", parent=os.getppid()))
    atexit.register(_exited)
    sys.meta_path.insert(
        0,
        _AfterImport(
            {
                "cfnlint.runner.cli": _count_rule_loads,
                "botocore.client": _count_aws_calls,
            }
        ),
    )
