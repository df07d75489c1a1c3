"""The generated deployer policy and prod's execution role, asked of an IAM evaluation engine.

The local engine evaluates no IAM, so a deployer built from these files is
checked offline by principalmapper, as tests/test_access.py checks the
secrets' own policies. Two questions, in every environment:

- may a deployer holding only this policy make every call the template's
  resource handlers list, on each resource as AWS names it once deployed
  (independent of how generator/deployer.py writes its patterns)?
- is it refused what a deployer must never do: read a value outside its
  stack, change another stack, attach another policy to a role, pass a role
  elsewhere, take over a key, replicate a secret to another region?
"""

from __future__ import annotations

import ast
import collections
import collections.abc
import json
import re
from typing import Any

import pytest

# principalmapper predates Python 3.10, where these aliases went away.
collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
collections.MutableMapping = collections.abc.MutableMapping  # type: ignore[attr-defined]

from principalmapper.common import Node, Policy  # noqa: E402
from principalmapper.querying.query_interface import local_check_authorization_full  # noqa: E402
from support.repository import ROOT  # noqa: E402

from generator import deployer  # noqa: E402
from generator.deployer import (  # noqa: E402
    STACK_CALLS,
    STACK_SET_CALLS,
    UnscopedPermission,
    deployer_policy,
    execution_role_policy,
    handler_permissions,
    handler_statements,
)
from generator.environments import ENVIRONMENTS  # noqa: E402
from generator.resolve import Deployment, resolve  # noqa: E402

ACCOUNT, OTHER_ACCOUNT = "111122223333", "444455556666"
ADMINISTRATOR_ACCOUNT = "999988887777"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
STACK_ID = "0a1b2c3d-0000-4000-8000-000000000000"
# Calls AWS authorizes on no resource (the Service Authorization Reference lists none for them).
NO_RESOURCE = re.compile(
    r"^(secretsmanager:(ListSecrets|GetRandomPassword)|kms:(ListKeys|ListAliases)|sns:(ListTopics|ListSubscriptions)"
    r"|sqs:ListQueues|events:ListRules|iam:ListPolicies|cloudwatch:DescribeAlarms)$"
)


def template_of(env_name: str) -> dict[str, Any]:
    return json.loads((ROOT / "templates" / env_name / "secrets.json").read_text())


def role(
    document: dict[str, Any], name: str = "cfn-deployer", account: str = ACCOUNT
) -> Node:
    arn = f"arn:aws:iam::{account}:role/{name}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return Node(
        arn,
        "AROAEXAMPLE",
        [Policy(f"{arn}-policy", "deployer", document)],
        [],
        trust,
        None,
        0,
        False,
        False,
        None,
        False,
        {},
    )


def allowed(
    who: Node, action: str, resource: str, context: dict[str, Any] | None = None
) -> bool:
    return local_check_authorization_full(
        who, action, resource, context or {}, None, ACCOUNT, None, None
    )


def _tags(resource: dict[str, Any], prefix: str) -> dict[str, str]:
    return {
        f"{prefix}/{tag['Key']}": tag["Value"]
        for tag in resource["Properties"].get("Tags", [])
    }


def _ref(value: Any) -> str:
    return (
        value["Ref"]
        if isinstance(value, dict) and "Ref" in value
        else value["Fn::GetAtt"][0]
    )


def _names(resources: dict[str, Any], region: str, stack: str) -> dict[str, str]:
    """The ARN of each named resource, as AWS names it once `stack` made it in ACCOUNT."""
    names = {}
    for logical_id, resource in resources.items():
        properties, kind = resource["Properties"], resource["Type"]
        if kind == "AWS::SecretsManager::Secret":
            names[logical_id] = (
                f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{properties['Name']}-AbCdEf"
            )
        elif kind == "AWS::KMS::Key":
            names[logical_id] = f"arn:aws:kms:{region}:{ACCOUNT}:key/{KEY_ID}"
        elif kind == "AWS::SNS::Topic":
            names[logical_id] = (
                f"arn:aws:sns:{region}:{ACCOUNT}:{properties['TopicName']}"
            )
        elif kind == "AWS::SQS::Queue":
            names[logical_id] = (
                f"arn:aws:sqs:{region}:{ACCOUNT}:{properties['QueueName']}"
            )
        elif kind == "AWS::Events::Rule":
            names[logical_id] = (
                f"arn:aws:events:{region}:{ACCOUNT}:rule/{properties['Name']}"
            )
        elif kind == "AWS::CloudWatch::Alarm":
            names[logical_id] = (
                f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{properties['AlarmName']}"
            )
        elif kind == "AWS::IAM::ManagedPolicy":
            # CloudFormation names a policy it names itself <stack>-<logical id>-<random>.
            names[logical_id] = (
                f"arn:aws:iam::{ACCOUNT}:policy/{stack}-{logical_id}-1A2B3C4D5E6F"
            )
    return names


def _targets(
    resources: dict[str, Any], logical_id: str, names: dict[str, str], region: str
) -> tuple[list[str], dict[str, Any]]:
    """What a resource's handler calls act on, and the request context they carry (a key's tags)."""
    resource = resources[logical_id]
    properties = resource["Properties"]
    refers = {
        "AWS::SecretsManager::ResourcePolicy": lambda: [
            names[_ref(properties["SecretId"])]
        ],
        "AWS::SNS::TopicPolicy": lambda: [
            names[_ref(topic)] for topic in properties["Topics"]
        ],
        "AWS::SQS::QueuePolicy": lambda: [
            names[_ref(queue)] for queue in properties["Queues"]
        ],
        "AWS::SNS::Subscription": lambda: [
            names[_ref(properties["TopicArn"])],
            f"{names[_ref(properties['TopicArn'])]}:5f6e7d8c-0000-4000-8000-000000000001",
        ],
    }
    if resource["Type"] == "AWS::KMS::Key":
        return [names[logical_id]], _tags(resource, "aws:ResourceTag")
    if resource["Type"] == "AWS::KMS::Alias":
        key = _ref(properties["TargetKeyId"])
        alias = f"arn:aws:kms:{region}:{ACCOUNT}:{properties['AliasName']}"
        return [alias, names[key]], _tags(resources[key], "aws:ResourceTag")
    if resource["Type"] in refers:
        return refers[resource["Type"]](), {}
    assert logical_id in names, (
        f"no name for {resource['Type']}: teach this test how AWS names it"
    )
    return [names[logical_id]], {}


def asked(env_name: str, stack: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(logical id, action, resource ARN, request context) for every handler permission of every resource.

    Each resource is named as AWS names it once `stack` made it in ACCOUNT, from the template alone.
    """
    env = ENVIRONMENTS[env_name]
    resources = template_of(env_name)["Resources"]
    questions = []
    for region in env.regions:
        names = _names(resources, region, stack)
        for logical_id, resource in sorted(resources.items()):
            targets, context = _targets(resources, logical_id, names, region)
            questions += [
                (logical_id, action, target, extra)
                for action in sorted(handler_permissions(resource["Type"]))
                for target, extra in _what_is_asked(
                    env, resources, logical_id, action, targets, context
                )
            ]
    return questions


def _what_is_asked(
    env: Any,
    resources: dict[str, Any],
    logical_id: str,
    action: str,
    targets: list[str],
    context: dict[str, Any],
) -> list[tuple[str, dict[str, Any]]]:
    """The resource(s) and context AWS authorizes `action` on, for this resource."""
    if NO_RESOURCE.match(action):
        return [("*", {})]
    if action == "kms:CreateKey":
        return [("*", _tags(resources[logical_id], "aws:RequestTag"))]
    if action in ("iam:PassRole", "iam:GetRole"):
        # A role for a rule, topic or subscription would be this stack's (the template passes none today).
        passed = f"arn:aws:iam::{ACCOUNT}:role/trading-{env.name}-secrets-notifications"
        service = (
            "events.amazonaws.com"
            if "Events" in resources[logical_id]["Type"]
            else "sns.amazonaws.com"
        )
        return [
            (
                passed,
                {"iam:PassedToService": service} if action == "iam:PassRole" else {},
            )
        ]
    if re.match(r"^iam:(Attach|Detach)(Role|User|Group)Policy$", action):
        kind = (
            re.match(r"^iam:(?:Attach|Detach)(Role|User|Group)Policy$", action)
            .group(1)
            .lower()
        )  # type: ignore[union-attr]
        return [
            (
                f"arn:aws:iam::{ACCOUNT}:{kind}/quote-fetcher",
                {"iam:PolicyARN": targets[0]},
            )
        ]
    if action == "secretsmanager:ReplicateSecretToRegions":
        return [(targets[0], {"secretsmanager:AddReplicaRegions": list(env.regions)})]
    if resources[logical_id]["Type"] == "AWS::KMS::Alias":
        return [(target, context if ":key/" in target else {}) for target in targets]
    return [(target, context) for target in targets]


def test_every_handler_permission_of_every_resource_is_allowed_to_the_dev_and_staging_deployer():
    for env_name in ("dev", "staging"):
        who = role(deployer_policy(ENVIRONMENTS[env_name], template_of(env_name)))
        questions = asked(env_name, f"trading-{env_name}-secrets")
        refused = [q[:3] for q in questions if not allowed(who, *q[1:])]
        assert len(questions) > 200 and refused == [], refused


def execution_role(env_name: str = "prod") -> Node:
    """prod's execution role, as its template deploys it in ACCOUNT (administered from another account)."""
    document = json.loads(
        (ROOT / "templates" / env_name / "execution-role.json").read_text()
    )
    name = "AWSCloudFormationStackSetExecutionRole"
    resolved = resolve(
        document,
        Deployment(
            ACCOUNT,
            "us-east-1",
            {"AdministratorAccountId": ADMINISTRATOR_ACCOUNT},
            {"ExecutionRole": name},
            {"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/{name}"},
        ),
        document,
    )
    [inline] = resolved["Resources"]["ExecutionRole"]["Properties"]["Policies"]
    assert resolved["Resources"]["ExecutionRole"]["Properties"][
        "AssumeRolePolicyDocument"
    ]["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{ADMINISTRATOR_ACCOUNT}:root"
    }
    return role(inline["PolicyDocument"], "AWSCloudFormationStackSetExecutionRole")


PROD_INSTANCE_STACK = f"StackSet-trading-prod-secrets-{STACK_ID}"


def test_every_handler_permission_of_every_resource_is_allowed_to_prods_execution_role():
    who = execution_role()
    questions = asked("prod", PROD_INSTANCE_STACK)
    refused = [q[:3] for q in questions if not allowed(who, *q[1:])]
    assert len(questions) > 400 and refused == [], refused
    for region in ENVIRONMENTS["prod"].regions:
        stack = f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{PROD_INSTANCE_STACK}/{STACK_ID}"
        assert allowed(who, "cloudformation:CreateStack", stack)


def _stack(env_name: str, name: str | None = None) -> str:
    return f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name or f'trading-{env_name}-secrets'}/{STACK_ID}"


@pytest.mark.parametrize("env_name", ["dev", "staging"])
def test_the_deployer_may_run_its_own_stack_and_read_its_own_values_through_secrets_manager(
    env_name,
):
    env = ENVIRONMENTS[env_name]
    template = template_of(env_name)
    who = role(deployer_policy(env, template))
    for call in STACK_CALLS:
        assert allowed(who, f"cloudformation:{call}", _stack(env_name)), call
    key_tags = _tags(template["Resources"]["SecretsKey"], "aws:ResourceTag")
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"
    through = {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com", **key_tags}
    # A placeholder written at create, and the read handler's read of it.
    assert allowed(who, "kms:GenerateDataKey", key, through)
    assert allowed(who, "kms:Decrypt", key, through)
    # The deployer can read every value of its own stack (docs/security.md says so).
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:trading/{env_name}/alpaca-AbCdEf"
    assert allowed(who, "secretsmanager:GetSecretValue", secret)


REFUSED = {
    "a value of another environment": (
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:trading/{{other}}/alpaca-AbCdEf",
        {},
    ),
    "a value of another system": (
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:payments/prod/database-AbCdEf",
        {},
    ),
    "a value in another account": (
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:us-east-1:{OTHER_ACCOUNT}:secret:trading/{{env}}/alpaca-AbCdEf",
        {},
    ),
    "a secret of another system deleted": (
        "secretsmanager:DeleteSecret",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:payments/prod/database-AbCdEf",
        {},
    ),
    "another stack updated": ("cloudformation:UpdateStack", "STACK:payments-prod", {}),
    "another stack's change set run": (
        "cloudformation:ExecuteChangeSet",
        "STACK:payments-prod",
        {},
    ),
    "another stack deleted": ("cloudformation:DeleteStack", "STACK:payments-prod", {}),
    "AdministratorAccess attached to a role": (
        "iam:AttachRolePolicy",
        f"arn:aws:iam::{ACCOUNT}:role/cfn-deployer",
        {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
    ),
    "another stack's policy attached to a role": (
        "iam:AttachRolePolicy",
        f"arn:aws:iam::{ACCOUNT}:role/cfn-deployer",
        {
            "iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/payments-prod-ReaderPolicy-1A2B3C"
        },
    ),
    "AdministratorAccess attached to a user": (
        "iam:AttachUserPolicy",
        f"arn:aws:iam::{ACCOUNT}:user/someone",
        {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
    ),
    "a policy of its own made": (
        "iam:CreatePolicy",
        f"arn:aws:iam::{ACCOUNT}:policy/deployer-escalation",
        {},
    ),
    "an administrator role passed to EC2": (
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/Admin",
        {"iam:PassedToService": "ec2.amazonaws.com"},
    ),
    "this stack's role passed to EC2": (
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/trading-{{env}}-secrets-notifications",
        {"iam:PassedToService": "ec2.amazonaws.com"},
    ),
    "a secret replicated to another region": (
        "secretsmanager:ReplicateSecretToRegions",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:trading/{{env}}/alpaca-AbCdEf",
        {"secretsmanager:AddReplicaRegions": ["eu-west-1"]},
    ),
    "a secret replicated to its regions and one more": (
        "secretsmanager:ReplicateSecretToRegions",
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:trading/{{env}}/alpaca-AbCdEf",
        {"secretsmanager:AddReplicaRegions": ["us-east-1", "eu-west-1"]},
    ),
    "another key's policy replaced": (
        "kms:PutKeyPolicy",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",
        {"aws:ResourceTag/Project": "payments"},
    ),
    "another environment's key scheduled for deletion": (
        "kms:ScheduleKeyDeletion",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",
        {
            "aws:ResourceTag/ManagedBy": "trading-secrets-generator",
            "aws:ResourceTag/Project": "trading",
            "aws:ResourceTag/Environment": "another",
        },
    ),
    "a key made without this stack's tags": ("kms:CreateKey", "*", {}),
    "its own key used outside Secrets Manager": (
        "kms:Decrypt",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}",
        "KEY_TAGS",
    ),
    "another topic's subscribers changed": (
        "sns:Subscribe",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:payments-alerts",
        {},
    ),
    "another rule's targets removed": (
        "events:RemoveTargets",
        f"arn:aws:events:us-east-1:{ACCOUNT}:rule/payments-changes",
        {},
    ),
    # A bucket of the account itself (AWS sets aws:ResourceAccount on every S3 request).
    "an object read from a bucket": (
        "s3:GetObject",
        "arn:aws:s3:::payments-exports/ledger.csv",
        {"aws:ResourceAccount": ACCOUNT},
    ),
}


def _refusal(env_name: str, case: str) -> tuple[str, str, dict[str, Any]]:
    action, resource, context = REFUSED[case]
    if resource.startswith("STACK:"):
        resource = _stack(env_name, resource.removeprefix("STACK:"))
    if context == "KEY_TAGS":
        context = _tags(
            template_of(env_name)["Resources"]["SecretsKey"], "aws:ResourceTag"
        )
    other = "staging" if env_name == "prod" else "prod"
    return (
        action,
        resource.replace("{env}", env_name).replace("{other}", other),
        context,
    )


@pytest.mark.parametrize("case", sorted(REFUSED))
@pytest.mark.parametrize("env_name", ["dev", "staging"])
def test_the_deployer_is_refused_what_a_deployer_must_never_do(env_name, case):
    who = role(deployer_policy(ENVIRONMENTS[env_name], template_of(env_name)))
    assert not allowed(who, *_refusal(env_name, case))


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_prods_execution_role_is_refused_what_a_deployer_must_never_do(case):
    action, resource, context = _refusal("prod", case)
    resource = resource.replace("/payments-prod/", "/payments-prod/").replace(
        f"stack/trading-prod-secrets/{STACK_ID}",
        f"stack/{PROD_INSTANCE_STACK}/{STACK_ID}",
    )
    assert not allowed(execution_role(), action, resource, context)


def test_prods_execution_role_reaches_no_bucket_of_its_own_account():
    """The S3 that StackSets needs is its own: this account's buckets stay out of reach."""
    who = execution_role()
    own = {"aws:ResourceAccount": ACCOUNT}
    assert not allowed(
        who, "s3:GetObject", "arn:aws:s3:::payments-exports/ledger.csv", own
    )
    assert allowed(
        who,
        "s3:PutObject",
        "arn:aws:s3:::stacksets-state/x",
        {"aws:ResourceAccount": "123456789012"},
    )


def test_prods_administrator_deployer_runs_its_stack_set_and_no_other():
    env = ENVIRONMENTS["prod"]
    who = role(deployer_policy(env, template_of("prod")), account=ACCOUNT)
    own = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stackset/trading-prod-secrets:{STACK_ID}"
    other = (
        f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stackset/payments-prod:{STACK_ID}"
    )
    for call in STACK_SET_CALLS:
        assert allowed(who, f"cloudformation:{call}", own), call
        assert not allowed(who, f"cloudformation:{call}", other), call
    for region in env.regions:
        instance = f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{PROD_INSTANCE_STACK}/{STACK_ID}"
        assert allowed(who, "cloudformation:UpdateTerminationProtection", instance)
    # It deploys nothing itself: the execution role in each account does.
    assert not allowed(who, "secretsmanager:GetSecretValue", "*")
    assert not allowed(who, "kms:CreateKey", "*")


def test_a_handler_permission_with_no_scope_is_refused_not_granted():
    """A new resource type whose handler lists an action the module has not scoped fails the build."""
    from generator.deployer import Scope

    with pytest.raises(UnscopedPermission, match="no scope for ec2:RunInstances"):
        handler_statements(
            Scope(ENVIRONMENTS["dev"], "trading-dev-secrets-"), ["ec2:RunInstances"]
        )


def _cloudformation_calls(module: str) -> set[str]:
    """The CloudFormation operations a module of generator/ops/deploy calls, as IAM names them."""
    from botocore import xform_name
    from botocore.session import get_session

    model = get_session().get_service_model("cloudformation")
    by_method = {xform_name(name): name for name in model.operation_names}
    source = (ROOT / "generator" / "ops" / "deploy" / f"{module}.py").read_text()
    called = {
        node.func.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    paginated = set(re.findall(r'get_paginator\(\s*"([a-z_]+)"', source))
    return {by_method[method] for method in called | paginated if method in by_method}


def test_the_deployer_may_make_every_cloudformation_call_the_deploy_code_and_the_documentation_make():
    stack_calls = (
        _cloudformation_calls("stack")
        | _cloudformation_calls("waiting")
        | _cloudformation_calls("release")
    )
    assert stack_calls and stack_calls <= set(STACK_CALLS), sorted(
        stack_calls - set(STACK_CALLS)
    )
    stack_set_calls = _cloudformation_calls("stack_set") - {
        "UpdateTerminationProtection"
    }
    assert stack_set_calls and stack_set_calls <= set(STACK_SET_CALLS), sorted(
        stack_set_calls - set(STACK_SET_CALLS)
    )
    documented = set()
    for document in (ROOT / "docs").glob("*.md"):
        for command in re.findall(
            r"aws cloudformation ([a-z-]+)(?: ([a-z-]+))?", document.read_text()
        ):
            documented.add(command)
    as_iam = {
        ("create-stack", ""): "CreateStack",
        ("wait", "stack-create-complete"): "DescribeStacks",
        ("create-change-set", ""): "CreateChangeSet",
        ("describe-change-set", ""): "DescribeChangeSet",
        ("execute-change-set", ""): "ExecuteChangeSet",
        ("set-stack-policy", ""): "SetStackPolicy",
        ("update-termination-protection", ""): "UpdateTerminationProtection",
        ("create-stack-set", ""): "CreateStackSet",
        ("create-stack-instances", ""): "CreateStackInstances",
        ("update-stack-set", ""): "UpdateStackSet",
    }
    shown = {(verb, sub if verb == "wait" else "") for verb, sub in documented}
    assert shown <= set(as_iam), sorted(shown - set(as_iam))
    assert {as_iam[command] for command in shown} <= set(STACK_CALLS) | set(
        STACK_SET_CALLS
    ) | {"UpdateTerminationProtection"}


def test_an_oversized_policy_is_a_build_finding(monkeypatch):
    env = ENVIRONMENTS["staging"]
    monkeypatch.setattr(deployer, "MANAGED_POLICY_MAX_CHARACTERS", 100)
    assert deployer.size_problems(env, template_of("staging")) == [
        f"deployer-policy.json: the policy has {len(json.dumps(deployer_policy(env, template_of('staging')), separators=(',', ':')))} "
        "characters; IAM takes 100 at most"
    ]
    monkeypatch.undo()
    assert deployer.size_problems(env, template_of("staging")) == []
    assert deployer.size_problems(ENVIRONMENTS["prod"], template_of("prod")) == []


def test_prods_execution_role_policy_is_the_one_its_template_holds():
    """The template form only fills in the account and partition."""
    env = ENVIRONMENTS["prod"]
    plain = execution_role_policy(env, template_of("prod"))
    inline = json.loads(
        (ROOT / "templates" / "prod" / "execution-role.json").read_text()
    )["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert [s["Sid"] for s in plain["Statement"]] == [
        s["Sid"] for s in inline["Statement"]
    ]


def _generated_statements() -> set[str]:
    """Every statement of the committed deployer policies, and of prod's execution and operator roles."""
    sids = set()
    for path in (ROOT / "templates").glob("*/deployer-policy.json"):
        sids |= {s["Sid"] for s in json.loads(path.read_text())["Statement"]}
    for name, logical_id in (
        ("execution-role.json", "ExecutionRole"),
        ("operator-role.json", "OperatorRole"),
    ):
        role_template = json.loads((ROOT / "templates" / "prod" / name).read_text())
        for inline in role_template["Resources"][logical_id]["Properties"]["Policies"]:
            sids |= {s["Sid"] for s in inline["PolicyDocument"]["Statement"]}
    return sids


def documented_statements(text: str) -> set[str]:
    table = text.split("<!-- deployer-statements -->", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", table, re.M))


def test_security_md_describes_every_statement_of_the_generated_policies_and_no_other():
    documented = documented_statements((ROOT / "docs" / "security.md").read_text())
    assert documented == _generated_statements()


def test_a_statement_the_documentation_misses_is_caught():
    text = "<!-- deployer-statements -->\n| statement | a | b |\n|---|---|---|\n| `ThisStackOnly` | x | y |\n\nafter"
    assert documented_statements(text) == {"ThisStackOnly"} != _generated_statements()


def operator_role() -> Node:
    """prod's operator role, as its template deploys it in ACCOUNT, trusting the operators' account."""
    document = json.loads(
        (ROOT / "templates" / "prod" / "operator-role.json").read_text()
    )
    name = "trading-prod-operator"
    resolved = resolve(
        document,
        Deployment(
            ACCOUNT,
            "us-east-1",
            {"OperatorAccountId": ADMINISTRATOR_ACCOUNT},
            {"OperatorRole": name},
            {"OperatorRole": f"arn:aws:iam::{ACCOUNT}:role/{name}"},
        ),
        document,
    )
    properties = resolved["Resources"]["OperatorRole"]["Properties"]
    assert properties["RoleName"] == name
    assert properties["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{ADMINISTRATOR_ACCOUNT}:root"
    }
    [inline] = properties["Policies"]
    return role(inline["PolicyDocument"], name)


def _operator_questions() -> list[tuple[str, str, dict[str, Any]]]:
    """Each call put, status, verify and rollback make, on what they make it, in both of prod's regions."""
    key_tags = _tags(template_of("prod")["Resources"]["SecretsKey"], "aws:ResourceTag")
    questions = []
    for region in ENVIRONMENTS["prod"].regions:
        secret = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:trading/prod/alpaca-AbCdEf"
        key = f"arn:aws:kms:{region}:{ACCOUNT}:key/{KEY_ID}"
        topic = f"arn:aws:sns:{region}:{ACCOUNT}:trading-prod-secrets-alerts"
        through = {
            "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
            **key_tags,
        }
        questions += [
            (action, secret, {}) for action in deployer.OPERATOR_CALLS["secret"]
        ]
        questions += [
            (action, key, key_tags) for action in deployer.OPERATOR_CALLS["key"]
        ]
        questions += [
            ("kms:Decrypt", key, through),
            ("kms:GenerateDataKey", key, through),
        ]
        questions += [
            (
                action,
                f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{PROD_INSTANCE_STACK}/{STACK_ID}",
                {},
            )
            for action in deployer.OPERATOR_CALLS["stack"]
        ]
        questions += [
            (
                action,
                f"arn:aws:events:{region}:{ACCOUNT}:rule/trading-prod-secrets-changes",
                {},
            )
            for action in deployer.OPERATOR_CALLS["rule"]
        ]
        questions += [
            (action, topic, {})
            for action in ("sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic")
        ]
        questions += [("sns:GetSubscriptionAttributes", f"{topic}:5f6e7d8c", {})]
        questions += [
            (
                action,
                f"arn:aws:sqs:{region}:{ACCOUNT}:trading-prod-secrets-alerts-dlq",
                {},
            )
            for action in deployer.OPERATOR_CALLS["queue"]
        ]
        questions += [(action, "*", {}) for action in deployer.OPERATOR_CALLS["list"]]
    return questions


def test_the_operator_role_may_make_every_call_of_put_status_verify_and_rollback():
    who = operator_role()
    refused = [q for q in _operator_questions() if not allowed(who, *q)]
    assert refused == []


OPERATOR_REFUSED = {
    "a secret deleted": (
        "secretsmanager:DeleteSecret",
        "arn:aws:secretsmanager:us-east-1:{a}:secret:trading/prod/alpaca-AbCdEf",
        {},
    ),
    "a guard taken down": (
        "secretsmanager:PutResourcePolicy",
        "arn:aws:secretsmanager:us-east-1:{a}:secret:trading/prod/alpaca-AbCdEf",
        {},
    ),
    "a value of another environment": (
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:us-east-1:{a}:secret:trading/staging/alpaca-AbCdEf",
        {},
    ),
    "a key's policy replaced": (
        "kms:PutKeyPolicy",
        "arn:aws:kms:us-east-1:{a}:key/" + KEY_ID,
        "KEY_TAGS",
    ),
    "a key scheduled for deletion": (
        "kms:ScheduleKeyDeletion",
        "arn:aws:kms:us-east-1:{a}:key/" + KEY_ID,
        "KEY_TAGS",
    ),
    "the stack changed": (
        "cloudformation:UpdateStack",
        "arn:aws:cloudformation:us-east-1:{a}:stack/" + PROD_INSTANCE_STACK + "/x",
        {},
    ),
    "a rule's targets removed": (
        "events:RemoveTargets",
        "arn:aws:events:us-east-1:{a}:rule/trading-prod-secrets-changes",
        {},
    ),
    "the dead-letter queue purged": (
        "sqs:PurgeQueue",
        "arn:aws:sqs:us-east-1:{a}:trading-prod-secrets-alerts-dlq",
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(OPERATOR_REFUSED))
def test_the_operator_role_is_refused_what_an_operator_need_not_do(case):
    action, resource, context = OPERATOR_REFUSED[case]
    if context == "KEY_TAGS":
        context = _tags(
            template_of("prod")["Resources"]["SecretsKey"], "aws:ResourceTag"
        )
    assert not allowed(operator_role(), action, resource.format(a=ACCOUNT), context)


def _calls_in(path, function: str | None = None) -> set[str]:
    """Method names called on something, in a module (or one of its functions), get_paginator's names included."""
    tree = ast.parse(path.read_text())
    if function is not None:
        tree = next(
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef) and n.name == function
        )
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    source = ast.unparse(tree)
    return called | set(re.findall(r"get_paginator\(\s*'([a-z_]+)'", source))


def test_the_operator_role_is_held_to_every_aws_call_the_operations_make():
    """Every AWS call of put, status, verify and rollback (and status's look at the dead-letter queue)."""
    from botocore import xform_name
    from botocore.session import get_session

    session = get_session()
    services = (
        "secretsmanager",
        "kms",
        "cloudformation",
        "events",
        "sns",
        "sqs",
        "cloudwatch",
    )
    operations: dict[str, set[str]] = {}
    for service in services:
        for name in session.get_service_model(service).operation_names:
            operations.setdefault(xform_name(name), set()).add(f"{service}:{name}")
    ops = ROOT / "generator" / "ops"
    called = set()
    for path in [
        *(ops / "change").glob("*.py"),
        ops / "live" / "status.py",
        ops / "live" / "deployed.py",
        ops / "live" / "verify.py",
    ]:
        called |= _calls_in(path)
    called |= _calls_in(ops / "live" / "alerts.py", "dead_letters")
    granted = {
        action.replace("cloudwatch:", "cloudwatch:")
        for actions in deployer.OPERATOR_CALLS.values()
        for action in actions
    }
    granted |= {"kms:Decrypt", "kms:GenerateDataKey"}
    missing = sorted(
        f"{method}: {sorted(candidates)}"
        for method, candidates in operations.items()
        if method in called and not candidates & granted
    )
    assert missing == []
