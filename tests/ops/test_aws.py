"""AWS for trading-secrets: one client per service and region, bounded waits, one-line errors."""

from __future__ import annotations

import datetime
import time
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import (
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from support.fake_aws import FAKE, offline_client

from generator.errors import AwsError
from generator.ops.aws import AwsClients, aws_errors


@pytest.mark.parametrize(
    "code, expected",
    [
        (
            "AccessDeniedException",
            "access denied: cannot write trading/prod/alpaca in us-east-1 (AccessDeniedException)",
        ),
        (
            "KMSDisabledException",
            "KMS refused to write trading/prod/alpaca in us-east-1 (KMSDisabledException)",
        ),
        (
            "ResourceNotFoundException",
            "trading/prod/alpaca is not deployed in us-east-1: deploy the prod stack first",
        ),
        (
            "ThrottlingException",
            "cannot write trading/prod/alpaca in us-east-1: ThrottlingException",
        ),
    ],
)
def test_aws_errors_become_one_line_with_exit_4(code, expected):
    client = offline_client()
    with (
        pytest.raises(AwsError) as raised,
        aws_errors("write", "trading/prod/alpaca", "us-east-1"),
    ):
        with Stubber(client) as stub:
            stub.add_client_error(
                "put_secret_value",
                service_error_code=code,
                service_message="denied by policy",
            )
            client.put_secret_value(SecretId="trading/prod/alpaca", SecretString=FAKE)
    assert str(raised.value).startswith(expected)
    assert raised.value.exit_code == 4 and FAKE not in str(raised.value)


def test_a_message_from_aws_passes_through_the_leak_redactor():
    """Services quote input in their messages; a credential in one never reaches the terminal."""
    leaked = "PK" + "7QW3ZL9XK2M4B8N6R1"
    client = offline_client()
    with (
        pytest.raises(AwsError) as raised,
        aws_errors("write", "trading/prod/alpaca", "us-east-1"),
    ):
        with Stubber(client) as stub:
            stub.add_client_error(
                "put_secret_value",
                service_error_code="ValidationException",
                service_message=f"bad value {leaked}",
            )
            client.put_secret_value(SecretId="trading/prod/alpaca", SecretString=FAKE)
    assert leaked not in str(raised.value)
    assert "[REDACTED Alpaca key id]" in str(raised.value)


@pytest.mark.parametrize(
    "error, expected",
    [
        (NoCredentialsError(), "no AWS credentials found"),
        (
            EndpointConnectionError(endpoint_url="https://x.invalid/"),
            "cannot reach Secrets Manager in us-east-1 at https://x.invalid/",
        ),
        (
            ReadTimeoutError(endpoint_url="https://x.invalid/"),
            "cannot read trading/dev/alpaca in us-east-1: ReadTimeoutError",
        ),
    ],
)
def test_connection_errors_become_one_line(error, expected):
    with pytest.raises(AwsError, match="^" + expected.replace(".", r"\.")):
        with aws_errors("read", "trading/dev/alpaca", "us-east-1"):
            raise error


def test_one_client_per_service_and_region_with_timeouts_and_standard_retries(
    monkeypatch,
):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")
    aws = AwsClients()
    east = aws.secrets("us-east-1")
    assert aws.secrets("us-east-1") is east
    assert aws.secrets("us-west-2") is not east
    config = east.meta.config
    assert (
        config.retries["mode"] == "standard"
        and config.retries["total_max_attempts"] == 4
    )
    assert config.connect_timeout == 5 and config.read_timeout == 20
    # Who the caller is only goes into the log: a hung STS costs seconds, not minutes.
    sts = aws.client("sts", "us-east-1").meta.config
    assert sts.retries["mode"] == "standard" and sts.retries["total_max_attempts"] == 2
    assert sts.connect_timeout == 3 and sts.read_timeout == 3


def test_the_caller_is_looked_up_once_per_command():
    aws = AwsClients()
    sts = aws.client("sts", "us-east-1")
    with Stubber(sts) as stub:
        stub.add_response(
            "get_caller_identity",
            {
                "Arn": "arn:aws:iam::111111111111:user/ops",
                "Account": "111111111111",
                "UserId": "u",
            },
        )
        assert aws.caller("us-east-1") == "arn:aws:iam::111111111111:user/ops"
        assert (
            aws.caller("us-west-2") == "arn:aws:iam::111111111111:user/ops"
        )  # no second call: the stub has none


def test_an_unknown_caller_does_not_stop_the_command(caplog):
    aws = AwsClients()
    with Stubber(aws.client("sts", "us-east-1")) as stub:
        stub.add_client_error("get_caller_identity", service_error_code="ExpiredToken")
        assert aws.caller("us-east-1") == "unknown caller"
    assert "cannot tell who the caller is (ClientError)" in caplog.text


def test_every_command_in_a_process_reads_the_service_models_once():
    """A test run or a script runs many commands: making their clients must not parse the models again."""
    first, second = AwsClients(), AwsClients()
    assert first.secrets("us-east-1") is not second.secrets("us-east-1")
    loaders = {
        id(aws._session._session.get_component("data_loader"))
        for aws in (first, second)
    }
    assert len(loaders) == 1


def test_across_tries_every_place_and_raises_the_first_failure_in_order():
    from generator.errors import AwsError
    from generator.ops.aws import across

    tried: list[str] = []

    def work(where: str) -> str:
        tried.append(where)
        if where.endswith("us-west-2"):
            raise AwsError(f"failed in {where}")
        return where.upper()

    places = [
        f"{a}/{r}"
        for a in ("111111111111", "222222222222")
        for r in ("us-east-1", "us-west-2")
    ]
    with pytest.raises(AwsError, match="failed in 111111111111/us-west-2"):
        across(places, work)
    assert sorted(tried) == sorted(places)  # the failure stopped no other place
    assert across(places[:1], work) == {places[0]: places[0].upper()}


def test_across_works_on_places_at_once():
    import threading

    from generator.ops.aws import PARALLEL_PLACES, across

    barrier = threading.Barrier(PARALLEL_PLACES, timeout=10)
    # Only when PARALLEL_PLACES run together does the barrier open.
    assert (
        len(across([str(n) for n in range(PARALLEL_PLACES)], lambda _: barrier.wait()))
        == PARALLEL_PLACES
    )


@pytest.fixture
def ctrl_c():  # type: ignore[no-untyped-def]
    """Ctrl-C is a KeyboardInterrupt in this test, whatever an earlier test in the process installed."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _unsent_call() -> BaseException:
    """A call to a closed loopback port, as every command's clients are made: what stops it."""
    from generator.ops.aws import _new_session

    client = _new_session().client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    try:
        client.list_secrets()
    except Exception as stopped:
        return stopped
    raise AssertionError("a call to a closed port answered")


def test_an_interrupt_waits_for_the_calls_in_flight_and_sends_nothing_meanwhile(ctrl_c):
    """What a put reads back after Ctrl-C must be final: no call may land, nor a retry leave, after it."""
    import signal
    import threading

    from botocore.exceptions import EndpointConnectionError

    from generator.ops import aws
    from generator.ops.aws import StoppedByInterrupt, across

    ended: list[str] = []
    retried: list[BaseException] = []

    def work(where: str) -> None:
        if where == "in flight":
            # Ctrl-C, as the terminal sends it, while this place's call is out.
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            deadline = time.monotonic() + 10
            while not aws._STOPPING.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.3)  # its answer comes later
            retried.append(_unsent_call())  # and botocore retries it
            ended.append(where)

    with pytest.raises(KeyboardInterrupt):
        across(["in flight", "other"], work)
    assert ended == ["in flight"]  # waited for, before the interrupt was raised
    assert isinstance(retried[0], StoppedByInterrupt)  # its retry never sent
    assert isinstance(_unsent_call(), EndpointConnectionError)  # sent again afterwards


def test_a_second_interrupt_stops_the_wait_and_nothing_more_is_sent(ctrl_c):
    import signal
    import threading

    from generator.ops import aws
    from generator.ops.aws import StoppedByInterrupt, across

    ended: list[str] = []

    def work(where: str) -> None:
        if where == "in flight":
            main = threading.main_thread().ident or 0
            signal.pthread_kill(main, signal.SIGINT)
            deadline = time.monotonic() + 10
            while not aws._STOPPING.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.1)
            signal.pthread_kill(main, signal.SIGINT)  # the operator will not wait
            time.sleep(0.5)
            ended.append(where)

    try:
        with pytest.raises(KeyboardInterrupt):
            across(["in flight", "other"], work)
        assert ended == []  # it left without waiting
        assert isinstance(_unsent_call(), StoppedByInterrupt)  # and sends nothing more
    finally:
        time.sleep(0.6)  # the work ends before the next test
        aws._STOPPING.clear()


def test_an_interrupt_in_submit_still_waits_for_the_work_it_started(monkeypatch):
    """Ctrl-C can land after a thread took the work and before `submit` returned its future."""
    from concurrent.futures import ThreadPoolExecutor

    from generator.ops.aws import across

    ended: list[str] = []
    submit = ThreadPoolExecutor.submit

    def interrupted_submit(self, fn, *args):  # type: ignore[no-untyped-def]
        future = submit(self, fn, *args)
        if args[-1] == "second":
            raise KeyboardInterrupt
        return future

    def work(where: str) -> None:
        time.sleep(0.3)
        ended.append(where)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", interrupted_submit)
    with pytest.raises(KeyboardInterrupt):
        across(["first", "second", "third"], work)
    assert sorted(ended) == ["first", "second"]  # "third" never started


def test_a_place_names_its_account_and_region():
    from generator.ops.aws import account_of, place, region_of

    assert (
        account_of(place("222222222222", "us-west-2")),
        region_of(place("222222222222", "us-west-2")),
    ) == (
        "222222222222",
        "us-west-2",
    )
    assert (account_of("us-east-1"), region_of("us-east-1")) == (None, "us-east-1")


def test_accounts_without_a_role_to_assume_are_a_usage_error(capsys):
    from generator.ops import cli as ops_cli

    code = ops_cli.main(["status", "--env", "prod", "--accounts", "222222222222"])
    assert code == 2
    assert "--accounts needs --role-name" in capsys.readouterr().err


def test_a_purge_through_the_operator_role_is_a_usage_error_before_aws_is_called(
    capsys, monkeypatch
):
    from generator.ops import cli as ops_cli

    monkeypatch.setenv(
        "AWS_ENDPOINT_URL", "http://127.0.0.1:9"
    )  # nothing answers there
    code = ops_cli.main(
        [
            "dead-letters",
            "--env",
            "prod",
            "--purge",
            "--role-name",
            "r",
            "--accounts",
            "222222222222",
        ]
    )
    assert code == 2
    assert "--purge acts in one account" in capsys.readouterr().err


def test_a_role_for_dev_is_a_usage_error(capsys):
    from generator.ops import cli as ops_cli

    code = ops_cli.main(
        ["status", "--env", "dev", "--role-name", "r", "--accounts", "222222222222"]
    )
    assert code == 2
    assert "dev lives in one account" in capsys.readouterr().err


def _answering_assume_role(
    *lasting: datetime.timedelta,
) -> tuple[boto3.session.Session, list[str]]:
    """A session whose sts:AssumeRole answers with credentials "key-1", "key-2"... lasting each given time."""
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    asked: list[str] = []

    def answer(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        asked.append(
            params["body"]["RoleArn"]
        )  # the request as serialized: a query-protocol form
        number = len(asked)
        now = datetime.datetime.now(datetime.UTC)
        credentials = {
            "AccessKeyId": f"key-{number}",
            "SecretAccessKey": "FAKE-secret",
            "SessionToken": "FAKE-token",
            "Expiration": now + lasting[number - 1],
        }
        return AWSResponse("", 200, {}, None), {"Credentials": credentials}

    session.events.register("before-call.sts.AssumeRole", answer)
    return session, asked


def test_credentials_of_an_assumed_role_are_renewed_before_they_expire():
    # A command that outlasts its role's session (an hour by default) goes on: the first credentials here
    # expire within botocore's mandatory refresh window, so their first use assumes the role again.
    session, asked = _answering_assume_role(
        datetime.timedelta(minutes=5), datetime.timedelta(hours=1)
    )
    clients = AwsClients(session, role_name="trading-prod-operator")
    acting = clients._in_account("222222222222", "us-east-1")
    assert acting.get_credentials().get_frozen_credentials().access_key == "key-2"
    assert asked == ["arn:aws:iam::222222222222:role/trading-prod-operator"] * 2
    # Fresh ones are used as they are, and the account's session is made once.
    assert clients._in_account("222222222222", "us-east-1") is acting
    assert acting.get_credentials().get_frozen_credentials().access_key == "key-2"
    assert len(asked) == 2


def test_a_refused_assume_role_is_one_line_that_says_what_to_deploy():
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    clients = AwsClients(session, role_name="trading-prod-operator")
    sts = offline_client("sts")
    with Stubber(sts) as stub:
        stub.add_client_error(
            "assume_role", "AccessDenied", "not authorized to perform: sts:AssumeRole"
        )
        session.client = lambda *_, **__: sts  # type: ignore[method-assign]
        with pytest.raises(AwsError) as raised:
            clients._in_account("222222222222", "us-east-1")
    assert str(raised.value) == (
        "cannot act in account 222222222222: assuming arn:aws:iam::222222222222:role/trading-prod-operator was "
        "refused (AccessDenied): not authorized to perform: sts:AssumeRole; deploy the operator role there "
        "(templates/prod/operator-role.json) and check its trust"
    )


def test_a_command_after_one_stopped_for_good_sends_again(capsys):
    """A second Ctrl-C leaves the stop set, so that nothing more goes out; the next command in this process starts clear."""
    from generator.ops import aws
    from generator.ops import cli as ops_cli

    aws._STOPPING.set()
    try:
        ops_cli.main(["status", "--env", "prod", "--accounts", "222222222222"])
        assert not aws.calls_abandoned()
    finally:
        aws._STOPPING.clear()
    assert "--accounts needs --role-name" in capsys.readouterr().err
