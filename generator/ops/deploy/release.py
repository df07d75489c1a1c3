"""What a deploy sends, read and checked before any call: the committed template, its parameters, its stack policy.

Also what every deploy shares: the capabilities a template needs, who the
caller is, CloudFormation's errors as one line, and its events as they come.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from generator import naming
from generator.build import TEMPLATE_FILE_NAME
from generator.checks.limits import TEMPLATE_BODY_MAX_BYTES
from generator.checks.template_rules import parameter_problems
from generator.environments import Environment
from generator.errors import AwsError, ConfigurationError
from generator.files import printable, read_regular_text
from generator.leaks import redact
from generator.ops.aws import AwsClients
from generator.parameter_files import (
    cloudformation_parameters,
    load_parameter_file,
    parameter_file_path,
    refuse_unworkable,
)
from generator.stack_policy import STACK_POLICY_FILE_NAME, render_stack_policy

Say = Callable[[str], None]
# Properties that give an IAM resource a fixed name: CAPABILITY_NAMED_IAM.
_IAM_NAME_PROPERTIES = (
    "RoleName",
    "ManagedPolicyName",
    "GroupName",
    "UserName",
    "InstanceProfileName",
)


def stack_name(env: Environment) -> str:
    """The stack's (or stack set's) name: `trading-<env>-secrets`."""
    return naming.stack_name(env)


def required_capabilities(template: dict[str, Any]) -> list[str]:
    """What CloudFormation must be told a template may do (CloudFormation API Reference, CreateStack, Capabilities).

    CAPABILITY_IAM for any IAM resource; CAPABILITY_NAMED_IAM when one has a
    fixed name; CAPABILITY_AUTO_EXPAND for a template with a transform.
    """
    resources = [
        r for r in template.get("Resources", {}).values() if isinstance(r, dict)
    ]
    iam = [r for r in resources if str(r.get("Type", "")).startswith("AWS::IAM::")]
    capabilities = []
    if any(
        name in r.get("Properties", {}) for r in iam for name in _IAM_NAME_PROPERTIES
    ):
        capabilities.append("CAPABILITY_NAMED_IAM")
    elif iam:
        capabilities.append("CAPABILITY_IAM")
    if "Transform" in template:
        capabilities.append("CAPABILITY_AUTO_EXPAND")
    return capabilities


@dataclass(frozen=True)
class Release:
    """One environment's committed template, parameter values and stack policy, as they will be sent."""

    env: Environment
    source: Path
    body: str
    template: dict[str, Any]
    parameter_values: dict[str, str]
    stack_policy: str

    @property
    def parameters(self) -> list[dict[str, str]]:
        return cloudformation_parameters(self.parameter_values)

    @property
    def capabilities(self) -> list[str]:
        return required_capabilities(self.template)

    @property
    def generator_version(self) -> str:
        made_by = self.template.get("Metadata", {}).get("TradingSecretsGenerator", {})
        return str(made_by.get("Version", "unknown"))


def load_release(env: Environment, templates_dir: Path, params_dir: Path) -> Release:
    """Read and check what a deploy of `env` sends; any problem is one line, before AWS is called."""
    path = templates_dir / env.name / TEMPLATE_FILE_NAME
    shown = printable(str(path))
    if not path.exists():
        raise ConfigurationError(
            f"no template at {shown}: run trading-secrets from the repository root, or give --templates-dir"
        )
    if path.stat().st_size > TEMPLATE_BODY_MAX_BYTES:
        raise ConfigurationError(
            f"{shown} is over the {TEMPLATE_BODY_MAX_BYTES} bytes CloudFormation takes as a template body"
        )
    body = read_regular_text(path, TEMPLATE_BODY_MAX_BYTES)
    try:
        template = json.loads(body)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{shown} is not valid JSON: {error}") from None
    if not isinstance(template, dict) or not isinstance(
        template.get("Resources"), dict
    ):
        raise ConfigurationError(f"{shown} is not a CloudFormation template")
    source = parameter_file_path(params_dir, env)
    values = load_parameter_file(source)
    refuse_unworkable(env, values, source)
    if problems := parameter_problems(template, values, str(source)):
        raise ConfigurationError("; ".join(problems))
    policy_path = templates_dir / env.name / STACK_POLICY_FILE_NAME
    policy = (
        read_regular_text(policy_path, TEMPLATE_BODY_MAX_BYTES)
        if policy_path.exists()
        else None
    )
    if policy != render_stack_policy(template):
        raise ConfigurationError(
            f"{printable(str(policy_path))} does not protect what {shown} holds: run build.py and commit both"
        )
    return Release(env, path, body, template, values, policy)


def caller_account(aws: AwsClients, region: str) -> tuple[str, str]:
    """The account and ARN the credentials act as: a deploy shows both before it asks, or does not start."""
    try:
        identity = aws.client("sts", region).get_caller_identity()
    except NoCredentialsError:
        raise AwsError(
            "no AWS credentials found: configure a profile or role, then retry"
        ) from None
    except (BotoCoreError, ClientError) as error:
        raise AwsError(
            f"cannot tell which account these credentials reach (sts:GetCallerIdentity: "
            f"{error.__class__.__name__}); nothing was changed"
        ) from None
    return str(identity["Account"]), str(identity["Arn"])


class LostResponse(Exception):
    """A write was sent and no answer came: it may have landed. The caller reads the state back."""


def may_have_landed(error: ClientError) -> bool:
    """Whether a write that ended in `error` may have landed anyway.

    botocore retries a lost answer, a throttle and a server error; when the
    last attempt failed after a retry, or with a server error, an earlier
    attempt may have done the work. A first-attempt refusal (4xx) did not.
    """
    metadata = error.response.get("ResponseMetadata", {})
    return (
        int(metadata.get("RetryAttempts", 0)) > 0
        or int(metadata.get("HTTPStatusCode", 0)) >= 500
    )


@contextlib.contextmanager
def cloudformation_errors(
    action: str, target: str, region: str, *, write: bool = False
) -> Iterator[None]:
    """CloudFormation's errors as one line that says what failed, with AWS's message redacted.

    For a write, an answer that leaves it open whether the write landed is
    LostResponse rather than a failure: the caller reads the state back.
    """
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if write and may_have_landed(error):
            raise LostResponse(code) from None
        message = redact(error.response.get("Error", {}).get("Message", ""))
        raise AwsError(
            f"cannot {action} {target} in {region}: {code}: {message}"
        ) from None
    except NoCredentialsError:
        raise AwsError(
            "no AWS credentials found: configure a profile or role, then retry"
        ) from None
    except BotoCoreError as error:
        if write:
            raise LostResponse(error.__class__.__name__) from None
        raise AwsError(
            f"cannot {action} {target} in {region}: {error.__class__.__name__}"
        ) from None


@contextlib.contextmanager
def landed_before(*codes: str, busy: str | None = None) -> Iterator[None]:
    """The refusal a retried write meets when the first try landed: botocore retries a lost answer, so read it back.

    `codes` are such refusals outright; `busy` is one only when its message
    says the resource is in progress.
    """
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        retried = (
            int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) > 0
        )
        # Only after a retry: on a first try, "in progress" is someone else's change.
        if retried and (code in codes or (code == busy and "_IN_PROGRESS" in message)):
            raise LostResponse(f"a retried request met {code}") from None
        raise


def event_line(event: dict[str, Any]) -> str:
    """One stack event: when, which resource, its status, and CloudFormation's reason (redacted: it may quote input)."""
    reason = event.get("ResourceStatusReason")
    line = f"{event['Timestamp']:%H:%M:%S} {event['LogicalResourceId']:<38} {event['ResourceStatus']}"
    return f"{line}: {redact(reason)}" if reason else line
