"""Secret names, export names and tags: examples plus property-based tests of the validators."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator import naming, tagging
from generator.catalogue import CATALOGUE
from generator.environments import ENVIRONMENTS

SECRET_NAME_ALPHABET = string.ascii_letters + string.digits + "/_+=.@-"


def assert_problems(problems: list[str], expected: str | None) -> None:
    """No problem when none is expected; otherwise at least one that mentions `expected`."""
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("env_name", list(ENVIRONMENTS))
@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.logical_id)
def test_catalogue_names_are_valid(env_name, spec):
    env = ENVIRONMENTS[env_name]
    assert naming.secret_name_problems(naming.secret_name(env, spec)) == []
    assert naming.secret_name(env, spec).startswith(naming.secret_name_prefix(env))


@pytest.mark.parametrize(
    "name, problem",
    [
        ("trading/dev/alpaca", None),
        ("", "empty"),
        ("trading/dev/al paca", "characters outside"),
        ("trading/dev/alpaca!", "characters outside"),
        ("trading/dev/my-secret", "ARN suffix"),
        ("trading/dev/x-abcdef", "ARN suffix"),
        ("trading/dev/x-abcdefg", None),
        ("a" * 512, None),
        ("a" * 513, "over the 512 limit"),
    ],
    ids=[
        "valid",
        "empty",
        "space",
        "bang",
        "dash-six",
        "dash-six-letters",
        "dash-seven",
        "max-length",
        "too-long",
    ],
)
def test_secret_name_rules(name, problem):
    assert_problems(naming.secret_name_problems(name), problem)


@given(st.text(alphabet=SECRET_NAME_ALPHABET, min_size=1, max_size=600))
def test_secret_name_validator_agrees_with_the_rules(name):
    valid = len(name) <= 512 and not re.search(r"-.{6}\Z", name, re.DOTALL)
    assert (naming.secret_name_problems(name) == []) is valid


@given(
    st.text(min_size=1, max_size=40).filter(
        lambda s: any(c not in SECRET_NAME_ALPHABET for c in s)
    )
)
def test_secret_name_with_any_foreign_character_is_refused(name):
    assert any("characters outside" in p for p in naming.secret_name_problems(name))


@given(
    st.text(
        alphabet=string.ascii_letters + string.digits + ":-", min_size=1, max_size=255
    )
)
def test_export_names_from_the_allowed_alphabet_are_accepted(name):
    assert naming.export_name_problems(name) == []


@pytest.mark.parametrize(
    "name, problem",
    [
        ("", "empty"),
        ("trading_dev", "characters outside"),
        ("a" * 256, "over the 255 limit"),
    ],
    ids=["empty", "underscore", "too-long"],
)
def test_export_name_rules(name, problem):
    assert any(problem in p for p in naming.export_name_problems(name))


def test_export_names_are_project_env_output():
    assert (
        naming.export_name(ENVIRONMENTS["prod"], "AlpacaCredentialsArn")
        == "trading-prod-AlpacaCredentialsArn"
    )


@pytest.mark.parametrize("env_name", list(ENVIRONMENTS))
@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.logical_id)
def test_catalogue_tags_are_valid(env_name, spec):
    assert (
        tagging.aws_tag_rule_violations(
            tagging.secret_tags(ENVIRONMENTS[env_name], spec)
        )
        == []
    )


@pytest.mark.parametrize(
    "tags, problem",
    [
        ({"Owner": "team"}, None),
        ({"Owner": ""}, None),
        ({"": "x"}, "1 to 128"),
        ({"k" * 129: "x"}, "1 to 128"),
        ({"aws:owner": "x"}, "reserved prefix"),
        ({"AWS:Owner": "x"}, "reserved prefix"),
        ({"Owner": "v" * 257}, "over 256"),
        ({"Owner!": "x"}, "characters AWS does not allow"),
        ({"Owner": "a;b"}, "characters AWS does not allow"),
        ({"Équipe": "données 1"}, None),
        ({f"k{i}": "v" for i in range(51)}, "over the limit of 50"),
    ],
    ids=[
        "valid",
        "empty-value",
        "empty-key",
        "long-key",
        "aws-prefix",
        "aws-prefix-uppercase",
        "long-value",
        "bad-key-char",
        "bad-value-char",
        "unicode-letters",
        "too-many",
    ],
)
def test_tag_rules(tags, problem):
    assert_problems(tagging.aws_tag_rule_violations(tags), problem)


TAG_CHARACTERS = st.characters(
    categories=("L", "N", "Zs"), include_characters="_.:/=+-@"
)


@given(
    st.dictionaries(
        st.text(TAG_CHARACTERS, min_size=1, max_size=128).filter(
            lambda k: not k.lower().startswith("aws:")
        ),
        st.text(TAG_CHARACTERS, max_size=256),
        max_size=50,
    )
)
def test_tags_within_every_rule_are_accepted(tags):
    assert tagging.aws_tag_rule_violations(tags) == []


@given(st.text(TAG_CHARACTERS, max_size=120))
def test_reserved_prefix_is_always_refused(suffix):
    assert any(
        "reserved prefix" in p
        for p in tagging.aws_tag_rule_violations({"aws:" + suffix: "x"})
    )


DISALLOWED_CHARACTER = st.characters(
    exclude_categories=("L", "N", "Z"), exclude_characters="_.:/=+-@"
)


@given(
    st.text(TAG_CHARACTERS, max_size=20),
    DISALLOWED_CHARACTER,
    st.text(TAG_CHARACTERS, max_size=20),
)
def test_a_disallowed_character_anywhere_is_refused(before, bad, after):
    problems = tagging.aws_tag_rule_violations(
        {f"Key{before}{bad}{after}": f"{before}{bad}{after}"}
    )
    assert any("key" in p and "characters AWS does not allow" in p for p in problems)
    assert any("value has characters AWS does not allow" in p for p in problems)
