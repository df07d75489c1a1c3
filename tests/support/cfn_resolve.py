"""Resolve a generated template's intrinsic functions for one made-up deployment, as CloudFormation would.

Enough of CloudFormation for the policies here: Ref (parameters, pseudo
parameters, resources), Fn::GetAtt ... Arn, Fn::Sub, Fn::Join, Fn::Split,
Fn::If with Fn::Equals and Fn::Not, and AWS::NoValue. The IAM evaluation
engine then reads plain policy JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class Deployment:
    """One stack's account, region, parameter values and the physical ids its resources got."""

    account: str
    region: str
    parameters: dict[str, str]
    physical_ids: dict[str, str]  # logical id -> what Ref returns
    arns: dict[str, str]  # logical id -> what Fn::GetAtt [id, Arn] returns

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
        }


def resolve(node: Any, deployment: Deployment, template: dict[str, Any]) -> Any:
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
            logical_id, attribute = argument
            if attribute == "Arn":
                return deployment.arns[logical_id]
            # Any other attribute (a queue's QueueName): a stand-in that names it.
            return f"{deployment.physical_ids.get(logical_id, logical_id)}.{attribute}"
        if function == "Fn::Sub":
            return _sub(argument, deployment, template)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(resolve(parts, deployment, template))
        if function == "Fn::Split":
            separator, text = argument
            return resolve(text, deployment, template).split(separator)
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
    name: str, deployment: Deployment, template: dict[str, Any]
) -> bool:
    return bool(_evaluate(template["Conditions"][name], deployment, template))


def _evaluate(
    node: dict[str, Any], deployment: Deployment, template: dict[str, Any]
) -> bool:
    ((function, argument),) = node.items()
    if function == "Fn::Not":
        return not _evaluate(argument[0], deployment, template)
    if function == "Fn::Equals":
        left, right = (resolve(side, deployment, template) for side in argument)
        return bool(left == right)
    raise NotImplementedError(function)


def _ref(name: str, deployment: Deployment) -> Any:
    if name == "AWS::NoValue":
        return NO_VALUE
    for table in (deployment.pseudo, deployment.parameters, deployment.physical_ids):
        if name in table:
            return table[name]
    raise KeyError(name)


def _sub(argument: Any, deployment: Deployment, template: dict[str, Any]) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    values = {
        name: resolve(value, deployment, template) for name, value in variables.items()
    }
    return _SUB_VARIABLE.sub(
        lambda match: str(
            values[match[1]] if match[1] in values else _ref(match[1], deployment)
        ),
        text,
    )
