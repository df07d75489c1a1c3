"""Who deploys, with what least privilege: the deployer's IAM policy, and prod's stack-set execution role.

Generated, not written by hand. The resource handlers' permissions are read
from the provider schemas cfn-lint ships (`handlers.{create,read,update,delete,
list}.permissions`) for the resource types the template holds; CloudFormation
calls on the deployer's credentials (or a stack set's execution role), so the
deployer needs each of them. The CloudFormation calls are those
`trading-secrets deploy` and the documented CLI commands make. Every action
the handlers list has a scope below, or the build fails: a new resource type
is a decision, not a silent grant.

Each statement names this stack's own resources, in this environment's
regions, in the caller's own account (`${aws:PrincipalAccount}`, an IAM
policy variable). The handler permissions that could escalate are bound by
conditions: a reader policy may be attached only if it is this stack's
(`iam:PolicyARN`), a role passed only to EventBridge or SNS, a key's policy
changed only on this stack's keys (`aws:ResourceTag`, which the key handler
sets at CreateKey), a secret replicated only to this environment's regions.
The deployer can read every value of its own stack: the secret's read handler
calls GetSecretValue (docs/security.md says so).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    Condition,
    ConditionElement,
    ForAllValuesStringEquals,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringNotEquals,
)
from troposphere import GetAtt, Output, Parameter, Sub, Tags, Template
from troposphere.iam import ManagedPolicy, Role
from troposphere.iam import Policy as InlinePolicy

from generator import naming, tagging
from generator.checks.replacement import provider_schema
from generator.environments import Environment
from generator.json_text import pretty_json
from generator.policies import POLICY_VERSION, STACK_SET_EXECUTION_ROLE
from generator.template import render

ACCOUNT = "${aws:PrincipalAccount}"
HANDLERS = ("create", "read", "update", "delete", "list")

# The CloudFormation calls `trading-secrets deploy` makes on a stack (generator/ops/deploy/stack.py)
# and the documented CLI commands add (docs/deploying.md); tests/test_deployer.py holds both to this.
STACK_CALLS = (
    "CreateChangeSet",
    "CreateStack",
    "DeleteChangeSet",
    "DescribeChangeSet",
    "DescribeStackEvents",
    "DescribeStacks",
    "ExecuteChangeSet",
    "GetTemplate",
    "SetStackPolicy",
    "UpdateStack",
    "UpdateTerminationProtection",
)
# And on a stack set, from the administrator account (generator/ops/deploy/stack_set.py).
STACK_SET_CALLS = (
    "CreateStackInstances",
    "CreateStackSet",
    "DescribeStackSet",
    "DescribeStackSetOperation",
    "ListStackInstances",
    "ListStackSetOperationResults",
    "UpdateStackSet",
)
# Read-only calls with no resource to name, or whose resource is the whole account's list.
_UNSCOPED = (
    "cloudwatch:DescribeAlarms",
    "events:ListRules",
    "iam:ListPolicies",
    "kms:ListAliases",
    "kms:ListKeys",
    "secretsmanager:GetRandomPassword",
    "secretsmanager:ListSecrets",
    "sns:ListSubscriptions",
    "sns:ListTopics",
    "sqs:ListQueues",
)

# What each handler action acts on. The kinds are turned into resources and conditions below.
SCOPES: dict[str, tuple[str, ...]] = {
    "secret": (
        "secretsmanager:CreateSecret",
        "secretsmanager:DeleteResourcePolicy",
        "secretsmanager:DeleteSecret",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutResourcePolicy",
        "secretsmanager:RemoveRegionsFromReplication",
        "secretsmanager:TagResource",
        "secretsmanager:UntagResource",
        "secretsmanager:UpdateSecret",
    ),
    "replicate": ("secretsmanager:ReplicateSecretToRegions",),
    "new-key": ("kms:CreateKey",),
    "key": (
        "kms:DescribeKey",
        "kms:DisableKey",
        "kms:DisableKeyRotation",
        "kms:EnableKey",
        "kms:EnableKeyRotation",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:UpdateKeyDescription",
    ),
    "alias": ("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"),
    "reader-policy": (
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:ListEntitiesForPolicy",
        "iam:ListPolicyVersions",
    ),
    "attach": (
        "iam:AttachGroupPolicy",
        "iam:AttachRolePolicy",
        "iam:AttachUserPolicy",
        "iam:DetachGroupPolicy",
        "iam:DetachRolePolicy",
        "iam:DetachUserPolicy",
    ),
    "pass-role": ("iam:PassRole",),
    "role": ("iam:GetRole",),
    "topic": (
        "sns:CreateTopic",
        "sns:DeleteTopic",
        "sns:GetDataProtectionPolicy",
        "sns:GetSubscriptionAttributes",
        "sns:GetTopicAttributes",
        "sns:ListSubscriptionsByTopic",
        "sns:ListTagsForResource",
        "sns:PutDataProtectionPolicy",
        "sns:SetSubscriptionAttributes",
        "sns:SetTopicAttributes",
        "sns:Subscribe",
        "sns:TagResource",
        "sns:Unsubscribe",
        "sns:UntagResource",
    ),
    "queue": (
        "sqs:CreateQueue",
        "sqs:DeleteQueue",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ListQueueTags",
        "sqs:SetQueueAttributes",
        "sqs:TagQueue",
        "sqs:UntagQueue",
    ),
    "rule": (
        "events:DeleteRule",
        "events:DescribeRule",
        "events:ListTagsForResource",
        "events:ListTargetsByRule",
        "events:PutRule",
        "events:PutTargets",
        "events:RemoveTargets",
        "events:TagResource",
        "events:UntagResource",
    ),
    "alarm": (
        "cloudwatch:DeleteAlarms",
        "cloudwatch:ListTagsForResource",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
    ),
    "list": _UNSCOPED,
}
_KIND_OF = {action: kind for kind, actions in SCOPES.items() for action in actions}
# Services a role may be passed to: the handlers of rules, topics and subscriptions list PassRole for
# their optional role properties. This template passes none; a role for these, if ever, is named so.
PASSED_TO = ("events.amazonaws.com", "sns.amazonaws.com")


class UnscopedPermission(Exception):
    """A handler lists an action this module gives no scope: decide one in SCOPES before it is granted."""


@functools.cache
def handler_permissions(resource_type: str) -> frozenset[str]:
    """Every permission the resource type's handlers list, in the provider schema cfn-lint ships.

    Read as a file, without importing cfn-lint: a rebuild that changes
    nothing, and `--check`, import none of it.
    """
    handlers = provider_schema(resource_type).get("handlers", {})
    return frozenset(
        permission
        for handler in HANDLERS
        for permission in handlers.get(handler, {}).get("permissions", [])
    )


def template_permissions(template: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Resource type -> its handlers' permissions, for each type the template holds."""
    types = sorted({resource["Type"] for resource in template["Resources"].values()})
    return {
        resource_type: handler_permissions(resource_type) for resource_type in types
    }


@dataclass(frozen=True)
class Scope:
    """Where one deployer acts: the environment, the stack names its resources carry, and the account."""

    env: Environment
    # How the stack that makes the resources is named: trading-<env>-secrets, or the stack
    # set's instance stacks StackSet-trading-prod-secrets-<id> (CloudFormation names the
    # reader policies after it: <stack>-<logical id>-<random>).
    stack_prefix: str

    def arns(self, service: str, resource: str) -> list[str]:
        return [
            f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"
            for region in self.env.regions
        ]

    @property
    def named(self) -> str:
        """trading-<env>-secrets-: the fixed names of the rules, alarms, topic and queue start so."""
        return naming.resource_name(self.env, "")

    @property
    def tagged(self) -> dict[str, str]:
        """The tags the stack's keys carry from CreateKey on, which bind every call on a key to this stack's."""
        common = tagging.common_tags(self.env)
        return {key: common[key] for key in ("ManagedBy", "Environment", "Project")}


def _statement(
    sid: str,
    actions: Iterable[str],
    resources: list[str],
    condition: Condition | None = None,
) -> Statement:
    return Statement(
        Sid=sid,
        Effect=Allow,
        Action=[Action(*action.split(":", 1)) for action in sorted(set(actions))],
        Resource=resources,
        **({"Condition": condition} if condition else {}),
    )


def _keys_through_secrets_manager(
    env: Environment, scope: Scope, keys: list[str]
) -> Statement:
    """Decrypt and GenerateDataKey on this stack's keys, only as Secrets Manager asks on the caller's behalf."""
    return _statement(
        "ThisStacksKeysThroughSecretsManager",
        ("kms:Decrypt", "kms:GenerateDataKey"),
        keys,
        Condition(
            [
                StringEquals(
                    {
                        "kms:ViaService": [
                            f"secretsmanager.{region}.amazonaws.com"
                            for region in env.regions
                        ],
                        **{f"aws:ResourceTag/{k}": v for k, v in scope.tagged.items()},
                    }
                )
            ]
        ),
    )


def _tag_conditions(prefix: str, tags: Mapping[str, str]) -> list[ConditionElement]:
    return [StringEquals({f"{prefix}/{key}": value for key, value in tags.items()})]


def handler_statements(scope: Scope, permissions: Iterable[str]) -> list[Statement]:
    """The handlers' permissions, each under its scope; an action with none is refused (UnscopedPermission)."""
    by_kind: dict[str, set[str]] = {}
    for action in permissions:
        if action not in _KIND_OF:
            raise UnscopedPermission(
                f"the deployer policy has no scope for {action}: add it to generator/deployer.py SCOPES"
            )
        by_kind.setdefault(_KIND_OF[action], set()).add(action)
    env = scope.env
    policies = f"arn:aws:iam::{ACCOUNT}:policy/{scope.stack_prefix}*"
    # Any account's in the condition: a customer-managed policy can be attached only in its own account,
    # and no AWS-managed policy is named so (and an IAM evaluator need not expand variables there).
    any_accounts_policies = f"arn:aws:iam::*:policy/{scope.stack_prefix}*"
    keys = scope.arns("kms", "key/*")
    topic = scope.arns("sns", naming.alert_topic_name(env))
    statements = {
        "secret": lambda a: _statement(
            "ThisStacksSecrets",
            a,
            scope.arns("secretsmanager", f"secret:{naming.secret_name_prefix(env)}*"),
        ),
        # Only into this environment's own regions: never a copy of a value elsewhere.
        "replicate": lambda a: _statement(
            "ReplicateOnlyWithinTheEnvironment",
            a,
            scope.arns("secretsmanager", f"secret:{naming.secret_name_prefix(env)}*"),
            Condition(
                ForAllValuesStringEquals(
                    "secretsmanager:AddReplicaRegions", list(env.regions)
                )
            ),
        ),
        # The key handler passes the template's tags to CreateKey, so a new key is this stack's from birth.
        "new-key": lambda a: _statement(
            "CreateKeysTaggedAsThisStacks",
            a,
            ["*"],
            Condition(_tag_conditions("aws:RequestTag", scope.tagged)),
        ),
        "key": lambda a: _statement(
            "ThisStacksKeysOnly",
            a,
            keys,
            Condition(_tag_conditions("aws:ResourceTag", scope.tagged)),
        ),
        # An alias call is authorized on the alias and on the key it points at (KMS Developer Guide,
        # "Controlling access to aliases"): this stack's aliases, and only this stack's keys.
        "alias": lambda a: _statement(
            "ThisStacksAliases",
            a,
            scope.arns("kms", f"alias/{scope.named.rstrip('-')}*"),
        ),
        "alias-key": lambda a: _statement(
            "ThisStacksKeysOnly",
            a,
            keys,
            Condition(_tag_conditions("aws:ResourceTag", scope.tagged)),
        ),
        "reader-policy": lambda a: _statement(
            "ThisStacksReaderPolicies", a, [policies]
        ),
        # Attaching or detaching a policy is bound to this stack's reader policies: never AdministratorAccess.
        "attach": lambda a: _statement(
            "AttachOnlyThisStacksReaderPolicies",
            a,
            ["*"],
            Condition(ArnLike("iam:PolicyARN", any_accounts_policies)),
        ),
        "pass-role": lambda a: _statement(
            "PassOnlyThisStacksRolesToEventBridgeAndSns",
            a,
            [f"arn:aws:iam::{ACCOUNT}:role/{scope.named}*"],
            Condition(StringEquals("iam:PassedToService", list(PASSED_TO))),
        ),
        "role": lambda a: _statement(
            "ReadThisStacksRoles", a, [f"arn:aws:iam::{ACCOUNT}:role/{scope.named}*"]
        ),
        "topic": lambda a: _statement(
            "ThisStacksTopicAndItsSubscriptions",
            a,
            topic + [f"{arn}:*" for arn in topic],
        ),
        "queue": lambda a: _statement(
            "ThisStacksQueue",
            a,
            scope.arns("sqs", naming.alert_dead_letter_queue_name(env)),
        ),
        "rule": lambda a: _statement(
            "ThisStacksRules", a, scope.arns("events", f"rule/{scope.named}*")
        ),
        "alarm": lambda a: _statement(
            "ThisStacksAlarms", a, scope.arns("cloudwatch", f"alarm:{scope.named}*")
        ),
        "list": lambda a: _statement("ListingsWithNoResourceToName", a, ["*"]),
    }
    if "alias" in by_kind:
        by_kind["alias-key"] = by_kind["alias"]
    made = [statements[kind](actions) for kind, actions in sorted(by_kind.items())]
    # No handler lists what Secrets Manager asks of KMS on the caller's behalf: a value written
    # (a dev or staging placeholder at create) needs GenerateDataKey, a value read Decrypt.
    made.append(_keys_through_secrets_manager(env, scope, keys))
    return made


def _stack_statement(env: Environment, scope: Scope) -> Statement:
    return _statement(
        "ThisStackOnly",
        (f"cloudformation:{call}" for call in STACK_CALLS),
        scope.arns("cloudformation", f"stack/{naming.stack_name(env)}/*"),
    )


def _all_permissions(template: Mapping[str, Any]) -> list[str]:
    return sorted(
        {
            p
            for permissions in template_permissions(template).values()
            for p in permissions
        }
    )


def _document(statements: list[Statement]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        PolicyDocument(Version=POLICY_VERSION, Statement=statements).to_json()
    )
    # Statements on the same resources under the same condition are one: a managed policy holds 6,144 characters.
    merged: dict[str, dict[str, Any]] = {}
    for statement in document["Statement"]:
        key = json.dumps(
            [statement["Resource"], statement.get("Condition")], sort_keys=True
        )
        if key in merged:
            merged[key]["Action"] = sorted(
                {*merged[key]["Action"], *statement["Action"]}
            )
        else:
            merged[key] = statement
    document["Statement"] = list(merged.values())
    return document


def deployer_policy(env: Environment, template: Mapping[str, Any]) -> dict[str, Any]:
    """The policy of the role named in DeployerRoleNames (prod: the stack set's administrator-account deployer)."""
    name = naming.stack_name(env)
    if env.deployed_as_stack_set:
        # The set, its instances' targets and the resource types of its template, which CreateStackInstances
        # and UpdateStackSet authorize too (CloudFormation's Service Authorization Reference).
        # A service-managed set belongs to the management account even when a delegated
        # administrator runs it (CallAs DELEGATED_ADMIN): any account's set of this name.
        stack_sets = [
            f"arn:aws:cloudformation:*:*:stackset/{name}:*",
            "arn:aws:cloudformation:*:*:stackset-target/*",
            "arn:aws:cloudformation:*:*:type/resource/*",
        ]
        return _document(
            [
                _statement(
                    "ThisStackSetOnly",
                    (f"cloudformation:{call}" for call in STACK_SET_CALLS),
                    stack_sets,
                ),
                # Whether the caller is the organization's management account or a delegated administrator
                # decides CallAs (deploy --call-as, detected when not given).
                _statement(
                    "ReadWhoAdministersStackSets",
                    (
                        "organizations:DescribeOrganization",
                        "organizations:ListDelegatedAdministrators",
                    ),
                    ["*"],
                ),
                # The go-live gate a prod pipeline runs after a deploy: status in every account, as the operator role.
                _statement(
                    "ActAsTheOperatorRoleInEveryAccount",
                    ["sts:AssumeRole"],
                    [f"arn:aws:iam::*:role/{naming.operator_role_name(env)}"],
                ),
                # deploy turns termination protection on for the instances in the deployer's own account.
                _statement(
                    "ProtectThisStackSetsInstanceStacks",
                    (
                        "cloudformation:DescribeStacks",
                        "cloudformation:UpdateTerminationProtection",
                    ),
                    Scope(env, f"StackSet-{name}-").arns(
                        "cloudformation", f"stack/StackSet-{name}-*/*"
                    ),
                ),
            ]
        )
    scope = Scope(env, f"{name}-")
    return _document(
        [
            _stack_statement(env, scope),
            *handler_statements(scope, _all_permissions(template)),
        ]
    )


def execution_role_policy(
    env: Environment, template: Mapping[str, Any]
) -> dict[str, Any]:
    """What the stack set's execution role does in each target account: its instance stacks and their resources."""
    name = naming.stack_name(env)
    scope = Scope(env, f"StackSet-{name}-")
    return _document(
        [
            # "Your target account always needs full AWS CloudFormation permissions" (Grant self-managed
            # permissions): on this stack set's instance stacks only, never another stack's service role.
            _statement(
                "ThisStackSetsInstanceStacksOnly",
                ["cloudformation:*"],
                scope.arns("cloudformation", f"stack/StackSet-{name}-*/*"),
            ),
            # "You must add the S3 service action ... StackSets uses these permissions to notify the stack
            # instance state": the S3 it names is StackSets' own, never a bucket of this account.
            _statement(
                "StackSetsOwnStateNotifications",
                ["s3:*"],
                ["*"],
                Condition(StringNotEquals("aws:ResourceAccount", ACCOUNT)),
            ),
            *handler_statements(scope, _all_permissions(template)),
        ]
    )


def _in_the_template(value: Any) -> Any:
    """The policy as the role's template holds it: the account and partition its stack is deployed in (Fn::Sub).

    A plain policy names the caller's account with an IAM policy variable; in
    a template, CloudFormation fills both in, and cfn-lint checks the ARNs.
    """
    if isinstance(value, dict):
        return {key: _in_the_template(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_in_the_template(item) for item in value]
    if isinstance(value, str) and (value.startswith("arn:aws:") or value == ACCOUNT):
        text = value.replace(ACCOUNT, "${AWS::AccountId}")
        return Sub(text.replace("arn:aws:", "arn:${AWS::Partition}:", 1))
    return value


def _role_assumed_from(
    account: Parameter,
    logical_id: str,
    role_name: str,
    description: str,
    policy_name: str,
    policy: dict[str, Any],
    env: Environment,
) -> Template:
    """A template of one role, which any principal of the account `account` names may assume, its policy inline.

    The trusted account is a parameter, so no account id is committed.
    """
    role_template = Template(Description=description)
    role_template.add_parameter(account)
    role = role_template.add_resource(
        Role(
            logical_id,
            RoleName=role_name,
            AssumeRolePolicyDocument=PolicyDocument(
                Version=POLICY_VERSION,
                Statement=[
                    Statement(
                        Effect=Allow,
                        Principal=Principal(
                            "AWS",
                            Sub(
                                f"arn:${{AWS::Partition}}:iam::${{{account.title}}}:root"
                            ),
                        ),
                        Action=[Action("sts", "AssumeRole")],
                    )
                ],
            ),
            Policies=[
                InlinePolicy(
                    PolicyName=policy_name,
                    PolicyDocument=_in_the_template(policy),
                )
            ],
            Tags=Tags(**tagging.common_tags(env)),
        )
    )
    role_template.add_output(Output(f"{logical_id}Arn", Value=GetAtt(role, "Arn")))
    return role_template


def execution_role_template(env: Environment, template: Mapping[str, Any]) -> Template:
    """AWSCloudFormationStackSetExecutionRole as a template of its own, as AWS's sample is, least privilege inline."""
    return _role_assumed_from(
        Parameter(
            "AdministratorAccountId",
            Type="String",
            AllowedPattern=r"^\d{12}$",
            ConstraintDescription="the 12-digit id of the account that administers the stack set",
            Description="The account the stack set is administered from; its administration role assumes this one",
        ),
        "ExecutionRole",
        STACK_SET_EXECUTION_ROLE,
        f"{STACK_SET_EXECUTION_ROLE} for the {env.project} {env.name} credentials stack set: "
        "trusts the administrator account, and may do only what that stack set's instances need",
        f"{naming.stack_name(env)}-least-privilege",
        execution_role_policy(env, template),
        env,
    )


# What `put`, `status`, `verify` and `rollback` call in an account, by what it acts on (generator/ops/change,
# generator/ops/live); tests/test_deployer.py holds it to every call those modules make.
OPERATOR_CALLS: dict[str, tuple[str, ...]] = {
    "secret": (
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:GetSecretValue",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    ),
    "key": ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"),
    "stack": (
        "cloudformation:DescribeStacks",
        "cloudformation:GetTemplate",
        "cloudformation:ListStackResources",
    ),
    "rule": ("events:DescribeRule", "events:ListTargetsByRule"),
    "topic": (
        "sns:GetSubscriptionAttributes",
        "sns:GetTopicAttributes",
        "sns:ListSubscriptionsByTopic",
    ),
    "queue": ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"),
    "list": (
        "cloudformation:ListStacks",
        "cloudwatch:DescribeAlarms",
        "kms:ListAliases",
    ),
}


def operator_role_policy(env: Environment) -> dict[str, Any]:
    """What the operator role may do in one account: read and judge what is deployed, and put and move values."""
    name = naming.stack_name(env)
    scope = Scope(env, f"StackSet-{name}-")
    keys = scope.arns("kms", "key/*")
    topic = scope.arns("sns", naming.alert_topic_name(env))
    statements = [
        _statement(
            "ThisStacksSecrets",
            OPERATOR_CALLS["secret"],
            scope.arns("secretsmanager", f"secret:{naming.secret_name_prefix(env)}*"),
        ),
        _statement(
            "ThisStacksKeysOnly",
            OPERATOR_CALLS["key"],
            keys,
            Condition(_tag_conditions("aws:ResourceTag", scope.tagged)),
        ),
        _keys_through_secrets_manager(env, scope, keys),
        _statement(
            "ThisStackSetsInstanceStacks",
            OPERATOR_CALLS["stack"],
            scope.arns("cloudformation", f"stack/StackSet-{name}-*/*"),
        ),
        _statement(
            "ThisStacksRules",
            OPERATOR_CALLS["rule"],
            scope.arns("events", f"rule/{scope.named}*"),
        ),
        _statement(
            "ThisStacksTopicAndItsSubscriptions",
            OPERATOR_CALLS["topic"],
            topic + [f"{arn}:*" for arn in topic],
        ),
        _statement(
            "ThisStacksQueue",
            OPERATOR_CALLS["queue"],
            scope.arns("sqs", naming.alert_dead_letter_queue_name(env)),
        ),
        _statement("ListingsWithNoResourceToName", OPERATOR_CALLS["list"], ["*"]),
    ]
    return _document(statements)


def operator_role_template(env: Environment) -> Template:
    """The role `put`, `status`, `verify` and `rollback --role-name` assume in each account, as a template of its own.

    Deployable as a stack set of its own, to every account of the secrets'
    one. Its trust is the account the operators run from, a parameter; name
    the role in OperatorRoleNames too, so that a reader allow-list lets it read.
    """
    return _role_assumed_from(
        Parameter(
            "OperatorAccountId",
            Type="String",
            AllowedPattern=r"^\d{12}$",
            ConstraintDescription="the 12-digit id of the account the operators run trading-secrets from",
            Description="The account whose roles may assume this one",
        ),
        "OperatorRole",
        naming.operator_role_name(env),
        f"{naming.operator_role_name(env)}: what trading-secrets put, status, verify and rollback "
        f"do in this account for the {env.project} {env.name} credentials, assumed from the operators' account",
        f"{naming.stack_name(env)}-operations",
        operator_role_policy(env),
        env,
    )


DEPLOYER_POLICY_FILE_NAME = "deployer-policy.json"
EXECUTION_ROLE_FILE_NAME = "execution-role.json"
OPERATOR_ROLE_FILE_NAME = "operator-role.json"
# IAM's quotas: a managed policy holds 6,144 characters, a role's inline policies 10,240 together,
# whitespace not counted (IAM User Guide, "IAM and AWS STS quotas").
MANAGED_POLICY_MAX_CHARACTERS = 6144
ROLE_INLINE_POLICIES_MAX_CHARACTERS = 10240


def deployer_files(env: Environment, template: Mapping[str, Any]) -> dict[str, str]:
    """File name -> text of what deploys this environment, written beside its template."""
    files = {DEPLOYER_POLICY_FILE_NAME: pretty_json(deployer_policy(env, template))}
    if env.deployed_as_stack_set:
        files[EXECUTION_ROLE_FILE_NAME] = render(execution_role_template(env, template))
        files[OPERATOR_ROLE_FILE_NAME] = render(operator_role_template(env))
    return files


def lint_template(env: Environment, template: Mapping[str, Any]) -> str:
    """The deployer policy (and prod's execution role) as one template, for cfn-lint to check every action and ARN."""
    checked = (
        execution_role_template(env, template)
        if env.deployed_as_stack_set
        else Template(Description=f"The {env.name} deployer policy, for cfn-lint")
    )
    checked.add_resource(
        ManagedPolicy(
            "DeployerPolicy",
            Description=f"What deploys {naming.stack_name(env)}",
            PolicyDocument=_in_the_template(deployer_policy(env, template)),
        )
    )
    if env.deployed_as_stack_set:
        checked.add_resource(
            ManagedPolicy(
                "OperatorPolicy",
                Description=f"What operates {naming.stack_name(env)}",
                PolicyDocument=_in_the_template(operator_role_policy(env)),
            )
        )
    return render(checked)


def size_problems(env: Environment, template: Mapping[str, Any]) -> list[str]:
    """Where a generated policy would exceed IAM's quotas."""
    problems = []
    sizes = [
        (
            DEPLOYER_POLICY_FILE_NAME,
            deployer_policy(env, template),
            MANAGED_POLICY_MAX_CHARACTERS,
        )
    ]
    if env.deployed_as_stack_set:
        sizes.append(
            (
                EXECUTION_ROLE_FILE_NAME,
                execution_role_policy(env, template),
                ROLE_INLINE_POLICIES_MAX_CHARACTERS,
            )
        )
    for name, document, limit in sizes:
        characters = len(json.dumps(document, separators=(",", ":")))
        if characters > limit:
            problems.append(
                f"{name}: the policy has {characters} characters; IAM takes {limit} at most"
            )
    return problems
