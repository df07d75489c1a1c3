"""Parameter files in the format the CloudFormation CLI, console and StackSets take.

`[{"ParameterKey": "...", "ParameterValue": "..."}, ...]`
"""

from __future__ import annotations

import json
from pathlib import Path

from generator.environments import Environment
from generator.errors import ConfigurationError
from generator.files import printable, read_regular_text
from generator.stack_parameters import ALERT_EMAIL, DEPLOYER_ROLES, READER_ROLES

PARAMETER_FILE_NAME = "secrets.json"
# Far more than the stack's parameters can hold (200 of at most 4,096 bytes each
# would be 800 KiB; ours are a few hundred bytes): a bound, not a budget.
PARAMETER_FILE_MAX_BYTES = 1024 * 1024


def parameter_file_path(params_dir: Path, env: Environment) -> Path:
    return params_dir / env.name / PARAMETER_FILE_NAME


def load_parameter_file(path: Path) -> dict[str, str]:
    """Read one parameter file; any problem with its shape is a configuration error naming the file."""
    shown = printable(str(path))
    if not path.exists():
        raise ConfigurationError(f"parameter file {shown} does not exist")
    text = read_regular_text(path, PARAMETER_FILE_MAX_BYTES)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(
            f"parameter file {shown} is not valid JSON: {error}"
        ) from None
    if not isinstance(document, list):
        raise ConfigurationError(
            f"parameter file {shown} must be a JSON list of ParameterKey/ParameterValue objects"
        )
    values: dict[str, str] = {}
    for position, entry in enumerate(document):
        if (
            not isinstance(entry, dict)
            or set(entry) != {"ParameterKey", "ParameterValue"}
            or not all(isinstance(item, str) for item in entry.values())
        ):
            raise ConfigurationError(
                f"parameter file {shown}: entry {position} must have exactly the string fields "
                "ParameterKey and ParameterValue"
            )
        key = entry["ParameterKey"]
        if key in values:
            raise ConfigurationError(
                f"parameter file {shown}: parameter {key!r} is given twice"
            )
        values[key] = entry["ParameterValue"]
    return values


def cloudformation_parameters(values: dict[str, str]) -> list[dict[str, str]]:
    """Parameter values in the shape CloudFormation's API takes (and parameter files hold)."""
    return [
        {"ParameterKey": key, "ParameterValue": value} for key, value in values.items()
    ]


def refuse_unworkable(env: Environment, values: dict[str, str], source: Path) -> None:
    """Refuse parameters with which the stack cannot work as designed: one line, exit 2, before anything else.

    The build and `trading-secrets deploy` both call this.
    """
    refuse_lockout(env, values, source)
    refuse_silent_alerts(env, values, source)


def refuse_silent_alerts(
    env: Environment, values: dict[str, str], source: Path
) -> None:
    """Refuse a staging or prod parameter file whose alerts would reach nobody.

    EventBridge and the alarms publish to a topic with no subscriber without
    a failure: nothing is delivered, no metric moves, no message reaches the
    dead-letter queue (SNS API Reference, Subscribe).
    """
    if env.requires_alert_subscriber and not values.get(ALERT_EMAIL):
        raise ConfigurationError(
            f"parameter file {printable(str(source))}: {ALERT_EMAIL} names no subscriber, so no alert would "
            f"reach anyone in {env.name}: name the address that receives them (its owner confirms the "
            "subscription)"
        )


def refuse_lockout(env: Environment, values: dict[str, str], source: Path) -> None:
    """Refuse parameters with which CloudFormation could not manage its own stack.

    CloudFormation calls Secrets Manager as the deployer (or a stack set's
    execution role). Where the resource policies deny changing themselves to
    everyone but named roles, or deny reads outside an allow-list (the secret's
    own update handler reads it), a stack that names no deployer could never
    be updated, nor rolled back after a failed first create.
    """
    if values.get(DEPLOYER_ROLES):
        return
    shown = printable(str(source))
    if env.deny_delete_except_break_glass:
        raise ConfigurationError(
            f"parameter file {shown}: {DEPLOYER_ROLES} names no deployer, so CloudFormation would be locked "
            "out of its own stack: name the role it deploys as"
        )
    if values.get(READER_ROLES):
        raise ConfigurationError(
            f"parameter file {shown}: {READER_ROLES} sets an allow-list but {DEPLOYER_ROLES} names no "
            "deployer, so CloudFormation would be denied its own reads of the secrets: name the role it "
            "deploys as"
        )
