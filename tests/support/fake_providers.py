"""Every catalogue integration's provider on loopback: a real HTTP server that answers as each spec declares.

The tool sends a provider check to `TRADING_PROVIDER_ENDPOINT/<name suffix>`
plus the spec's path, so one server serves every integration. Each answer is
made from the spec's `ProviderCheck` (generator/catalogue.py): the credential
field the request carries first picks it by prefix (`FAKE-refused`,
`FAKE-rate-limited`, `FAKE-broken`, `FAKE-slow`, `FAKE-notice`,
`FAKE-refused-words`, `FAKE-unaccepted`, `FAKE-other-account`; anything else
is accepted), so an integration added to the catalogue is served with no
edit here. Alpaca and AlphaVantage also answer with the bodies their
documentation shows (RECORDED), and AlphaVantage serves its public demo key
only its documentation's examples.

Every refusal echoes the credential in its body and in a header, as
AlphaVantage's rate-limit notice does, so a test sees at once if the tool
ever prints what a provider sent.
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
from typing import Any

from generator.catalogue import CATALOGUE, ProviderCheck, SecretSpec

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


# Answers as the providers' documentation shows them, by provider, then by credential prefix:
# (HTTP status, body). Bodies with "{echo}" repeat the credential.
RECORDED: dict[str, dict[str, tuple[int, object]]] = {
    # Trading API, GET /v2/account.
    "Alpaca": {
        "FAKE-revoked": (401, {"message": "unauthorized. key {echo}"}),
        "FAKE-live-on-paper": (401, {"message": "unauthorized. {echo}"}),
        "FAKE-forbidden": (403, {"message": "forbidden {echo}"}),
        "FAKE-blocked": (200, _account(trading_blocked=True)),
        "FAKE-closed": (200, _account(status="ACCOUNT_CLOSED")),
        "FAKE-strange-status": (200, _account(status="{echo}")),
    },
    # GET /query: HTTP 200 even for a bad key, with the reason in the body.
    "AlphaVantage": {
        "FAKE-av-invalid": (
            200,
            {
                "Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on "
                "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
            },
        ),
        "FAKE-av-rate-limited": (
            200,
            {
                "Information": "We have detected your API key as {echo} and our standard API rate limit is 25 "
                "requests per day. Please subscribe to any of the premium plans."
            },
        ),
        "FAKE-av-note": (200, {"Note": "Thank you for using Alpha Vantage! {echo}"}),
        "FAKE-av-bad-call": (200, {"Error Message": "Invalid API call. {echo}"}),
    },
}
# What AlphaVantage tells its public demo key for anything but its documentation's own examples.
DEMO_NOTICE = {
    "Information": "The **demo** API key is for demo purposes only. Please claim your free API key at "
    "(https://www.alphavantage.co/support/#api-key) to explore our full API offerings."
}


def quote(symbol: str) -> dict[str, object]:
    return {"Global Quote": {"01. symbol": symbol, "05. price": "100.0000"}}


def declared_answer(
    declared: ProviderCheck, credential: str, query: dict[str, str]
) -> tuple[int, object]:
    """What a provider as the spec declares it answers for this credential (picked by its prefix)."""
    if credential.startswith("FAKE-refused-words") and declared.error_fields:
        every, some = declared.refused_words
        text = " ".join([*every, *some[:1], "{echo}"])
        return 200, {declared.error_fields[0]: text}
    if credential.startswith("FAKE-refused"):
        return declared.refused_statuses[0], {"message": "refused {echo}"}
    if credential.startswith("FAKE-rate-limited"):
        return 429, {"message": "too many requests {echo}"}
    if credential.startswith("FAKE-broken"):
        return 500, {"message": "internal {echo}"}
    if credential.startswith("FAKE-notice") and declared.notice_fields:
        return 200, {declared.notice_fields[0]: "a limit was reached for {echo}"}
    accepted: dict[str, Any] = dict(declared.accepted_when)
    if credential.startswith("FAKE-unaccepted") and declared.accepted_when:
        name, wanted = declared.accepted_when[0]
        accepted[name] = "{echo}" if isinstance(wanted, str) else not wanted
    if declared.account_field:
        accepted[declared.account_field] = (
            OTHER_ACCOUNT if credential.startswith("FAKE-other-account") else ACCOUNT
        )
    if accepted:
        return 200, accepted
    return 200, {"data": {"served": True, **query}}


def _recorded_answer(
    declared: ProviderCheck, credential: str, query: dict[str, str]
) -> tuple[int, object] | None:
    """The documented answer for this provider and credential, where RECORDED or the demo key has one."""
    if declared.provider == "AlphaVantage" and credential == "demo":
        return 200, quote("IBM") if query.get("symbol") == "IBM" else DEMO_NOTICE
    recorded = RECORDED.get(declared.provider, {})
    return next(
        (
            answer
            for prefix, answer in recorded.items()
            if credential.startswith(prefix)
        ),
        None,
    )


@dataclass
class FakeProviders:
    url: str = ""
    # The path of each request, under its integration's prefix stripped; credentials never kept.
    requests: list[str] = field(default_factory=list)
    # The integrations served: the catalogue's, or those a test passes.
    catalogue: tuple[SecretSpec, ...] = field(default=CATALOGUE, repr=False)


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

    def _spec(self, path: str) -> tuple[SecretSpec, str] | None:
        for spec in self.record.catalogue:
            prefix = f"/{spec.name_suffix}"
            declared = spec.provider_check
            if declared and path == f"{prefix}{declared.path}":
                return spec, declared.path
        return None

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        found = self._spec(parsed.path)
        if found is None:
            self._answer(404, b"{}", "")
            return
        spec, path = found
        declared = spec.provider_check
        assert declared is not None
        self.record.requests.append(path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        carried = {
            **{field_: query.get(name, "") for name, field_ in declared.query_fields},
            **{
                field_: self.headers.get(name, "")
                for name, field_ in declared.header_fields
            },
        }
        fields = declared.credential_fields()
        credential = ":".join(carried[name] for name in fields)
        picked = carried[fields[0]] if fields else ""
        if picked.startswith("FAKE-slow"):
            time.sleep(SLOW_SECONDS)
        status, body = _recorded_answer(declared, picked, query) or declared_answer(
            declared, picked, query
        )
        self._answer(status, _echo(body, credential), credential)


@contextlib.contextmanager
def fake_providers(
    catalogue: tuple[SecretSpec, ...] = CATALOGUE,
) -> Iterator[FakeProviders]:
    """Every integration's provider on a free loopback port, for as long as the block runs."""
    record = FakeProviders(catalogue=catalogue)
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
