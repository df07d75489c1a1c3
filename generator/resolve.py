"""A template's intrinsic functions resolved as CloudFormation resolved them for one stack: plain JSON out.

`status` holds what is live to the template that is deployed, and the IAM
evaluation tests ask questions of the policies: both need the values a stack
got, not `Ref` and `Fn::Sub`. Enough of CloudFormation for this project's
templates: Ref (parameters, pseudo parameters, resources), Fn::GetAtt,
Fn::Sub, Fn::Join, Fn::Split, Fn::Select, Fn::If with the condition functions
(Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition), and AWS::NoValue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class Deployment:
    """One stack's account, region, parameter values, and the values its resources got."""

    account: str
    region: str
    parameters: Mapping[str, str]
    physical_ids: Mapping[
        str, str
    ]  # logical id -> what Ref returns (CloudFormation's physical id)
    arns: Mapping[str, str] = field(
        default_factory=dict
    )  # logical id -> Fn::GetAtt Arn
    # (logical id, attribute) -> Fn::GetAtt value, where the type does not derive it.
    attributes: Mapping[tuple[str, str], str] = field(default_factory=dict)

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def get_att(self, logical_id: str, attribute: str, resource_type: str) -> str:
        """Fn::GetAtt as CloudFormation answers it for the types here, from the physical id."""
        if (logical_id, attribute) in self.attributes:
            return self.attributes[(logical_id, attribute)]
        if attribute == "Arn" and logical_id in self.arns:
            return self.arns[logical_id]
        physical = self.physical_ids[logical_id]
        where = f"{self.region}:{self.account}"
        derived = {
            ("AWS::KMS::Key", "Arn"): f"arn:aws:kms:{where}:key/{physical}",
            ("AWS::KMS::Key", "KeyId"): physical,
            (
                "AWS::SQS::Queue",
                "Arn",
            ): f"arn:aws:sqs:{where}:{physical.rsplit('/', 1)[-1]}",
            ("AWS::SQS::Queue", "QueueName"): physical.rsplit("/", 1)[-1],
            ("AWS::SQS::Queue", "QueueUrl"): physical,
            ("AWS::Events::Rule", "Arn"): f"arn:aws:events:{where}:rule/{physical}",
            ("AWS::SNS::Topic", "TopicArn"): physical,
            ("AWS::SNS::Topic", "TopicName"): physical.rsplit(":", 1)[-1],
            (
                "AWS::CloudWatch::Alarm",
                "Arn",
            ): f"arn:aws:cloudwatch:{where}:alarm:{physical}",
            ("AWS::SecretsManager::Secret", "Id"): physical,
            ("AWS::IAM::ManagedPolicy", "PolicyArn"): physical,
        }
        try:
            return derived[(resource_type, attribute)]
        except KeyError:
            raise KeyError(
                f"Fn::GetAtt {logical_id}.{attribute} of {resource_type} is not known here"
            ) from None


def resolve(node: Any, deployment: Deployment, template: Mapping[str, Any]) -> Any:
    """`node` with every intrinsic function replaced by its value; AWS::NoValue items are dropped."""
    if isinstance(node, list):
        items = [resolve(item, deployment, template) for item in node]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((function, argument),) = node.items()
        if function == "Ref":
            return _ref(argument, deployment)
        if function == "Fn::GetAtt":
            logical_id, attribute = (
                argument.split(".", 1) if isinstance(argument, str) else argument
            )
            resource_type = template["Resources"][logical_id]["Type"]
            return deployment.get_att(logical_id, attribute, resource_type)
        if function == "Fn::Sub":
            return _sub(argument, deployment, template)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(
                str(part) for part in resolve(parts, deployment, template)
            )
        if function == "Fn::Split":
            separator, text = argument
            return str(resolve(text, deployment, template)).split(separator)
        if function == "Fn::Select":
            index, items = argument
            return resolve(items, deployment, template)[
                int(resolve(index, deployment, template))
            ]
        if function == "Fn::If":
            condition, when_true, when_false = argument
            chosen = (
                when_true
                if condition_holds(condition, deployment, template)
                else when_false
            )
            return resolve(chosen, deployment, template)
    resolved = {
        key: resolve(value, deployment, template) for key, value in node.items()
    }
    return {key: value for key, value in resolved.items() if value is not NO_VALUE}


def condition_holds(
    name: str, deployment: Deployment, template: Mapping[str, Any]
) -> bool:
    return _evaluate(template["Conditions"][name], deployment, template)


def _evaluate(
    node: Mapping[str, Any], deployment: Deployment, template: Mapping[str, Any]
) -> bool:
    ((function, argument),) = node.items()
    if function == "Condition":
        return condition_holds(argument, deployment, template)
    if function == "Fn::Not":
        return not _evaluate(argument[0], deployment, template)
    if function == "Fn::And":
        return all(_evaluate(part, deployment, template) for part in argument)
    if function == "Fn::Or":
        return any(_evaluate(part, deployment, template) for part in argument)
    if function == "Fn::Equals":
        left, right = (resolve(side, deployment, template) for side in argument)
        return bool(left == right)
    raise ValueError(f"{function} is not a condition function")


def _ref(name: str, deployment: Deployment) -> Any:
    if name == "AWS::NoValue":
        return NO_VALUE
    for table in (deployment.pseudo, deployment.parameters, deployment.physical_ids):
        if name in table:
            return table[name]
    raise KeyError(f"Ref {name}: no such parameter or resource in this deployment")


def _sub(argument: Any, deployment: Deployment, template: Mapping[str, Any]) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    values = {
        name: resolve(value, deployment, template) for name, value in variables.items()
    }

    def value_of(name: str) -> str:
        if name in values:
            return str(values[name])
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            resource_type = template["Resources"][logical_id]["Type"]
            return deployment.get_att(logical_id, attribute, resource_type)
        return str(_ref(name, deployment))

    return _SUB_VARIABLE.sub(lambda match: value_of(match[1]), text)


def resolved_resources(
    template: Mapping[str, Any], deployment: Deployment
) -> dict[str, dict[str, Any]]:
    """Each resource the stack made (its Condition holds), with its properties resolved: logical id -> resource."""
    resources = {}
    for logical_id, resource in template.get("Resources", {}).items():
        condition = resource.get("Condition")
        if condition and not condition_holds(condition, deployment, template):
            continue
        resources[logical_id] = {
            **resource,
            "Properties": resolve(resource.get("Properties", {}), deployment, template),
        }
    return resources
