"""Credential values are checked without ever being repeated."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fake_aws import FAKE

from generator.catalogue import ALPACA, ALPHAVANTAGE, alpaca_endpoint
from generator.environments import ENVIRONMENTS
from generator.errors import ValueRefused
from generator.ops.change.values import parse_document, value_problems

DEV, PROD = ENVIRONMENTS["dev"], ENVIRONMENTS["prod"]


@pytest.mark.parametrize(
    "env, spec, value, expected",
    [
        (PROD, ALPHAVANTAGE, {"apiKey": FAKE}, []),
        (DEV, ALPHAVANTAGE, {"apiKey": "PLACEHOLDER-is-fine-in-dev"}, []),
        (
            PROD,
            ALPHAVANTAGE,
            {"apiKey": "a placeholder"},
            ["field 'apiKey' holds placeholder text, which prod never accepts"],
        ),
        (PROD, ALPHAVANTAGE, {}, ["missing field 'apiKey'"]),
        (
            PROD,
            ALPHAVANTAGE,
            {"apiKey": FAKE, "x y": FAKE},
            ["1 unexpected field(s), the 2nd"],
        ),
        (PROD, ALPHAVANTAGE, {"apiKey": 12}, ["field 'apiKey' must be a JSON string"]),
        (PROD, ALPHAVANTAGE, [FAKE], ["the value must be a JSON object"]),
        (
            PROD,
            ALPHAVANTAGE,
            {"apiKey": " " + FAKE},
            ["field 'apiKey' has leading or trailing whitespace or a line break"],
        ),
        (PROD, ALPHAVANTAGE, {"apiKey": ""}, ["field 'apiKey' is empty"]),
        (
            DEV,
            ALPACA,
            {"apiKeyId": FAKE, "apiSecretKey": FAKE, "baseUrl": alpaca_endpoint(PROD)},
            ["field 'baseUrl' must be https://paper-api.alpaca.markets in dev"],
        ),
        (
            PROD,
            ALPACA,
            {"apiKeyId": FAKE},
            ["missing field 'apiSecretKey', field 'baseUrl'"],
        ),
    ],
)
def test_value_problems_name_the_fault(env, spec, value, expected):
    assert value_problems(env, spec, value) == expected


# Every value carries a character no message ever holds, so that a value that
# happens to spell a word of a message ("unexpect") is not mistaken for a leak.
@given(
    st.dictionaries(
        st.sampled_from(["apiKey", "apiKeyId", "extra", "baseUrl"]),
        st.text(min_size=7).map(lambda text: "\u00a7" + text),
    )
)
def test_no_problem_message_ever_repeats_a_value(value):
    for env in ENVIRONMENTS.values():
        for spec in (ALPHAVANTAGE, ALPACA):
            for problem in value_problems(env, spec, value):
                for field_value in value.values():
                    if field_value not in (alpaca_endpoint(env), alpaca_endpoint(PROD)):
                        assert field_value not in problem


def test_a_document_that_is_not_json_is_refused_by_position_only():
    with pytest.raises(ValueRefused) as refused:
        parse_document('{"apiKey": "' + FAKE, "trading/dev/alphavantage")
    assert FAKE not in str(refused.value) and "line 1 column" in str(refused.value)
    assert refused.value.exit_code == 3


def _read(data: bytes):
    import io

    from generator.ops.change.values import read_document

    return read_document(io.BytesIO(data), "trading/prod/alpaca")


@pytest.mark.parametrize(
    "data, reason",
    [
        (
            b'{"apiKey": "\xff\xfe"}',
            "the document is not UTF-8 (invalid byte at offset 12)",
        ),
        (
            b'{"apiKey": "a", "apiKey": "b"}',
            "not one JSON object: a member appears twice",
        ),
        (
            b"[" * 30_000 + b"]" * 30_000,
            "the document nests deeper than the secret's shape",
        ),
        (
            b'{"apiKey": "' + b"k" * 70_000 + b'"}',
            "the document is over Secrets Manager's 65536-byte limit",
        ),
        (b'{"apiKey": ', "not a JSON document (Expecting value at line 1 column 12)"),
    ],
    ids=["not-utf8", "duplicate-member", "deep-nesting", "over-64-kib", "truncated"],
)
def test_a_document_that_cannot_be_stored_safely_is_refused_in_one_line(data, reason):
    with pytest.raises(ValueRefused) as refused:
        _read(data)
    assert reason in str(refused.value) and refused.value.exit_code == 3
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "character",
    ["\r", "\x00", "\x1b", "\x7f", "\u0085", "\u2028", "\u2029", "\ud800"],
    ids=[
        "cr",
        "nul",
        "esc",
        "del",
        "nel",
        "line-separator",
        "paragraph-separator",
        "lone-surrogate",
    ],
)
def test_a_control_character_or_separator_inside_a_value_is_refused(character):
    problems = value_problems(PROD, ALPHAVANTAGE, {"apiKey": f"FAKE-{character}-value"})
    assert problems == [
        "field 'apiKey' holds a control character, a line separator or a lone surrogate"
    ]


def test_a_field_name_the_schema_does_not_know_is_never_echoed():
    """Keys look like identifiers: one typed where a field name belongs must not be printed back."""
    typed_as_name = "PK" + "TYPEDASAFIELDNAME1"
    problems = value_problems(
        PROD, ALPHAVANTAGE, {"apiKey": FAKE, typed_as_name: FAKE, "other": FAKE}
    )
    assert problems == ["2 unexpected field(s), the 2nd, 3rd"]
    assert typed_as_name not in " ".join(problems)


def test_the_largest_document_secrets_manager_takes_is_read():
    value = _read(b'{"apiKey": "' + b"k" * (65_536 - 14) + b'"}')
    assert len(value["apiKey"]) == 65_536 - 14


def test_the_unsafe_character_class_is_exactly_unicodes_control_and_surrogate_categories():
    """The fast check agrees with unicodedata on every code point there is."""
    import sys
    import unicodedata

    from generator.ops.change.values import LINE_SEPARATORS, UNSAFE_CHARACTER

    disagreements = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if (UNSAFE_CHARACTER.match(chr(code)) is not None)
        != (
            unicodedata.category(chr(code)) in ("Cc", "Cs")
            or chr(code) in LINE_SEPARATORS
        )
    ]
    assert disagreements == []
