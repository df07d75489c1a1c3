"""The same stacks as an AWS CDK app (bench/cdk/app.js), for timing `cdk synth` side by side with the build.

Needs Node and npm. On first use the app is copied to .cache/cdk-bench/ and its
locked packages (bench/cdk/package-lock.json) installed there with `npm ci`:
outside the tree that tools such as taskcat upload, and git-ignored. Nothing is
downloaded at run time: the CLI's version check, notices and telemetry are off.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from generator.catalogue import CATALOGUE
from generator.environments import ENVIRONMENTS

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench" / "cdk"
APP_FILES = ("app.js", "cdk.json", "package.json", "package-lock.json")
APP = ROOT / ".cache" / "cdk-bench"
CDK = APP / "node_modules" / ".bin" / "cdk"
# npm ci writes this copy of the lock file into node_modules: when it matches
# the committed lock, the installed packages are the locked ones.
INSTALLED_LOCK = APP / "node_modules" / ".package-lock.json"
QUIET = {
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}
# CDK refuses a stack of more than 500 resources at synth time; the scaling
# runs go past that on purpose (200 secrets are 611 resources), as ours do
# past CloudFormation's limits, which our build counts as findings.
NO_RESOURCE_LIMIT = ("--context", "@aws-cdk/core:stackResourceLimit=0")


class CdkUnavailable(Exception):
    """Why `cdk synth` cannot be timed here, in one line."""


def ensure_installed() -> Path:
    """The cdk CLI of bench/cdk, installed from its lock file with `npm ci` when missing or stale."""
    npm = shutil.which("npm")
    if not shutil.which("node") or not npm:
        raise CdkUnavailable("no node and npm on PATH")
    APP.mkdir(parents=True, exist_ok=True)
    for name in APP_FILES:
        if (
            not (APP / name).exists()
            or (APP / name).read_bytes() != (SOURCE / name).read_bytes()
        ):
            shutil.copyfile(SOURCE / name, APP / name)
    lock = json.loads((APP / "package-lock.json").read_text())
    installed = (
        json.loads(INSTALLED_LOCK.read_text()) if INSTALLED_LOCK.exists() else {}
    )
    if not CDK.exists() or installed.get("packages", {}) != {
        name: entry
        for name, entry in lock.get("packages", {}).items()
        if name  # the root package is not copied
    }:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=APP,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise CdkUnavailable(
                f"npm ci in {APP.relative_to(ROOT)} failed: {done.stderr.strip().splitlines()[-1:]}"
            )
    return CDK


def synth_command(output: Path, synthetic_secrets: int = 0) -> list[str]:
    """`cdk synth` of the three stacks into `output`, or of one stack of N synthetic secrets."""
    command = [str(CDK), "synth", "--quiet", "--no-notices", "--output", str(output)]
    if synthetic_secrets:
        command += NO_RESOURCE_LIMIT
    return command


def catalogue_document() -> str:
    """The generator's catalogue as the CDK app reads it (TRADING_CDK_CATALOGUE): it makes what the catalogue says.

    Per entry: its logical id, name suffix, integration and description, and per
    environment its rotation interval and, where placeholders are seeded, its placeholder.
    """
    return json.dumps(
        [
            {
                "id": spec.logical_id,
                "suffix": spec.name_suffix,
                "integration": spec.integration,
                "description": spec.description,
                "rotationDays": {
                    env.name: spec.rotation_interval(env)
                    for env in ENVIRONMENTS.values()
                },
                "placeholder": {
                    env.name: spec.placeholder(env)
                    for env in ENVIRONMENTS.values()
                    if env.seed_placeholders
                },
            }
            for spec in CATALOGUE
        ]
    )


def synth_environment(synthetic_secrets: int = 0) -> dict[str, str]:
    environment = {**os.environ, **QUIET, "TRADING_CDK_CATALOGUE": catalogue_document()}
    if synthetic_secrets:
        environment["TRADING_CDK_SECRETS"] = str(synthetic_secrets)
    return environment


def resource_types(template_path: Path) -> Counter[str]:
    template = json.loads(template_path.read_text())
    return Counter(resource["Type"] for resource in template["Resources"].values())


def parity_problems(cdk_output: Path, templates: Path) -> list[str]:
    """Where the CDK app's stacks differ from ours in resource types: the timing compares like with like only if none."""
    problems = []
    for template in sorted(templates.glob("*/secrets.json")):
        env = template.parent.name
        theirs_path = cdk_output / f"trading-{env}-secrets.template.json"
        if not theirs_path.exists():
            problems.append(f"{env}: cdk synth made no stack")
            continue
        ours, theirs = resource_types(template), resource_types(theirs_path)
        if ours != theirs:
            problems.append(
                f"{env}: only ours {dict(ours - theirs)}, only CDK's {dict(theirs - ours)}"
            )
    return problems
