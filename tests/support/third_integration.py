"""A third integration, planted: one catalogue entry appended to a copy of the repository, and nothing else.

`SOURCE` is the whole edit. `planted_copy` makes a copy of what the build and
`trading-secrets` need (the tracked files of generator/, build.py, params/,
templates/ and the configuration), appends it to that copy's
generator/catalogue.py, and returns the copy; `planted_spec` gives the same
entry as an object, for the loopback provider the test runs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import generator.catalogue
from support.repository import ROOT

# Everything a new integration needs, written the way docs/templates.md says to add one.
SOURCE = """

EXAMPLE_DATA = SecretSpec(
    logical_id="ExampleDataCredentials",
    name_suffix="exampledata",
    integration="ExampleData",
    description="ExampleData market-data token",
    schema_for=lambda env: _object_schema(
        "ExampleData credentials", {"token": _string_field("ExampleData API token")}
    ),
    placeholder_for=lambda env: {"token": "PLACEHOLDER-exampledata-token-not-real"},
    # GET /v1/whoami with the token in a header: it passes when the answer says active is true.
    provider_check=ProviderCheck(
        provider="ExampleData",
        base_url="https://api.exampledata.invalid",
        path="/v1/whoami",
        header_fields=(("Authorization", "token"),),
        accepted_when=(("active", True),),
        account_field="account",
    ),
    refused=(
        RefusedValue("token", "example-public-token", "the public token of ExampleData's documentation"),
    ),
    credential_shapes=(("ExampleData token", r"(?<![A-Za-z0-9])exd_[a-z0-9]{32}(?![A-Za-z0-9])"),),
    rotation_interval_days=30,
)
CATALOGUE = (*CATALOGUE, EXAMPLE_DATA)
"""
# What the copy holds: what build.py and trading-secrets read, as git tracks it.
COPIED = (
    "generator",
    "build.py",
    "params",
    "templates",
    ".cfnlintrc",
    "setup.cfg",
    "pyproject.toml",
)


def planted_spec() -> Any:
    """The planted entry as the copy's catalogue makes it: SOURCE run in the catalogue's own namespace."""
    namespace = dict(vars(generator.catalogue))
    exec(SOURCE, namespace)
    return namespace["EXAMPLE_DATA"]


def planted_copy(directory: Path) -> Path:
    """A copy of the repository's tracked build inputs with the third integration appended; returns it."""
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z", *COPIED],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    catalogue = directory / "generator" / "catalogue.py"
    catalogue.write_text(catalogue.read_text() + SOURCE)
    return directory
