"""A fault-injecting HTTP proxy between trading-secrets and the engine, for the tests of a bad day.

Point AWS_ENDPOINT_URL at it. Each request is forwarded unless a fault matches
it by operation and region; a fault can drop the response after the engine
acted on the request, answer with a 5xx or a throttle instead, hang, delay the
request, or send a signal to a process first. Every request is recorded.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_QUERY_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z]+)")


@dataclass
class Fault:
    """What to do to requests for `operation` (e.g. "PutSecretValue") in `region` (None: any)."""

    operation: str
    action: str  # drop | error | throttle | hang | delay | signal
    region: str | None = None
    times: int = 1_000_000  # how many matching requests it applies to
    seconds: float = 0.0  # for hang, delay and signal
    pid: int | None = None  # for signal
    applied: int = 0

    def matches(self, operation: str, region: str) -> bool:
        return (
            self.operation == operation
            and self.region in (None, region)
            and self.applied < self.times
        )


@dataclass
class Seen:
    operation: str
    region: str


@dataclass
class FaultProxy:
    engine: str
    faults: list[Fault] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

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

    def fault_for(self, operation: str, region: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(operation, region):
                fault.applied += 1
                return fault
        return None


def _operation(headers: dict[str, str], body: bytes) -> str:
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    action = _QUERY_ACTION.search(body)
    return action.group(1).decode() if action else ""


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    engine = urlsplit(proxy.engine)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(
            self, *args: object
        ) -> None:  # quiet: pytest shows failures, not traffic
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            operation = _operation(headers, body)
            region = (_REGION.search(headers.get("authorization", "")) or [None, "?"])[
                1
            ]
            proxy.seen.append(Seen(operation, region))
            fault = proxy.fault_for(operation, region)
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
                self._answer(
                    code,
                    {
                        "x-amzn-errortype": kind,
                        "content-type": "application/x-amz-json-1.1",
                    },
                    b'{"__type": "%s", "message": "injected by the fault proxy"}'
                    % kind.encode(),
                )
                return
            if action == "delay" and fault:
                time.sleep(fault.seconds)
            status, reply_headers, reply = self._forward(engine, headers, body)
            if action == "drop":
                # The engine acted on the request; the caller never hears of it.
                self.close_connection = True
                return
            self._answer(status, reply_headers, reply)

        def _forward(
            self, engine, headers: dict[str, str], body: bytes
        ) -> tuple[int, dict[str, str], bytes]:
            connection = http.client.HTTPConnection(
                engine.hostname, engine.port, timeout=60
            )
            try:
                headers = {**headers, "host": f"{engine.hostname}:{engine.port}"}
                connection.request("POST", self.path, body=body, headers=headers)
                response = connection.getresponse()
                return (
                    response.status,
                    {k.lower(): v for k, v in response.getheaders()},
                    response.read(),
                )
            finally:
                connection.close()

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "date",
                    "server",
                ):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def fault_proxy(engine: str) -> Iterator[FaultProxy]:
    """A running proxy in front of `engine`, on a free loopback port, stopped on the way out."""
    proxy = FaultProxy(engine)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
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
