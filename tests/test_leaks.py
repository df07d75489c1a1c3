"""The credential-leak scanner: it finds every shape it is for, names no value, and never flags a placeholder."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.tool_runs import output_leaks

from generator.catalogue import ALPACA, CATALOGUE
from generator.environments import ENVIRONMENTS
from generator.leaks import (
    RedactingFilter,
    known_placeholder_values,
    redact,
    scan_line,
    scan_text,
)

# Built at run time so that this file itself holds no credential shape.
SAMPLES = {
    "AWS access key id": "AKIA" + "IOSFODNN7" + "EXAMPLE",
    "Alpaca key id": "PK" + "7QW3ZL9XK2M4B8N6R1",
    "AlphaVantage key": "X7K2" + "M9QW" + "3ZL8" + "B4N6",
    "a high-entropy token": "kx7Qz2Lm9Pw4Rt8V" + "b3Nc6Yh1Jd" + "5Gf0SaUeWoXiTq",
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_each_shape_is_found_alone_in_json_and_in_a_log_line(kind):
    sample = SAMPLES[kind]
    for line in (
        sample,
        json.dumps({"apiKey": sample}),
        f"build.py: dev: value is {sample}.",
    ):
        assert kind in scan_line(line), line


def test_a_long_hex_key_is_a_high_entropy_token():
    assert scan_line(
        "token " + "9f86d08188" + "4c7d659a2f" + "eaa0c55ad0" + "15a3bf4f1b"
    ) == ["a high-entropy token"]


def test_an_aws_secret_access_key_is_a_high_entropy_token():
    assert scan_line(
        "aws_secret_access_key=" + "wJalrXUtnF" + "EMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
    ) == ["a high-entropy token"]


@pytest.mark.parametrize(
    "line",
    [
        "AllowEventBridgeToPublishToEncryptedTopic",
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:trading/prod/alpaca-AbCdEf",
        "version 3f1e5c0a-8d9b-4c0e-9e7a-1b2c3d4e5f60 is AWSCURRENT",
        "--operation-preferences FailureToleranceCount=0,MaxConcurrentCount=1",
        "CREATE_COMPLETE UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    ],
)
def test_ordinary_lines_are_quiet(line):
    assert scan_line(line) == []


@pytest.mark.parametrize("env", ENVIRONMENTS.values(), ids=lambda env: env.name)
@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.logical_id)
def test_placeholders_never_match(env, spec):
    assert scan_text(json.dumps(spec.placeholder(env), indent=2), "placeholder") == []


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=60))
def test_placeholder_shaped_text_never_matches(words):
    assert scan_line(f"PLACEHOLDER-{words}-not-real") == []


def test_a_finding_names_source_line_and_kind_but_never_the_text():
    sample = SAMPLES["Alpaca key id"]
    leaks = [
        str(leak)
        for leak in scan_text(
            f'first line\n  "apiKeyId": "{sample}"\n', "params/dev/secrets.json"
        )
    ]
    assert (
        leaks[0]
        == "params/dev/secrets.json line 2: something shaped like Alpaca key id"
    )
    assert not any(sample in leak for leak in leaks)


def test_output_gate_flags_a_placeholder_printed_to_the_log():
    placeholder = ALPACA.placeholder(ENVIRONMENTS["dev"])["apiSecretKey"]
    log = f"build.py: dev: secret name trading/dev/alpaca is valid\nbuild.py: dev: value {placeholder}\n"
    assert [
        str(leak) for leak in output_leaks(log, "build log", known_placeholder_values())
    ] == ["build log line 2: something shaped like a secret value"]


def test_redaction_replaces_every_shape_and_known_value():
    placeholder = next(iter(known_placeholder_values()))
    line = " ".join([*SAMPLES.values(), placeholder])
    redacted = redact(line, known_placeholder_values())
    assert (
        all(sample not in redacted for sample in SAMPLES.values())
        and placeholder not in redacted
    )
    assert scan_line(redacted) == []
    assert (
        "[REDACTED Alpaca key id]" in redacted and "[REDACTED secret value]" in redacted
    )


def test_the_redacting_filter_rewrites_a_leaking_log_line():
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(known_placeholder_values()))
    logger = logging.getLogger("test-redaction")
    logger.addHandler(handler)
    try:
        logger.warning(
            "key %s and %s",
            SAMPLES["AWS access key id"],
            next(iter(known_placeholder_values())),
        )
    finally:
        logger.removeHandler(handler)
    assert (
        stream.getvalue()
        == "key [REDACTED AWS access key id] and [REDACTED secret value]\n"
    )


@pytest.mark.parametrize(
    "name",
    [
        "Synthetic000CredentialsArn",
        "Polygon2ApiCredentialsResourcePolicy",
        "AWS4HMACSHA256Signature",
    ],
)
def test_identifiers_with_digits_are_not_tokens(name):
    assert scan_line(f'"{name}": {{') == []


@pytest.mark.parametrize("length", [20, 40])
def test_random_keys_are_found_nearly_always(length):
    """Alpaca secret keys and AWS secret keys are random: the scanner must find at least 98 in 100."""
    import random
    import string

    generator = random.Random(length)  # seeded: the same sample every run
    alphabet = string.ascii_letters + string.digits
    tokens = [
        "".join(generator.choice(alphabet) for _ in range(length)) for _ in range(1000)
    ]
    found = sum("a high-entropy token" in scan_line(token) for token in tokens)
    assert found >= 980, f"{found} of 1000 random {length}-character keys found"


@pytest.mark.parametrize(
    "name",
    [
        "RoleArnMatchesAnyPath",
        "ReadAllowListExemptsOperators",
        "EventBridgeTopicStatementHasNoCondition",
    ],
)
def test_camel_case_words_run_together_are_identifiers_not_tokens(name):
    assert scan_line(f"class {name}(CloudFormationLintRule):") == []


def test_random_letters_only_keys_are_still_found():
    import random
    import string

    generator = random.Random(7)
    tokens = [
        "".join(generator.choice(string.ascii_letters) for _ in range(40))
        for _ in range(500)
    ]
    found = sum("a high-entropy token" in scan_line(token) for token in tokens)
    assert found >= 475, f"{found} of 500 random 40-letter keys found"


@pytest.mark.parametrize(
    "path",
    [
        "/tmp/o3/staging/secrets.json",
        "/home/ci/builds/x7k2m9qw/trading/templates/staging/secrets.json",
        "/tmp/pytest-of-root/pytest3/test_x0/out/prod/secrets.json",
        "docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html",
    ],
)
def test_ordinary_paths_are_neither_flagged_nor_redacted(path):
    line = f"build.py: staging: wrote {path}"
    assert scan_line(line) == [] and redact(line) == line


def test_a_secret_key_inside_a_path_is_still_found():
    """A path is let through only when every segment is a plain name: a key among them is not."""
    key = "wJalrXUtnF" + "EMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
    assert scan_line(f"/tmp/{key}/secrets.json") == ["a high-entropy token"]
    assert key not in redact(f"wrote /tmp/{key}")


# A real digest from bench/cdk/package-lock.json (constructs 10.8.1's tarball).
# Built at run time, like SAMPLES.
PACKAGE_DIGEST = "sha512-" + "".join(
    [
        "gvgzQtc0ZEcYc8WX",
        "MyCfbwJ1xlGWM/X6",
        "rG5gEiCSqT8c7e31",
        "c4tVQ5nhdgztKJ+E",
        "0UL4BCsVN0s/3YP6",
        "2NJ/yg==",
    ]
)


def test_an_npm_lock_file_digest_is_not_a_credential():
    assert scan_line(f'      "integrity": "{PACKAGE_DIGEST}",') == []


@pytest.mark.parametrize(
    "line",
    [
        # The same text under another name, or cut short, is a token like any other.
        f'"apiSecretKey": "{PACKAGE_DIGEST}"',
        f'"integrity": "{PACKAGE_DIGEST[:60]}"',
        # A credential next to a digest is still found.
        f'"integrity": "{PACKAGE_DIGEST}", "key": "{PACKAGE_DIGEST[7:47]}"',
    ],
)
def test_only_a_whole_lock_file_digest_is_let_through(line):
    assert "a high-entropy token" in scan_line(line)


def _temporary_names(style: str, count: int = 300) -> list[str]:
    """Directory names as mktemp(1) (run.XXXXXX: mixed case and digits) and tempfile.mkdtemp (tmp + 8) make them."""
    import random
    import string

    generator = random.Random(style)  # seeded: the same names every run
    if style == "mktemp":
        alphabet, length, prefix = string.ascii_letters + string.digits, 6, "run."
    else:
        alphabet, length, prefix = (
            string.ascii_lowercase + string.digits + "_",
            8,
            "tmp",
        )
    return [
        prefix + "".join(generator.choice(alphabet) for _ in range(length))
        for _ in range(count)
    ]


@pytest.mark.parametrize("style", ["mktemp", "mkdtemp"])
def test_a_path_in_a_temporary_directory_is_left_whole(style):
    """The "wrote <path>" lines must say where; a random directory name is 6 to 8 characters, no key."""
    for name in _temporary_names(style):
        line = f"build.py: wrote /tmp/{name}/templates/dev/secrets.json"
        assert redact(line) == line, line
        assert scan_line(line) == [], line


@pytest.mark.parametrize(
    "line",
    [
        "trading/prod/alpaca in us-east-1: version f0b4ed43-1a2b-4c3d-8e9f-0a1b2c3d4e5f is AWSCURRENT",
        "trading-dev-secrets in us-east-1: change set trading-secrets-20261202-001718-0c4a10 (create):",
        "stack set trading-prod-secrets: operation 71bcd881-5189-44b2-9df9-4fb1bf708503 is SUCCEEDED",
    ],
)
def test_version_ids_and_operation_ids_are_left_alone(line):
    assert redact(line) == line and scan_line(line) == []


def test_a_key_in_a_path_is_redacted_and_the_names_around_it_kept():
    """The run that holds the key goes whole, with any random name next to it; plain names stay."""
    key = "wJalrXUtnF" + "EMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
    assert (
        redact(f"wrote /tmp/keys/{key}/secrets.json")
        == "wrote /tmp/keys/[REDACTED high-entropy token]/secrets.json"
    )
    assert key not in redact(f"wrote /tmp/run.jV70fY/{key}/secrets.json")
