"""Offline stand-ins for the ops tests: stubbed Secrets Manager clients behind an AwsClients."""

from __future__ import annotations

from typing import Any

import boto3

from generator.ops.aws import AwsClients

FAKE = "FAKE-offline-test-value"
CALLER = "arn:aws:iam::111111111111:user/test"


def offline_client(service: str = "secretsmanager", region: str = "us-east-1") -> Any:
    return boto3.client(
        service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
    )


class StubbedClients(AwsClients):
    """AwsClients whose clients are the given (stubbed) ones, and whose caller is fixed."""

    def __init__(self, clients: dict[str, Any]):
        super().__init__(
            boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x")
        )
        self._by_region = clients

    def secrets(self, region: str) -> Any:
        return self._by_region[region]

    def caller(self, region: str) -> str:
        return CALLER
