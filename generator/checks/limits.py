"""CloudFormation's own limits, checked before the template is written, never discovered at deploy time.

CloudFormation User Guide, "CloudFormation quotas": a template body passed
directly is at most 51,200 bytes; a template holds at most 200 parameters,
500 resources, 200 outputs and 200 mappings; a parameter value is at most
4,096 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TEMPLATE_BODY_MAX_BYTES = 51_200
PARAMETER_VALUE_MAX_BYTES = 4_096
SECTION_MAX_ENTRIES = {
    "Parameters": 200,
    "Resources": 500,
    "Outputs": 200,
    "Mappings": 200,
}


def template_limit_problems(text: str, template: Mapping[str, Any]) -> list[str]:
    """Why CloudFormation would refuse the template for its size or its number of parameters, resources, ..."""
    problems = []
    size = len(text.encode("utf-8"))
    if size > TEMPLATE_BODY_MAX_BYTES:
        problems.append(
            f"template is {size} bytes, over CloudFormation's {TEMPLATE_BODY_MAX_BYTES}-byte limit for a direct upload"
        )
    for section, limit in SECTION_MAX_ENTRIES.items():
        count = len(template.get(section, {}))
        if count > limit:
            problems.append(
                f"template has {count} {section.lower()}, over CloudFormation's limit of {limit}"
            )
    return problems


def parameter_value_too_large(value: str) -> bool:
    return len(value.encode("utf-8", "surrogatepass")) > PARAMETER_VALUE_MAX_BYTES
