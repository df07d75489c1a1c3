"""cfn-lint through its Python API: the rules loaded once, a template linted for every region it deploys to.

The processes that run it beside the build are in `generator.checks.lint_workers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
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
