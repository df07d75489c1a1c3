"""What the deploy put in place, read back and held to the template that is deployed, property by property.

Tampering can leave every value intact and still undo the design: a guard's
condition widened, the allow-list cut from a resource policy, a rule's target
removed (it stays ENABLED with nothing to invoke), its pattern changed, a
subscriber unsubscribed, a key policy widened, an alarm's actions removed. So
`status` reads the template the stack runs (GetTemplate), resolves it with
the stack's own parameter values and resources (generator/resolve.py), and
compares every security-relevant property it sets with what is live:

- each secret's key, and its whole resource policy (conditional statements included);
- both keys' policies, state, rotation and aliases;
- each rule's state, event pattern and targets (Arn, DeadLetterConfig);
- the topic's policy, key and subscriptions (and, where alerts must reach a
  person, that a subscription is confirmed);
- the dead-letter queue's policy;
- the alarms' actions and thresholds.

Each difference is a Finding, reported statement by statement or field by
field (generator/policy_diff.py), with how to put it back: CloudFormation
updates only what a new template changes, so a redeploy of the same template
restores none of it. A deployed template that differs from the one this
version of the generator makes is reported apart, as out of date, not as
tampering. Nothing here reads a secret's value.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from generator.environments import Environment
from generator.errors import AwsError
from generator.ops.aws import AwsClients, aws_errors, region_of
from generator.ops.deploy.release import stack_name
from generator.policy_diff import pattern_lines, policy_lines
from generator.resolve import Deployment, resolved_resources
from generator.template import build_template, render

# CloudFormation updates only the resources whose template or parameters change,
# so running the same deploy again leaves a tampered resource as it is.
NOT_BY_REDEPLOY = "a redeploy does not restore it"
UNDOING_TAMPERING = "docs/operations.md, 'Undoing tampering'"
# What ListStacks calls a stack that exists (not deleted, not a failed first create's leftover).
_LIVE = (
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
)


@dataclass(frozen=True)
class Finding:
    """One way what is live differs from what the deployed template sets."""

    where: (
        str  # the resource, as a person names it ("trading/prod/alpaca in us-east-1")
    )
    what: str  # which of its properties ("resource policy", "event pattern", ...)
    lines: tuple[str, ...]  # the difference, statement by statement or field by field
    undo: str  # how to put it back
    # What the template sets, resolved: exactly the file:// document the `undo` command reads.
    expected: Any = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"lines": list(self.lines)}

    def report(self, where: bool = True) -> list[str]:
        """A line that names what differs, then the difference and how to undo it, indented."""
        heading = f"{self.what} differs from the deployed template:"
        return [
            f"{self.where}: {heading}" if where else heading,
            *(f"  {line}" for line in self.lines),
            f"  to undo: {self.undo}",
        ]


@dataclass(frozen=True)
class KeyCheck:
    """One of the stack's keys in one region: its state and rotation, and what is wrong with it."""

    alias: str
    region: str
    key_id: str | None
    state: str | None
    rotation: bool | None
    problems: tuple[str, ...] = ()
    # The differences from the template among the problems, each with the document to put back.
    findings: tuple[Finding, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "problems": list(self.problems),
            "findings": [f.as_json() for f in self.findings],
        }


@dataclass(frozen=True)
class RuleCheck:
    """One alert rule in one region: the state the template sets, the one it has, and what else is wrong."""

    name: str
    region: str
    expected: str
    state: str | None
    problems: tuple[str, ...] = ()
    # The differences from the template among the problems, each with the document to put back.
    findings: tuple[Finding, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {
            "problems": list(self.problems),
            "findings": [f.as_json() for f in self.findings],
        }


@dataclass(frozen=True)
class Subscriptions:
    """Who the alert topic reaches: confirmed and pending subscriptions, by protocol and endpoint."""

    confirmed: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"confirmed": list(self.confirmed), "pending": list(self.pending)}


@dataclass(frozen=True)
class Placement:
    """One region: the stack that made the resources, and what is live held to its template."""

    region: str
    stack: str | None
    keys: tuple[KeyCheck, ...] = ()
    rules: tuple[RuleCheck, ...] = ()
    # Per secret (logical id): its key and its resource policy.
    secrets: Mapping[str, tuple[Finding, ...]] = field(default_factory=dict)
    # Everything else held to the template: the topic, its subscriptions, the queue, the alarms.
    findings: tuple[Finding, ...] = ()
    subscriptions: Subscriptions = Subscriptions()
    # Why the alerts may reach nobody (staging and prod): no confirmed subscriber, or one pending.
    unheard: tuple[str, ...] = ()
    # The deployed template is not the one this version makes: what differs, by logical id.
    out_of_date: tuple[str, ...] = ()
    # What could not be compared at all, and why.
    problems: tuple[str, ...] = ()

    def every_finding(self) -> list[Finding]:
        """Every difference from the template in this region, each with the document that puts it back."""
        return [
            *(f for key in self.keys for f in key.findings),
            *(f for rule in self.rules for f in rule.findings),
            *(f for found in self.secrets.values() for f in found),
            *self.findings,
        ]

    def gate_problems(self) -> list[str]:
        """Every reason this region fails the gate, beyond the secrets' own rows."""
        lines = list(self.problems)
        lines += [p for key in self.keys for p in key.problems]
        lines += [p for rule in self.rules for p in rule.problems]
        lines += [line for f in self.findings for line in f.report()]
        lines += list(self.unheard)
        if self.out_of_date:
            lines.append(
                f"the stack {self.stack} in {self.region} runs a template other than the one this version of "
                f"the generator makes ({', '.join(self.out_of_date)}): out of date, redeploy it "
                "(trading-secrets deploy)"
            )
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "stack": self.stack,
            "findings": [f.as_json() for f in self.findings],
            "secrets": {
                logical_id: [f.as_json() for f in found]
                for logical_id, found in self.secrets.items()
            },
            "subscriptions": self.subscriptions.as_json(),
            "unheard": list(self.unheard),
            "out_of_date": list(self.out_of_date),
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class DeployedStack:
    """The stack that made the environment's resources in one region, its template resolved with its own values."""

    name: str
    stack_id: str
    template: dict[str, Any]
    deployment: Deployment

    @functools.cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        return resolved_resources(self.template, self.deployment)

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
        }


@functools.cache
def committed_template(env: Environment) -> dict[str, Any]:
    """The template this version of the generator makes for `env` (made once per process)."""
    return dict(json.loads(render(build_template(env))))


def find_stack(env: Environment, region: str, aws: AwsClients) -> DeployedStack:
    """`trading-<env>-secrets`, or the stack a stack set's instance made (`StackSet-trading-<env>-secrets-<id>`)."""
    cloudformation = aws.client("cloudformation", region)
    name = stack_name(env)
    with aws_errors("list the stacks", name, region):
        found = [
            summary
            for page in cloudformation.get_paginator("list_stacks").paginate(
                StackStatusFilter=list(_LIVE)
            )
            for summary in page["StackSummaries"]
            if summary["StackName"] == name
            or summary["StackName"].startswith(f"StackSet-{name}-")
        ]
    if not found:
        raise AwsError(
            f"no stack named {name}, nor a stack-set instance StackSet-{name}-*, in {region}: deploy it first"
        )
    if len(found) > 1:
        raise AwsError(
            f"{len(found)} stacks in {region} claim the {env.name} resources "
            f"({', '.join(s['StackName'] for s in found)}): delete the stray one"
        )
    stack_id = str(found[0]["StackId"])
    with aws_errors("read the template of", stack_id, region):
        body = cloudformation.get_template(
            StackName=stack_id, TemplateStage="Original"
        )["TemplateBody"]
        described = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
        physical = {
            resource["LogicalResourceId"]: resource.get("PhysicalResourceId", "")
            for page in cloudformation.get_paginator("list_stack_resources").paginate(
                StackName=stack_id
            )
            for resource in page["StackResourceSummaries"]
        }
    template = (
        json.loads(body) if isinstance(body, str) else json.loads(json.dumps(body))
    )
    parameters = {
        p["ParameterKey"]: p.get("ParameterValue", "")
        for p in described.get("Parameters", [])
    }
    account = stack_id.split(":")[4]
    return DeployedStack(
        str(found[0]["StackName"]),
        stack_id,
        template,
        Deployment(account, region_of(region), parameters, physical),
    )


def out_of_date(deployed: Mapping[str, Any], committed: Mapping[str, Any]) -> list[str]:
    """The parts of the deployed template that differ from the committed one (its metadata aside)."""

    def part(template: Mapping[str, Any], section: str) -> dict[str, str]:
        return {
            key: json.dumps(value, sort_keys=True)
            for key, value in dict(template.get(section, {})).items()
        }

    differ = []
    for section in ("Parameters", "Conditions", "Resources", "Outputs"):
        mine, theirs = part(committed, section), part(deployed, section)
        for key in sorted(set(mine) | set(theirs)):
            if key not in theirs:
                differ.append(f"{key} missing")
            elif key not in mine:
                differ.append(f"{key} not made by this version")
            elif mine[key] != theirs[key]:
                differ.append(f"{key} changed")
    return differ


class Reader:
    """What is live in one region, read for one comparison; every AWS error becomes a line, never a traceback."""

    def __init__(self, aws: AwsClients, region: str):
        self.aws, self.region = aws, region
        self._key_ids: dict[str, str | None] = {}

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.region)

    def key_id(self, key: str) -> str | None:
        """The id of a key named by id, ARN or alias; None when it does not exist."""
        if key not in self._key_ids:
            kms = self.client("kms")
            try:
                self._key_ids[key] = str(
                    kms.describe_key(KeyId=key)["KeyMetadata"]["KeyId"]
                )
            except kms.exceptions.NotFoundException:
                self._key_ids[key] = None
        return self._key_ids[key]


def _key_checks(stack: DeployedStack, read: Reader) -> tuple[KeyCheck, ...]:
    kms = read.client("kms")
    aliases = {
        resource["Properties"].get("TargetKeyId"): resource["Properties"].get(
            "AliasName"
        )
        for resource in stack.of_type("AWS::KMS::Alias").values()
    }
    checks = []
    for logical_id, resource in stack.of_type("AWS::KMS::Key").items():
        key_id = stack.deployment.physical_ids.get(logical_id, "")
        alias = str(aliases.get(key_id) or logical_id)
        label = f"{alias} in {read.region}"
        try:
            with aws_errors("describe the key", alias, read.region):
                metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
                rotation = bool(
                    kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
                )
                policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")[
                    "Policy"
                ]
                pointed = read.key_id(alias) if alias.startswith("alias/") else key_id
        except AwsError as error:
            checks.append(
                KeyCheck(alias, read.region, key_id, None, None, (str(error),))
            )
            continue
        state = str(metadata["KeyState"])
        problems = []
        if state == "PendingDeletion":
            problems.append(
                f"{label} is scheduled for deletion: `aws kms cancel-key-deletion --key-id {key_id} "
                f"--region {region_of(read.region)}`, then `aws kms enable-key`"
            )
        elif state != "Enabled":
            problems.append(
                f"{label} is {state}: `aws kms enable-key --key-id {key_id} --region {region_of(read.region)}`"
            )
        if resource["Properties"].get("EnableKeyRotation") and not rotation:
            problems.append(
                f"{label} has rotation off: `aws kms enable-key-rotation --key-id {key_id} --region {region_of(read.region)}`"
            )
        if pointed != key_id:
            problems.append(
                f"{label}: the alias points at {pointed or 'no key'}, not at the stack's key {key_id}: "
                f"`aws kms update-alias --alias-name {alias} --target-key-id {key_id} --region {region_of(read.region)}`"
            )
        expected = resource["Properties"].get("KeyPolicy")
        findings = []
        if lines := policy_lines(expected, policy):
            findings.append(
                Finding(
                    label,
                    "key policy",
                    tuple(lines),
                    f"{NOT_BY_REDEPLOY}; put the policy back: `aws kms put-key-policy --key-id {key_id} "
                    f"--policy-name default --policy file://key-policy.json --region {region_of(read.region)}` "
                    f"({UNDOING_TAMPERING})",
                    expected,
                )
            )
        problems += [line for finding in findings for line in finding.report()]
        checks.append(
            KeyCheck(
                alias,
                read.region,
                key_id,
                state,
                rotation,
                tuple(problems),
                tuple(findings),
            )
        )
    return tuple(sorted(checks, key=lambda check: check.alias))


def _targets(properties: Mapping[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {
        str(target.get("Id")): (
            str(target.get("Arn")),
            (target.get("DeadLetterConfig") or {}).get("Arn"),
        )
        for target in properties.get("Targets", [])
    }


def _rule_checks(stack: DeployedStack, read: Reader) -> tuple[RuleCheck, ...]:
    events = read.client("events")
    checks = []
    for logical_id, resource in sorted(stack.of_type("AWS::Events::Rule").items()):
        properties = resource["Properties"]
        name = str(
            properties.get("Name") or stack.deployment.physical_ids.get(logical_id)
        )
        label = f"alert rule {name} in {read.region}"
        want_state = str(properties.get("State", "ENABLED"))
        try:
            with aws_errors("describe the alert rule", name, read.region):
                try:
                    described = events.describe_rule(Name=name)
                except events.exceptions.ResourceNotFoundException:
                    checks.append(
                        RuleCheck(
                            name,
                            read.region,
                            want_state,
                            None,
                            (f"{label} not found: deploy the stack",),
                        )
                    )
                    continue
                live_targets = _targets(
                    {
                        "Targets": [
                            t
                            for page in events.get_paginator(
                                "list_targets_by_rule"
                            ).paginate(Rule=name)
                            for t in page["Targets"]
                        ]
                    }
                )
        except AwsError as error:
            checks.append(RuleCheck(name, read.region, want_state, None, (str(error),)))
            continue
        state = str(described.get("State"))
        problems: list[str] = []
        if state != want_state:
            problems.append(
                f"{label} is {state}, not {want_state}: {NOT_BY_REDEPLOY}; put it back with `aws events put-rule` "
                f"({UNDOING_TAMPERING})"
            )
        findings = []
        if lines := pattern_lines(
            properties.get("EventPattern", {}), described.get("EventPattern") or "{}"
        ):
            findings.append(
                Finding(
                    label,
                    "event pattern",
                    tuple(lines),
                    f"{NOT_BY_REDEPLOY}; put it back with `aws events put-rule --name {name} --event-pattern "
                    f"file://pattern.json --state {want_state} --region {region_of(read.region)}` ({UNDOING_TAMPERING})",
                    properties.get("EventPattern"),
                )
            )
        want_targets = _targets(properties)
        lines = []
        for target_id in sorted(set(want_targets) | set(live_targets)):
            want, have = want_targets.get(target_id), live_targets.get(target_id)
            if have is None:
                lines.append(
                    f"target {target_id} ({want[0] if want else ''}) was removed"
                )
            elif want is None:
                lines.append(f"target {target_id} was added: {have[0]}")
            else:
                if want[0] != have[0]:
                    lines.append(f"target {target_id} goes to {have[0]}, not {want[0]}")
                if want[1] != have[1]:
                    lines.append(
                        f"target {target_id}'s dead-letter queue is {have[1] or 'none'}, not {want[1] or 'none'}"
                    )
        if lines:
            findings.append(
                Finding(
                    label,
                    "targets",
                    tuple(lines),
                    f"{NOT_BY_REDEPLOY}; put them back with `aws events put-targets --rule {name} --targets "
                    f"file://targets.json --region {region_of(read.region)}`, and remove any added one with "
                    f"`aws events remove-targets` ({UNDOING_TAMPERING})",
                    properties.get("Targets"),
                )
            )
        problems += [line for finding in findings for line in finding.report()]
        checks.append(
            RuleCheck(
                name,
                read.region,
                want_state,
                state,
                tuple(problems),
                tuple(findings),
            )
        )
    return tuple(checks)


def _secret_findings(
    stack: DeployedStack, read: Reader
) -> dict[str, tuple[Finding, ...]]:
    secrets = read.client("secretsmanager")
    policies = {
        str(resource["Properties"].get("SecretId")): resource["Properties"].get(
            "ResourcePolicy"
        )
        for resource in stack.of_type("AWS::SecretsManager::ResourcePolicy").values()
    }
    found: dict[str, tuple[Finding, ...]] = {}
    for logical_id, resource in sorted(
        stack.of_type("AWS::SecretsManager::Secret").items()
    ):
        arn = stack.deployment.physical_ids.get(logical_id, "")
        name = str(resource["Properties"].get("Name") or arn)
        label = f"{name} in {read.region}"
        findings: list[Finding] = []
        try:
            with aws_errors("describe", name, read.region):
                described = secrets.describe_secret(SecretId=arn)
                policy = (
                    secrets.get_resource_policy(SecretId=arn).get("ResourcePolicy")
                    or ""
                )
                want_key = resource["Properties"].get("KmsKeyId")
                given = described.get("KmsKeyId")
                have_key = read.key_id(given) if given else None
                want_key_id = read.key_id(str(want_key)) if want_key else None
        except AwsError as error:
            found[logical_id] = (
                Finding(label, "could not be read", (str(error),), "retry"),
            )
            continue
        if want_key and have_key != want_key_id:
            findings.append(
                Finding(
                    label,
                    "KMS key",
                    (
                        f"encrypted with {have_key or 'the AWS-managed key'}, not the stack's key {want_key_id}",
                    ),
                    f"`aws secretsmanager update-secret --secret-id {name} --kms-key-id {want_key_id} "
                    f"--region {region_of(read.region)}`",
                    want_key_id,
                )
            )
        expected = policies.get(arn)
        if expected is not None and (lines := policy_lines(expected, policy)):
            findings.append(
                Finding(
                    label,
                    "resource policy",
                    tuple(lines)
                    if policy
                    else ("it has no resource policy: its guards are gone",),
                    f"{NOT_BY_REDEPLOY}; put the policy back as the break-glass role: `aws secretsmanager "
                    f"put-resource-policy --secret-id {name} --block-public-policy --resource-policy "
                    f"file://policy.json --region {region_of(read.region)}` ({UNDOING_TAMPERING})",
                    expected,
                )
            )
        found[logical_id] = tuple(findings)
    return found


def _subscription_findings(
    label: str,
    arn: str,
    region: str,
    live: list[tuple[dict[str, Any], dict[str, Any]]],
    wanted_subscriptions: list[dict[str, Any]],
) -> list[Finding]:
    """Subscriptions the template makes that are gone or changed, and ones it does not make."""
    findings = []
    seen = []
    for subscription, details in live:
        who = f"{subscription.get('Protocol')} {subscription.get('Endpoint')}"
        wanted = next(
            (
                w
                for w in wanted_subscriptions
                if w.get("Protocol") == subscription.get("Protocol")
                and w.get("Endpoint") == subscription.get("Endpoint")
            ),
            None,
        )
        if wanted is None:
            findings.append(
                Finding(
                    label,
                    "subscriptions",
                    (
                        f"{who} is subscribed, which the template does not do: it receives every alert",
                    ),
                    f"if it is not yours, `aws sns unsubscribe --subscription-arn "
                    f"{subscription['SubscriptionArn']} --region {region_of(region)}`",
                )
            )
            continue
        seen.append(wanted)
        lines = []
        have_redrive = details.get("RedrivePolicy")
        if wanted.get("RedrivePolicy") and (
            json.loads(have_redrive) if have_redrive else None
        ) != wanted.get("RedrivePolicy"):
            lines.append(
                f"its redrive policy is {have_redrive or 'gone'}: an alert it cannot deliver would be dropped"
            )
        if details.get("FilterPolicy") and not wanted.get("FilterPolicy"):
            lines.append(
                "it has a filter policy the template does not set: it can drop every alert"
            )
        if lines:
            findings.append(
                Finding(
                    label,
                    f"subscription of {who}",
                    tuple(lines),
                    f"{NOT_BY_REDEPLOY}; put the template's RedrivePolicy back, or take the FilterPolicy off, with "
                    f"`aws sns set-subscription-attributes --subscription-arn {subscription['SubscriptionArn']}` "
                    f"({UNDOING_TAMPERING})",
                    wanted,
                )
            )
    for wanted in wanted_subscriptions:
        if wanted not in seen:
            who = f"{wanted.get('Protocol')} {wanted.get('Endpoint')}"
            findings.append(
                Finding(
                    label,
                    "subscriptions",
                    (f"the template's subscription of {who} is gone",),
                    f"{NOT_BY_REDEPLOY}; `aws sns subscribe --topic-arn {arn} --protocol {wanted.get('Protocol')} "
                    f"--notification-endpoint {wanted.get('Endpoint')} --attributes "
                    f"file://subscription-attributes.json --region {region_of(region)}`, then its owner confirms it "
                    f"({UNDOING_TAMPERING})",
                    # Subscribe's attributes are strings: the dead-letter queue it had, as the template sets it.
                    {
                        name: json.dumps(value) if not isinstance(value, str) else value
                        for name, value in wanted.items()
                        if name
                        in ("RedrivePolicy", "FilterPolicy", "RawMessageDelivery")
                    },
                )
            )
    return findings


def _unheard(label: str, arn: str, subscriptions: Subscriptions) -> list[str]:
    """Why the alerts may reach nobody: a subscriber that has not confirmed, or none confirmed at all."""
    unheard = []
    # RFC 2606 keeps .invalid from ever resolving: the committed parameter files' placeholder address,
    # which no link can confirm. (Only an emulator's test can confirm it, so a confirmed one is left alone.)
    placeholders = [who for who in subscriptions.pending if who.endswith(".invalid")]
    waiting = [who for who in subscriptions.pending if who not in placeholders]
    if placeholders:
        unheard.append(
            f"{label}: {', '.join(placeholders)} is the committed placeholder, which can never receive mail: "
            "name a real address in the parameter file's AlertEmail, deploy, and have its owner confirm it"
        )
    if waiting:
        unheard.append(
            f"{label}: {', '.join(waiting)} has not confirmed its subscription, so it receives no "
            "alert: its owner confirms it with the link in the email from AWS Notifications (the token is valid for "
            f"two days; `aws sns list-subscriptions-by-topic --topic-arn {arn}` shows it)"
        )
    if not subscriptions.confirmed:
        unheard.append(
            f"{label} has no confirmed subscriber, so no alert reaches anyone: name one in the parameter file's "
            "AlertEmail, deploy, and have its owner confirm the subscription"
        )
    return unheard


def _topic_findings(
    env: Environment, stack: DeployedStack, read: Reader
) -> tuple[list[Finding], Subscriptions, list[str]]:
    """The topic's policy and key, and its subscriptions: those the template makes, and who is confirmed."""
    sns = read.client("sns")
    findings: list[Finding] = []
    subscriptions = Subscriptions()
    unheard: list[str] = []
    topic_policies = {
        str(topic): resource["Properties"].get("PolicyDocument")
        for resource in stack.of_type("AWS::SNS::TopicPolicy").values()
        for topic in resource["Properties"].get("Topics", [])
    }
    wanted_subscriptions = [
        resource["Properties"]
        for resource in stack.of_type("AWS::SNS::Subscription").values()
    ]
    for logical_id, resource in sorted(stack.of_type("AWS::SNS::Topic").items()):
        arn = stack.deployment.physical_ids.get(logical_id, "")
        label = f"topic {arn.rsplit(':', 1)[-1]} in {read.region}"
        with aws_errors("read the topic", arn, read.region):
            attributes = dict(sns.get_topic_attributes(TopicArn=arn)["Attributes"])
            live = []
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
                TopicArn=arn
            ):
                for subscription in page["Subscriptions"]:
                    # AWS lists one not yet confirmed with "PendingConfirmation" for its ARN.
                    details = (
                        dict(
                            sns.get_subscription_attributes(
                                SubscriptionArn=subscription["SubscriptionArn"]
                            )["Attributes"]
                        )
                        if subscription["SubscriptionArn"].startswith("arn:")
                        else {"PendingConfirmation": "true"}
                    )
                    live.append((subscription, details))
        expected = topic_policies.get(arn)
        if expected is not None and (
            lines := policy_lines(expected, attributes.get("Policy", ""))
        ):
            findings.append(
                Finding(
                    label,
                    "topic policy",
                    tuple(lines),
                    f"{NOT_BY_REDEPLOY}; `aws sns set-topic-attributes --topic-arn {arn} --attribute-name Policy "
                    f"--attribute-value file://topic-policy.json --region {region_of(read.region)}` ({UNDOING_TAMPERING})",
                    expected,
                )
            )
        want_key = resource["Properties"].get("KmsMasterKeyId")
        have_key = attributes.get("KmsMasterKeyId")
        if want_key and read.key_id(str(want_key)) != (
            read.key_id(have_key) if have_key else None
        ):
            findings.append(
                Finding(
                    label,
                    "KMS key",
                    (f"encrypted with {have_key or 'no key'}, not {want_key}",),
                    f"`aws sns set-topic-attributes --topic-arn {arn} --attribute-name KmsMasterKeyId "
                    f"--attribute-value {want_key} --region {region_of(read.region)}`",
                    want_key,
                )
            )
        findings += _subscription_findings(
            label, arn, read.region, live, wanted_subscriptions
        )
        subscriptions = Subscriptions(
            tuple(
                f"{s.get('Protocol')} {s.get('Endpoint')}"
                for s, d in live
                if d.get("PendingConfirmation") != "true"
            ),
            tuple(
                f"{s.get('Protocol')} {s.get('Endpoint')}"
                for s, d in live
                if d.get("PendingConfirmation") == "true"
            ),
        )
        if env.requires_alert_subscriber:
            unheard += _unheard(label, arn, subscriptions)
    return findings, subscriptions, unheard


def _queue_findings(stack: DeployedStack, read: Reader) -> list[Finding]:
    sqs = read.client("sqs")
    findings = []
    for resource in stack.of_type("AWS::SQS::QueuePolicy").values():
        for url in resource["Properties"].get("Queues", []):
            name = str(url).rsplit("/", 1)[-1]
            with aws_errors("read the queue policy of", name, read.region):
                policy = sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["Policy"]
                )["Attributes"].get("Policy", "")
            expected = resource["Properties"].get("PolicyDocument")
            if lines := policy_lines(expected, policy):
                findings.append(
                    Finding(
                        f"queue {name} in {read.region}",
                        "queue policy",
                        tuple(lines),
                        f"{NOT_BY_REDEPLOY}; `aws sqs set-queue-attributes --queue-url {url} --attributes "
                        f"file://queue-attributes.json --region {region_of(read.region)}` ({UNDOING_TAMPERING})",
                        # SetQueueAttributes takes the policy as one attribute, a string.
                        {"Policy": json.dumps(expected)},
                    )
                )
    return findings


_ALARM_FIELDS = (
    "MetricName",
    "Namespace",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
)


def _alarm_findings(stack: DeployedStack, read: Reader) -> list[Finding]:
    alarms = {
        str(resource["Properties"].get("AlarmName")): resource["Properties"]
        for resource in stack.of_type("AWS::CloudWatch::Alarm").values()
    }
    if not alarms:
        return []
    cloudwatch = read.client("cloudwatch")
    with aws_errors("describe the alarms of", stack.name, read.region):
        live = {
            alarm["AlarmName"]: alarm
            for page in cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNames=sorted(alarms)
            )
            for alarm in page["MetricAlarms"]
        }
    findings = []
    for name, properties in sorted(alarms.items()):
        # PutMetricAlarm's input is the template's properties, bar Tags: it ignores them on an existing alarm.
        want = {k: v for k, v in properties.items() if k != "Tags"}
        label = f"alarm {name} in {read.region}"
        have = live.get(name)
        if have is None:
            findings.append(
                Finding(
                    label,
                    "alarm",
                    ("it is gone",),
                    f"{NOT_BY_REDEPLOY}; recreate it: `aws cloudwatch put-metric-alarm --cli-input-json "
                    f"file://alarm.json --region {region_of(read.region)}` ({UNDOING_TAMPERING})",
                    want,
                )
            )
            continue
        lines = []
        if not have.get("ActionsEnabled", True):
            lines.append("its actions are disabled: it would notify nobody")
        for actions in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            if set(map(str, want.get(actions, []))) != set(have.get(actions, [])):
                lines.append(
                    f"{actions} are {sorted(have.get(actions, [])) or 'none'}, not {sorted(map(str, want.get(actions, []))) or 'none'}"
                )
        for name_of in _ALARM_FIELDS:
            if name_of in want and str(want[name_of]) != str(have.get(name_of)):
                if name_of in (
                    "Threshold",
                    "Period",
                    "EvaluationPeriods",
                ) and _same_number(want[name_of], have.get(name_of)):
                    continue
                lines.append(f"{name_of} is {have.get(name_of)}, not {want[name_of]}")
        want_dimensions = {
            (d.get("Name"), str(d.get("Value"))) for d in want.get("Dimensions", [])
        }
        have_dimensions = {
            (d.get("Name"), str(d.get("Value"))) for d in have.get("Dimensions", [])
        }
        if want_dimensions != have_dimensions:
            lines.append(
                f"it watches {sorted(have_dimensions)}, not {sorted(want_dimensions)}"
            )
        if lines:
            undo = (
                f"`aws cloudwatch enable-alarm-actions --alarm-names {name} --region {region_of(read.region)}`"
                if lines == ["its actions are disabled: it would notify nobody"]
                else f"{NOT_BY_REDEPLOY}; put the template's settings back: `aws cloudwatch put-metric-alarm "
                f"--cli-input-json file://alarm.json --region {region_of(read.region)}` ({UNDOING_TAMPERING})"
            )
            findings.append(Finding(label, "alarm", tuple(lines), undo, want))
    return findings


def _same_number(want: Any, have: Any) -> bool:
    try:
        return float(want) == float(have)
    except (TypeError, ValueError):
        return False


def _compared(steps: Iterable[Callable[[], None]]) -> list[str]:
    """Run each step; an AWS error costs that step, never the comparison."""
    problems = []
    for step in steps:
        try:
            step()
        except AwsError as error:
            problems.append(str(error))
    return problems


def placement(env: Environment, region: str, aws: AwsClients) -> Placement:
    """What is live in `region`, held to the template its stack runs; an AWS error costs its part, never the whole."""
    try:
        stack = find_stack(env, region, aws)
    except AwsError as error:
        return Placement(region, None, problems=(str(error),))
    read = Reader(aws, region)
    parts: dict[str, Any] = {}

    def keys() -> None:
        parts["keys"] = _key_checks(stack, read)

    def rules() -> None:
        parts["rules"] = _rule_checks(stack, read)

    def secrets() -> None:
        parts["secrets"] = _secret_findings(stack, read)

    def topic() -> None:
        found, subscriptions, unheard = _topic_findings(env, stack, read)
        parts.setdefault("findings", []).extend(found)
        parts["subscriptions"], parts["unheard"] = subscriptions, unheard

    def queue() -> None:
        parts.setdefault("findings", []).extend(_queue_findings(stack, read))

    def alarms() -> None:
        parts.setdefault("findings", []).extend(_alarm_findings(stack, read))

    try:
        problems = _compared((keys, rules, secrets, topic, queue, alarms))
    except KeyError as unresolvable:
        # A template this version cannot resolve (a function or attribute it does not know).
        problems = [
            f"the template of {stack.name} in {region} cannot be resolved here: {unresolvable}"
        ]
    return Placement(
        region,
        stack.name,
        keys=parts.get("keys", ()),
        rules=parts.get("rules", ()),
        secrets=parts.get("secrets", {}),
        findings=tuple(parts.get("findings", ())),
        subscriptions=parts.get("subscriptions", Subscriptions()),
        unheard=tuple(parts.get("unheard", ())),
        out_of_date=tuple(out_of_date(stack.template, committed_template(env))),
        problems=tuple(problems),
    )


def last_read(described: dict[str, Any]) -> str | None:
    """The day anything last read the value, as Secrets Manager keeps it: this tool's own reads included."""
    accessed = described.get("LastAccessedDate")
    return f"{accessed:%Y-%m-%d}" if accessed else None
