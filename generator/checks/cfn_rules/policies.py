"""cfn-lint rules: resource policies that deploy, yet do not do in AWS what they seem to.

Role ARNs under any path, an allow-list that exempts the operators and the
deployers, the any-account exemption, and the delete guard: what must stay
denied to everyone but the break-glass role. Each rule names its AWS source.
"""

from __future__ import annotations

import re
import runpy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

# cfn-lint loads each rule file by path, outside any package (.cfnlintrc, append_rules), so the
# helpers the rules share are read the same way, from beside this file: the rules need cfn-lint
# and the standard library alone, wherever cfn-lint runs (tests/checks/test_cfn_lint_cli.py).
_READING = runpy.run_path(str(Path(__file__).with_name("reading.py")))
as_list: Callable[[Any], list[Any]] = _READING["as_list"]

POLICY_PROPERTIES = ("PolicyDocument", "ResourcePolicy", "KeyPolicy")
NEGATED_OPERATORS = ("ArnNotLike", "ArnNotEquals", "StringNotLike", "StringNotEquals")
OPERATOR_PARAMETER = "OperatorRoleNames"
DEPLOYER_PARAMETER = "DeployerRoleNames"
# An ARN pattern of any account: "arn:<partition>:iam::*:...".
_ANY_ACCOUNT_ARN = re.compile(r"^arn:[^:]*:iam::\*:")
# A role at the root path in an ARN pattern: ":role/" then a name without "/" or "*".
_ROOT_PATH_ROLE = re.compile(r":role/(?P<name>[^/*]+)$")


def _statements(
    node: Any, path: list[Any]
) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Every policy statement under `node` with its path, both branches of an Fn::If included."""
    if isinstance(node, dict):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            yield path, node
            return
        for key, value in node.items():
            yield from _statements(value, [*path, key])
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _statements(item, [*path, index])


def _policy_statements(
    cfn: Any, resource_type: str
) -> Iterator[tuple[str, list[Any], dict[str, Any]]]:
    for logical_id, resource in cfn.template.get("Resources", {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != resource_type:
            continue
        properties = resource.get("Properties", {})
        for name in POLICY_PROPERTIES:
            if name in properties:
                for path, statement in _statements(
                    properties[name], ["Resources", logical_id, "Properties", name]
                ):
                    yield logical_id, path, statement


def _actions(statement: dict[str, Any]) -> set[str]:
    return {
        action.lower()
        for action in as_list(statement.get("Action", []))
        if isinstance(action, str)
    }


def _grants(statement: dict[str, Any], action: str) -> bool:
    service = action.split(":", maxsplit=1)[0]
    return bool(_actions(statement) & {action.lower(), f"{service}:*", "*"})


def _principal_arn_values(
    statement: dict[str, Any], operators: tuple[str, ...]
) -> list[Any]:
    """The values an aws:PrincipalArn condition of `statement` compares with, under the given operators."""
    values: list[Any] = []
    for operator, tests in (statement.get("Condition") or {}).items():
        if operator in operators and isinstance(tests, dict):
            for key, value in tests.items():
                if key.lower() == "aws:principalarn":
                    values.extend(as_list(value))
    return values


def _strings(node: Any) -> Iterator[str]:
    """Literal strings and Fn::Sub templates anywhere under `node`."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        if "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            yield sub if isinstance(sub, str) else sub[0]
        else:
            for value in node.values():
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _refers_to_parameter(node: Any, name: str) -> bool:
    if isinstance(node, dict):
        return node.get("Ref") == name or any(
            _refers_to_parameter(value, name) for value in node.values()
        )
    if isinstance(node, list):
        return any(_refers_to_parameter(item, name) for item in node)
    return False


class RoleArnMatchesAnyPath(CloudFormationLintRule):
    id = "E9112"
    shortdesc = (
        "An aws:PrincipalArn pattern for a role must match the role under any path"
    )
    description = (
        "aws:PrincipalArn of an assumed role is the role ARN with its path (role/<path>/<name>; IAM Identity "
        "Center roles always have one), so a pattern role/<name> misses the role when it has a path: list "
        "role/*/<name> too. Source: IAM User Guide, 'IAM identifiers' and 'AWS global condition context keys'."
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn"
    tags = ["resources", "iam"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for resource_type in (
            "AWS::SecretsManager::ResourcePolicy",
            "AWS::KMS::Key",
            "AWS::SNS::TopicPolicy",
        ):
            for logical_id, path, statement in _policy_statements(cfn, resource_type):
                patterns = list(
                    _strings(
                        _principal_arn_values(
                            statement, (*NEGATED_OPERATORS, "ArnLike", "StringLike")
                        )
                    )
                )
                for pattern in patterns:
                    root = _ROOT_PATH_ROLE.search(pattern)
                    if root and not any(
                        other.endswith(f":role/*/{root['name']}") for other in patterns
                    ):
                        matches.append(
                            RuleMatch(
                                [*path, "Condition"],
                                f"{logical_id} statement {statement.get('Sid', '(no Sid)')}: role pattern "
                                f"role/{root['name']} misses the role under a path; add role/*/{root['name']}",
                            )
                        )
        return matches


class ReadAllowListExemptsOperatorsAndDeployers(CloudFormationLintRule):
    id = "E9113"
    shortdesc = "A Deny of GetSecretValue outside an allow-list must exempt the operators and the deployers"
    description = (
        "An explicit Deny wins over every Allow, so a Deny of GetSecretValue to everyone outside an allow-list "
        "also locks out the people who check and rotate the value (trading-secrets status and put), and "
        "CloudFormation itself, whose read and update handlers of AWS::SecretsManager::Secret call "
        f"GetSecretValue as the deployer, unless they are exempt: reference {OPERATOR_PARAMETER} and "
        f"{DEPLOYER_PARAMETER} in its condition. Source: IAM User Guide, 'Policy evaluation logic'; the "
        "AWS::SecretsManager::Secret resource provider schema, handler permissions."
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
    tags = ["resources", "secretsmanager", "iam"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for logical_id, path, statement in _policy_statements(
            cfn, "AWS::SecretsManager::ResourcePolicy"
        ):
            allow_list = _principal_arn_values(statement, NEGATED_OPERATORS)
            if not (
                statement.get("Effect") == "Deny"
                and _grants(statement, "secretsmanager:GetSecretValue")
                and allow_list
            ):
                continue
            missing = [
                name
                for name in (OPERATOR_PARAMETER, DEPLOYER_PARAMETER)
                if not _refers_to_parameter(allow_list, name)
            ]
            if missing:
                matches.append(
                    RuleMatch(
                        [*path, "Condition"],
                        f"{logical_id} statement {statement.get('Sid', '(no Sid)')} denies GetSecretValue outside "
                        f"an allow-list that does not exempt {' or '.join(missing)}",
                    )
                )
        return matches


def _denies_every_other_account(statement: dict[str, Any]) -> bool:
    """A Deny of every Secrets Manager action to principals whose account is not this one."""
    tests = (statement.get("Condition") or {}).get("StringNotEquals", {})
    return (
        statement.get("Effect") == "Deny"
        and bool(_actions(statement) & {"secretsmanager:*", "*"})
        and any(key.lower() == "aws:principalaccount" for key in tests)
    )


class AnyAccountExemptionNeedsOutsideAccountDeny(CloudFormationLintRule):
    id = "E9115"
    shortdesc = (
        "A guard that exempts roles of any account needs a Deny of every other account"
    )
    description = (
        "A Deny whose aws:PrincipalArn exemption matches a role name in any account (arn:...:iam::*:role...) "
        "would exempt a role of that name in another account too, unless the same policy denies every "
        "Secrets Manager action to principals outside this account: an explicit Deny wins wherever it "
        "applies. Source: IAM User Guide, 'Policy evaluation logic' and 'AWS global condition context keys' "
        "(aws:PrincipalAccount)."
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
    tags = ["resources", "secretsmanager", "iam"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        by_policy: dict[str, list[tuple[list[Any], dict[str, Any]]]] = {}
        for logical_id, path, statement in _policy_statements(
            cfn, "AWS::SecretsManager::ResourcePolicy"
        ):
            by_policy.setdefault(logical_id, []).append((path, statement))
        matches = []
        for logical_id, statements in by_policy.items():
            if any(_denies_every_other_account(s) for _, s in statements):
                continue
            for path, statement in statements:
                patterns = _strings(_principal_arn_values(statement, NEGATED_OPERATORS))
                if statement.get("Effect") == "Deny" and any(
                    _ANY_ACCOUNT_ARN.match(pattern) for pattern in patterns
                ):
                    matches.append(
                        RuleMatch(
                            [*path, "Condition"],
                            f"{logical_id} statement {statement.get('Sid', '(no Sid)')} exempts roles of any "
                            "account, and no statement denies principals outside this account",
                        )
                    )
        return matches


class PolicyChangeGuardExemptsDeployers(CloudFormationLintRule):
    id = "E9116"
    shortdesc = (
        "A Deny of changing a secret's resource policy must exempt the deployers"
    )
    description = (
        "CloudFormation creates, updates and deletes AWS::SecretsManager::ResourcePolicy with the deployer's "
        "credentials (PutResourcePolicy, DeleteResourcePolicy). A Deny of those calls that does not exempt "
        f"the deployer, through the {DEPLOYER_PARAMETER} parameter, locks CloudFormation out of its own "
        "stack: no later update may touch the policy, and a failed first create cannot delete what it "
        "made. Source: the AWS::SecretsManager::ResourcePolicy resource provider schema, handler "
        "permissions; CloudFormation User Guide, 'AWS CloudFormation service role'."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html"
    tags = ["resources", "secretsmanager", "iam", "cloudformation"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for logical_id, path, statement in _policy_statements(
            cfn, "AWS::SecretsManager::ResourcePolicy"
        ):
            exempt = _principal_arn_values(statement, NEGATED_OPERATORS)
            if (
                statement.get("Effect") == "Deny"
                and exempt
                and any(
                    _grants(statement, f"secretsmanager:{action}")
                    for action in ("PutResourcePolicy", "DeleteResourcePolicy")
                )
                and not _refers_to_parameter(exempt, DEPLOYER_PARAMETER)
            ):
                matches.append(
                    RuleMatch(
                        [*path, "Condition"],
                        f"{logical_id} statement {statement.get('Sid', '(no Sid)')} denies changing the resource "
                        f"policy without exempting {DEPLOYER_PARAMETER}: CloudFormation would be locked out "
                        "of its own stack",
                    )
                )
        return matches


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
