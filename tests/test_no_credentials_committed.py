"""No committed template or parameter file holds anything shaped like a real credential."""

from __future__ import annotations

import re

import pytest

from helpers import ROOT

CREDENTIAL_SHAPES = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Alpaca key id": re.compile(r"\b(PK|AK)[0-9A-Z]{18}\b"),
    "AlphaVantage key": re.compile(r"\b(?=[A-Z0-9]*[0-9])(?=[A-Z0-9]*[A-Z])[A-Z0-9]{16}\b"),
    "Alpaca secret key": re.compile(r"\b[A-Za-z0-9]{40}\b"),
}
COMMITTED = sorted([*ROOT.glob("templates/*/secrets.json"), *ROOT.glob("params/*/secrets.json")])


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_file_holds_nothing_credential_shaped(path):
    text = path.read_text()
    for shape, pattern in CREDENTIAL_SHAPES.items():
        assert not pattern.search(text), f"{path}: something shaped like an {shape}"


@pytest.mark.parametrize(
    "sample, shape",
    [
        ("AKIA" + "ABCDEFGHIJKLMNOP", "AWS access key id"),
        ("PK" + "ABCDEFGHIJ0123456789"[:18], "Alpaca key id"),
        ("ABCDEFGH" + "12345678", "AlphaVantage key"),
    ],
    ids=["aws", "alpaca", "alphavantage"],
)
def test_shapes_detect_what_they_are_for(sample, shape):
    assert CREDENTIAL_SHAPES[shape].search(f'"{sample}"')


def test_every_environment_file_was_scanned():
    assert len(COMMITTED) == 6
