"""Files the tools read and write, with the promises a bad day tests.

Reading: only regular files, of a bounded size, strictly UTF-8, never through
a link out of the directory they belong to, never blocking on a FIFO.
Writing: every file of a build or none, through temporary files renamed
into place; a failure puts back what was already moved, and an interrupt
waits for the renames (milliseconds) to finish or be undone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

from generator.errors import ConfigurationError, Interrupted

_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}
_TEMPORARY_SUFFIX = ".tmp"


def read_regular_text(path: Path, limit: int, within: Path | None = None) -> str:
    """The text of `path`, if it is a regular UTF-8 file of at most `limit` bytes (inside `within`, if given)."""
    shown = printable(str(path))
    if within is not None and path.is_symlink():
        target, root = path.resolve(), within.resolve()
        if not target.is_relative_to(root):
            raise ConfigurationError(
                f"{shown} is a symbolic link out of {printable(str(within))}; not read"
            )
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigurationError(
                f"{shown} is {_KINDS.get(stat.S_IFMT(mode), 'not a regular file')}, not a file; not read"
            )
        # O_NONBLOCK: if a FIFO takes the file's place after the check, opening it does not wait for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(descriptor, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise ConfigurationError(f"cannot read {shown}: {error.strerror}") from None
    if len(data) > limit:
        raise ConfigurationError(f"{shown} is over {limit} bytes; not read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigurationError(
            f"{shown} is not UTF-8 (invalid byte at offset {error.start})"
        ) from None


def printable(text: str) -> str:
    """`text` with every control character escaped, so that quoting it back cannot forge a line or a colour."""
    return "".join(
        character
        if character.isprintable() or character == " "
        else character.encode("unicode_escape").decode("ascii")
        for character in text
    )


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary_beside(path: Path, text: str) -> Path:
    """`text` in a new file beside `path`, named for this process so that a later build can tell a leftover."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=_TEMPORARY_SUFFIX
    )
    try:
        with open(descriptor, "w", encoding="utf-8") as handle:
            # mkstemp creates 0600; a template is a public artefact.
            os.fchmod(handle.fileno(), 0o666 & ~_current_umask())
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return Path(name)


def remove_leftovers(directory: Path, name: str) -> None:
    """Temporary files of `name` left by a build that was killed: those whose process is gone."""
    for leftover in directory.glob(f".{name}.*{_TEMPORARY_SUFFIX}"):
        pid = leftover.name[len(name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[list[int]]:
    """SIGINT and SIGTERM wait until the block ends; the list says which arrived meanwhile."""
    arrived: list[int] = []

    def hold(number: int, _frame: FrameType | None) -> None:
        arrived.append(number)

    previous = {
        number: signal.signal(number, hold)
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield arrived
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def write_all_or_nothing(contents: Mapping[Path, str]) -> None:
    """Every file of `contents`, or, if any write or rename fails, none: the files already moved are put back."""
    staged: dict[Path, Path] = {}
    try:
        for path, text in contents.items():
            remove_leftovers(path.parent, path.name)
            try:
                staged[path] = _temporary_beside(path, text)
            except OSError as error:
                raise ConfigurationError(
                    f"cannot write {printable(str(path))}: {error.strerror}; nothing was written"
                ) from None
        with _interrupts_deferred() as arrived:
            _rename_all(staged)
        if arrived:
            raise Interrupted("interrupted after every file was written")
    finally:
        for temporary in staged.values():
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


def _backup(path: Path) -> Path:
    """A second name for the file now at `path` (a hard link, or a copy where links are not supported)."""
    backup = path.with_name(f".{path.name}.{os.getpid()}.previous{_TEMPORARY_SUFFIX}")
    with contextlib.suppress(FileNotFoundError):
        backup.unlink()
    try:
        os.link(path, backup)
    except OSError:
        shutil.copy2(path, backup)
    return backup


def _rename_all(staged: Mapping[Path, Path]) -> None:
    moved: list[tuple[Path, Path | None]] = []
    failing: Path | None = None
    try:
        for failing, temporary in staged.items():
            backup = _backup(failing) if failing.exists() else None
            moved.append((failing, backup))
            os.replace(temporary, failing)
    except OSError as error:
        for path, backup in reversed(moved):
            if backup is not None:
                os.replace(backup, path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        # The file being moved when it failed: its backup may be what failed,
        # before it joined `moved`.
        failed = printable(str(failing)) if failing else "a file"
        raise ConfigurationError(
            f"cannot write {failed}: {error.strerror}; nothing was written"
        ) from None
    finally:
        for _, backup in moved:
            if backup is not None:
                with contextlib.suppress(FileNotFoundError):
                    backup.unlink()


def write_atomically(path: Path, text: str) -> None:
    """One file, replaced in one step, so that a reader or a crash never sees half of it."""
    try:
        temporary = _temporary_beside(path, text)
    except OSError as error:
        raise ConfigurationError(
            f"cannot write to {printable(str(path.parent))}: {error.strerror}"
        ) from None
    try:
        os.replace(temporary, path)
    except OSError as error:
        raise ConfigurationError(
            f"cannot write {printable(str(path))}: {error.strerror}"
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
