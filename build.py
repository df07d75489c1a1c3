#!/usr/bin/env python3
"""Build the credentials templates: `python build.py --env prod`.

Exit codes: 0 success; 1 validation failure or (with --check) a template
that differs from what the code generates; 2 usage or configuration error;
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from generator.build import build, check
from generator.cli_support import OneLineErrorParser
from generator.environments import ENVIRONMENTS, get_environment
from generator.errors import ConfigurationError, GeneratorError, ValidationError
from generator.leaks import RedactingFilter, known_placeholder_values

ROOT = Path(__file__).resolve().parent
# Content-addressed record of templates cfn-lint passed (generator/lint_cache.py); git-ignored.
CACHE_DIR = ROOT / ".cache" / "validation"
ALL = "all"
EXIT_OK, EXIT_VALIDATION, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineErrorParser(
        prog="build.py",
        description="Generate, validate and write the trading credentials CloudFormation templates.",
        epilog="Exit codes: 0 ok, 1 validation failure or --check difference, 2 usage or configuration error.",
    )
    parser.add_argument(
        "--env",
        default=ALL,
        help=f"environment to build: {', '.join(ENVIRONMENTS)} or {ALL} (default: {ALL})",
    )
    parser.add_argument("--output-dir", type=Path, default=ROOT / "templates", help="where templates go (default: templates/)")
    parser.add_argument("--params-dir", type=Path, default=ROOT / "params", help="where parameter files are read (default: params/)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a template on disk differs from the code")
    parser.add_argument("--quiet", action="store_true", help="log warnings and errors only")
    parser.add_argument(
        "--jobs", type=_positive_int, default=None, help="lint in at most this many processes (default: one per core)"
    )
    parser.add_argument("--no-cache", action="store_true", help="lint every template even if cfn-lint passed it before")
    parser.add_argument(
        "--cache-dir", type=Path, default=CACHE_DIR, help="where templates cfn-lint passed are recorded (default: .cache/validation/)"
    )
    return parser.parse_args(argv)


def _environments(name: str):
    if name == ALL:
        return list(ENVIRONMENTS.values())
    if name not in ENVIRONMENTS:
        valid = ", ".join([*ENVIRONMENTS, ALL])
        raise ConfigurationError(f"unknown environment {name!r}; valid environments: {valid}")
    return [get_environment(name)]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_summary(results) -> None:
    header = f"{'env':<8} {'template':<34} {'resources':>9} {'bytes':>7} {'lint':>10} {'time':>7}"
    print(header)
    for result in results:
        print(
            f"{result.env.name:<8} {_display(result.path):<34} {result.resource_count:>9} {result.size_bytes:>7} "
            f"{'cached' if result.lint_cached else str(result.lint_findings) + ' issues':>10} {result.seconds:>6.2f}s"
        )


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        logging.basicConfig(
            level=logging.WARNING if args.quiet else logging.INFO,
            format="build.py: %(message)s",
            stream=sys.stderr,
            force=True,
        )
        for handler in logging.getLogger().handlers:
            handler.addFilter(RedactingFilter(known_placeholder_values()))
        # cfn-lint narrates each scan at INFO; our own log says what was validated.
        logging.getLogger("cfnlint").setLevel(logging.WARNING)
        environments = _environments(args.env)
        if args.check:
            differences = check(environments, args.output_dir)
            for difference in differences:
                print(f"build.py: {difference}", file=sys.stderr)
            if differences:
                print("build.py: templates are out of date; run `python build.py` and commit the result", file=sys.stderr)
                return EXIT_VALIDATION
            print(f"build.py: {len(environments)} template(s) match the code")
            return EXIT_OK
        results = build(
            environments, args.output_dir, args.params_dir, ROOT / ".cfnlintrc", cache_dir=None if args.no_cache else args.cache_dir,
            processes=args.jobs,
        )
        _print_summary(results)
        return EXIT_OK
    except ValidationError as error:
        for finding in error.findings:
            print(f"build.py: {finding}", file=sys.stderr)
        print(f"build.py: error: validation failed with {len(error.findings)} finding(s); nothing was written", file=sys.stderr)
        return EXIT_VALIDATION
    except GeneratorError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("build.py: error: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
