"""Everything a template must pass before it is written: cfn-lint, schemas, names, tags, size.

Each check returns a list of findings (one readable line each); an empty
list means the check passed. Findings name what failed, never a secret value.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import jsonschema

from generator import leaks, naming, security, tagging
from generator.catalogue import PLACEHOLDER_MARKER, SecretSpec
from generator.environments import Environment

LOG = logging.getLogger(__name__)

# CloudFormation's limit for a template body passed directly (not from S3).
TEMPLATE_BODY_MAX_BYTES = 51_200


class Linter:
    """cfn-lint through its Python API, with the rule set loaded once and reused for every template.

    Loading the rules is the expensive part of cfn-lint; `cfnlint.api.lint`
    would reload them on every call.
    """

    def __init__(self, config_file: Path):
        # Imported here: cfn-lint takes over a second to import, and only
        # building, not --check or the library's pure builders, needs it.
        from cfnlint.runner import Runner

        self._config_file = config_file
        self._rules = Runner(self._config(regions=["us-east-1"])).rules

    def _config(self, **manual_args: Any):
        from cfnlint.config import ConfigMixIn

        return ConfigMixIn(["--config-file", str(self._config_file)], **manual_args)

    def lint(self, text: str, regions: Iterable[str], parameters: Mapping[str, str], parameter_source: str) -> list[str]:
        """Findings of every enabled rule, in every region, with the parameter file's values checked too."""
        from cfnlint.context.parameters import ParameterSet
        from cfnlint.decode.decode import decode_str
        from cfnlint.helpers import REGIONS
        from cfnlint.runner.template.runner import run_template_by_data

        unknown_regions = sorted(set(regions) - set(REGIONS))
        if unknown_regions:
            return [f"cfn-lint: unknown region(s) {', '.join(unknown_regions)}"]
        template, parse_errors = decode_str(text)
        matches = list(parse_errors)
        if not parse_errors:
            config = self._config(
                regions=list(regions),
                parameters=[ParameterSet(parameter_source, dict(parameters))],
            )
            matches = list(run_template_by_data(template, config, self._rules))
        return [self._describe(match) for match in matches]

    @staticmethod
    def _describe(match) -> str:
        path = "/".join(str(part) for part in getattr(match, "path", None) or ())
        where = f"{path} (line {match.linenumber})" if path else f"line {match.linenumber}"
        return f"cfn-lint {match.rule.id} {where}: {match.message}"


def placeholder_problems(env: Environment, catalogue: Iterable[SecretSpec]) -> list[str]:
    """Every seeded placeholder must satisfy its schema and be unmistakably fake."""
    problems = []
    if not env.seed_placeholders:
        return problems
    for spec in catalogue:
        placeholder = spec.placeholder(env)
        schema = spec.schema(env)
        for error in jsonschema.Draft7Validator(schema).iter_errors(placeholder):
            field = "/".join(str(part) for part in error.path) or "(root)"
            problems.append(f"{spec.logical_id}: placeholder field {field} does not match the schema ({error.validator})")
        for field, value in placeholder.items():
            if schema["properties"].get(field, {}).get("const") == value:
                continue  # a fixed, public value such as an endpoint URL
            if PLACEHOLDER_MARKER not in value:
                problems.append(f"{spec.logical_id}: placeholder field {field} does not contain {PLACEHOLDER_MARKER}")
        LOG.info("%s: placeholder of %s matches its schema (fields: %s)", env.name, spec.logical_id, ", ".join(sorted(placeholder)))
    return problems


def _taggable_resources(template: Mapping[str, Any]) -> Iterable[tuple[str, list[dict[str, str]]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        tags = resource.get("Properties", {}).get("Tags")
        if isinstance(tags, list):
            yield logical_id, tags


def name_and_tag_problems(env: Environment, catalogue: Iterable[SecretSpec], template: Mapping[str, Any]) -> list[str]:
    """Secret names, export names and every resource's tags, against AWS's rules and our conventions."""
    problems = []
    for spec in catalogue:
        name = naming.secret_name(env, spec)
        problems += [f"{spec.logical_id}: {problem}" for problem in naming.secret_name_problems(name)]
        LOG.info("%s: secret name %s is valid", env.name, name)
    for output_id, output in template.get("Outputs", {}).items():
        export = output.get("Export", {}).get("Name", "")
        problems += [f"output {output_id}: {problem}" for problem in naming.export_name_problems(export)]
    for logical_id, tag_list in _taggable_resources(template):
        tags = {tag["Key"]: tag["Value"] for tag in tag_list}
        problems += [f"{logical_id}: {problem}" for problem in tagging.tag_problems(tags)]
        required = tagging.SECRET_TAG_KEYS if template["Resources"][logical_id]["Type"] == "AWS::SecretsManager::Secret" else tagging.COMMON_TAG_KEYS
        missing = sorted(set(required) - set(tags))
        if missing:
            problems.append(f"{logical_id}: missing tags {', '.join(missing)}")
        LOG.info("%s: %s tag keys valid: %s", env.name, logical_id, ", ".join(sorted(tags)))
    return problems


def size_problems(text: str) -> list[str]:
    size = len(text.encode("utf-8"))
    if size > TEMPLATE_BODY_MAX_BYTES:
        return [f"template is {size} bytes, over CloudFormation's {TEMPLATE_BODY_MAX_BYTES}-byte limit for a direct upload"]
    return []


def parameter_problems(template: Mapping[str, Any], parameters: Mapping[str, str], source: str) -> list[str]:
    """A parameter file must set exactly the template's parameters, including every one without a default.

    cfn-lint checks types and required keys too; this check adds the
    template's AllowedPattern, which cfn-lint's parameter-file rule skips.
    """
    problems = []
    declared = template.get("Parameters", {})
    for key in sorted(set(parameters) - set(declared)):
        problems.append(f"{source}: parameter {key} is not in the template")
    for key, declaration in sorted(declared.items()):
        if key not in parameters:
            problems.append(f"{source}: parameter {key} is missing (every parameter is set explicitly)")
            continue
        pattern = declaration.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, parameters[key]):
            problems.append(f"{source}: parameter {key} does not match {declaration.get('ConstraintDescription', pattern)}")
    return problems


def leak_problems(text: str, parameters: Mapping[str, str], template_source: str, parameter_source: str) -> list[str]:
    """The leak scanner over the rendered template and every parameter value: a build never writes a credential."""
    problems = [str(leak) for leak in leaks.scan_text(text, template_source)]
    for key, value in sorted(parameters.items()):
        problems += [f"{parameter_source}: parameter {key} holds something shaped like {kind}" for kind in leaks.scan_line(value)]
    return problems


def static_problems(
    env: Environment,
    catalogue: Iterable[SecretSpec],
    text: str,
    parameters: Mapping[str, str],
    parameter_source: str,
) -> list[str]:
    """Every check but cfn-lint: pure Python, fast, and run on every build, cached or not."""
    catalogue = tuple(catalogue)
    template = json.loads(text)
    return (
        size_problems(text)
        + placeholder_problems(env, catalogue)
        + name_and_tag_problems(env, catalogue, template)
        + parameter_problems(template, parameters, parameter_source)
        + security.security_problems(template)
        + leak_problems(text, parameters, f"{env.name} template", parameter_source)
    )


def validate(
    env: Environment,
    catalogue: Iterable[SecretSpec],
    text: str,
    parameters: Mapping[str, str],
    parameter_source: str,
    linter: Linter,
) -> list[str]:
    """All findings for one rendered template and its parameter file, cfn-lint included."""
    findings = static_problems(env, catalogue, text, parameters, parameter_source)
    lint_findings = linter.lint(text, env.regions, parameters, parameter_source)
    LOG.info("%s: cfn-lint (informational included) in %s: %d finding(s)", env.name, ", ".join(env.regions), len(lint_findings))
    return findings + lint_findings
