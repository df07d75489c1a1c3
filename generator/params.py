"""Parameter files in the format the CloudFormation CLI, console and StackSets take.

`[{"ParameterKey": "...", "ParameterValue": "..."}, ...]`
"""

from __future__ import annotations

import json
from pathlib import Path

from generator.environments import Environment
from generator.errors import ConfigurationError

PARAMETER_FILE_NAME = "secrets.json"


def parameter_file_path(params_dir: Path, env: Environment) -> Path:
    return params_dir / env.name / PARAMETER_FILE_NAME


def load_parameter_file(path: Path) -> dict[str, str]:
    """Read one parameter file; any problem with its shape is a configuration error naming the file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"parameter file {path} does not exist") from None
    except OSError as error:
        raise ConfigurationError(f"cannot read parameter file {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"parameter file {path} is not valid JSON: {error}") from None

    if not isinstance(document, list):
        raise ConfigurationError(f"parameter file {path} must be a JSON list of ParameterKey/ParameterValue objects")
    values: dict[str, str] = {}
    for position, entry in enumerate(document):
        if (
            not isinstance(entry, dict)
            or set(entry) != {"ParameterKey", "ParameterValue"}
            or not all(isinstance(item, str) for item in entry.values())
        ):
            raise ConfigurationError(
                f"parameter file {path}: entry {position} must have exactly the string fields "
                "ParameterKey and ParameterValue"
            )
        key = entry["ParameterKey"]
        if key in values:
            raise ConfigurationError(f"parameter file {path}: parameter {key!r} is given twice")
        values[key] = entry["ParameterValue"]
    return values


def cloudformation_parameters(values: dict[str, str]) -> list[dict[str, str]]:
    """Parameter values in the shape CloudFormation's API takes (and parameter files hold)."""
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]
