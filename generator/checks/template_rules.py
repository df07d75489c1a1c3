"""The checks every template passes on each build, cached or not: pure Python and fast.

Size, placeholders, secret and export names, tags, the parameter file, the
security rules and the leak scanner. cfn-lint is in `generator.checks.lint`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jsonschema

from generator import leaks, naming, tagging
from generator.catalogue import (
    PLACEHOLDER_MARKER,
    SecretSpec,
    fixed_fields,
    looks_like_placeholder,
)
from generator.checks import security
from generator.checks.limits import (
    PARAMETER_VALUE_MAX_BYTES,
    parameter_value_too_large,
    template_limit_problems,
)
from generator.environments import Environment
from generator.files import printable

LOG = logging.getLogger(__name__)


def _verdict(problems: list[str]) -> str:
    return "valid" if not problems else f"{len(problems)} problem(s)"


def placeholder_problems(
    env: Environment, catalogue: Iterable[SecretSpec]
) -> list[str]:
    """Every seeded placeholder must satisfy its schema and be unmistakably fake."""
    problems: list[str] = []
    if not env.seed_placeholders:
        return problems
    for spec in catalogue:
        placeholder = spec.placeholder(env)
        schema = spec.schema(env)
        found = []
        for error in jsonschema.Draft7Validator(schema).iter_errors(placeholder):
            field = "/".join(str(part) for part in error.path) or "(root)"
            found.append(
                f"{spec.logical_id}: placeholder field {field} does not match the schema ({error.validator})"
            )
        fixed = fixed_fields(schema)
        for field, value in placeholder.items():
            if field not in fixed and not looks_like_placeholder(value):
                found.append(
                    f"{spec.logical_id}: placeholder field {field} does not contain {PLACEHOLDER_MARKER}"
                )
        LOG.info(
            "%s: placeholder of %s (fields: %s): %s",
            env.name,
            spec.logical_id,
            ", ".join(sorted(placeholder)),
            _verdict(found),
        )
        problems += found
    return problems


def _taggable_resources(
    template: Mapping[str, Any],
) -> Iterator[tuple[str, list[dict[str, str]]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        tags = resource.get("Properties", {}).get("Tags")
        if isinstance(tags, list):
            yield logical_id, tags


def name_and_tag_problems(
    env: Environment, catalogue: Iterable[SecretSpec], template: Mapping[str, Any]
) -> list[str]:
    """Secret names, export names and every resource's tags, against AWS's rules and our conventions."""
    problems = []
    for spec in catalogue:
        name = naming.secret_name(env, spec)
        found = [
            f"{spec.logical_id}: {problem}"
            for problem in naming.secret_name_problems(name)
        ]
        LOG.info("%s: secret name %s: %s", env.name, name, _verdict(found))
        problems += found
    for output_id, output in template.get("Outputs", {}).items():
        export = output.get("Export", {}).get("Name", "")
        problems += [
            f"output {output_id}: {problem}"
            for problem in naming.export_name_problems(export)
        ]
    for logical_id, tag_list in _taggable_resources(template):
        tags = {tag["Key"]: tag["Value"] for tag in tag_list}
        found = [
            f"{logical_id}: {problem}"
            for problem in tagging.aws_tag_rule_violations(tags)
        ]
        is_secret = (
            template["Resources"][logical_id]["Type"] == "AWS::SecretsManager::Secret"
        )
        required = tagging.SECRET_TAG_KEYS if is_secret else tagging.COMMON_TAG_KEYS
        missing = sorted(set(required) - set(tags))
        if missing:
            found.append(f"{logical_id}: missing tags {', '.join(missing)}")
        LOG.info(
            "%s: %s tags (%s): %s",
            env.name,
            logical_id,
            ", ".join(sorted(tags)),
            _verdict(found),
        )
        problems += found
    return problems


def parameter_problems(
    template: Mapping[str, Any], parameters: Mapping[str, str], source: str
) -> list[str]:
    """A parameter file must set exactly the template's parameters, each within CloudFormation's size limit.

    cfn-lint checks types and required keys too; this check adds the value size
    and the template's AllowedPattern, which cfn-lint's parameter-file rule
    skips. Keys come from the file, so they are escaped when quoted back.
    """
    problems = []
    declared = template.get("Parameters", {})
    source = printable(source)
    for key in sorted(set(parameters) - set(declared)):
        problems.append(f"{source}: parameter {printable(key)} is not in the template")
    for key, declaration in sorted(declared.items()):
        if key not in parameters:
            problems.append(
                f"{source}: parameter {key} is missing (every parameter is set explicitly)"
            )
            continue
        if parameter_value_too_large(parameters[key]):
            problems.append(
                f"{source}: parameter {key} is over CloudFormation's {PARAMETER_VALUE_MAX_BYTES}-byte limit for a value"
            )
            continue
        pattern = declaration.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, parameters[key]):
            problems.append(
                f"{source}: parameter {key} does not match {declaration.get('ConstraintDescription', pattern)}"
            )
    return problems


def leak_problems(
    text: str,
    parameters: Mapping[str, str],
    template_source: str,
    parameter_source: str,
) -> list[str]:
    """The leak scanner over the rendered template and every parameter value: a build never writes a credential."""
    problems = [str(leak) for leak in leaks.scan_text(text, template_source)]
    parameter_source = printable(parameter_source)
    for key, value in sorted(parameters.items()):
        problems += [
            f"{parameter_source}: parameter {printable(key)} holds something shaped like {kind}"
            for kind in leaks.scan_line(value)
        ]
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
        template_limit_problems(text, template)
        + placeholder_problems(env, catalogue)
        + name_and_tag_problems(env, catalogue, template)
        + parameter_problems(template, parameters, parameter_source)
        + security.security_problems(template)
        + leak_problems(text, parameters, f"{env.name} template", parameter_source)
    )
