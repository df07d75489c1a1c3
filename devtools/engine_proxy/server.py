"""An HTTP proxy between an AWS client and the local engine: faults on demand, and AWS's own rules.

Point AWS_ENDPOINT_URL at it. Every request is recorded, then:
- a fault that matches it by operation and region can drop the response
  after the engine acted, answer with a 5xx or a throttle, hang, delay the
  request, or send a signal to a process first (the tests of a bad day);
- in strict mode, what real AWS enforces and the engine does not is enforced
  (`strict.py`), and StackSets run over the engine's real stacks
  (`stacksets.py`);
- everything else is forwarded as it came.

    python -m devtools.engine_proxy --engine http://127.0.0.1:4566 [--port N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from devtools.engine_proxy import organizations, stacksets, strict, wire

_CLIENT_CONFIG = Config(
    retries={"mode": "standard"}, connect_timeout=5, read_timeout=60
)


@dataclass
class Fault:
    """What to do to requests for `operation` (e.g. "PutSecretValue"; "*": any) in `region` (None: any).

    "StackSetInstance" fails the instance of a stack-set operation in that account and region.

    With `account`, only to that account's requests (its access key id): the
    engine is shared, and a fault meant for one test must not reach another's.
    """

    operation: str
    action: str  # drop | error | throttle | hang | delay | signal
    region: str | None = None
    times: int = 1_000_000  # how many matching requests it applies to
    seconds: float = 0.0  # for hang, delay and signal
    pid: int | None = None  # for signal
    # Only once a request for this operation has been seen (None: from the start).
    after: str | None = None
    account: str | None = None
    applied: int = 0

    def matches(
        self, operation: str, region: str, seen: list[Seen], account: str = ""
    ) -> bool:
        return (
            self.operation in ("*", operation)
            and self.region in (None, region)
            and self.account in (None, account)
            and self.applied < self.times
            and (
                self.after is None or any(s.operation == self.after for s in seen[:-1])
            )
        )


@dataclass
class Seen:
    operation: str
    region: str
    service: str = ""
    # The account it acts in: its access key's, or the account of the role it assumed.
    account: str = ""


@dataclass
class EngineProxy:
    engine: str
    strict: bool = False
    faults: list[Fault] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    # The organization the accounts belong to, where a test gives one (the engine has none).
    organization: organizations.Organization | None = None
    _clients: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    # Access keys the engine handed out for an assumed role, and the account each acts in.
    assumed: dict[str, str] = field(default_factory=dict)
    # Added to every call before it is answered: a real API call's latency (the benchmark's).
    latency_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.rules = strict.AwsRules(self.engine_client)
        self.stack_sets = stacksets.StackSets(
            self.engine_client,
            lambda: self.organization,
            # A fault for "StackSetInstance" fails an instance of a stack-set operation there.
            lambda instance: (
                self.fault_for("StackSetInstance", instance.region, instance.account)
                is not None
            ),
        )
        self._clients_lock = threading.Lock()

    def account_of(self, access_key: str) -> str:
        """The account a request acts in: its access key id, or the account of the role it assumed."""
        return self.assumed.get(access_key, access_key)

    def add(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def clear(self) -> None:
        self.faults.clear()
        self.seen.clear()

    def count(self, operation: str, region: str | None = None) -> int:
        return sum(
            1
            for s in self.seen
            if s.operation == operation and region in (None, s.region)
        )

    def fault_for(self, operation: str, region: str, account: str = "") -> Fault | None:
        for fault in self.faults:
            if fault.matches(operation, region, self.seen, account):
                fault.applied += 1
                return fault
        return None

    def engine_client(self, service: str, who: wire.Caller) -> Any:
        """A client of the engine itself, acting as `who` (the engine keys accounts by access key id)."""
        key = (service, who.access_key, who.region)
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = boto3.client(
                    service,
                    region_name=who.region,
                    endpoint_url=self.engine,
                    aws_access_key_id=who.access_key,
                    aws_secret_access_key="test",
                    config=_CLIENT_CONFIG,
                )
            return self._clients[key]

    def answer_strictly(
        self, who: wire.Caller, operation: str, body: bytes
    ) -> wire.Reply | None:
        """What AWS would answer where the engine would answer otherwise; None to forward."""
        if who.service == "sts" and operation == "AssumeRole":
            return self.rules.assume_role(who, wire.query_parameters(body))
        if who.service == "organizations":
            if self.organization is None:
                return wire.json_error(
                    "AWSOrganizationsNotInUseException",
                    "Your account is not a member of an organization.",
                )
            return self.organization.handle(who, operation, wire.json_parameters(body))
        if who.service == "cloudformation":
            params = wire.query_parameters(body)
            if operation in stacksets.ACTIONS:
                return self.stack_sets.handle(who, operation, params)
            return self.rules.cloudformation(who, operation, params)
        return None


def _forward(
    engine: Any, path: str, headers: dict[str, str], body: bytes
) -> wire.Reply:
    connection = http.client.HTTPConnection(engine.hostname, engine.port, timeout=60)
    try:
        headers = {**headers, "host": f"{engine.hostname}:{engine.port}"}
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return wire.Reply(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def _handler(proxy: EngineProxy) -> type[BaseHTTPRequestHandler]:
    engine = urlsplit(proxy.engine)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(
            self, *args: object
        ) -> None:  # quiet: tests show failures, not traffic
            pass

        def do_POST(self) -> None:
            try:
                self._handle()
            except Exception as error:  # a bug here must reach the caller, not drop it
                self._answer(
                    wire.json_error("InternalFailure", f"engine proxy: {error!r}", 500)
                )

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            operation = wire.operation(headers, body)
            who = wire.caller(headers)
            account = proxy.account_of(who.access_key)
            proxy.seen.append(Seen(operation, who.region, who.service, account))
            if proxy.latency_seconds:
                time.sleep(proxy.latency_seconds)
            fault = proxy.fault_for(operation, who.region, account)
            action = fault.action if fault else "forward"
            if action == "signal" and fault and fault.pid:
                os.kill(fault.pid, signal.SIGINT)
                time.sleep(fault.seconds)
                self.close_connection = True
                return
            if action == "hang":
                time.sleep(fault.seconds if fault else 0)
                self.close_connection = True
                return
            if action in ("error", "throttle"):
                code, kind = (
                    (500, "InternalFailure")
                    if action == "error"
                    else (400, "ThrottlingException")
                )
                # In the service's own protocol, so the client reads it as AWS's own error.
                error = (
                    wire.query_error
                    if who.service in wire.QUERY_SERVICES
                    else wire.json_error
                )
                self._answer(error(kind, "injected by the fault proxy", code))
                return
            if action == "delay" and fault:
                time.sleep(fault.seconds)
            reply = self._strict_or_forward(who, operation, headers, body)
            if action == "drop":
                # The engine acted on the request; the caller never hears of it.
                self.close_connection = True
                return
            self._answer(reply)

        def _strict_or_forward(
            self, who: wire.Caller, operation: str, headers: dict[str, str], body: bytes
        ) -> wire.Reply:
            if not proxy.strict:
                return _forward(engine, self.path, headers, body)
            if operation == "UpdateSecretVersionStage":
                params = wire.json_parameters(body)
                # Check and move as one step: AWS's compare-and-swap is atomic.
                with proxy.rules.label_lock(who, str(params.get("SecretId"))):
                    refused = proxy.rules.label_swap(who, params)
                    return refused or _forward(engine, self.path, headers, body)
            answered = proxy.answer_strictly(who, operation, body)
            if answered is not None:
                return answered
            reply = _forward(engine, self.path, headers, body)
            if operation == "AssumeRole" and reply.status == 200:
                # Remember whose account the new keys act in: faults and rules go by account.
                key = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", reply.body)
                arn = re.search(
                    rb"<Arn>arn:aws:sts::([0-9]{12}):assumed-role/", reply.body
                )
                if key and arn:
                    proxy.assumed[key.group(1).decode()] = arn.group(1).decode()
            if who.service == "cloudformation":
                proxy.rules.after(who, operation, wire.query_parameters(body), reply)
            return reply

        def _answer(self, reply: wire.Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                if name not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "date",
                    "server",
                ):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    return Handler


@contextmanager
def engine_proxy(
    engine: str,
    strict: bool = False,
    port: int = 0,
    organization: organizations.Organization | None = None,
) -> Iterator[EngineProxy]:
    """A running proxy in front of `engine`, on a loopback port (free unless given), stopped on the way out."""
    proxy = EngineProxy(engine, strict=strict, organization=organization)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    """The strict proxy in the foreground (tasks.py localstack runs it): prints its URL, then serves until stopped."""
    parser = argparse.ArgumentParser(prog="python -m devtools.engine_proxy")
    parser.add_argument(
        "--engine", required=True, help="the engine's URL, e.g. http://127.0.0.1:4566"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="loopback port to listen on (default: a free one)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with engine_proxy(args.engine, strict=True, port=args.port) as proxy:
            print(proxy.url, flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0
