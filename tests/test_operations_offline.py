"""trading-secrets without an engine: value checks, argument errors, prompts and AWS error mapping."""

from __future__ import annotations

import io
import json
import sys
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError, ReadTimeoutError
from botocore.stub import Stubber
from hypothesis import given, strategies as st

from generator import operations, ops_cli
from generator.catalogue import ALPACA, ALPHAVANTAGE
from generator.environments import ENVIRONMENTS
from generator.values import ValueRefused, parse_document, value_problems

DEV, PROD = ENVIRONMENTS["dev"], ENVIRONMENTS["prod"]
FAKE = "FAKE-offline-test-value"


@pytest.mark.parametrize(
    "env, spec, value, expected",
    [
        (PROD, ALPHAVANTAGE, {"apiKey": FAKE}, []),
        (DEV, ALPHAVANTAGE, {"apiKey": "PLACEHOLDER-is-fine-in-dev"}, []),
        (PROD, ALPHAVANTAGE, {"apiKey": "a placeholder"}, ["field 'apiKey' holds placeholder text, which prod never accepts"]),
        (PROD, ALPHAVANTAGE, {}, ["missing field 'apiKey'"]),
        (PROD, ALPHAVANTAGE, {"apiKey": FAKE, "x y": FAKE}, ["unexpected a field with an unusual name"]),
        (PROD, ALPHAVANTAGE, {"apiKey": 12}, ["field 'apiKey' must be a JSON string"]),
        (PROD, ALPHAVANTAGE, [FAKE], ["the value must be a JSON object"]),
        (PROD, ALPHAVANTAGE, {"apiKey": " " + FAKE}, ["field 'apiKey' has leading or trailing whitespace or a line break"]),
        (PROD, ALPHAVANTAGE, {"apiKey": ""}, ["field 'apiKey' is empty"]),
        (DEV, ALPACA, {"apiKeyId": FAKE, "apiSecretKey": FAKE, "baseUrl": PROD.alpaca_endpoint},
         ["field 'baseUrl' must be https://paper-api.alpaca.markets in dev"]),
        (PROD, ALPACA, {"apiKeyId": FAKE}, ["missing field 'apiSecretKey', field 'baseUrl'"]),
    ],
)
def test_value_problems_name_the_fault(env, spec, value, expected):
    assert value_problems(env, spec, value) == expected


@given(st.dictionaries(st.sampled_from(["apiKey", "apiKeyId", "extra", "baseUrl"]), st.text(min_size=8)))
def test_no_problem_message_ever_repeats_a_value(value):
    for env in ENVIRONMENTS.values():
        for spec in (ALPHAVANTAGE, ALPACA):
            for problem in value_problems(env, spec, value):
                for field_value in value.values():
                    if field_value not in (env.alpaca_endpoint, PROD.alpaca_endpoint):
                        assert field_value not in problem


def test_a_document_that_is_not_json_is_refused_by_position_only():
    with pytest.raises(ValueRefused) as refused:
        parse_document('{"apiKey": "' + FAKE, "trading/dev/alphavantage")
    assert FAKE not in str(refused.value) and "line 1 column" in str(refused.value)
    assert refused.value.exit_code == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["status"], "the following arguments are required: --env"),
        (["put", "--env", "prod"], "the following arguments are required: --secret"),
        (["put", "--env", "prod", "--secret", "alpaca", "--value", "x"], "unrecognized arguments: --value x"),
        (["status", "--env", "qa"], "unknown environment 'qa'"),
        (["put", "--env", "dev", "--secret", "polygon"], "unknown secret 'polygon'; valid secrets: alphavantage, alpaca"),
        (["status", "--env", "dev", "--region", "us-west-2"], "dev is not deployed to 'us-west-2'; its regions: us-east-1"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, message):
    assert ops_cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err


def test_put_without_a_terminal_or_stdin_flag_refuses_to_prompt(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert ops_cli.main(["put", "--env", "dev", "--secret", "alpaca"]) == 2
    assert "pipe one JSON document with --from-stdin" in capsys.readouterr().err


def test_rollback_from_a_script_needs_yes(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    with pytest.raises(ops_cli.ConfigurationError, match="pass --yes"):
        ops_cli._confirm("roll back?")


def test_the_terminal_prompt_asks_for_secret_fields_only_and_fixes_the_endpoint(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    asked = []

    def prompt(text: str) -> str:
        asked.append(text)
        return FAKE

    value = ops_cli.read_value_from_terminal(PROD, ALPACA, prompt=prompt)
    assert value == {"apiKeyId": FAKE, "apiSecretKey": FAKE, "baseUrl": PROD.alpaca_endpoint}
    assert [text.split(" ")[0] for text in asked] == ["apiKeyId", "apiSecretKey"]
    assert all("not echoed" in text for text in asked)
    assert FAKE not in capsys.readouterr().err


def _client(region: str = "us-east-1"):
    return boto3.client("secretsmanager", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")


@pytest.mark.parametrize(
    "code, expected",
    [
        ("AccessDeniedException", "access denied: cannot write trading/prod/alpaca in us-east-1 (AccessDeniedException)"),
        ("KMSDisabledException", "KMS refused to write trading/prod/alpaca in us-east-1 (KMSDisabledException)"),
        ("ResourceNotFoundException", "trading/prod/alpaca is not deployed in us-east-1: deploy the prod stack first"),
        ("ThrottlingException", "cannot write trading/prod/alpaca in us-east-1: ThrottlingException"),
    ],
)
def test_aws_errors_become_one_line_with_exit_4(code, expected):
    with pytest.raises(operations.AwsError) as raised, operations.aws_errors("write", "trading/prod/alpaca", "us-east-1"):
        client = _client()
        with Stubber(client) as stub:
            stub.add_client_error("put_secret_value", service_error_code=code, service_message="denied by policy")
            client.put_secret_value(SecretId="trading/prod/alpaca", SecretString=FAKE)
    assert str(raised.value).startswith(expected)
    assert raised.value.exit_code == 4 and FAKE not in str(raised.value)


@pytest.mark.parametrize(
    "error, expected",
    [
        (NoCredentialsError(), "no AWS credentials found"),
        (EndpointConnectionError(endpoint_url="https://x.invalid/"), "cannot reach Secrets Manager in us-east-1 at https://x.invalid/"),
        (ReadTimeoutError(endpoint_url="https://x.invalid/"), "cannot read trading/dev/alpaca in us-east-1: ReadTimeoutError"),
    ],
)
def test_connection_errors_become_one_line(error, expected):
    with pytest.raises(operations.AwsError, match="^" + expected.replace(".", r"\.")):
        with operations.aws_errors("read", "trading/dev/alpaca", "us-east-1"):
            raise error


def test_a_put_refused_in_the_second_region_says_what_was_already_written(monkeypatch):
    monkeypatch.setattr(operations, "caller_identity", lambda region: "arn:aws:iam::111111111111:user/test")
    clients = {region: _client(region) for region in PROD.regions}
    stubs = {region: Stubber(client) for region, client in clients.items()}
    for region, stub in stubs.items():
        stub.add_response("list_secret_version_ids", {"Versions": [], "Name": "trading/prod/alphavantage"})
    stubs["us-east-1"].add_response("put_secret_value", {"VersionId": "v" * 32, "Name": "trading/prod/alphavantage"})
    stubs["us-west-2"].add_client_error("put_secret_value", service_error_code="AccessDeniedException", service_message="no")
    for stub in stubs.values():
        stub.activate()
    with pytest.raises(operations.AwsError, match=r"already written in: us-east-1; rerun with --region us-west-2"):
        operations.put_value(PROD, ALPHAVANTAGE, {"apiKey": FAKE}, PROD.regions, client_for=clients.__getitem__)


def test_a_refused_value_reaches_no_aws_call():
    def no_client(region):
        raise AssertionError("a refused value must not reach AWS")

    with pytest.raises(ValueRefused):
        operations.put_value(PROD, ALPHAVANTAGE, {"apiKey": "PLACEHOLDER-x"}, PROD.regions, client_for=no_client)


def _described(tags: dict[str, str]) -> dict:
    return {"ARN": "arn:aws:secretsmanager:us-east-1:111111111111:secret:trading/prod/alphavantage-AbCdEf", "Name": "trading/prod/alphavantage",
            "KmsKeyId": "arn:aws:kms:us-east-1:111111111111:key/k", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


@pytest.mark.parametrize(
    "stored, age_days, tags_override, state, gate",
    [
        (None, None, {}, "EMPTY", ["EMPTY in prod: put the real value before go-live"]),
        ('{"apiKey":"PLACEHOLDER-x"}', 1, {}, "PLACEHOLDER", ["PLACEHOLDER in prod: put the real value before go-live"]),
        ('{"apiKey":"FAKE-ok"}', 1, {}, "SET", []),
        ('{"apiKey":"FAKE-ok"}', 91, {}, "SET", ["AWSCURRENT is 91.0 days old, over its RotationIntervalDays of 90: rotate it"]),
        ("not json", 1, {}, "INVALID", ["value does not match the schema: the value is not a JSON document"]),
        ('{"apiKey":"FAKE-ok"}', 1, {"RotationIntervalDays": "soon"}, "SET", ["no valid RotationIntervalDays tag, so rotation cannot be tracked"]),
    ],
)
def test_status_decides_state_and_gate_from_what_aws_returns(stored, age_days, tags_override, state, gate):
    from generator import tagging

    now = datetime(2026, 11, 28, tzinfo=timezone.utc)
    client = _client()
    tags = {**tagging.secret_tags(PROD, ALPHAVANTAGE), **tags_override}
    with Stubber(client) as stub:
        stub.add_response("describe_secret", _described(tags))
        versions = [] if stored is None else [{"VersionId": "c" * 32, "VersionStages": ["AWSCURRENT"], "CreatedDate": now - timedelta(days=age_days)}]
        stub.add_response("list_secret_version_ids", {"Versions": versions})
        if stored is not None:
            stub.add_response("get_secret_value", {"SecretString": stored, "VersionId": "c" * 32})
        status = operations.secret_status(PROD, ALPHAVANTAGE, "us-east-1", client, now=now)
    assert status.state.value == state
    assert list(status.gate_problems) == gate
    assert "FAKE-ok" not in json.dumps(status.as_json())
    assert status.tag_problems == ()


def test_status_reports_a_tag_that_drifted():
    client = _client()
    with Stubber(client) as stub:
        from generator import tagging
        tags = {**tagging.secret_tags(PROD, ALPHAVANTAGE), "Owner": "someone-else"}
        del tags["CostCenter"]
        stub.add_response("describe_secret", _described(tags))
        stub.add_response("list_secret_version_ids", {"Versions": []})
        status = operations.secret_status(PROD, ALPHAVANTAGE, "us-east-1", client)
    assert status.tag_problems == ("tag Owner is 'someone-else', expected 'platform-engineering'", "tag CostCenter is missing")


def test_clients_retry_throttling_with_botocore_standard_mode(monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")
    client = operations.secrets_client("us-east-1")
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.config.retries["total_max_attempts"] == 4
    assert client.meta.config.connect_timeout == 5
