"""Which test process runs what under the test command's `--dist loadgroup`, and the check that it held."""

from __future__ import annotations

from collections.abc import Mapping

# The xdist group of every unit test: one process runs them all (docs/development.md says why).
UNIT_GROUP = "unit"


def split_groups(ran_on: Mapping[str, str]) -> dict[str, list[str]]:
    """The xdist groups whose tests ran on more than one process: test node id -> worker, in; group -> workers, out.

    An integration test without a group counts as a group split: xdist then
    ignored the groups, as it silently did under pytest 9.2.
    """
    workers: dict[str, set[str]] = {}
    for nodeid, worker in ran_on.items():
        group = nodeid.rsplit("@", 1)[1] if "@" in nodeid else None
        if group is None:
            if nodeid.startswith("tests/integration/"):
                workers.setdefault(f"(none: {nodeid})", set()).update({worker, "?"})
            continue
        workers.setdefault(group, set()).add(worker)
    return {
        group: sorted(used) for group, used in sorted(workers.items()) if len(used) > 1
    }
