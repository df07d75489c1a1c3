#!/usr/bin/env python3
"""Build the credentials templates: `python build.py --env prod`.

Exit codes (generator.errors.ExitCode): 0 success; 1 validation failure or
(with --check) a template that differs from what the code generates; 2 usage
or configuration error; 130 interrupted.
"""

from __future__ import annotations

# First, before anything slow is imported: a Ctrl-C now is one line too.
from generator.startup import interrupt_in_one_line, loaded

interrupt_in_one_line("build.py", "nothing was written")

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn


def _not_installed(missing: ModuleNotFoundError) -> NoReturn:
    # Run by a Python without the project's dependencies (not .venv's).
    print(
        f"build.py: error: {missing.name} is not installed for {sys.executable}; "
        "run `python3 tasks.py build`, which sets up .venv, or `.venv/bin/python build.py`",
        file=sys.stderr,
    )
    sys.exit(2)


# Only what parsing the command line and starting cfn-lint need: the rest
# (troposphere, awacs, the checks) is imported once cfn-lint has begun loading.
try:
    from generator.checks.lint import LintWorkers
    from generator.cli import (
        OneLineErrorParser,
        configure_logging,
        one_of,
        positive_int,
        run,
    )
    from generator.environments import ENVIRONMENTS, Environment
    from generator.errors import ExitCode
except ModuleNotFoundError as missing:
    _not_installed(missing)
loaded()

if TYPE_CHECKING:
    from generator.build import BuildResult

ROOT = Path(__file__).resolve().parent
# Content-addressed record of templates cfn-lint passed (generator/checks/lint_cache.py); git-ignored.
CACHE_DIR = ROOT / ".cache" / "validation"
ALL = "all"
PROG = "build.py"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineErrorParser(
        prog=PROG,
        description="Generate, validate and write the trading credentials CloudFormation templates.",
        epilog="Exit codes: 0 ok, 1 validation failure or --check difference, 2 usage or configuration error, "
        "130 interrupted.",
    )
    parser.add_argument(
        "--env",
        default=ALL,
        type=one_of("environment", [*ENVIRONMENTS, ALL]),
        help=f"environment to build: {', '.join(ENVIRONMENTS)} or {ALL} (default: {ALL})",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=ROOT / "templates",
        help="where templates go (default: templates/)",
    )
    parser.add_argument(
        "--params-dir",
        type=Path,
        default=ROOT / "params",
        help="where parameter files are read (default: params/)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a template on disk differs from the code",
    )
    parser.add_argument(
        "--allow-replacement",
        action="append",
        default=[],
        metavar="LOGICAL_ID",
        help="let a reviewed change remove or replace this stateful resource (repeatable, one id each)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="log warnings and errors only"
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        help="lint in at most this many processes (default: one per core)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="lint every template even if cfn-lint passed it before",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=CACHE_DIR,
        help="where templates cfn-lint passed are recorded (default: .cache/validation/)",
    )
    return parser.parse_args(argv)


def _environments(name: str) -> list[Environment]:
    return list(ENVIRONMENTS.values()) if name == ALL else [ENVIRONMENTS[name]]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_summary(results: list[BuildResult]) -> None:
    print(
        f"{'env':<8} {'template':<34} {'resources':>9} {'bytes':>7} {'cfn-lint':>8} {'time':>7}"
    )
    for result in results:
        print(
            f"{result.env.name:<8} {_display(result.path):<34} {result.resource_count:>9} {result.size_bytes:>7} "
            f"{'cached' if result.lint_cached else 'passed':>8} {result.seconds:>6.2f}s"
        )


def _lints_every_template(args: argparse.Namespace) -> bool:
    """Whether cfn-lint is sure to be needed: no cache, or one with no entry yet (a fresh clone, CI)."""
    if args.check:
        return False
    if args.no_cache:
        return True
    try:
        return next(args.cache_dir.glob("*/*.passed"), None) is None
    except OSError:
        return True


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    configure_logging(PROG, logging.WARNING if args.quiet else logging.INFO)
    environments = _environments(args.env)
    # On a cold build cfn-lint is the long pole: start loading it before
    # anything else, so that it loads while the rest of the build imports.
    with (
        LintWorkers(ROOT / ".cfnlintrc", len(environments), args.jobs)
        if _lints_every_template(args)
        else contextlib.nullcontext()
    ) as early_lint_workers:
        try:
            from generator.build import build, check  # noqa: PLC0415 (see above)
        except ModuleNotFoundError as missing:
            _not_installed(missing)
        return _build_or_check(args, environments, build, check, early_lint_workers)


def _build_or_check(
    args: argparse.Namespace,
    environments: list[Environment],
    build: Callable[..., list[BuildResult]],
    check: Callable[..., list[str]],
    early_lint_workers: LintWorkers | None,
) -> int:
    if args.check:
        differences = check(environments, args.output_dir)
        for difference in differences:
            print(f"{PROG}: {difference}", file=sys.stderr)
        if differences:
            print(
                f"{PROG}: templates are out of date; run `python build.py` and commit the result",
                file=sys.stderr,
            )
            return ExitCode.FAILED
        print(f"{PROG}: {len(environments)} template(s) match the code")
        return ExitCode.OK
    results = build(
        environments,
        args.output_dir,
        args.params_dir,
        ROOT / ".cfnlintrc",
        cache_dir=None if args.no_cache else args.cache_dir,
        max_lint_workers=args.jobs,
        lint_workers=early_lint_workers,
        allow_replacement=args.allow_replacement,
    )
    _print_summary(results)
    return ExitCode.OK


def _terminated(_number: int, _frame: FrameType | None) -> None:
    # A kill (SIGTERM) unwinds like Ctrl-C, so that temporary files go and nothing is half written.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return run(PROG, lambda: _main(argv), interrupted="nothing was written")
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
