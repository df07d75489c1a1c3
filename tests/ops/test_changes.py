"""put and rollback, offline: what is planned, and what is reported after a failure, from the regions' state.

The same paths run on the engine with faults injected (tests/integration/test_faults.py);
here each judgement is pinned on its own.
"""

from __future__ import annotations

import pytest
from support.fake_aws import FAKE, StubbedClients

from generator.catalogue import ALPACA, ALPHAVANTAGE
from generator.environments import ENVIRONMENTS
from generator.errors import (
    AwsError,
    Conflict,
    Incomplete,
    Interrupted,
    NothingToRollBack,
    OutcomeUnknown,
    ValueRefused,
)
from generator.ops.change import put, rollback, settle
from generator.ops.change.provider import CheckedValue, check_before_put
from generator.ops.change.settle import Change
from generator.ops.change.versions import (
    ROLLED_BACK_FROM,
    RegionVersions,
    describe,
    disagreement,
)
from generator.ops.live.status import SecretStatus, State, mark_diverged

PROD = ENVIRONMENTS["prod"]
REGIONS = PROD.regions
EAST, WEST = REGIONS


def versions(region: str, **stages: str) -> RegionVersions:
    """versions("us-east-1", A="AWSCURRENT", X="AWSPREVIOUS,trading-secrets-rolled-back-from")."""
    return RegionVersions(
        region,
        {version: tuple(labels.split(",")) for version, labels in stages.items()},
    )


def fake_read(monkeypatch, module, *states: RegionVersions) -> None:
    by_region = {state.region: state for state in states}
    monkeypatch.setattr(
        module,
        "read_all",
        lambda aws, secret, regions: {r: by_region[r] for r in regions},
    )


def change(target: str = "V", **before: RegionVersions) -> Change:
    states = before or {
        EAST: versions(EAST, X="AWSCURRENT"),
        WEST: versions(WEST, X="AWSCURRENT"),
    }
    return Change("trading/prod/alpaca", REGIONS, target, f"finish {target}", states)


def test_region_versions_know_current_previous_and_a_pending_left_behind():
    state = versions(EAST, A="AWSCURRENT,AWSPENDING", X="AWSPREVIOUS")
    assert (state.current, state.previous, state.pending) == ("A", "X", None)
    assert versions(EAST, A="AWSPENDING", X="AWSCURRENT").pending == "A"
    assert (
        disagreement(
            {EAST: versions(EAST, A="AWSCURRENT"), WEST: versions(WEST, X="AWSCURRENT")}
        )
        == "us-east-1: A, us-west-2: X"
    )
    assert (
        disagreement(
            {EAST: versions(EAST, A="AWSCURRENT"), WEST: versions(WEST, A="AWSCURRENT")}
        )
        is None
    )
    assert describe({EAST: versions(EAST, A="AWSPENDING", X="AWSCURRENT")}) == [
        "us-east-1: AWSCURRENT is X; A is staged (AWSPENDING), not current"
    ]


def test_a_lost_response_whose_write_landed_is_a_success(monkeypatch):
    fake_read(
        monkeypatch,
        settle,
        versions(EAST, V="AWSCURRENT"),
        versions(WEST, V="AWSCURRENT"),
    )
    after = settle.settle(
        change(), StubbedClients({}), AwsError("cannot make the new version current")
    )
    assert {region: state.current for region, state in after.items()} == {
        EAST: "V",
        WEST: "V",
    }


def test_a_change_that_reached_one_region_is_incomplete_and_names_the_command_that_finishes_it(
    monkeypatch,
):
    fake_read(
        monkeypatch,
        settle,
        versions(EAST, V="AWSCURRENT"),
        versions(WEST, V="AWSPENDING", X="AWSCURRENT"),
    )
    with pytest.raises(Incomplete) as raised:
        settle.settle(change(), StubbedClients({}), AwsError("throttled in us-west-2"))
    assert (
        str(raised.value)
        == "trading/prod/alpaca: V reached us-east-1 only (throttled in us-west-2); finish with `finish V`"
    )
    assert raised.value.details == (
        "us-east-1: AWSCURRENT is V",
        "us-west-2: AWSCURRENT is X; V is staged (AWSPENDING), not current",
    )
    assert raised.value.exit_code == 6


def test_another_writer_getting_there_first_is_a_conflict(monkeypatch):
    fake_read(
        monkeypatch,
        settle,
        versions(EAST, B="AWSCURRENT"),
        versions(WEST, B="AWSCURRENT"),
    )
    with pytest.raises(
        Conflict,
        match="another change made B in us-east-1, B in us-west-2 current meanwhile",
    ):
        settle.settle(change(), StubbedClients({}), AwsError("version mismatch"))


def test_a_failure_that_changed_nothing_says_so(monkeypatch):
    fake_read(
        monkeypatch,
        settle,
        versions(EAST, X="AWSCURRENT"),
        versions(WEST, X="AWSCURRENT"),
    )
    with pytest.raises(
        AwsError, match="access denied; nothing changed for consumers"
    ) as raised:
        settle.settle(change(), StubbedClients({}), AwsError("access denied"))
    assert raised.value.exit_code == 4


def test_an_interrupt_says_exactly_where_the_change_reached(monkeypatch):
    fake_read(
        monkeypatch,
        settle,
        versions(EAST, V="AWSCURRENT"),
        versions(WEST, X="AWSCURRENT"),
    )
    with pytest.raises(
        Interrupted,
        match=r"interrupted: V is AWSCURRENT in us-east-1; finish with `finish V`",
    ) as raised:
        settle.settle(change(), StubbedClients({}), KeyboardInterrupt())
    assert raised.value.exit_code == 130


def test_when_the_state_cannot_be_read_back_the_report_says_it_is_unknown(monkeypatch):
    def unreadable(aws, secret, regions):
        raise AwsError("endpoint unreachable")

    monkeypatch.setattr(settle, "read_all", unreadable)
    with pytest.raises(OutcomeUnknown, match="the outcome is unknown: ") as raised:
        settle.settle(change(), StubbedClients({}), AwsError("timeout"))
    # Its own exit code: not 4, which says nothing changed for consumers.
    assert raised.value.exit_code == 9
    assert (
        "run `trading-secrets status --env prod` to learn it" in raised.value.details[0]
    )


def test_after_a_second_interrupt_the_report_says_the_outcome_is_unknown(monkeypatch):
    """The calls in flight may still land: reading back now would report a state that is not final."""
    from generator.ops import aws

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setattr(aws, "_STOPPING", _set_event())
    with pytest.raises(Interrupted, match="the outcome is unknown: ") as raised:
        settle.settle(change(), aws.AwsClients(), KeyboardInterrupt())
    assert raised.value.exit_code == 130


def _set_event():  # type: ignore[no-untyped-def]
    import threading

    event = threading.Event()
    event.set()
    return event


def test_a_put_refuses_to_start_while_the_regions_disagree(monkeypatch):
    fake_read(
        monkeypatch, put, versions(EAST, A="AWSCURRENT"), versions(WEST, X="AWSCURRENT")
    )
    with pytest.raises(
        Conflict,
        match=r"AWSCURRENT differs between regions \(us-east-1: A, us-west-2: X\)",
    ) as raised:
        put.put_value(
            PROD,
            ALPHAVANTAGE,
            CheckedValue({"apiKey": FAKE}),
            REGIONS,
            StubbedClients({}),
        )
    assert raised.value.exit_code == 7


@pytest.mark.parametrize(
    "gate",
    [
        lambda value: check_before_put(
            PROD, ALPHAVANTAGE, value, REGIONS, StubbedClients({})
        ),
        # A CheckedValue made by hand is checked again by put_value itself.
        lambda value: put.put_value(
            PROD, ALPHAVANTAGE, CheckedValue(value), REGIONS, StubbedClients({})
        ),
    ],
    ids=["the gate before a put", "put_value itself"],
)
def test_a_refused_value_reaches_no_aws_call(gate):
    with pytest.raises(ValueRefused):
        gate({"apiKey": "PLACEHOLDER-x"})


def test_resume_needs_a_version_that_exists_somewhere(monkeypatch):
    fake_read(
        monkeypatch, put, versions(EAST, X="AWSCURRENT"), versions(WEST, X="AWSCURRENT")
    )
    with pytest.raises(
        Exception, match="has no version V in us-east-1, us-west-2; nothing to resume"
    ):
        put.resume_put(PROD, ALPACA, "V", REGIONS, StubbedClients({}))


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
