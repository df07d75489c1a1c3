"""trading-secrets rollback, planned across regions: which version it targets, what it moves, what it refuses; and status marking a diverged secret."""

from __future__ import annotations

import pytest
from support.fake_aws import StubbedClients
from test_changes import EAST, PROD, REGIONS, WEST, fake_read, versions

from generator.catalogue import ALPACA
from generator.errors import (
    Conflict,
    NothingToRollBack,
)
from generator.ops.change import rollback
from generator.ops.change.versions import (
    ROLLED_BACK_FROM,
)
from generator.ops.live.status import SecretStatus, State, mark_diverged


def test_a_default_rollback_targets_the_common_previous_version(monkeypatch):
    fake_read(
        monkeypatch,
        rollback,
        versions(EAST, A="AWSCURRENT", X="AWSPREVIOUS"),
        versions(WEST, A="AWSCURRENT", X="AWSPREVIOUS"),
    )
    plan = rollback.plan_rollback(PROD, ALPACA, REGIONS, StubbedClients({}))
    assert (
        plan.target == "X"
        and plan.moves == {EAST: "A", WEST: "A"}
        and plan.note is None
    )
    assert (
        plan.change.finish
        == "trading-secrets rollback --env prod --secret alpaca --to X --yes"
    )


def test_a_second_rollback_never_undoes_the_first(monkeypatch):
    after_rollback = {"X": "AWSCURRENT", "A": f"AWSPREVIOUS,{ROLLED_BACK_FROM}"}
    fake_read(
        monkeypatch,
        rollback,
        versions(EAST, **after_rollback),
        versions(WEST, **after_rollback),
    )
    plan = rollback.plan_rollback(PROD, ALPACA, REGIONS, StubbedClients({}))
    assert plan.moves == {} and "would undo that rollback, so nothing changed" in str(
        plan.note
    )


@pytest.mark.parametrize(
    "east, west, message",
    [
        (
            {"A": "AWSCURRENT", "X": "AWSPREVIOUS"},
            {"X": "AWSCURRENT"},
            "AWSCURRENT differs between regions",
        ),
        (
            {"A": "AWSCURRENT", "X": "AWSPREVIOUS"},
            {"A": "AWSCURRENT", "Y": "AWSPREVIOUS"},
            "AWSPREVIOUS differs between regions",
        ),
    ],
    ids=["current-differs", "previous-differs"],
)
def test_a_default_rollback_refuses_when_the_regions_disagree(
    monkeypatch, east, west, message
):
    fake_read(monkeypatch, rollback, versions(EAST, **east), versions(WEST, **west))
    with pytest.raises(Conflict, match=message):
        rollback.plan_rollback(PROD, ALPACA, REGIONS, StubbedClients({}))


def test_a_rollback_to_a_named_version_moves_only_the_regions_not_there(monkeypatch):
    fake_read(
        monkeypatch,
        rollback,
        versions(EAST, X="AWSCURRENT", A="AWSPREVIOUS"),
        versions(WEST, A="AWSCURRENT", X="AWSPREVIOUS"),
    )
    plan = rollback.plan_rollback(PROD, ALPACA, REGIONS, StubbedClients({}), target="X")
    assert plan.moves == {WEST: "A"}
    fake_read(
        monkeypatch,
        rollback,
        versions(EAST, X="AWSCURRENT"),
        versions(WEST, X="AWSCURRENT"),
    )
    again = rollback.plan_rollback(
        PROD, ALPACA, REGIONS, StubbedClients({}), target="X"
    )
    assert (
        again.moves == {}
        and "already AWSCURRENT in every region; nothing changed" in str(again.note)
    )


def test_a_rollback_target_missing_from_a_region_is_refused_with_the_way_to_copy_it(
    monkeypatch,
):
    fake_read(
        monkeypatch,
        rollback,
        versions(EAST, A="AWSCURRENT", X="AWSPREVIOUS"),
        versions(WEST, A="AWSCURRENT"),
    )
    with pytest.raises(
        Conflict,
        match="has no version X in us-west-2; put --resume X copies it there first",
    ):
        rollback.plan_rollback(PROD, ALPACA, REGIONS, StubbedClients({}), target="X")


def test_nothing_to_roll_back_without_a_previous_version(monkeypatch):
    fake_read(
        monkeypatch,
        rollback,
        versions(EAST, A="AWSCURRENT"),
        versions(WEST, A="AWSCURRENT"),
    )
    with pytest.raises(NothingToRollBack):
        rollback.plan_rollback(PROD, ALPACA, REGIONS, StubbedClients({}))


def test_status_marks_every_region_of_a_secret_diverged_and_keeps_the_value_state():
    rows = [
        SecretStatus("trading/prod/alpaca", EAST, State.SET, current_version="A"),
        SecretStatus("trading/prod/alpaca", WEST, State.SET, current_version="X"),
    ]
    diverged = mark_diverged(rows)
    assert [row.state for row in diverged] == [State.DIVERGED, State.DIVERGED]
    assert [row.value_state for row in diverged] == [State.SET, State.SET]
    assert (
        "AWSCURRENT differs between regions (us-east-1: A, us-west-2: X)"
        in diverged[0].gate_problems[0]
    )
    assert diverged[0].as_json()["value_state"] == "SET"
    same = [
        SecretStatus("s", EAST, State.SET, current_version="A"),
        SecretStatus("s", WEST, State.SET, current_version="A"),
    ]
    assert mark_diverged(same) == same
