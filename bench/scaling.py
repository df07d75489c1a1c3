"""One template with N synthetic secrets: generation and validation times, as JSON on stdout.

    python -m bench.scaling 200

The specs are test-only: the real catalogue never holds them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import troposphere

from generator.catalogue import ALPHAVANTAGE, SecretSpec
from generator.environments import ENVIRONMENTS
from generator.parameter_files import load_parameter_file, parameter_file_path
from generator.template import build_template, render

ROOT = Path(__file__).resolve().parent.parent


def synthetic_catalogue(count: int) -> tuple[SecretSpec, ...]:
    def spec(number: int) -> SecretSpec:
        return SecretSpec(
            logical_id=f"Synthetic{number:03d}Credentials",
            name_suffix=f"synthetic-{number:03d}",
            integration=f"Synthetic{number:03d}",
            description=f"Synthetic benchmark credential {number}",
            schema_for=ALPHAVANTAGE.schema_for,
            placeholder_for=lambda env: {
                "apiKey": f"PLACEHOLDER-synthetic-{number:03d}-not-real"
            },
        )

    return tuple(spec(number) for number in range(count))


def main(count: int) -> dict[str, Any]:
    # Each secret makes three resources and exports three outputs, so 200
    # secrets pass CloudFormation's 500-resource and 200-output limits, which
    # troposphere enforces by raising. This measures cost at scale, not a
    # deployable template: let it through, and let validation count the
    # limits as findings (the CDK side lifts its own resource limit alike).
    troposphere.MAX_OUTPUTS = 10 * count
    troposphere.MAX_RESOURCES = 10 * count + 100
    env = ENVIRONMENTS["staging"]
    catalogue = synthetic_catalogue(count)
    parameters = load_parameter_file(parameter_file_path(ROOT / "params", env))

    started = time.perf_counter()
    template = build_template(env, catalogue)
    text = render(template)
    generated = time.perf_counter()

    from generator.checks.lint import Linter, LintJob
    from generator.checks.template_rules import static_problems

    static = static_problems(env, catalogue, text, parameters, "synthetic parameters")
    checked = time.perf_counter()
    linter = Linter(ROOT / ".cfnlintrc")
    loaded = time.perf_counter()
    lint = linter.lint(LintJob(text, env.regions, parameters, "synthetic parameters"))
    linted = time.perf_counter()
    return {
        "secrets": count,
        "resources": len(template.resources),
        "bytes": len(text.encode()),
        "generate_s": generated - started,
        "static_checks_s": checked - generated,
        "lint_rules_load_s": loaded - checked,
        "lint_s": linted - loaded,
        "validate_s": linted - generated,
        # Findings expected at this size (e.g. the 51,200-byte direct-upload limit); counted, not asserted.
        "findings": len(static) + len(lint),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
