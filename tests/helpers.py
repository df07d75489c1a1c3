"""Helpers shared by the unit tests (a module of its own: conftest.py names clash across folders)."""

from __future__ import annotations

from pathlib import Path

from generator.environments import ENVIRONMENTS

ROOT = Path(__file__).resolve().parent.parent
ENV_NAMES = list(ENVIRONMENTS)


def resources_of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {
        lid: res
        for lid, res in template["Resources"].items()
        if res["Type"] == resource_type
    }
