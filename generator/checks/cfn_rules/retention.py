"""cfn-lint rules: retention that keeps the wrong things, or fails to keep the right ones.

Self-contained (cfn-lint and the standard library only): plain
`cfn-lint`, editors and pre-commit load this file through `.cfnlintrc`
(`append_rules`) without the rest of this project.
"""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

RETAINING = ("Retain", "RetainExceptOnCreate")
SOURCE = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html"


def _resources(cfn: Any) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in cfn.template.get("Resources", {}).items()
        if isinstance(resource, dict)
    }


class RetainExceptOnCreate(CloudFormationLintRule):
    id = "E9121"
    shortdesc = "Retain what a stack made, but not what a failed create made"
    description = (
        "DeletionPolicy Retain also keeps what a failed first create made, so named resources are orphaned "
        "and the retry collides with them: use RetainExceptOnCreate, with UpdateReplacePolicy Retain (which "
        "has no such value). Source: CloudFormation User Guide, 'DeletionPolicy attribute'."
    )
    source_url = SOURCE
    tags = ["resources", "deletionpolicy"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches = []
        for logical_id, resource in _resources(cfn).items():
            policy = resource.get("DeletionPolicy")
            if policy == "Retain":
                matches.append(
                    RuleMatch(
                        ["Resources", logical_id, "DeletionPolicy"],
                        f"{logical_id} has DeletionPolicy Retain, which also keeps it after a failed create: "
                        "use RetainExceptOnCreate",
                    )
                )
            elif (
                policy == "RetainExceptOnCreate"
                and resource.get("UpdateReplacePolicy") != "Retain"
            ):
                matches.append(
                    RuleMatch(
                        ["Resources", logical_id],
                        f"{logical_id} is retained on delete but not on replacement: set UpdateReplacePolicy Retain",
                    )
                )
        return matches


class ResourcePolicyKeptWithItsSecret(CloudFormationLintRule):
    id = "E9122"
    shortdesc = "A retained secret's resource policy must be retained too"
    description = (
        "A resource without its own DeletionPolicy is deleted with the stack, so the resource policy of a "
        "retained secret, and the guards it holds, would go while the secret stays. Source: CloudFormation "
        "User Guide, 'DeletionPolicy attribute'."
    )
    source_url = SOURCE
    tags = ["resources", "deletionpolicy", "secretsmanager"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = _resources(cfn)
        matches = []
        for logical_id, resource in resources.items():
            if resource.get("Type") != "AWS::SecretsManager::ResourcePolicy":
                continue
            secret_id = resource.get("Properties", {}).get("SecretId")
            secret_ref = secret_id.get("Ref") if isinstance(secret_id, dict) else None
            secret = resources.get(secret_ref) if isinstance(secret_ref, str) else None
            if (
                secret is not None
                and secret.get("DeletionPolicy") in RETAINING
                and resource.get("DeletionPolicy") not in RETAINING
            ):
                matches.append(
                    RuleMatch(
                        ["Resources", logical_id],
                        f"{logical_id} is deleted with the stack while the secret it guards, "
                        f"{secret_ref}, is retained",
                    )
                )
        return matches


class AliasKeptWithItsKey(CloudFormationLintRule):
    id = "E9124"
    shortdesc = "A retained key's alias must be retained too"
    description = (
        "A resource without its own DeletionPolicy is deleted with the stack, so the alias of a retained key "
        "would go while the key stays: the key that encrypts the kept secrets would then be known by its id "
        "alone, and the runbooks, `status` and the key policy's readers find it by its alias. Source: "
        "CloudFormation User Guide, 'DeletionPolicy attribute'."
    )
    source_url = SOURCE
    tags = ["resources", "deletionpolicy", "kms"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = _resources(cfn)
        matches = []
        for logical_id, resource in resources.items():
            if resource.get("Type") != "AWS::KMS::Alias":
                continue
            target = resource.get("Properties", {}).get("TargetKeyId")
            key_ref = target.get("Ref") if isinstance(target, dict) else None
            key = resources.get(key_ref) if isinstance(key_ref, str) else None
            if (
                key is not None
                and key.get("DeletionPolicy") in RETAINING
                and resource.get("DeletionPolicy") not in RETAINING
            ):
                matches.append(
                    RuleMatch(
                        ["Resources", logical_id],
                        f"{logical_id} is deleted with the stack while the key it names, {key_ref}, is retained",
                    )
                )
        return matches
