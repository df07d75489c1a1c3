"""The committed templates are the golden files: the code must generate them byte for byte.

To change a template on purpose, change the code, run `python3 tasks.py build`,
review `git diff templates/`, and commit both together.
"""

from __future__ import annotations

import difflib

import pytest

from generator.build import generate, template_path
from generator.environments import get_environment
from helpers import ENV_NAMES


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


@pytest.mark.parametrize("env_name", ENV_NAMES)
def test_generation_is_deterministic(env_name):
    env = get_environment(env_name)
    assert generate(env) == generate(env)
    assert generate(env).endswith("}\n")
