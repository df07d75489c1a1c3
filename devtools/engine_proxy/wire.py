"""What the proxy reads off a request and writes back: AWS's query and JSON protocols, as botocore speaks them."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

CLOUDFORMATION_NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
# Services that speak the query protocol (XML answers); the others here speak JSON.
QUERY_SERVICES = frozenset({"cloudformation", "sts", "sns", "iam"})
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/")
_QUERY_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z]+)")


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as SigV4 names it: the engine keys accounts by access key id."""

    access_key: str
    region: str
    service: str


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def caller(headers: dict[str, str]) -> Caller:
    found = _CREDENTIAL.search(headers.get("authorization", ""))
    return Caller(*found.groups()) if found else Caller("", "?", "")


def operation(headers: dict[str, str], body: bytes) -> str:
    """The API operation: X-Amz-Target for JSON protocols, the Action field for the query protocol."""
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    action = _QUERY_ACTION.search(body)
    return action.group(1).decode() if action else ""


def query_parameters(body: bytes) -> dict[str, Any]:
    """A query-protocol form as nested data: "Parameters.member.1.ParameterKey" becomes {"Parameters": [{...}]}."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = key.split(".")
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "member":
                continue
            if isinstance(node, list):
                position = int(part) - 1
                while len(node) <= position:
                    node.append({})
                if last:
                    node[position] = value
                else:
                    node = node[position]
                continue
            following = parts[index + 1] if not last else ""
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, [] if following == "member" else {})
    return root


def json_parameters(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _xml(value: Any) -> str:
    if isinstance(value, dict):
        return "".join(
            f"<{key}>{_xml(item)}</{key}>"
            for key, item in value.items()
            if item is not None
        )
    if isinstance(value, list):
        return "".join(f"<member>{_xml(item)}</member>" for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return escape(str(value))


def query_reply(action: str, result: dict[str, Any]) -> Reply:
    """A successful CloudFormation (query protocol) response."""
    body = (
        f'<{action}Response xmlns="{CLOUDFORMATION_NAMESPACE}"><{action}Result>{_xml(result)}'
        f"</{action}Result><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
        f"</ResponseMetadata></{action}Response>"
    )
    return Reply(200, {"content-type": "text/xml"}, body.encode())


def query_error(code: str, message: str, status: int = 400) -> Reply:
    """A CloudFormation (query protocol) error, as botocore parses it into a ClientError."""
    body = (
        f'<ErrorResponse xmlns="{CLOUDFORMATION_NAMESPACE}"><Error><Type>Sender</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Reply(status, {"content-type": "text/xml"}, body.encode())


def json_error(code: str, message: str, status: int = 400) -> Reply:
    """A JSON-protocol error (Secrets Manager), as botocore parses it into a ClientError."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return Reply(
        status,
        {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": code},
        body,
    )


def json_reply(result: dict[str, Any]) -> Reply:
    """A successful JSON-protocol response (Organizations)."""
    return Reply(
        200,
        {"content-type": "application/x-amz-json-1.1"},
        json.dumps(result, default=str).encode(),
    )
