"""Small builders for the stack's stateful core, each returning troposphere objects.

`secrets_manager_construct` is the ticket's SecretsManagerConstruct: the one
base builder that applies the common pattern to any catalogue spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from troposphere import Export, GetAtt, Output, Ref, Tags
from troposphere.iam import ManagedPolicy
from troposphere.kms import Alias, Key
from troposphere.secretsmanager import ResourcePolicy, Secret

from generator import key_policy, naming, policies, tagging
from generator.catalogue import SecretSpec
from generator.environments import Environment

KEY_LOGICAL_ID = "SecretsKey"
ALERTS_KEY_LOGICAL_ID = "AlertsKey"


@dataclass(frozen=True)
class SecretConstruct:
    """Everything one catalogue spec contributes to a stack."""

    secret: Secret
    resource_policy: ResourcePolicy
    # The consumer contract: attach it to a role to read this secret.
    reader_policy: ManagedPolicy
    outputs: tuple[Output, ...]


def _stateful(env: Environment) -> dict[str, str]:
    """Deletion and update-replace policies: kept where data must survive the stack, deleted in dev."""
    return {
        "DeletionPolicy": env.deletion_policy,
        "UpdateReplacePolicy": env.update_replace_policy,
    }


def exported_output(
    env: Environment, output_id: str, description: str, value: Any
) -> Output:
    return Output(
        output_id,
        Description=description,
        Value=value,
        Export=Export(naming.export_name(env, output_id)),
    )


def _customer_key(
    env: Environment,
    logical_id: str,
    what: str,
    policy: Any,
    alias: str,
    **retention: str,
) -> tuple[Key, Alias]:
    """A customer-managed key with rotation on and the environment's deletion window, and its alias."""
    key = Key(
        logical_id,
        Description=f"Encrypts the {env.project} {env.name} {what}",
        EnableKeyRotation=True,
        KeyPolicy=policy,
        PendingWindowInDays=env.key_pending_window_days,
        Tags=Tags(**tagging.common_tags(env)),
        **retention,
    )
    # The alias goes where its key goes: a retained key keeps the name the runbooks and `status` know it by.
    return key, Alias(
        f"{logical_id}Alias", AliasName=alias, TargetKeyId=Ref(key), **retention
    )


def encryption_key(env: Environment) -> tuple[Key, Alias]:
    """The customer-managed key that encrypts the secrets: kept where their data must survive."""
    return _customer_key(
        env,
        KEY_LOGICAL_ID,
        "credentials",
        key_policy.key_policy(),
        naming.key_alias(env),
        **_stateful(env),
    )


def alerts_key(env: Environment) -> tuple[Key, Alias]:
    """The alerting's own key, for the alert topic: never the key whose tampering it reports.

    Rotation and deletion window as the secrets' key; deleted with the stack,
    since it encrypts only alerts in flight.
    """
    return _customer_key(
        env,
        ALERTS_KEY_LOGICAL_ID,
        "credentials' alerts",
        key_policy.alerts_key_policy(env),
        naming.alerts_key_alias(env),
        DeletionPolicy="Delete",
        UpdateReplacePolicy="Delete",
    )


def secret_value(env: Environment, spec: SecretSpec) -> dict[str, str]:
    """The value property of a secret: the placeholder where seeded, nothing at all otherwise.

    A template that carries SecretString or GenerateSecretString overwrites the
    stored value whenever that property changes, so prod carries neither.
    """
    if not env.seed_placeholders:
        return {}
    return {
        "SecretString": json.dumps(
            spec.placeholder(env), sort_keys=True, separators=(",", ":")
        )
    }


def secrets_manager_construct(
    env: Environment, spec: SecretSpec, key: Key
) -> SecretConstruct:
    """The common pattern for any spec: name, description, tags, key, resource policy, retention, outputs."""
    name = naming.secret_name(env, spec)
    secret = Secret(
        spec.logical_id,
        Name=name,
        Description=f"{spec.description} for {env.project} {env.name}; "
        f"rotated by hand every {spec.rotation_interval(env)} days",
        KmsKeyId=GetAtt(key, "Arn"),
        Tags=Tags(**tagging.secret_tags(env, spec)),
        **secret_value(env, spec),
        **_stateful(env),
    )

    resource_policy = ResourcePolicy(
        f"{spec.logical_id}ResourcePolicy",
        SecretId=Ref(secret),
        BlockPublicPolicy=True,
        ResourcePolicy=policies.secret_resource_policy(env),
        # Deleted with the stack, the policy would take the delete guard with it
        # while the secret it guards stays.
        **_stateful(env),
    )
    # No fixed name: IAM is global, and each region of a StackSet makes its own.
    reader_policy = ManagedPolicy(
        f"{spec.logical_id}ReaderPolicy",
        Description=f"Read {name} in this region: its value, decrypted through Secrets Manager only",
        PolicyDocument=policies.reader_policy(Ref(secret), GetAtt(key, "Arn")),
    )
    outputs = (
        exported_output(env, f"{spec.logical_id}Arn", f"ARN of {name}", Ref(secret)),
        exported_output(
            env,
            f"{spec.logical_id}Name",
            f"Name of the {spec.integration} secret",
            name,
        ),
        exported_output(
            env,
            f"{spec.logical_id}ReaderPolicyArn",
            f"Managed policy that lets a role read {name}",
            Ref(reader_policy),
        ),
    )
    return SecretConstruct(secret, resource_policy, reader_policy, outputs)


def key_output(env: Environment, key: Key) -> Output:
    return exported_output(
        env,
        "SecretsKeyArn",
        "ARN of the key that encrypts the secrets",
        GetAtt(key, "Arn"),
    )
