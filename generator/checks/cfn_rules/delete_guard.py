"""The delete guard's rules: what must stay denied to everyone but the break-glass role (E9114, E9117).

Each rule names its AWS source; the shared policy readers are in policies.py."""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.checks.cfn_rules.policies import (
    NEGATED_OPERATORS,
    _grants,
    _policy_statements,
    _principal_arn_values,
)


class DeleteGuardCoversPolicyChanges(CloudFormationLintRule):
    id = "E9114"
    shortdesc = "A Deny of DeleteSecret must also deny changing the resource policy that holds it"
    description = (
        "A Deny of DeleteSecret in a secret's resource policy stops nobody who may replace or delete that "
        "policy first: deny PutResourcePolicy and DeleteResourcePolicy too. Source: Secrets Manager User "
        "Guide, 'Resource-based policies' (a secret's resource policy is replaced whole by PutResourcePolicy)."
    )
    source_url = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html"
    tags = ["resources", "secretsmanager", "iam"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        denied: dict[str, set[str]] = {}
        paths: dict[str, list[Any]] = {}
        for logical_id, path, statement in _policy_statements(
            cfn, "AWS::SecretsManager::ResourcePolicy"
        ):
            # A guard: a Deny to everyone in the account but the principals its condition exempts.
            if statement.get("Effect") == "Deny" and _principal_arn_values(
                statement, NEGATED_OPERATORS
            ):
                for action in (
                    "DeleteSecret",
                    "PutResourcePolicy",
                    "DeleteResourcePolicy",
                ):
                    if _grants(statement, f"secretsmanager:{action}"):
                        denied.setdefault(logical_id, set()).add(action)
                        paths.setdefault(logical_id, path)
        return [
            RuleMatch(
                paths[logical_id],
                f"{logical_id} denies DeleteSecret but not {', '.join(sorted({'PutResourcePolicy', 'DeleteResourcePolicy'} - actions))}, "
                "so the guard can be removed before the delete",
            )
            for logical_id, actions in sorted(denied.items())
            if "DeleteSecret" in actions
            and not {"PutResourcePolicy", "DeleteResourcePolicy"} <= actions
        ]


class DeleteGuardCoversCrossAccountCopies(CloudFormationLintRule):
    id = "E9117"
    shortdesc = "A secret guarded against deletion must be guarded against copies into another account too"
    description = (
        "AssociateCrossAccountReplica links a secret to a replica in another account and keeps copying its value "
        "there. A resource policy that denies DeleteSecret to all but a few must deny that call as well, or a "
        "production value can leave the account without the guard noticing. Source: AWS Secrets Manager API "
        "Reference, AssociateCrossAccountReplica (botocore's service model, secretsmanager 2017-10-17)."
    )
    source_url = (
        "https://docs.aws.amazon.com/secretsmanager/latest/apireference/Welcome.html"
    )
    tags = ["resources", "secretsmanager", "iam"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        guarded: dict[str, list[Any]] = {}
        denied_copies: set[str] = set()
        for logical_id, path, statement in _policy_statements(
            cfn, "AWS::SecretsManager::ResourcePolicy"
        ):
            if statement.get("Effect") != "Deny":
                continue
            if _grants(
                statement, "secretsmanager:DeleteSecret"
            ) and _principal_arn_values(statement, NEGATED_OPERATORS):
                guarded.setdefault(logical_id, path)
            if _grants(
                statement, "secretsmanager:AssociateCrossAccountReplica"
            ) and _principal_arn_values(statement, NEGATED_OPERATORS):
                denied_copies.add(logical_id)
        return [
            RuleMatch(
                path,
                f"{logical_id} guards DeleteSecret but lets anyone AssociateCrossAccountReplica, which copies the "
                "value into another account",
            )
            for logical_id, path in sorted(guarded.items())
            if logical_id not in denied_copies
        ]
