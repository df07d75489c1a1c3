"""The provider check: the testSecret step of Secrets Manager's rotation, run on a value in memory.

Secrets Manager's rotation functions test the AWSPENDING value at the provider
before finishSecret makes it current. `put` runs this check before anything is
staged (a prod secret's first version is current at once, so a check between
staging and promotion would miss the first put), and `verify` runs it on each
region's AWSCURRENT value. `check_before_put` is the gate a put passes
first: the value's shape, then its provider, and where the spec names an
account (Alpaca), that it is the current credential's; it hands `put_value` a
`CheckedValue`. What each provider is asked, and how its answer is read, is
declared in the integration's spec (generator/catalogue.py, ProviderCheck).

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

from generator.catalogue import ProviderCheck, SecretSpec
from generator.environments import Environment
from generator.errors import ConfigurationError, ProviderUnchecked, ValueRefused
from generator.naming import secret_name
from generator.ops.aws import AwsClients, aws_errors
from generator.ops.change.values import parse_document, schema_problems, value_problems
from generator.ops.change.versions import CURRENT, UNCHECKED

LOG = logging.getLogger(__name__)

# Where the tests point the check: a loopback server answering as each spec's provider declares.
# Each integration is served under its own path, /<name suffix>, so that two providers may share one.
ENDPOINT_OVERRIDE = "TRADING_PROVIDER_ENDPOINT"
# Per attempt; two attempts and the pause between them stay within about 30 s.
TIMEOUT_SECONDS = 12.0
RETRY_PAUSE_SECONDS = 1.0
MAX_BODY_BYTES = 64 * 1024


class Verdict(enum.StrEnum):
    PASSED = "passed"  # the provider accepts the credential
    REJECTED = "rejected"  # the provider refuses it: wrong, revoked, blocked or of another account
    INCONCLUSIVE = "inconclusive"  # an answer that neither accepts nor refuses it
    UNREACHABLE = "unreachable"  # no answer (refused, timed out, rate-limited twice)
    NO_CHECK = "no check"  # the integration declares no provider check: its value's shape is all there is


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    reason: str  # safe to print: never built from a response body
    # The answer lets a put go on, and verify pass: it accepts the credential, shows it was
    # served (AlphaVantage), or there is no check to make.
    vouches: bool = False
    # The account the credential belongs to (the spec's account_field), compared between keys, never printed.
    account: str | None = None


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(default: str, spec: SecretSpec) -> str:
    """The provider's base URL, or the override's path for `spec`; the override may only name this machine.

    A real key never leaves for elsewhere.
    """
    override = os.environ.get(ENDPOINT_OVERRIDE, "").rstrip("/")
    if not override:
        return default.rstrip("/")
    if not override.startswith("http://") or not _is_loopback(override):
        raise ConfigurationError(
            f"{ENDPOINT_OVERRIDE} may only point at this machine (http://127.0.0.1:PORT), "
            "so that a credential is never sent anywhere else; unset it to check at the provider"
        )
    return f"{override}/{spec.name_suffix}"


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


def _request(
    spec: SecretSpec, declared: ProviderCheck, value: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """The URL and headers the spec declares, filled from the value."""
    base = declared.base_url or value[declared.base_url_field]
    query = [
        *declared.query,
        *((name, value[field]) for name, field in declared.query_fields),
    ]
    url = f"{endpoint(base, spec)}{declared.path}"
    if query:
        url += f"?{urllib.parse.urlencode(query)}"
    headers = {"Accept": "application/json"}
    headers.update({name: value[field] for name, field in declared.header_fields})
    return url, headers


def _said(declared: ProviderCheck, name: str, found: Any) -> str:
    """A field's value as a message may repeat it: only a word the spec lists, else what it is not."""
    words = dict(declared.sayable).get(name, frozenset())
    if isinstance(found, bool) or found is None:
        return json.dumps(found)
    return found if isinstance(found, str) and found in words else "another value"


def _judge(declared: ProviderCheck, document: dict[str, Any], where: str) -> Check:
    """A JSON answer, read as the spec declares: an error, a notice, a refusal, an acceptance, or data."""
    provider = declared.provider
    for name in declared.error_fields:
        error = document.get(name)
        if error is None:
            continue
        text = str(error).lower().replace(" ", "")
        every, some = declared.refused_words
        if all(word in text for word in every) and any(word in text for word in some):
            return Check(
                Verdict.REJECTED,
                f"{provider} says the credential is {' or '.join(some)}",
            )
        return Check(
            Verdict.INCONCLUSIVE,
            f"{provider} reported an error that does not concern the credential",
        )
    if any(name in document for name in declared.notice_fields):
        return Check(
            Verdict.INCONCLUSIVE,
            f"{provider} answered with a notice (a rate limit or a plan limit), not data: the credential was "
            "neither accepted nor refused",
        )
    if declared.accepted_when:
        wrong = [
            f"{name} is {_said(declared, name, document.get(name))}, not {json.dumps(wanted) if not isinstance(wanted, str) else wanted}"
            for name, wanted in declared.accepted_when
            if document.get(name) != wanted
        ]
        if wrong:
            return Check(
                Verdict.REJECTED,
                f"{provider} says the credential's account {' and '.join(wrong)}",
            )
        account = (
            document.get(declared.account_field) if declared.account_field else None
        )
        return Check(
            Verdict.PASSED,
            f"{provider} accepts the credential{where}: "
            + ", ".join(
                f"{name} is {json.dumps(wanted) if not isinstance(wanted, str) else wanted}"
                for name, wanted in declared.accepted_when
            ),
            vouches=True,
            account=account if isinstance(account, str) else None,
        )
    if declared.served_vouches:
        return Check(
            Verdict.INCONCLUSIVE,
            f"{provider} returned data and did not refuse the credential; a wrong one can still get data, so "
            "this proves no more than that",
            vouches=True,
        )
    return Check(
        Verdict.INCONCLUSIVE,
        f"{provider} answered, but nothing in the answer accepts the credential",
    )


def check(spec: SecretSpec, value: dict[str, str]) -> Check:
    """The spec's provider check, on a value in memory; no check at all where the spec declares none."""
    declared = spec.provider_check
    if declared is None:
        return Check(
            Verdict.NO_CHECK,
            f"{spec.integration} declares no provider check: only the value's shape was checked",
            vouches=True,
        )
    provider = declared.provider
    url, headers = _request(spec, declared, value)
    where = f" at {value[declared.base_url_field]}" if declared.base_url_field else ""
    answer = _get(url, headers)
    if answer is None:
        return Check(Verdict.UNREACHABLE, f"{provider} did not answer{where}")
    status, body = answer
    if status in declared.refused_statuses:
        return Check(
            Verdict.REJECTED,
            f"{provider} refused the credential (HTTP {status}): {declared.refused_means}"
            + (
                f" (this environment's endpoint is {value[declared.base_url_field]})"
                if where
                else ""
            ),
        )
    if status == 429:
        return Check(
            Verdict.UNREACHABLE,
            f"{provider} is rate-limiting this caller (HTTP 429); try again in a minute",
        )
    document = _json(body) if status == 200 else None
    if not isinstance(document, dict):
        what = (
            f"HTTP {status}" if status != 200 else "an answer that is not a JSON object"
        )
        return Check(Verdict.INCONCLUSIVE, f"{provider} answered {what}")
    return _judge(declared, document, where)


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
    """The new credential must be of the current one's account (where the spec names one): another is refused."""
    if current is None or spec.is_placeholder(env, current):
        return
    if schema_problems(env, spec, current):
        return  # nothing to compare with: the current value is broken anyway
    provider = spec.provider_check.provider if spec.provider_check else spec.integration
    before = check(spec, current)
    if not before.vouches:
        raise ValueRefused(
            name,
            [
                f"the current credential cannot be checked ({before.verdict}: {before.reason}), so the new "
                f"one's account cannot be compared with it; check at {provider} that the new credential is of "
                "the intended account, then put it with --new-account"
            ],
        )
    if before.account != checked.account:
        raise ValueRefused(
            name,
            [
                f"the new credential belongs to another {provider} account than the current one; put it with "
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
    (ProviderUnchecked, exit 10), and a credential of another account than
    the current one (where the spec names an account) unless `new_account`
    says it is meant.
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
    checked = check(spec, value)
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
    if spec.provider_check and spec.provider_check.account_field and not new_account:
        _same_account(env, spec, checked, current_value(aws, name, regions[0]), name)
    return CheckedValue(value)
