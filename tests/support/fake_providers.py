"""Alpaca and AlphaVantage on loopback: a real HTTP server that answers in each provider's documented shapes.

Alpaca (Trading API, GET /v2/account, headers APCA-API-KEY-ID and
APCA-API-SECRET-KEY): the key id picks the answer. AlphaVantage (GET /query,
apikey=...): it answers HTTP 200 even for a bad key, with the reason in the
body. Every refusal here echoes the credential in its body and in a header, as
AlphaVantage's rate-limit notice does, so a test sees at once if the tool ever
prints what a provider sent.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT = "904837e3-3b76-47ec-b432-046db621571b"
OTHER_ACCOUNT = "8f6a2c1d-0000-4b1e-9d3a-5c2e7f1a9b40"
SLOW_SECONDS = 2.0


def _account(**changes: object) -> dict[str, object]:
    return {
        "id": ACCOUNT,
        "status": "ACTIVE",
        "account_blocked": False,
        "trading_blocked": False,
        "currency": "USD",
        **changes,
    }


# Alpaca: key id prefix -> (HTTP status, body). Bodies with "{echo}" repeat the credential.
ALPACA = {
    "FAKE-revoked": (401, {"message": "unauthorized. key {echo}"}),
    "FAKE-live-on-paper": (401, {"message": "unauthorized. {echo}"}),
    "FAKE-forbidden": (403, {"message": "forbidden {echo}"}),
    "FAKE-blocked": (200, _account(trading_blocked=True)),
    "FAKE-closed": (200, _account(status="ACCOUNT_CLOSED")),
    "FAKE-strange-status": (200, _account(status="{echo}")),
    "FAKE-other-account": (200, _account(id=OTHER_ACCOUNT)),
    "FAKE-rate-limited": (429, {"message": "too many requests {echo}"}),
    "FAKE-broken": (500, {"message": "internal {echo}"}),
}
# AlphaVantage: apikey prefix -> body (always HTTP 200).
ALPHAVANTAGE = {
    "FAKE-av-invalid": {
        "Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on "
        "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
    },
    "FAKE-av-rate-limited": {
        "Information": "We have detected your API key as {echo} and our standard API rate limit is 25 "
        "requests per day. Please subscribe to any of the premium plans."
    },
    "FAKE-av-note": {"Note": "Thank you for using Alpha Vantage! {echo}"},
    "FAKE-av-bad-call": {"Error Message": "Invalid API call. {echo}"},
}
# What AlphaVantage tells its public demo key for anything but its documentation's own examples.
DEMO_NOTICE = {
    "Information": "The **demo** API key is for demo purposes only. Please claim your free API key at "
    "(https://www.alphavantage.co/support/#api-key) to explore our full API offerings."
}


def quote(symbol: str) -> dict[str, object]:
    return {"Global Quote": {"01. symbol": symbol, "05. price": "100.0000"}}


@dataclass
class FakeProviders:
    url: str = ""
    requests: list[str] = field(
        default_factory=list
    )  # the path of each request, key ids never kept


def _echo(body: object, credential: str) -> bytes:
    return json.dumps(body).replace("{echo}", credential).encode()


class _Handler(BaseHTTPRequestHandler):
    record: FakeProviders

    def log_message(self, *_args: object) -> None:
        """Quiet: the test output holds only what the tool said."""

    def _answer(self, status: int, body: bytes, credential: str) -> None:
        # A client that gave up (the slow case) has gone: nothing to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Echo", credential)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        self.record.requests.append(parsed.path)
        if parsed.path == "/v2/account":
            key_id = self.headers.get("APCA-API-KEY-ID", "")
            credential = f"{key_id}:{self.headers.get('APCA-API-SECRET-KEY', '')}"
            if key_id.startswith("FAKE-slow"):
                time.sleep(SLOW_SECONDS)
            status, body = next(
                (
                    answer
                    for prefix, answer in ALPACA.items()
                    if key_id.startswith(prefix)
                ),
                (200, _account()),
            )
            self._answer(status, _echo(body, credential), credential)
        elif parsed.path == "/query":
            query = urllib.parse.parse_qs(parsed.query)
            key = query.get("apikey", [""])[0]
            symbol = query.get("symbol", [""])[0]
            default = (
                DEMO_NOTICE if key == "demo" and symbol != "IBM" else quote(symbol)
            )
            body = next(
                (
                    answer
                    for prefix, answer in ALPHAVANTAGE.items()
                    if key.startswith(prefix)
                ),
                default,
            )
            self._answer(200, _echo(body, key), key)
        else:
            self._answer(404, b"{}", "")


@contextlib.contextmanager
def fake_providers() -> Iterator[FakeProviders]:
    """Both providers on a free loopback port, for as long as the block runs."""
    record = FakeProviders()
    handler = type("Handler", (_Handler,), {"record": record})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    record.url = f"http://127.0.0.1:{server.server_address[1]}"
    # Polled every 50 ms, not the default 0.5 s: shutting down waits for the next poll.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
