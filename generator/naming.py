"""Names of secrets, the key alias, the topic and exports, and their validation.

Consumers (ticket 1.5.2's IAM stack, the Lambda stacks) import by these
names, so they are part of the interface: change them only with a migration.
"""

from __future__ import annotations

import re

from generator.catalogue import SecretSpec
from generator.environments import Environment

SECRET_NAME_MAX_LENGTH = 512
_SECRET_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9/_+=.@-]+")
# Secrets Manager appends "-" and six random characters to build the ARN; a
# name that already ends that way makes partial-ARN lookups ambiguous.
_ARN_SUFFIX_LOOKALIKE = re.compile(r"-.{6}\Z", re.DOTALL)
EXPORT_NAME_MAX_LENGTH = 255
_EXPORT_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9:-]+")


def secret_name(env: Environment, spec: SecretSpec) -> str:
    """`<project>/<env>/<integration>`, e.g. `trading/prod/alpaca`."""
    return f"{env.project}/{env.name}/{spec.name_suffix}"


def secret_name_prefix(env: Environment) -> str:
    """The prefix every secret of this environment shares, for event matching and IAM."""
    return f"{env.project}/{env.name}/"


def export_prefix(env: Environment) -> str:
    return f"{env.project}-{env.name}"


def export_name(env: Environment, output_id: str) -> str:
    """`<project>-<env>-<OutputId>`, e.g. `trading-prod-AlpacaCredentialsArn`."""
    return f"{export_prefix(env)}-{output_id}"


def key_alias(env: Environment) -> str:
    return f"alias/{env.project}-{env.name}-secrets"


def alert_topic_name(env: Environment) -> str:
    return f"{env.project}-{env.name}-secrets-alerts"


def secret_name_problems(name: str) -> list[str]:
    """Why Secrets Manager would reject or mishandle `name`; empty when it is valid."""
    problems = []
    if not name:
        return ["secret name is empty"]
    if len(name) > SECRET_NAME_MAX_LENGTH:
        problems.append(f"secret name is {len(name)} characters, over the {SECRET_NAME_MAX_LENGTH} limit")
    if not _SECRET_NAME_CHARACTERS.fullmatch(name):
        problems.append(f"secret name {name!r} has characters outside A-Za-z0-9/_+=.@-")
    if _ARN_SUFFIX_LOOKALIKE.search(name):
        problems.append(f"secret name {name!r} ends in '-' and six characters, which clashes with the ARN suffix")
    return problems


def export_name_problems(name: str) -> list[str]:
    """Why CloudFormation would reject `name` as an export name; empty when it is valid."""
    problems = []
    if not name:
        return ["export name is empty"]
    if len(name) > EXPORT_NAME_MAX_LENGTH:
        problems.append(f"export name is {len(name)} characters, over the {EXPORT_NAME_MAX_LENGTH} limit")
    if not _EXPORT_NAME_CHARACTERS.fullmatch(name):
        problems.append(f"export name {name!r} has characters outside A-Za-z0-9:-")
    return problems
