"""Writing files: one replaced atomically, or a set all or none; a reader or a crash never sees half of it."""

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


def test_a_failed_backup_names_the_file_it_was_for_and_puts_back_the_others(
    tmp_path, monkeypatch
):
    first, second = tmp_path / "dev.json", tmp_path / "staging.json"
    first.write_text("old dev\n")
    second.write_text("old staging\n")
    real_link = files.os.link

    def refuse_second(source, destination):
        if str(source) == str(second):
            raise OSError(28, "No space left on device")
        real_link(source, destination)

    monkeypatch.setattr(files.os, "link", refuse_second)
    # Where a link fails, the backup falls back to a copy: the disk is full for that too.
    monkeypatch.setattr(files.shutil, "copy2", refuse_second)
    with pytest.raises(ConfigurationError) as raised:
        files.write_all_or_nothing({first: "new dev\n", second: "new staging\n"})
    assert str(raised.value) == (
        f"cannot write {second}: No space left on device; nothing was written"
    )
    assert first.read_text() == "old dev\n" and second.read_text() == "old staging\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.json", "staging.json"]
