"""The code's layout as docs/development.md describes it: every module on its map, and no module reaching into another's privates."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from support.repository import ROOT

MAPPED = ("generator", "devtools")
# A private name is one module's own business; these packages are the project's.
PROJECT = ("generator", "devtools", "bench")
_MAP = re.compile(r"## Where things live\n.*?```\n(.*?)```", re.S)


def module_map(text: str) -> set[str]:
    """The paths docs/development.md's map names: one or more names, then two spaces and what they hold.

    Each level of indentation (two spaces) is inside the directory above it.
    """
    [block] = _MAP.findall(text)
    parents: list[str] = []
    named = set()
    for line in block.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        names = re.split(r" {2,}", line.strip(), maxsplit=1)[0].split()
        parents = parents[:depth]
        for name in names:
            named.add("".join(parents) + name)
        if names[-1].endswith("/"):
            parents.append(names[-1])
    return named


def project_modules(roots: tuple[str, ...]) -> dict[str, Path]:
    """Each module's path as the map writes it: a package by its directory (`ops/deploy/`), a module by its file."""
    found = {}
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            relative = path.relative_to(ROOT)
            name = (
                f"{relative.parent}/" if path.name == "__init__.py" else str(relative)
            )
            found[name] = path
    return found


def test_the_module_map_lists_every_module_and_only_modules_that_exist():
    named = module_map((ROOT / "docs" / "development.md").read_text())
    modules = project_modules(MAPPED)
    missing = sorted(set(modules) - named)
    assert not missing, f"docs/development.md's map lacks {missing}"
    stale = sorted(
        name
        for name in named
        if name.startswith(tuple(f"{root}/" for root in MAPPED))
        and not (ROOT / name).exists()
    )
    assert not stale, f"docs/development.md's map names what does not exist: {stale}"


def test_the_map_reader_sees_nesting_and_several_names_on_a_line():
    text = (
        "## Where things live\n\n```\n"
        "top/               a package\n"
        "  a.py b.py        two modules\n"
        "  inner/           a package inside\n"
        "    c.py           a module inside that\n"
        "  d.py             back out\n"
        "```\n"
    )
    assert module_map(text) == {
        "top/",
        "top/a.py",
        "top/b.py",
        "top/inner/",
        "top/inner/c.py",
        "top/d.py",
    }


def private_imports(path: Path, project: dict[str, Path]) -> list[str]:
    """Where `path` takes a private name (`_name`) from another module of the project."""
    tree = ast.parse(path.read_text())
    dotted = {
        name.removesuffix("/").replace("/", ".").removesuffix(".py") for name in project
    }
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if node.module in dotted and private:
                    found.append(f"from {node.module} import {alias.name}")
                if f"{node.module}.{alias.name}" in dotted:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in dotted:
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{aliases[node.value.id]}.{node.attr}")
    return found


def test_no_module_takes_another_modules_private_name():
    project = project_modules(PROJECT)
    reaching = {
        name: found
        for name, path in project.items()
        if (found := private_imports(path, project))
    }
    assert reaching == {}


@pytest.mark.parametrize(
    "source, expected",
    [
        (
            "from generator.ops.live.status import _judge\n",
            ["from generator.ops.live.status import _judge"],
        ),
        (
            "from generator.ops.live import status\nstatus._judge(1)\n",
            ["generator.ops.live.status._judge"],
        ),
        (
            "import generator.naming as naming\nnaming._rule\n",
            ["generator.naming._rule"],
        ),
        ("from generator.ops.live.status import secret_status\n", []),
        ("import json\njson._default_encoder\n", []),
    ],
    ids=["from-import", "module-attribute", "import-as", "public", "not-the-projects"],
)
def test_the_private_name_check_sees_each_way_of_reaching_in(
    tmp_path, source, expected
):
    path = tmp_path / "module.py"
    path.write_text(source)
    assert private_imports(path, project_modules(PROJECT)) == expected
