"""The benchmark's parts work (its figures are printed by `python3 tasks.py bench`, never asserted here).

`python3 tasks.py bench` runs each part as a process of its own, to time it
whole; here each runs in this process, with the session's rule set, and its
helpers for the CDK comparison are tested directly.
"""

from __future__ import annotations

import json
import runpy

from support.repository import ROOT


def test_scaling_builds_and_validates_a_template_of_synthetic_secrets(
    monkeypatch, linter
):
    import troposphere

    from bench import scaling

    # It lifts troposphere's limits for its own process: put them back for this one.
    for limit in ("MAX_OUTPUTS", "MAX_RESOURCES"):
        monkeypatch.setattr(troposphere, limit, getattr(troposphere, limit))
    monkeypatch.setattr("generator.checks.lint.Linter", lambda _config: linter)
    figure = scaling.main(3)
    # Three resources per secret, plus the stack's own (keys, alerting), as in the committed prod template.
    committed = json.loads((ROOT / "templates" / "prod" / "secrets.json").read_text())[
        "Resources"
    ]
    per_secret = sum(
        r["Type"] == "AWS::SecretsManager::Secret" for r in committed.values()
    )
    assert (
        figure["secrets"] == 3
        and figure["resources"] == 3 * 3 + len(committed) - 3 * per_secret
    )
    assert figure["findings"] == 0  # three secrets still fit every CloudFormation limit
    assert figure["validate_s"] >= figure["lint_s"] > 0


def test_generation_alone_runs_as_its_main():
    runpy.run_module("bench.generate_only", run_name="__main__")


def _cdk_output_like_ours(directory):
    """A cdk.out whose stacks hold exactly the committed templates' resources."""
    directory.mkdir()
    for env in ("dev", "staging", "prod"):
        template = json.loads((ROOT / "templates" / env / "secrets.json").read_text())
        (directory / f"trading-{env}-secrets.template.json").write_text(
            json.dumps({"Resources": template["Resources"]})
        )
    return directory


def test_the_cdk_app_is_timed_only_while_it_makes_what_we_make(tmp_path):
    from bench.cdk_app import parity_problems

    output = _cdk_output_like_ours(tmp_path / "cdk.out")
    assert parity_problems(output, ROOT / "templates") == []
    prod = output / "trading-prod-secrets.template.json"
    template = json.loads(prod.read_text())
    del template["Resources"]["KeyChangeRule"]
    prod.write_text(json.dumps(template))
    (output / "trading-dev-secrets.template.json").unlink()
    assert parity_problems(output, ROOT / "templates") == [
        "dev: cdk synth made no stack",
        "prod: only ours {'AWS::Events::Rule': 1}, only CDK's {}",
    ]


def test_ratios_are_taken_run_by_run_and_quoted_only_when_cdk_was_measured(capsys):
    from bench.__main__ import paired_ratio
    from bench.report import print_table

    # A machine slowing down mid-run moves both sides of each pair alike.
    assert paired_ratio([1.0, 2.0, 3.0], [4.0, 8.0, 12.0])["median"] == 0.25
    figure = {
        "name": "cold full validated build (--no-cache)",
        "wall_median_s": 1.0,
        "wall_min_s": 0.9,
        "wall_max_s": 1.1,
        "peak_mib_median": 140.0,
        "goal_ratio": 0.35,
    }
    print_table(
        {
            "date": "2026-11-29",
            "machine": "test",
            "runs": 1,
            "build": [figure],
            "cdk_synth": {"measured": False, "reason": "no node and npm on PATH"},
            "scaling": [],
            "deploy": {"measured": False, "note": "none"},
        }
    )
    printed = capsys.readouterr().out
    assert (
        "cdk synth not measured: no node and npm on PATH; no ratio is quoted" in printed
    )
    assert "meets goal" not in printed and "MISSES GOAL" not in printed


def test_the_gate_figure_is_a_run_of_status_that_ends_unknown_within_its_bound():
    """The benchmark's gate figure at a short deadline: the same endpoint, the same verdict, the bound checked."""
    from bench import gate_deadline

    figure = gate_deadline.main(deadline=3)
    assert figure["exit"] == 11 and figure["unknown"], figure
    assert figure["bound_s"] == 13 and figure["met"] == (figure["wall_s"] <= 13)


def test_the_silent_endpoint_accepts_and_never_answers():
    import socket

    from bench.gate_deadline import silent_endpoint

    with silent_endpoint() as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            connection.settimeout(0.5)
            try:
                answer = connection.recv(1)
            except TimeoutError:
                answer = None
    assert answer is None


def test_the_cdk_peer_is_handed_the_whole_catalogue():
    """The CDK app makes one secret per entry it is handed: every catalogue entry, a planted one included."""
    from bench.cdk_app import catalogue_document, synth_environment
    from generator.catalogue import CATALOGUE

    handed = json.loads(synth_environment()["TRADING_CDK_CATALOGUE"])
    assert handed == json.loads(catalogue_document())
    assert [entry["id"] for entry in handed] == [spec.logical_id for spec in CATALOGUE]
    alpaca = next(entry for entry in handed if entry["suffix"] == "alpaca")
    assert alpaca["rotationDays"] == {"dev": 180, "staging": 90, "prod": 90}
    assert set(alpaca["placeholder"]) == {"dev", "staging"}  # prod seeds none


def test_the_accounts_figure_compares_one_account_and_region_with_every_one():
    """What bench/accounts.py times (it runs on the engine, in python3 tasks.py bench): the same two commands,
    over one place and over twenty, the one apart from the twenty so that a put there leaves them in step."""
    import os

    from bench import accounts

    one, every = accounts._commands("1x1"), accounts._commands("10x2")
    assert set(one) == set(every) == {"status", "put"}
    assert one["put"][0][-4:] == ["--accounts", accounts.ONE, "--region", "us-east-1"]
    assert every["put"][0][-len(accounts.ACCOUNTS) :] == accounts.ACCOUNTS
    assert accounts.ONE not in accounts.ACCOUNTS and len(set(accounts.ACCOUNTS)) == 10
    assert accounts._engine_cpu_seconds(os.getpid()) > 0
