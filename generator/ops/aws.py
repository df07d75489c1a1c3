"""boto3 for `trading-secrets`: one client per service and region, bounded waits, one-line errors.

Every call has connect and read timeouts and botocore's standard retry mode
(backoff on throttling and transient errors; AWS_MAX_ATTEMPTS sets the
attempts, 3 by default), STS included, so a hung endpoint costs seconds.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

from generator.errors import AwsError
from generator.leaks import redact
from generator.naming import TOOL_USER_AGENT

LOG = logging.getLogger(__name__)
T = TypeVar("T")
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard"})
# Who the caller is only goes into the log: worth seconds, never minutes.
IDENTITY_CONFIG = Config(
    connect_timeout=3,
    read_timeout=3,
    retries={"mode": "standard", "total_max_attempts": 2},
)
_KMS_ERRORS = {
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSNotFoundException",
    "DecryptionFailure",
    "EncryptionFailure",
}
_ACCESS_ERRORS = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
}
UNKNOWN_CALLER = "unknown caller"


@functools.cache
def _service_models() -> Any:
    """botocore's loader of service models, shared by every session of this process.

    Reading the models is most of what making a client costs; a process that
    runs several commands (a test run, a script) reads each model once.
    """
    return botocore.loaders.create_loader()


class StoppedByInterrupt(BotoCoreError):  # type: ignore[misc]  # botocore is untyped
    """A request not sent because the command was interrupted: a retry included."""

    fmt = "not sent: the command was interrupted"


# Set while an interrupted `across` waits for the calls already in flight: no request leaves the
# process meanwhile, a botocore retry included, so what they did can then be read back and be true.
_STOPPING = threading.Event()


def _refuse_when_stopping(**_: Any) -> None:
    if _STOPPING.is_set():
        raise StoppedByInterrupt()


def calls_abandoned() -> bool:
    """Whether a second Ctrl-C left calls in flight unwaited for: the report already says their outcome is unknown."""
    return _STOPPING.is_set()


def start_command() -> None:
    """A command starts with nothing stopped, even after an earlier one in this process was stopped for good."""
    _STOPPING.clear()


def _core_session() -> botocore.session.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _service_models())
    core.register("before-send", _refuse_when_stopping)
    return core


def _new_session() -> boto3.session.Session:
    return boto3.session.Session(botocore_session=_core_session())


# Where a command acts: a region of the caller's own account ("us-east-1"), or a region of another
# account reached through a role there ("222222222222/us-east-1"). Every command keys its work by
# this text, so a change across accounts is a change across more places, judged the same way.
PLACE_SEPARATOR = "/"
# How many places a command works on at once: a call is mostly waiting, so many at once cost little.
PARALLEL_PLACES = 8
SESSION_NAME = "trading-secrets"


def place(account: str, region: str) -> str:
    return f"{account}{PLACE_SEPARATOR}{region}"


def region_of(where: str) -> str:
    return where.rsplit(PLACE_SEPARATOR, 1)[-1]


def account_of(where: str) -> str | None:
    return where.split(PLACE_SEPARATOR, 1)[0] if PLACE_SEPARATOR in where else None


def across(places: Iterable[str], work: Callable[[str], T]) -> dict[str, T]:
    """`work` on every place, PARALLEL_PLACES at a time; each one's result, by place.

    Every place is tried even when one fails, so that what is true afterwards
    is what every place did; then the first failure, in the places' order, is
    raised. A Ctrl-C stops what has not started and any request not yet sent,
    waits for the requests in flight to end (by their read timeout at most),
    and is raised: what the caller reads back then is true. A second Ctrl-C
    stops the wait, and nothing more is sent, a read-back included.
    """
    places = list(places)
    if len(places) <= 1:
        return {where: work(where) for where in places}
    results: dict[str, T] = {}
    failures: dict[str, Exception] = {}
    in_flight = _InFlight()
    pool = ThreadPoolExecutor(max_workers=min(PARALLEL_PLACES, len(places)))
    futures: dict[str, Future[T]] = {}
    try:
        for where in places:
            futures[where] = pool.submit(in_flight.run, work, where)
        for where in places:
            try:
                results[where] = futures[where].result()
            except Exception as failure:
                failures[where] = failure
    except KeyboardInterrupt:
        _STOPPING.set()
        pool.shutdown(wait=False, cancel_futures=True)
        # A second Ctrl-C ends this wait with _STOPPING left set: nothing more is sent, a read-back included.
        in_flight.stop_and_wait()
        _STOPPING.clear()
        raise
    pool.shutdown(wait=True)
    if failures:
        raise next(failures[where] for where in places if where in failures)
    return results


class _InFlight:
    """The work `across` started, counted by the work itself.

    Neither the futures nor the pool's threads can say: a Ctrl-C can land in
    `submit` after a thread took the work but before the pool or the caller
    kept a record of it (threading's start() waits, and can be interrupted).
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._stopped = False

    def run(self, work: Callable[[str], T], where: str) -> T:
        with self._changed:
            if self._stopped:
                raise StoppedByInterrupt()
            self._running += 1
        try:
            return work(where)
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def stop_and_wait(self) -> None:
        with self._changed:
            self._stopped = True
            if self._running:
                LOG.warning(
                    "interrupted: waiting for the calls in flight to answer (%d s at most), to read back "
                    "what they did; Ctrl-C again stops waiting, and what they did is then unknown",
                    CLIENT_CONFIG.connect_timeout + CLIENT_CONFIG.read_timeout,
                )
            while self._running:
                self._changed.wait()


class AwsClients:
    """What one command uses of AWS: a session, one client per (service, place), and who the caller is.

    A place in another account is reached by assuming `role_name` there
    (sts:AssumeRole, once per account and command). Clients are made under a
    lock: commands work on several places at once, and a botocore session is
    not safe to make clients from in several threads.
    """

    def __init__(
        self, session: boto3.session.Session | None = None, role_name: str | None = None
    ):
        self._session = session or _new_session()
        self.role_name = role_name
        self._clients: dict[tuple[str, str, bool], Any] = {}
        self._accounts: dict[str, boto3.session.Session] = {}
        self._caller: str | None = None
        self._making = threading.Lock()

    def client(self, service: str, where: str, *, alert_path: bool = False) -> Any:
        """The client of `service` at `where` (a region, or account/region).

        With `alert_path`, its requests name this tool in their user agent, so
        that the rule watching the alert path leaves out the tool's own steps
        there (alerts-test's subscription, the dead-letter queue's purge).
        """
        key = (service, where, alert_path)
        account, region = account_of(where), region_of(where)
        session = (
            self._session if account is None else self._in_account(account, region)
        )
        with self._making:
            if key not in self._clients:
                config = IDENTITY_CONFIG if service == "sts" else CLIENT_CONFIG
                if alert_path:
                    config = config.merge(Config(user_agent_extra=TOOL_USER_AGENT))
                self._clients[key] = session.client(
                    service, region_name=region, config=config
                )
            return self._clients[key]

    def _in_account(self, account: str, region: str) -> boto3.session.Session:
        """A session acting as `role_name` in `account`: AssumeRole once, then again before the credentials expire.

        botocore refreshes them itself, 15 minutes before they expire (10 at
        the latest): a command that outlasts them (an hour by default) goes on.
        """
        with self._making:
            if account in self._accounts:
                return self._accounts[account]
            sts = self._session.client("sts", region_name=region, config=CLIENT_CONFIG)
        role = f"arn:aws:iam::{account}:role/{self.role_name}"

        def assume() -> dict[str, str]:
            try:
                credentials = sts.assume_role(
                    RoleArn=role, RoleSessionName=SESSION_NAME
                )["Credentials"]
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                message = redact(error.response.get("Error", {}).get("Message", ""))
                raise AwsError(
                    f"cannot act in account {account}: assuming {role} was refused ({code}): {message}; "
                    "deploy the operator role there (templates/prod/operator-role.json) and check its trust"
                ) from None
            except BotoCoreError as error:
                raise AwsError(
                    f"cannot act in account {account}: assuming {role} failed ({error.__class__.__name__})"
                ) from None
            return {
                "access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": credentials["Expiration"].isoformat(),
            }

        core = _core_session()
        # botocore has no public setter for a session's credentials; this is the attribute its own
        # credential resolver fills, and what get_credentials() returns.
        core._credentials = RefreshableCredentials.create_from_metadata(
            assume(), refresh_using=assume, method="sts-assume-role"
        )
        session = boto3.session.Session(botocore_session=core)
        with self._making:
            return self._accounts.setdefault(account, session)

    def secrets(self, region: str) -> Any:
        return self.client("secretsmanager", region)

    def caller(self, where: str) -> str:
        """The caller's ARN, looked up once per command; 'unknown caller' when STS will not say."""
        if self._caller is None:
            try:
                self._caller = str(
                    self.client("sts", region_of(where)).get_caller_identity()["Arn"]
                )
            except (BotoCoreError, ClientError) as error:
                LOG.warning(
                    "cannot tell who the caller is (%s); going on",
                    error.__class__.__name__,
                )
                self._caller = UNKNOWN_CALLER
        return self._caller


@contextlib.contextmanager
def aws_errors(action: str, secret: str, region: str) -> Iterator[None]:
    """Turn botocore's exceptions into one line that says what failed, without a traceback.

    AWS's own message passes through the leak redactor: it may quote input.
    """
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = redact(error.response.get("Error", {}).get("Message", ""))
        if code == "ResourceNotFoundException":
            raise AwsError(
                f"{secret} is not deployed in {region}: deploy the {secret.split('/')[1]} stack first"
            ) from None
        if code in _KMS_ERRORS:
            raise AwsError(
                f"KMS refused to {action} {secret} in {region} ({code}): check the key's state and policy"
            ) from None
        if code in _ACCESS_ERRORS:
            raise AwsError(
                f"access denied: cannot {action} {secret} in {region} ({code}): {message}"
            ) from None
        raise AwsError(
            f"cannot {action} {secret} in {region}: {code}: {message}"
        ) from None
    except NoCredentialsError:
        raise AwsError(
            "no AWS credentials found: configure a profile or role, then retry"
        ) from None
    except EndpointConnectionError as error:
        endpoint = error.kwargs.get("endpoint_url", "")
        raise AwsError(
            f"cannot reach Secrets Manager in {region} at {endpoint}: check the network or endpoint"
        ) from None
    except BotoCoreError as error:
        raise AwsError(
            f"cannot {action} {secret} in {region}: {error.__class__.__name__}"
        ) from None


def list_versions(client: Any, secret: str) -> list[dict[str, Any]]:
    """Every version of `secret`, deprecated ones included."""
    # Paged by hand: botocore has no paginator for this call.
    versions: list[dict[str, Any]] = []
    token = None
    while True:
        page = client.list_secret_version_ids(
            SecretId=secret,
            IncludeDeprecated=True,
            **({"NextToken": token} if token else {}),
        )
        versions += page["Versions"]
        token = page.get("NextToken")
        if not token:
            return versions


def version_with(versions: list[dict[str, Any]], stage: str) -> dict[str, Any] | None:
    """The version that carries `stage`, if any."""
    return next(
        (version for version in versions if stage in version.get("VersionStages", [])),
        None,
    )
