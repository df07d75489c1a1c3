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


def secret_name_prefix(env: Environment) -> str:
    """The prefix every secret of this environment shares, for event matching and IAM."""
    return f"{env.project}/{env.name}/"


def secret_name(env: Environment, spec: SecretSpec) -> str:
    """`<project>/<env>/<integration>`, e.g. `trading/prod/alpaca`."""
    return secret_name_prefix(env) + spec.name_suffix


def export_name(env: Environment, output_id: str) -> str:
    """`<project>-<env>-<OutputId>`, e.g. `trading-prod-AlpacaCredentialsArn`."""
    return f"{env.project}-{env.name}-{output_id}"


def stack_name(env: Environment) -> str:
    """The stack's (or stack set's) name: `trading-<env>-secrets`."""
    return f"{env.project}-{env.name}-secrets"


def operator_role_name(env: Environment) -> str:
    """The role `trading-secrets --role-name` assumes in each account of a stack set: `trading-<env>-operator`."""
    return f"{env.project}-{env.name}-operator"


def key_alias(env: Environment) -> str:
    return f"alias/{env.project}-{env.name}-secrets"


def alerts_key_alias(env: Environment) -> str:
    """The alerting's own key: the alert topic must not depend on the key whose tampering it reports."""
    return f"alias/{env.project}-{env.name}-secrets-alerts"


def alert_topic_name(env: Environment) -> str:
    return f"{env.project}-{env.name}-secrets-alerts"


def resource_name(env: Environment, what: str) -> str:
    """A fixed name for an alert rule or an alarm: `trading-<env>-secrets-<what>`.

    Fixed, so that an alarm can name its rule in a metric's dimension and the
    alerting key can scope CloudWatch to this stack's alarms by name.
    """
    return f"{env.project}-{env.name}-secrets-{what}"


def alert_dead_letter_queue_name(env: Environment) -> str:
    """Where EventBridge puts an alert it could not deliver; `status` reads its depth by this name."""
    return f"{alert_topic_name(env)}-dlq"


def _name_problems(
    kind: str, name: str, max_length: int, characters: re.Pattern[str], allowed: str
) -> list[str]:
    """Empty, too long, or characters outside `allowed`: the rules every AWS name here shares."""
    if not name:
        return [f"{kind} is empty"]
    problems = []
    if len(name) > max_length:
        problems.append(
            f"{kind} is {len(name)} characters, over the {max_length} limit"
        )
    if not characters.fullmatch(name):
        problems.append(f"{kind} {name!r} has characters outside {allowed}")
    return problems


def secret_name_problems(name: str) -> list[str]:
    """Why Secrets Manager would reject or mishandle `name`; empty when it is valid."""
    problems = _name_problems(
        "secret name",
        name,
        SECRET_NAME_MAX_LENGTH,
        _SECRET_NAME_CHARACTERS,
        "A-Za-z0-9/_+=.@-",
    )
    if _ARN_SUFFIX_LOOKALIKE.search(name):
        problems.append(
            f"secret name {name!r} ends in '-' and six characters, which clashes with the ARN suffix"
        )
    return problems


def export_name_problems(name: str) -> list[str]:
    """Why CloudFormation would reject `name` as an export name; empty when it is valid."""
    return _name_problems(
        "export name",
        name,
        EXPORT_NAME_MAX_LENGTH,
        _EXPORT_NAME_CHARACTERS,
        "A-Za-z0-9:-",
    )


# What trading-secrets adds to its user agent for its own steps on the alert path
# (alerts-test's subscription, the dead-letter queue's purge): the rule that
# watches the path leaves those calls out (generator/alert_rules.py).
TOOL_USER_AGENT = "trading-secrets/alert-path"
