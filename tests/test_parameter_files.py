from __future__ import annotations

import pytest

from generator.errors import ConfigurationError
from generator.parameter_files import load_parameter_file


def test_loads_cloudformation_parameter_format(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(
        '[{"ParameterKey": "A", "ParameterValue": "1"}, {"ParameterKey": "B", "ParameterValue": ""}]'
    )
    assert load_parameter_file(path) == {"A": "1", "B": ""}


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist"),
        ("[", "is not valid JSON"),
        (b"\xff\xfe", "is not UTF-8"),
        ('{"A": "1"}', "must be a JSON list"),
        ('[{"ParameterKey": "A"}]', "entry 0 must have exactly the string fields"),
        (
            '[{"ParameterKey": "A", "ParameterValue": 1}]',
            "entry 0 must have exactly the string fields",
        ),
        ('["A"]', "entry 0 must have exactly the string fields"),
        (
            '[{"ParameterKey": "A", "ParameterValue": "1"}, {"ParameterKey": "A", "ParameterValue": "2"}]',
            "'A' is given twice",
        ),
    ],
    ids=[
        "missing",
        "truncated",
        "not-utf8",
        "object",
        "no-value",
        "number-value",
        "string-entry",
        "duplicate",
    ],
)
def test_malformed_parameter_files_are_configuration_errors(tmp_path, content, message):
    path = tmp_path / "p.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigurationError, match=message) as raised:
        load_parameter_file(path)
    assert str(path) in str(raised.value)
    assert raised.value.exit_code == 2


def test_unreadable_parameter_file_is_a_configuration_error(tmp_path):
    with pytest.raises(
        ConfigurationError, match="is a directory, not a file; not read"
    ):
        load_parameter_file(tmp_path)
