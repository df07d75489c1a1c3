"""Tag sets for every taggable resource, and validation against AWS's tag rules."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from generator.catalogue import SecretSpec
from generator.environments import Environment

MANAGED_BY = "trading-secrets-generator"
TAG_KEY_MAX_LENGTH = 128
TAG_VALUE_MAX_LENGTH = 256
MAX_TAGS_PER_RESOURCE = 50
RESERVED_PREFIX = "aws:"
# AWS allows Unicode letters, digits and white space, plus these.
_TAG_PUNCTUATION = frozenset("_.:/=+-@")

COMMON_TAG_KEYS = (
    "Project",
    "Environment",
    "Owner",
    "CostCenter",
    "ManagedBy",
    "DataClassification",
)
SECRET_TAG_KEYS = (
    *COMMON_TAG_KEYS,
    "Integration",
    "RotationPolicy",
    "RotationIntervalDays",
)


def common_tags(env: Environment) -> dict[str, str]:
    """Tags every taggable resource of the stack carries."""
    return {
        "Project": env.project,
        "Environment": env.name,
        "Owner": env.owner,
        "CostCenter": env.cost_center,
        "ManagedBy": MANAGED_BY,
        "DataClassification": env.data_classification,
    }


def secret_tags(env: Environment, spec: SecretSpec) -> dict[str, str]:
    """Common tags plus what an operator needs to rotate this secret by hand on time."""
    return {
        **common_tags(env),
        "Integration": spec.integration,
        "RotationPolicy": "manual",
        "RotationIntervalDays": str(spec.rotation_interval(env)),
    }


def _allowed_tag_character(character: str) -> bool:
    return unicodedata.category(character)[0] in "LNZ" or character in _TAG_PUNCTUATION


def aws_tag_rule_violations(tags: Mapping[str, str]) -> list[str]:
    """Why AWS would reject this tag set; empty when it is valid."""
    problems = []
    if len(tags) > MAX_TAGS_PER_RESOURCE:
        problems.append(f"{len(tags)} tags, over the limit of {MAX_TAGS_PER_RESOURCE}")
    for key, value in tags.items():
        if not 1 <= len(key) <= TAG_KEY_MAX_LENGTH:
            problems.append(
                f"tag key {key!r} must be 1 to {TAG_KEY_MAX_LENGTH} characters"
            )
        if key.lower().startswith(RESERVED_PREFIX):
            problems.append(
                f"tag key {key!r} uses the reserved prefix {RESERVED_PREFIX!r}"
            )
        if not all(map(_allowed_tag_character, key)):
            problems.append(f"tag key {key!r} has characters AWS does not allow")
        if len(value) > TAG_VALUE_MAX_LENGTH:
            problems.append(
                f"tag {key!r} value is over {TAG_VALUE_MAX_LENGTH} characters"
            )
        if not all(map(_allowed_tag_character, value)):
            problems.append(f"tag {key!r} value has characters AWS does not allow")
    return problems
