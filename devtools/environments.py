"""The virtual environments the tasks run in: created on first use, installed under a constraints file,
rebuilt rather than reused when another Python made them or an install broke off.

Standard library only: tasks.py imports this before any virtual environment exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devtools.processes import ROOT, TaskFailed, run, say

CONSTRAINTS = ROOT / "constraints"
THIS_PYTHON = sys.version_info[:2]


@dataclass(frozen=True)
class VirtualEnvironment:
    """A virtual environment of its own, installed under a constraints file (python3 tasks.py lock)."""

    name: str
    requirements: tuple[str, ...]
    why: str
    lock_name: str
    # None: the Python running tasks.py. Otherwise the one minor version the packages run on.
    needs_python: tuple[int, int] | None = None
    # Files whose content is part of what gets installed (the project's own metadata).
    metadata: tuple[str, ...] = ()

    @property
    def directory(self) -> Path:
        return ROOT / self.name

    @property
    def constraints(self) -> Path:
        return CONSTRAINTS / f"{self.lock_name}.txt"

    @property
    def python(self) -> Path:
        return self.directory / "bin" / "python"

    @property
    def python_version(self) -> tuple[int, int]:
        return self.needs_python or THIS_PYTHON

    def fingerprint(self) -> str:
        digest = hashlib.sha256(".".join(map(str, self.python_version)).encode())
        for requirement in self.requirements:
            digest.update(requirement.encode())
        for path in (self.constraints, *(ROOT / name for name in self.metadata)):
            digest.update(path.read_bytes() if path.exists() else b"")
        return digest.hexdigest()[:16]


PROJECT = VirtualEnvironment(
    ".venv",
    ("-e", f"{ROOT}[test]"),
    "the project and its test tools",
    "project",
    # The package's metadata, its version (generator/__init__.py) included.
    metadata=("setup.cfg", "pyproject.toml", "generator/__init__.py"),
)
# LocalStack, the real CloudFormation engine of the deployment tests: its pins clash with
# taskcat's (jsonschema, urllib3). 4.10.0 is the last release that runs on Python 3.11, and
# it runs on 3.11 only (newer ones need 3.12 and change the engine under the tests), so this
# environment is made by a Python 3.11 found on the machine, whichever Python runs tasks.py.
# Newer cbor2, pyOpenSSL, cryptography and psutil break its start-up.
LOCALSTACK = VirtualEnvironment(
    ".venv-localstack",
    (
        "localstack-core[runtime]==4.10.0",
        "cbor2<5.7",
        "pyOpenSSL==25.1.0",
        "cryptography>=45,<46",
        "service_identity",
        # psutil 7.2 dropped a name LocalStack 4.10 imports.
        "psutil<7.2",
    ),
    "the local CloudFormation engine",
    "localstack",
    needs_python=(3, 11),
)
# checkov, the independent template scanner: it needs jsonschema 4 and urllib3 2; taskcat pins 3 and 1.
CHECKOV = VirtualEnvironment(
    ".venv-checkov", ("checkov==3.3.30",), "the checkov scanner", "checkov"
)
# cfn-lint alone, at the project's pin, without the project: plain `cfn-lint` as an editor plugin,
# the GitHub Action or an upstream pre-commit hook runs it; the custom rules must load there too.
CFN_LINT = VirtualEnvironment(
    ".venv-cfnlint",
    ("cfn-lint==1.58.0",),
    "plain cfn-lint, without the project",
    "cfnlint",
)
ALL = (PROJECT, LOCALSTACK, CHECKOV, CFN_LINT)


def _reports_version(python: str, version: tuple[int, int]) -> bool:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        probe = subprocess.run(
            [python, "-c", "import sys, venv; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        return probe.stdout.split() == [str(part) for part in version]
    return False


def find_python(
    version: tuple[int, int],
    needed_for: str = "the local engine (LocalStack 4.10 runs on it only)",
) -> str:
    """An interpreter of `version` on this machine: this one, pythonX.Y on PATH, or pyenv's; else one line."""
    if version == THIS_PYTHON:
        return sys.executable
    name = "python{}.{}".format(*version)
    candidates = [shutil.which(name), f"/usr/bin/{name}", f"/usr/local/bin/{name}"]
    candidates += sorted(
        glob.glob(
            str(
                Path.home()
                / ".pyenv"
                / "versions"
                / "{}.{}.*".format(*version)
                / "bin"
                / "python"
            )
        )
    )
    for candidate in candidates:
        if (
            candidate
            and Path(candidate).exists()
            and _reports_version(candidate, version)
        ):
            return candidate
    raise TaskFailed(
        f"{name} is needed for {needed_for} and none was found "
        f"on PATH, in /usr/bin, /usr/local/bin or ~/.pyenv; install it, or run `{name} tasks.py ...`",
        2,
    )


def create_venv(python: str, directory: Path) -> None:
    """`python -m venv directory`, with pip; a venv made by another interpreter than this one works the same."""
    if run([python, "-m", "venv", str(directory)], f"venv {directory.name}") != 0:
        raise TaskFailed(f"{python} -m venv {directory.name} failed (see above)")


def _made_by(environment: VirtualEnvironment) -> tuple[int, int] | None:
    settings = environment.directory / "pyvenv.cfg"
    if not settings.exists() or not environment.python.exists():
        return None
    for line in settings.read_text().splitlines():
        key, _, value = line.partition("=")
        # "version" in venvs made by Python 3.11, "version_info" in some others.
        if key.strip() in ("version", "version_info"):
            major, minor, *_ = (value.strip() + "..").split(".")
            if major.isdigit() and minor.isdigit():
                return int(major), int(minor)
    return None


def why_rebuild(environment: VirtualEnvironment) -> str | None:
    """Why an existing `environment` cannot be reused as it is; None when it can, or does not exist."""
    if not environment.directory.exists():
        return None
    if (environment.directory / ".installing").exists():
        return "an install into it broke off"
    if _made_by(environment) != environment.python_version:
        return "another Python made it"
    return None


@contextlib.contextmanager
def _only_one_install(environment: VirtualEnvironment) -> Iterator[None]:
    """Two tasks.py at once (two shells, an editor's test runner): the second waits, then reuses."""
    locks = ROOT / ".cache" / "tasks-locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{environment.lock_name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"{environment.name}: another tasks.py is installing it; waiting")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure(environment: VirtualEnvironment) -> Path:
    """`environment`, installed as its fingerprint says; rebuilt when another Python made it or an install broke off."""
    stamp = environment.directory / f".installed-{environment.fingerprint()}"
    if why_rebuild(environment) is None and stamp.exists():
        return environment.python
    with _only_one_install(environment):
        reason = why_rebuild(environment)
        if reason is None and stamp.exists():
            return environment.python
        if reason is not None:
            say(f"{environment.name}: {reason}; rebuilding it")
            shutil.rmtree(environment.directory)
        if not environment.directory.exists():
            say(f"creating {environment.name} for {environment.why}")
            create_venv(find_python(environment.python_version), environment.directory)
        installing = environment.directory / ".installing"
        installing.touch()
        for old in environment.directory.glob(".installed-*"):
            old.unlink()
        constraint = (
            ["-c", str(environment.constraints)]
            if environment.constraints.exists()
            else []
        )
        say(
            f"installing {environment.why} into {environment.name} (pip prints each package)"
        )
        if (
            run(
                [
                    *pip(environment.python),
                    "install",
                    "--progress-bar",
                    "off",
                    *constraint,
                    *environment.requirements,
                ],
                f"pip into {environment.name}",
            )
            != 0
        ):
            raise TaskFailed(
                f"installing into {environment.name} failed (see pip's output above); run the command again"
            )
        stamp.touch()
        installing.unlink()
    return environment.python


def pip(python: Path) -> list[str]:
    return [str(python), "-m", "pip", "--disable-pip-version-check"]


def lock(names: list[str]) -> int:
    """Resolve each environment's requirements afresh and write what pip chose to constraints/<name>.txt.

    With names (project, localstack, checkov, cfnlint), only those. Each is resolved by
    the Python that will install it. One file serves every supported Python
    (the pins do not differ between 3.11, 3.12 and 3.13): .ci/run installs
    constraints/project.txt on each Python it finds, and a clean clone's test
    command on 3.12 and 3.13 installed checkov's too (docs/benchmarks.md).
    """
    environments = {environment.lock_name: environment for environment in ALL}
    unknown = sorted(set(names) - set(environments))
    if unknown:
        raise TaskFailed(
            f"lock: unknown environment(s) {', '.join(unknown)}; choose from {', '.join(environments)}",
            2,
        )
    CONSTRAINTS.mkdir(exist_ok=True)
    for environment in [environments[name] for name in names] or environments.values():
        with tempfile.TemporaryDirectory(prefix="tasks-lock-") as scratch:
            python = Path(scratch) / "bin" / "python"
            say(f"resolving {environment.why} in a fresh environment")
            create_venv(find_python(environment.python_version), Path(scratch))
            if (
                run(
                    [
                        *pip(python),
                        "install",
                        "--progress-bar",
                        "off",
                        *environment.requirements,
                    ],
                    f"pip for {environment.name}",
                )
                != 0
            ):
                raise TaskFailed(
                    f"resolving {environment.name} failed (see pip's output above)"
                )
            frozen = subprocess.run(
                [*pip(python), "freeze", "--all", "--exclude-editable"],
                capture_output=True,
                text=True,
                check=True,
            )
            # --all: setuptools too (taskcat needs it, and venvs of 3.11 and 3.12+ differ in it); not pip.
            pins = sorted(
                line
                for line in frozen.stdout.splitlines()
                if line and not line.startswith(("-e ", "pip=="))
            )
            header = f"# {environment.name}: every package pip chose for {environment.why}.\n"
            header += (
                "# Made by `python3 tasks.py lock`; used by every install into it.\n"
            )
            environment.constraints.write_text(header + "\n".join(pins) + "\n")
            say(
                f"wrote {environment.constraints.relative_to(ROOT)} ({len(pins)} packages)"
            )
    return 0
