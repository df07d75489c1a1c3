"""The provider check: the testSecret step of Secrets Manager's rotation, run on a value in memory.

Secrets Manager's rotation functions test the AWSPENDING value at the provider
before finishSecret makes it current. `put` runs this check before anything is
staged (a prod secret's first version is current at once, so a check between
staging and promotion would miss the first put), and `verify` runs it on each
region's AWSCURRENT value. `check_before_put` is the gate a put passes
first: the value's shape, then its provider, and for Alpaca its account; it
hands `put_value` a `CheckedValue`.

Nothing a provider sends back is ever printed or logged: AlphaVantage's
rate-limit notice repeats the key, and any body could. Every reason below is
built from the HTTP status, field names and fixed words only. HTTP is the
standard library's, with a timeout and one retry: a check never hangs.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from generator.catalogue import SecretSpec
from generator.environments import Environment
from generator.errors import ConfigurationError, ProviderUnchecked, ValueRefused
from generator.naming import secret_name
from generator.ops.aws import AwsClients, aws_errors
from generator.ops.change.values import parse_document, schema_problems, value_problems
from generator.ops.change.versions import CURRENT, UNCHECKED

LOG = logging.getLogger(__name__)
ALPACA = "alpaca"

# Where the tests point the check: a loopback server speaking each provider's shapes.
ENDPOINT_OVERRIDE = "TRADING_PROVIDER_ENDPOINT"
ALPHAVANTAGE = "https://www.alphavantage.co"
# Per attempt; two attempts and the pause between them stay within about 30 s.
TIMEOUT_SECONDS = 12.0
RETRY_PAUSE_SECONDS = 1.0
MAX_BODY_BYTES = 64 * 1024
# Alpaca's account statuses (Trading API, "Account"): only these words are ever repeated.
ALPACA_STATUSES = frozenset(
    {
        "ONBOARDING",
        "SUBMISSION_FAILED",
        "SUBMITTED",
        "ACCOUNT_UPDATED",
        "APPROVAL_PENDING",
        "ACTIVE",
        "REJECTED",
        "DISABLED",
        "ACCOUNT_CLOSED",
        "INACTIVE",
    }
)


class Verdict(enum.StrEnum):
    PASSED = "passed"  # the provider accepts the credential
    REJECTED = "rejected"  # the provider refuses it: wrong, revoked, blocked or of another account
    INCONCLUSIVE = "inconclusive"  # an answer that neither accepts nor refuses it
    UNREACHABLE = "unreachable"  # no answer (refused, timed out, rate-limited twice)


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    reason: str  # safe to print: never built from a response body
    # The answer vouches that the credential works: what put and verify require.
    vouches: bool = False
    # Alpaca's account id, compared between keys and never printed.
    account: str | None = None


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(default: str) -> str:
    """The provider's base URL, or the override, which may only name this machine: a real key never leaves for elsewhere."""
    override = os.environ.get(ENDPOINT_OVERRIDE, "").rstrip("/")
    if not override:
        return default.rstrip("/")
    if not override.startswith("http://") or not _is_loopback(override):
        raise ConfigurationError(
            f"{ENDPOINT_OVERRIDE} may only point at this machine (http://127.0.0.1:PORT), "
            "so that a credential is never sent anywhere else; unset it to check at the provider"
        )
    return override


def _get(url: str, headers: dict[str, str]) -> tuple[int, bytes] | None:
    """(status, at most MAX_BODY_BYTES of body), or None when no answer came; retried once."""
    answer: tuple[int, bytes] | None = None
    for attempt in range(2):
        if attempt:
            time.sleep(RETRY_PAUSE_SECONDS)
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return response.status, response.read(MAX_BODY_BYTES)
        except urllib.error.HTTPError as refused:
            # Kept but not read beyond the limit; the URL and headers it holds are never shown.
            answer = refused.code, refused.read(MAX_BODY_BYTES)
            refused.close()
            if refused.code != 429 and refused.code < 500:
                return answer
        except (OSError, ValueError):  # refused, reset, timed out, or no such host
            answer = None
    return answer


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def check_alpaca(value: dict[str, str]) -> Check:
    """GET {baseUrl}/v2/account with the key pair: it passes on 200, status ACTIVE, nothing blocked."""
    base = endpoint(value["baseUrl"])
    answer = _get(
        f"{base}/v2/account",
        {
            "APCA-API-KEY-ID": value["apiKeyId"],
            "APCA-API-SECRET-KEY": value["apiSecretKey"],
            "Accept": "application/json",
        },
    )
    if answer is None:
        return Check(
            Verdict.UNREACHABLE, f"Alpaca did not answer at {value['baseUrl']}"
        )
    status, body = answer
    if status in (401, 403):
        return Check(
            Verdict.REJECTED,
            f"Alpaca refused the key pair (HTTP {status}): it is wrong or revoked, or a live key sent to the "
            f"paper endpoint or the reverse (this environment's is {value['baseUrl']})",
        )
    if status == 429:
        return Check(
            Verdict.UNREACHABLE,
            "Alpaca is rate-limiting this caller (HTTP 429); try again in a minute",
        )
    account = _json(body) if status == 200 else None
    if not isinstance(account, dict):
        what = f"HTTP {status}" if status != 200 else "an answer that is not an account"
        return Check(Verdict.INCONCLUSIVE, f"Alpaca answered {what}")
    state = account.get("status")
    if state != "ACTIVE":
        named = state if state in ALPACA_STATUSES else "not ACTIVE"
        return Check(Verdict.REJECTED, f"the Alpaca account of this key is {named}")
    blocked = [
        flag
        for flag in ("account_blocked", "trading_blocked")
        if account.get(flag) is not False
    ]
    if blocked:
        return Check(
            Verdict.REJECTED,
            f"the Alpaca account of this key has {' and '.join(blocked)} set",
        )
    account_id = account.get("id")
    return Check(
        Verdict.PASSED,
        "Alpaca accepts the key pair: the account is ACTIVE and not blocked",
        vouches=True,
        account=account_id if isinstance(account_id, str) else None,
    )


def check_alphavantage(value: dict[str, str]) -> Check:
    """One quote request. AlphaVantage answers 200 even for a bad key, with the reason in the body.

    MSFT, not the IBM of AlphaVantage's own examples: the public demo key is
    served those examples and a notice for anything else, so it can pass no
    check here (and put refuses it before asking: the catalogue's RefusedValue).
    """
    query = urllib.parse.urlencode(
        {"function": "GLOBAL_QUOTE", "symbol": "MSFT", "apikey": value["apiKey"]}
    )
    answer = _get(
        f"{endpoint(ALPHAVANTAGE)}/query?{query}", {"Accept": "application/json"}
    )
    if answer is None:
        return Check(Verdict.UNREACHABLE, "AlphaVantage did not answer")
    status, body = answer
    document = _json(body) if status == 200 else None
    if not isinstance(document, dict):
        what = f"HTTP {status}" if status != 200 else "an answer that is not JSON"
        return Check(Verdict.INCONCLUSIVE, f"AlphaVantage answered {what}")
    error = document.get("Error Message")
    if (
        isinstance(error, str)
        and "apikey" in error.lower().replace(" ", "")
        and ("invalid" in error.lower() or "missing" in error.lower())
    ):
        return Check(
            Verdict.REJECTED, "AlphaVantage says the API key is invalid or missing"
        )
    if error is not None:
        return Check(
            Verdict.INCONCLUSIVE,
            "AlphaVantage reported an error that does not concern the key",
        )
    if "Information" in document or "Note" in document:
        return Check(
            Verdict.INCONCLUSIVE,
            "AlphaVantage answered with a notice (a rate limit or a plan limit), not data: the key was neither "
            "accepted nor refused (the free tier allows 25 requests a day, and each check spends one)",
        )
    return Check(
        Verdict.INCONCLUSIVE,
        "AlphaVantage returned data and did not refuse the key; a wrong key can still get data, so this proves "
        "no more than that",
        vouches=True,
    )


CHECKS = {"alpaca": check_alpaca, "alphavantage": check_alphavantage}


def check(secret_suffix: str, value: dict[str, str]) -> Check:
    """The check for the secret `secret_suffix` names (its catalogue name suffix)."""
    return CHECKS[secret_suffix](value)


def current_value(
    aws: AwsClients, name: str, region: str, version: str | None = None
) -> Any | None:
    """The AWSCURRENT value (or that of `version`) as a document, or None where the secret holds none."""
    client = aws.secrets(region)
    which = {"VersionId": version} if version else {"VersionStage": CURRENT}
    with aws_errors("read the current value of", name, region):
        try:
            secret_string = client.get_secret_value(SecretId=name, **which).get(
                "SecretString"
            )
        except client.exceptions.ResourceNotFoundException:
            return None
    return None if secret_string is None else parse_document(secret_string, name)


def _same_account(
    env: Environment, spec: SecretSpec, checked: Check, current: Any, name: str
) -> None:
    """The new Alpaca key must be of the current key's account: a key of another account is refused."""
    if current is None or spec.is_placeholder(env, current):
        return
    if schema_problems(env, spec, current):
        return  # nothing to compare with: the current value is broken anyway
    before = check(ALPACA, current)
    if not before.vouches:
        raise ValueRefused(
            name,
            [
                f"the current key cannot be checked ({before.verdict}: {before.reason}), so the new key's "
                "account cannot be compared with it; check in Alpaca's dashboard that the new key is of the "
                "intended account, then put it with --new-account"
            ],
        )
    if before.account != checked.account:
        raise ValueRefused(
            name,
            [
                "the new key belongs to another Alpaca account than the current one; put it with "
                "--new-account if that is meant"
            ],
        )


@dataclass(frozen=True)
class CheckedValue:
    """A value that passed the checks before a put: its shape, and its provider, or the provider check skipped."""

    value: Any
    # Put with --skip-provider-check: the version is marked UNCHECKED until verify vouches for it.
    unchecked: bool = False


def check_before_put(
    env: Environment,
    spec: SecretSpec,
    value: Any,
    regions: tuple[str, ...],
    aws: AwsClients,
    *,
    skip_provider_check: bool = False,
    new_account: bool = False,
) -> CheckedValue:
    """The gate before anything is read or written: the value's shape, then its provider.

    Refuses a value that breaks its schema or that the provider refuses
    (ValueRefused, exit 3), one no provider answer vouches for
    (ProviderUnchecked, exit 10), and an Alpaca key of another account than
    the current one unless `new_account` says it is meant.
    """
    name = secret_name(env, spec)
    problems = value_problems(env, spec, value)
    if problems:
        raise ValueRefused(name, problems)
    if skip_provider_check:
        LOG.warning(
            "%s: the provider check is skipped (--skip-provider-check, by %s); the version is marked %s "
            "until `trading-secrets verify --env %s --secret %s` checks it",
            name,
            aws.caller(regions[0]),
            UNCHECKED,
            env.name,
            spec.name_suffix,
        )
        return CheckedValue(value, unchecked=True)
    checked = check(spec.name_suffix, value)
    LOG.info("%s: provider check %s: %s", name, checked.verdict, checked.reason)
    if checked.verdict is Verdict.REJECTED:
        raise ValueRefused(name, [f"the provider refused it: {checked.reason}"])
    if not checked.vouches:
        raise ProviderUnchecked(
            f"{name}: refused, nothing written: the value could not be checked ({checked.verdict}: "
            f"{checked.reason}); from a machine that cannot reach the provider, put it with "
            f"--skip-provider-check and run `trading-secrets verify --env {env.name} --secret "
            f"{spec.name_suffix}` from one that can"
        )
    if spec.name_suffix == ALPACA and not new_account:
        _same_account(env, spec, checked, current_value(aws, name, regions[0]), name)
    return CheckedValue(value)
