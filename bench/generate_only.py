"""Generation alone, as its own process: build and render every environment's template, no validation, no I/O."""

from generator.catalogue import CATALOGUE
from generator.environments import ENVIRONMENTS
from generator.template import build_template, render

if __name__ == "__main__":
    sizes = [
        len(render(build_template(env, CATALOGUE))) for env in ENVIRONMENTS.values()
    ]
    assert all(sizes)
