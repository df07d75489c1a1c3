"""The committed templates are the golden files: the code must generate them byte for byte.

To change a template on purpose, change the code, run `python3 tasks.py build`,
review `git diff templates/`, and commit both together.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys

import pytest
from support.repository import ENV_NAMES

from generator.build import generate, template_path
from generator.environments import get_environment


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_generated_template_matches_the_committed_golden_file(env_name, root):
    env = get_environment(env_name)
    golden_path = template_path(root / "templates", env)
    golden = golden_path.read_text(encoding="utf-8")
    generated = generate(env)
    if generated != golden:
        diff = "\n".join(
            difflib.unified_diff(
                golden.splitlines(),
                generated.splitlines(),
                "golden",
                "generated",
                lineterm="",
                n=2,
            )
        )
        pytest.fail(
            f"{golden_path} differs from what the code generates. If the change is intended, "
            f"run `python3 tasks.py build` and commit the template.\n{diff[:4000]}"
        )


_GENERATE_ALL = (
    "import sys\n"
    "from generator.build import generate\n"
    "from generator.environments import ENVIRONMENTS\n"
    "sys.stdout.write(''.join(generate(env) for env in ENVIRONMENTS.values()))\n"
)


def test_two_processes_with_different_hash_seeds_generate_the_same_bytes(root):
    """Determinism across processes, as two builds on two machines: set and dict order may not leak into a template."""
    outputs = [
        subprocess.run(
            [sys.executable, "-c", _GENERATE_ALL],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in ("1", "2")
    ]
    # Equal to each other; that they equal the committed files is the test above.
    assert outputs[0] == outputs[1]
    assert outputs[0].count('"AWSTemplateFormatVersion"') == len(ENV_NAMES)
