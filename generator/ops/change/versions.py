"""A secret's versions and staging labels, region by region, and the label moves that change them.

Secrets Manager's staging labels are the whole state a change needs:
AWSCURRENT is what consumers read, AWSPENDING a staged version nobody reads
yet, AWSPREVIOUS what AWSCURRENT last left. Moving AWSCURRENT names the
version it is taken from, so a move fails, rather than overwrites, when
another change got there first: a compare-and-swap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.ops.aws import AwsClients, across, aws_errors, list_versions

CURRENT, PREVIOUS, PENDING = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"
# A label of our own: the version was put with --skip-provider-check and no provider has
# vouched for it since. A label is on one version of a secret at most (PutSecretValue).
UNCHECKED = "UNCHECKED"
# Our own label, on the version a rollback moved AWSCURRENT away from: a second
# rollback to "the previous version" would undo the first, so it is refused.
ROLLED_BACK_FROM = "trading-secrets-rolled-back-from"


@dataclass(frozen=True)
class RegionVersions:
    """One secret's versions in one region: which carries which label."""

    region: str
    stages: Mapping[str, tuple[str, ...]]  # version id -> its labels

    def with_label(self, label: str) -> str | None:
        return next(
            (version for version, labels in self.stages.items() if label in labels),
            None,
        )

    @property
    def current(self) -> str | None:
        return self.with_label(CURRENT)

    @property
    def previous(self) -> str | None:
        return self.with_label(PREVIOUS)

    @property
    def pending(self) -> str | None:
        """A staged version not yet current: the mark of a change left half done."""
        version = self.with_label(PENDING)
        return version if version != self.current else None

    def has(self, version: str) -> bool:
        return version in self.stages


def read_versions(aws: AwsClients, secret: str, region: str) -> RegionVersions:
    with aws_errors("list the versions of", secret, region):
        versions = list_versions(aws.secrets(region), secret)
    return RegionVersions(
        region, {v["VersionId"]: tuple(v.get("VersionStages", [])) for v in versions}
    )


def read_all(
    aws: AwsClients, secret: str, regions: Iterable[str]
) -> dict[str, RegionVersions]:
    """Every place's versions, read at once (a place is a region, or account/region)."""
    return across(regions, lambda region: read_versions(aws, secret, region))


def describe(states: Mapping[str, RegionVersions]) -> list[str]:
    """One line per region: what consumers read there now, and what is staged."""
    lines = []
    for region, state in states.items():
        line = f"{region}: AWSCURRENT is {state.current or 'none (no value)'}"
        if state.pending:
            line += f"; {state.pending} is staged (AWSPENDING), not current"
        lines.append(line)
    return lines


def disagreement(
    states: Mapping[str, RegionVersions], label: str = CURRENT
) -> str | None:
    """'us-east-1: A, us-west-2: B' when the regions' `label` versions differ; None when they agree."""
    versions = {region: state.with_label(label) for region, state in states.items()}
    if len(set(versions.values())) <= 1:
        return None
    return ", ".join(
        f"{region}: {version or 'none'}" for region, version in versions.items()
    )


def move_current(
    aws: AwsClients, secret: str, region: str, to_version: str, from_version: str | None
) -> None:
    """Make `to_version` current, taking the label from `from_version` only (the compare-and-swap)."""
    arguments: dict[str, Any] = {
        "SecretId": secret,
        "VersionStage": CURRENT,
        "MoveToVersionId": to_version,
    }
    if from_version is not None:
        arguments["RemoveFromVersionId"] = from_version
    with aws_errors("make the new version current in", secret, region):
        aws.secrets(region).update_secret_version_stage(**arguments)


def move_label(
    aws: AwsClients,
    secret: str,
    region: str,
    label: str,
    to_version: str,
    state: RegionVersions,
) -> None:
    """Attach our own `label` to `to_version`, taking it from wherever it is now."""
    arguments: dict[str, Any] = {
        "SecretId": secret,
        "VersionStage": label,
        "MoveToVersionId": to_version,
    }
    holder = state.with_label(label)
    if holder == to_version:
        return
    if holder is not None:
        arguments["RemoveFromVersionId"] = holder
    with aws_errors("label a version of", secret, region):
        aws.secrets(region).update_secret_version_stage(**arguments)


def drop_pending(aws: AwsClients, secret: str, region: str, version: str) -> None:
    """Take AWSPENDING off a version that is current now: the change it marked is done."""
    with aws_errors("tidy the staging labels of", secret, region):
        aws.secrets(region).update_secret_version_stage(
            SecretId=secret, VersionStage=PENDING, RemoveFromVersionId=version
        )
