"""What a deploy would change, shown before anything is asked, and the changes that would weaken a guard refused.

Change sets show resources, never statements: a removed Deny looks like any
other Modify. So every deploy, and `deploy --plan`, first holds the new
template and parameter values to the ones deployed (a stack's, or a stack
set's), both resolved the same way (generator/resolve.py), and prints:

- the resources added, removed or modified, with the replacement guard's
  verdict on each stateful one;
- the parameters that change;
- for every resource that holds a policy (the secrets' resource policies,
  the keys', the topic's and the queue's, the reader policies), each
  statement added, removed or changed, with what it gained and lost
  (generator/policy_diff.py).

A change that removes a Deny or weakens one (fewer actions, a narrower
condition, a new exempt principal, a role added to a parameter list
included), or adds or widens an Allow in a policy already deployed, is
refused (exit 13) unless `--allow-policy-change LOGICAL_ID/SID` names it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.checks.replacement import Replacement, blocking, replacements
from generator.errors import PolicyWeakeningRefused, ReplacementRefused
from generator.policy_diff import StatementChange, compare_policies, weakenings
from generator.resolve import Deployment, resolved_resources

LOG = logging.getLogger(__name__)

# The property of each type that holds a policy document.
POLICY_PROPERTIES = {
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
}
# Both templates are resolved in one imagined deployment, so that a Ref or an ARN reads the same on both sides.
_ACCOUNT, _REGION = "123456789012", "us-east-1"


@dataclass(frozen=True)
class PolicyChange:
    """One statement of one policy-bearing resource, added, removed or changed."""

    logical_id: str
    change: StatementChange
    # Whether the resource was deployed before: a new resource's Allows are new, not widened.
    existed: bool

    @property
    def ident(self) -> str:
        """How --allow-policy-change names it: LOGICAL_ID/SID."""
        return f"{self.logical_id}/{self.change.name}"

    @property
    def weakens(self) -> list[str]:
        reasons = weakenings(self.change)
        if not self.existed:
            # A resource the template adds weakens nothing that was there; its Denies still count if removed.
            reasons = [r for r in reasons if not r.startswith("the Allow ")]
        return reasons


@dataclass(frozen=True)
class Review:
    """A deploy's changes: resources, parameters, policy statements; and what the guards say of them."""

    where: (
        str  # "trading-staging-secrets in us-east-1", "stack set trading-prod-secrets"
    )
    created: bool  # nothing is deployed yet: a create
    resources: tuple[tuple[str, str], ...]  # (logical id, added | removed | modified)
    replacements: tuple[Replacement, ...]
    parameters: tuple[tuple[str, str, str], ...]  # (name, deployed value, new value)
    policies: tuple[PolicyChange, ...]

    @property
    def changes(self) -> bool:
        return bool(self.resources or self.parameters)

    def lines(self, allowed_replacements: Iterable[str] = ()) -> list[str]:
        """What the deploy changes, as printed before it asks."""
        if self.created:
            return [f"{self.where}: creates {len(self.resources)} resource(s)"]
        if not self.changes:
            return [f"{self.where}: the template and parameters are those deployed"]
        lines = [f"{self.where}: what this deploy changes:"]
        stopped, let_through = blocking(self.replacements, allowed_replacements)
        verdicts = {r.logical_id: "REFUSED (replacement guard)" for r in stopped}
        verdicts |= {r.logical_id: "allowed (--allow-replacement)" for r in let_through}
        for logical_id, how in self.resources:
            verdict = verdicts.get(logical_id, "")
            lines.append(
                f"  resource {logical_id}: {how}" + (f": {verdict}" if verdict else "")
            )
        for name, before, after in self.parameters:
            lines.append(f"  parameter {name}: {before!r} -> {after!r}")
        for policy in self.policies:
            for line in policy.change.lines():
                flag = " [weakens]" if policy.weakens else ""
                lines.append(f"  {policy.logical_id}: {line}{flag}")
        return lines

    def refuse(
        self, allowed_replacements: Iterable[str], allowed_policy_changes: Iterable[str]
    ) -> None:
        """Raise what a deploy of this review would be refused for: a replacement (8), then a weakening (13)."""
        stopped, _ = blocking(self.replacements, allowed_replacements)
        if stopped:
            raise ReplacementRefused(
                f"{self.where}: the new template would remove or replace {len(stopped)} stateful resource(s); "
                "nothing was changed",
                [
                    f"{r}; if reviewed, deploy with --allow-replacement {r.logical_id}"
                    for r in stopped
                ],
            )
        allowed = set(allowed_policy_changes)
        weakening = [p for p in self.policies if p.weakens]
        refused = [p for p in weakening if p.ident not in allowed]
        for policy in weakening:
            if policy.ident in allowed:
                LOG.warning(
                    "%s: %s weakens a guard (%s); let through by --allow-policy-change %s",
                    self.where,
                    policy.ident,
                    "; ".join(policy.weakens),
                    policy.ident,
                )
        if refused:
            raise PolicyWeakeningRefused(
                f"{self.where}: the change would weaken {len(refused)} policy statement(s); nothing was changed",
                [
                    f"{p.ident}: {reason}; if reviewed, deploy with --allow-policy-change {p.ident}"
                    for p in refused
                    for reason in p.weakens
                ],
            )


def _resolved(
    template: Mapping[str, Any], parameters: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    resources = template.get("Resources", {})
    ids = {logical_id: logical_id for logical_id in resources}
    deployment = Deployment(
        _ACCOUNT,
        _REGION,
        {
            **{
                name: str(p.get("Default", ""))
                for name, p in template.get("Parameters", {}).items()
            },
            **parameters,
        },
        ids,
        {logical_id: f"arn:aws:{logical_id}" for logical_id in resources},
    )
    return resolved_resources(template, deployment)


def review(
    where: str,
    deployed: Mapping[str, Any] | None,
    deployed_parameters: Mapping[str, str],
    template: Mapping[str, Any],
    parameters: Mapping[str, str],
) -> Review:
    """What deploying `template` with `parameters` over `deployed` (None: nothing yet) changes."""
    if deployed is None:
        return Review(
            where,
            True,
            tuple((lid, "added") for lid in sorted(template["Resources"])),
            (),
            (),
            (),
        )
    before, after = (
        _resolved(deployed, deployed_parameters),
        _resolved(template, parameters),
    )
    resources = []
    for logical_id in sorted(set(before) | set(after)):
        old, new = before.get(logical_id), after.get(logical_id)
        if old is None:
            resources.append((logical_id, "added"))
        elif new is None:
            resources.append((logical_id, "removed"))
        elif json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True):
            resources.append((logical_id, "modified"))
    policies = []
    for logical_id, how in resources:
        resource = after.get(logical_id) or before[logical_id]
        prop = POLICY_PROPERTIES.get(str(resource.get("Type")))
        if prop is None:
            continue
        old_document = (
            (before.get(logical_id) or {}).get("Properties", {}).get(prop, {})
        )
        new_document = (after.get(logical_id) or {}).get("Properties", {}).get(prop, {})
        policies += [
            PolicyChange(logical_id, change, existed=how != "added")
            for change in compare_policies(old_document, new_document)
        ]
    names = sorted(set(deployed_parameters) | set(parameters))
    return Review(
        where,
        False,
        tuple(resources),
        tuple(replacements(dict(deployed), dict(template))),
        tuple(
            (name, deployed_parameters.get(name, ""), parameters.get(name, ""))
            for name in names
            if deployed_parameters.get(name, "") != parameters.get(name, "")
        ),
        tuple(policies),
    )
