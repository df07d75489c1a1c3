"""What real AWS enforces and the local engine does not, enforced in front of it. Each rule names its source.

- Deploy capabilities: a template with IAM resources needs CAPABILITY_IAM
  (CAPABILITY_NAMED_IAM when one has a fixed name); otherwise
  InsufficientCapabilities. CloudFormation API Reference, CreateStack,
  "Capabilities" (the same for UpdateStack, CreateChangeSet, CreateStackSet,
  UpdateStackSet).
- The staging-label compare-and-swap: UpdateSecretVersionStage fails when the
  label is attached to another version than RemoveFromVersionId names.
  Secrets Manager API Reference, UpdateSecretVersionStage, RemoveFromVersionId.
- Stack policies: SetStackPolicy, GetStackPolicy and CreateStack's
  StackPolicyBody, which the engine does not keep; an update that would
  replace or delete a resource the policy protects is refused, unless
  UpdateStack's StackPolicyDuringUpdateBody allows it. CloudFormation User
  Guide, "Prevent updates to stack resources".
- Termination protection: DeleteStack of a protected stack is refused, and
  CreateStack's EnableTerminationProtection, which the engine drops, is kept.
  CloudFormation User Guide, "Protect a stack from being deleted".
- AssumeRole into another account: the role must exist there, and its trust
  policy must let the caller's account (or the caller) assume it; otherwise
  AccessDenied. The engine hands out credentials for any role ARN. STS API
  Reference, AssumeRole; IAM User Guide, "How IAM roles differ from
  resource-based policies" (the trust policy decides who may assume).
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from devtools.engine_proxy.wire import (
    Caller,
    Reply,
    json_error,
    query_error,
    query_reply,
)

# Properties that give an IAM resource a fixed name: CAPABILITY_NAMED_IAM.
_IAM_NAME_PROPERTIES = (
    "RoleName",
    "ManagedPolicyName",
    "GroupName",
    "UserName",
    "InstanceProfileName",
)
_TEMPLATE_CALLS = {
    "CreateStack",
    "UpdateStack",
    "CreateChangeSet",
    "CreateStackSet",
    "UpdateStackSet",
}
# A change set's change, as the stack-policy action it is.
_UPDATE_ACTION = {"Remove": "Update:Delete"}

EngineClient = Callable[[str, Caller], Any]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def required_capability(template_body: str) -> str | None:
    """The capability a template needs for its IAM resources, if any.

    Written here again on purpose, beside trading-secrets' own: a check that
    imported the code it checks would agree with it whatever it said.
    """
    try:
        template = json.loads(template_body)
    except ValueError:
        return None
    resources = template.get("Resources", {}) if isinstance(template, dict) else {}
    iam = [
        resource
        for resource in resources.values()
        if isinstance(resource, dict)
        and str(resource.get("Type", "")).startswith("AWS::IAM::")
    ]
    if any(
        name in r.get("Properties", {}) for r in iam for name in _IAM_NAME_PROPERTIES
    ):
        return "CAPABILITY_NAMED_IAM"
    return "CAPABILITY_IAM" if iam else None


def _stack_name(stack: str) -> str:
    """A stack's name, whether the caller gave its name or its ARN (arn:...:stack/<name>/<id>)."""
    return (
        stack.split(":stack/", 1)[1].split("/", 1)[0] if ":stack/" in stack else stack
    )


def _matches(patterns: Any, value: str) -> bool:
    listed = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(value, str(pattern)) for pattern in listed)


def policy_allows(policy: dict[str, Any], action: str, logical_id: str) -> bool:
    """Stack-policy evaluation: an explicit Deny wins; without an Allow, an update is denied."""
    resource = f"LogicalResourceId/{logical_id}"
    allowed = False
    for statement in policy.get("Statement", []):
        if not _matches(statement.get("Action", []), action):
            continue
        if "NotResource" in statement:
            covered = not _matches(statement["NotResource"], resource)
        else:
            covered = _matches(statement.get("Resource", []), resource)
        if not covered:
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


class AwsRules:
    """The strict checks, with the state the engine does not keep (stack policies)."""

    def __init__(self, engine_client: EngineClient):
        self._client = engine_client
        self._policies: dict[tuple[str, str, str], dict[str, Any]] = {}
        # One compare-and-swap at a time per secret, as AWS makes it atomic.
        self._label_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def label_lock(self, who: Caller, secret_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._label_locks.setdefault(
                (who.access_key, who.region, secret_id), threading.Lock()
            )

    # STS ----------------------------------------------------------------------------------

    def assume_role(self, who: Caller, params: dict[str, Any]) -> Reply | None:
        """AccessDenied unless the role exists and trusts the caller's account; None to let the engine answer."""
        role_arn = str(params.get("RoleArn", ""))
        parts = role_arn.split(":")
        refusal = query_error(
            "AccessDenied",
            f"User: arn:aws:iam::{who.access_key}:root is not authorized to perform: sts:AssumeRole on "
            f"resource: {role_arn}",
            403,
        )
        if len(parts) != 6 or not parts[5].startswith("role/"):
            return refusal
        account, name = parts[4], parts[5].rsplit("/", 1)[-1]
        iam = self._client("iam", Caller(account, who.region, "iam"))
        try:
            trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        except iam.exceptions.NoSuchEntityException:
            return refusal
        document = json.loads(trust) if isinstance(trust, str) else trust
        trusted = {
            f"arn:aws:iam::{who.access_key}:root",
            who.access_key,
        }
        for statement in _as_list(document.get("Statement")):
            principals = _as_list((statement.get("Principal") or {}).get("AWS"))
            if (
                statement.get("Effect") == "Allow"
                and "sts:AssumeRole" in _as_list(statement.get("Action"))
                and trusted & {str(p) for p in principals}
            ):
                return None
        return refusal

    # CloudFormation -----------------------------------------------------------------------

    def cloudformation(
        self, who: Caller, action: str, params: dict[str, Any]
    ) -> Reply | None:
        """A refusal or an answer for a CloudFormation call, or None to forward it as it is."""
        if action in _TEMPLATE_CALLS and (
            refused := self._capabilities(who, action, params)
        ):
            return refused
        key = (who.access_key, who.region, _stack_name(params.get("StackName", "")))
        if action == "SetStackPolicy":
            self._policies[key] = json.loads(params.get("StackPolicyBody", "{}"))
            return query_reply(action, {})
        if action == "GetStackPolicy":
            policy = self._policies.get(key)
            return query_reply(
                action, {"StackPolicyBody": json.dumps(policy) if policy else None}
            )
        if action == "CreateStack" and params.get("StackPolicyBody"):
            self._policies[key] = json.loads(params["StackPolicyBody"])
        if action == "DeleteStack":
            return self._protected(who, params["StackName"])
        if action == "ExecuteChangeSet":
            return self._execute_within_policy(who, params)
        if action == "UpdateStack" and key in self._policies:
            return self._update_within_policy(who, params, key)
        return None

    def after(
        self, who: Caller, action: str, params: dict[str, Any], reply: Reply
    ) -> None:
        """State the engine should have kept after a call it answered."""
        if (
            action == "CreateStack"
            and reply.status == 200
            and params.get("EnableTerminationProtection") == "true"
        ):
            self._client("cloudformation", who).update_termination_protection(
                StackName=params["StackName"], EnableTerminationProtection=True
            )

    def _capabilities(
        self, who: Caller, action: str, params: dict[str, Any]
    ) -> Reply | None:
        body = params.get("TemplateBody")
        if body is None and params.get("UsePreviousTemplate") == "true":
            body = self._client("cloudformation", who).get_template(
                StackName=params["StackName"]
            )["TemplateBody"]
            body = body if isinstance(body, str) else json.dumps(body)
        needed = required_capability(body) if isinstance(body, str) else None
        given = set(params.get("Capabilities", []))
        if (
            needed is None
            or needed in given
            or (needed == "CAPABILITY_IAM" and "CAPABILITY_NAMED_IAM" in given)
        ):
            return None
        return query_error(
            "InsufficientCapabilitiesException", f"Requires capabilities : [{needed}]"
        )

    def _protected(self, who: Caller, stack: str) -> Reply | None:
        cloudformation = self._client("cloudformation", who)
        try:
            described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        except Exception:
            return None
        if described.get("EnableTerminationProtection"):
            return query_error(
                "ValidationError",
                f"Stack [{described['StackName']}] cannot be deleted while TerminationProtection is enabled",
            )
        return None

    def _denied(
        self, policy: dict[str, Any], changes: list[dict[str, Any]]
    ) -> list[str]:
        denied = []
        for change in changes:
            resource = change.get("ResourceChange", {})
            action = resource.get("Action")
            if action == "Remove":
                wanted = _UPDATE_ACTION["Remove"]
            elif action == "Modify":
                replaced = resource.get("Replacement") in ("True", "Conditional")
                wanted = "Update:Replace" if replaced else "Update:Modify"
            else:
                continue
            if not policy_allows(policy, wanted, resource["LogicalResourceId"]):
                denied.append(f"{wanted} on {resource['LogicalResourceId']}")
        return denied

    def _execute_within_policy(
        self, who: Caller, params: dict[str, Any]
    ) -> Reply | None:
        cloudformation = self._client("cloudformation", who)
        change_set = cloudformation.describe_change_set(
            ChangeSetName=params["ChangeSetName"],
            **({"StackName": params["StackName"]} if "StackName" in params else {}),
        )
        policy = self._policies.get(
            (who.access_key, who.region, change_set["StackName"])
        )
        if policy is None:
            return None
        if denied := self._denied(policy, change_set.get("Changes", [])):
            return query_error(
                "ValidationError", f"Action denied by stack policy: {', '.join(denied)}"
            )
        return None

    def _update_within_policy(
        self, who: Caller, params: dict[str, Any], key: tuple[str, str, str]
    ) -> Reply | None:
        """An UpdateStack, judged on what it would change: a change set of the same request, made and dropped."""
        during = params.get("StackPolicyDuringUpdateBody")
        policy = json.loads(during) if during else self._policies[key]
        cloudformation = self._client("cloudformation", who)
        name = f"strict-proxy-preview-{uuid.uuid4().hex[:8]}"
        arguments = {
            "StackName": params["StackName"],
            "ChangeSetName": name,
            "TemplateBody": params.get("TemplateBody"),
            "Parameters": params.get("Parameters", []),
            "Capabilities": params.get("Capabilities", []),
        }
        cloudformation.create_change_set(
            **{k: v for k, v in arguments.items() if v is not None}
        )
        try:
            for _ in range(120):
                change_set = cloudformation.describe_change_set(
                    ChangeSetName=name, StackName=params["StackName"]
                )
                if change_set["Status"] in ("CREATE_COMPLETE", "FAILED"):
                    break
                time.sleep(0.25)
        finally:
            cloudformation.delete_change_set(
                ChangeSetName=name, StackName=params["StackName"]
            )
        if denied := self._denied(policy, change_set.get("Changes", [])):
            return query_error(
                "ValidationError", f"Action denied by stack policy: {', '.join(denied)}"
            )
        return None

    # Secrets Manager ----------------------------------------------------------------------

    def label_swap(self, who: Caller, params: dict[str, Any]) -> Reply | None:
        """UpdateSecretVersionStage: refuse a move whose RemoveFromVersionId does not hold the label."""
        secrets = self._client("secretsmanager", who)
        try:
            stages = secrets.describe_secret(SecretId=params["SecretId"]).get(
                "VersionIdsToStages", {}
            )
        except Exception:
            return None
        label = params.get("VersionStage")
        holder = next(
            (version for version, labels in stages.items() if label in labels), None
        )
        remove_from, move_to = (
            params.get("RemoveFromVersionId"),
            params.get("MoveToVersionId"),
        )
        if holder is None or holder == move_to:
            if remove_from is not None and remove_from != holder:
                return json_error(
                    "InvalidParameterException",
                    f"The staging label {label} is not attached to version {remove_from}.",
                )
            return None
        if remove_from != holder:
            return json_error(
                "InvalidParameterException",
                f"The staging label {label} is attached to version {holder}; RemoveFromVersionId must name that "
                "version to move it.",
            )
        return None
