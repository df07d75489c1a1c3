"""Small builders, one per piece of the stack, each returning troposphere objects.

`secrets_manager_construct` is the ticket's SecretsManagerConstruct: the one
base builder that applies the common pattern to any catalogue spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import Equals, Export, GetAtt, If, Not, Output, Parameter, Ref, Sub, Tags
from troposphere.events import Rule, Target
from troposphere.kms import Alias, Key
from troposphere.secretsmanager import ResourcePolicy, Secret
from troposphere.sns import SubscriptionResource, Topic, TopicPolicy

from generator import naming, policies, tagging
from generator.catalogue import SecretSpec
from generator.environments import Environment

KEY_LOGICAL_ID = "SecretsKey"
TOPIC_LOGICAL_ID = "AlertTopic"
HAS_READER_ALLOW_LIST = "HasReaderAllowList"
HAS_ALERT_EMAIL = "HasAlertEmail"
ALERT_EMAIL_PARAMETER = "AlertEmail"

# Secret-changing calls an operator must hear about (CloudTrail event names).
SECRET_CHANGE_EVENTS = (
    "DeleteResourcePolicy",
    "DeleteSecret",
    "PutResourcePolicy",
    "PutSecretValue",
    "RestoreSecret",
    "RotateSecret",
    "TagResource",
    "UntagResource",
    "UpdateSecret",
    "UpdateSecretVersionStage",
)


@dataclass(frozen=True)
class SecretConstruct:
    """Everything one catalogue spec contributes to a stack."""

    secret: Secret
    resource_policy: ResourcePolicy
    outputs: tuple[Output, ...]


def _stateful(env: Environment) -> dict[str, str]:
    """Deletion and update-replace policies: kept where data must survive the stack, deleted in dev."""
    return {"DeletionPolicy": env.deletion_policy, "UpdateReplacePolicy": env.deletion_policy}


def exported_output(env: Environment, output_id: str, description: str, value) -> Output:
    return Output(
        output_id,
        Description=description,
        Value=value,
        Export=Export(naming.export_name(env, output_id)),
    )


def parameters(env: Environment) -> list[Parameter]:
    """Stack parameters: who may read, who may delete, who hears alerts."""
    result = [
        # A String split in the template rather than a CommaDelimitedList:
        # an empty list is then just "", and parameter files hold plain strings.
        Parameter(
            policies.READER_PRINCIPALS_PARAMETER,
            Type="String",
            Default="",
            AllowedPattern=r"^$|^arn:aws[a-z-]*:iam::[0-9]{12}:[^,\s]+(,arn:aws[a-z-]*:iam::[0-9]{12}:[^,\s]+)*$",
            ConstraintDescription="empty, or IAM principal ARNs separated by commas, without spaces",
            Description="IAM principal ARNs allowed to read the secret values (comma separated). "
            "Empty: no allow-list, IAM policies alone decide.",
        ),
        Parameter(
            ALERT_EMAIL_PARAMETER,
            Type="String",
            Default="",
            AllowedPattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
            ConstraintDescription="empty, or one email address",
            Description="Email address subscribed to secret alerts. Empty: no subscription.",
        ),
    ]
    if env.deny_delete_except_break_glass:
        result.append(
            # A role name, not an ARN, so that one parameter file serves every
            # account of a StackSet.
            Parameter(
                policies.BREAK_GLASS_ROLE_PARAMETER,
                Type="String",
                AllowedPattern=r"^[A-Za-z0-9+=,.@_-]{1,64}$",
                ConstraintDescription="an IAM role name in this account",
                Description="Name of the IAM role that alone may delete these secrets (break glass).",
            )
        )
    return result


def conditions() -> dict[str, object]:
    return {
        HAS_READER_ALLOW_LIST: Not(Equals(Ref(policies.READER_PRINCIPALS_PARAMETER), "")),
        HAS_ALERT_EMAIL: Not(Equals(Ref(ALERT_EMAIL_PARAMETER), "")),
    }


def encryption_key(env: Environment) -> tuple[Key, Alias]:
    """The customer-managed key that encrypts the secrets and the alert topic."""
    key = Key(
        KEY_LOGICAL_ID,
        Description=f"Encrypts the {env.project} {env.name} credentials and their alert topic",
        EnableKeyRotation=True,
        KeyPolicy=policies.key_policy(),
        PendingWindowInDays=env.key_pending_window_days,
        Tags=Tags(**tagging.common_tags(env)),
        **_stateful(env),
    )
    alias = Alias(f"{KEY_LOGICAL_ID}Alias", AliasName=naming.key_alias(env), TargetKeyId=Ref(key))
    return key, alias


def secret_value(env: Environment, spec: SecretSpec) -> dict[str, str]:
    """The value property of a secret: the placeholder where seeded, nothing at all otherwise.

    A template that carries SecretString or GenerateSecretString overwrites the
    stored value whenever that property changes, so prod carries neither.
    """
    if not env.seed_placeholders:
        return {}
    return {"SecretString": json.dumps(spec.placeholder(env), sort_keys=True, separators=(",", ":"))}


def secrets_manager_construct(env: Environment, spec: SecretSpec, key: Key) -> SecretConstruct:
    """The common pattern for any spec: name, description, tags, key, resource policy, retention, outputs."""
    name = naming.secret_name(env, spec)
    secret = Secret(
        spec.logical_id,
        Name=name,
        Description=f"{spec.description} for {env.project} {env.name}; "
        f"rotated by hand every {env.rotation_interval_days} days",
        KmsKeyId=GetAtt(key, "Arn"),
        Tags=Tags(**tagging.secret_tags(env, spec)),
        **secret_value(env, spec),
        **_stateful(env),
    )

    def policy(restrict_readers: bool):
        return policies.secret_resource_policy(
            deny_delete=env.deny_delete_except_break_glass, restrict_readers=restrict_readers
        )

    resource_policy = ResourcePolicy(
        f"{spec.logical_id}ResourcePolicy",
        SecretId=Ref(secret),
        BlockPublicPolicy=True,
        ResourcePolicy=If(HAS_READER_ALLOW_LIST, policy(True), policy(False)),
    )
    outputs = (
        exported_output(env, f"{spec.logical_id}Arn", f"ARN of {name}", Ref(secret)),
        exported_output(env, f"{spec.logical_id}Name", f"Name of the {spec.integration} secret", name),
    )
    return SecretConstruct(secret=secret, resource_policy=resource_policy, outputs=outputs)


def alert_topic(env: Environment, key: Key) -> Topic:
    """The encrypted topic every secret alert goes to."""
    return Topic(
        TOPIC_LOGICAL_ID,
        TopicName=naming.alert_topic_name(env),
        DisplayName=f"{env.project} {env.name} secrets alerts",
        KmsMasterKeyId=GetAtt(key, "Arn"),
        Tags=Tags(**tagging.common_tags(env)),
    )


def email_subscription(topic: Topic) -> SubscriptionResource:
    """Present only when an address is given."""
    return SubscriptionResource(
        "AlertEmailSubscription",
        Condition=HAS_ALERT_EMAIL,
        TopicArn=Ref(topic),
        Protocol="email",
        Endpoint=Ref(ALERT_EMAIL_PARAMETER),
    )


def _secret_id_patterns(env: Environment) -> list[dict[str, object]]:
    """Match this environment's secrets whether the caller named them by name or by ARN."""
    prefix = naming.secret_name_prefix(env)
    return [
        {"prefix": prefix},
        {"prefix": Sub(f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{prefix}")},
    ]


def _cloudtrail_pattern(env: Environment, event_names: list[str], **detail: object) -> dict[str, object]:
    return {
        "source": ["aws.secretsmanager"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["secretsmanager.amazonaws.com"],
            "eventName": event_names,
            "requestParameters": {"secretId": _secret_id_patterns(env)},
            **detail,
        },
    }


def alert_rules(env: Environment, topic: Topic) -> list[Rule]:
    """EventBridge rules for changes, denied reads, and reads of a secret pending deletion."""
    rules = [
        ("SecretChangeRule", "Any change to", _cloudtrail_pattern(env, list(SECRET_CHANGE_EVENTS))),
        (
            "SecretAccessDeniedRule",
            "Denied GetSecretValue on",
            _cloudtrail_pattern(env, ["GetSecretValue"], errorCode=["AccessDenied", "AccessDeniedException"]),
        ),
        (
            # A read of a secret scheduled for deletion means a consumer still
            # depends on it: restore it before the window closes.
            "PendingDeletionAccessRule",
            "GetSecretValue on a pending-deletion secret of",
            _cloudtrail_pattern(
                env,
                ["GetSecretValue"],
                errorCode=["InvalidRequestException"],
                errorMessage=[{"wildcard": "*marked for deletion*"}],
            ),
        ),
    ]
    return [
        Rule(
            logical_id,
            Description=f"{what} {env.project} {env.name} secrets",
            EventPattern=pattern,
            State="ENABLED",
            Targets=[Target(Id="AlertTopic", Arn=Ref(topic))],
            Tags=Tags(**tagging.common_tags(env)),
        )
        for logical_id, what, pattern in rules
    ]


def alert_topic_policy(topic: Topic, rules: list[Rule]) -> TopicPolicy:
    return TopicPolicy(
        f"{TOPIC_LOGICAL_ID}Policy",
        Topics=[Ref(topic)],
        PolicyDocument=policies.alert_topic_policy(Ref(topic), [GetAtt(rule, "Arn") for rule in rules]),
    )


def shared_outputs(env: Environment, key: Key, topic: Topic) -> list[Output]:
    return [
        exported_output(env, "SecretsKeyArn", "ARN of the key that encrypts the secrets", GetAtt(key, "Arn")),
        exported_output(env, "AlertTopicArn", "ARN of the secrets alert topic", Ref(topic)),
    ]
