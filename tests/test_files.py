"""write_atomically: a reader or a crash never sees half a file, and a failure leaves nothing behind."""

from __future__ import annotations

import pytest

from generator import files
from generator.errors import ConfigurationError


def test_failed_replace_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "dev" / "secrets.json"

    def refuse(*_):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(ConfigurationError, match=r"cannot write .*Permission denied"):
        files.write_atomically(target, "{}\n")
    assert list((tmp_path / "dev").iterdir()) == []


def test_written_file_is_world_readable_and_whole(tmp_path):
    files.write_atomically(tmp_path / "t.json", "{}\n")
    assert (tmp_path / "t.json").stat().st_mode & 0o044 == 0o044
    assert (tmp_path / "t.json").read_text() == "{}\n"


def test_an_unwritable_directory_is_a_configuration_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError, match=f"cannot write to {blocker}"):
        files.write_atomically(blocker / "t.json", "{}\n")
