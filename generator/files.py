"""Writing files so that a reader, or a crash, never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from generator.errors import ConfigurationError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step, so that a reader or a crash never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        )
    except OSError as error:
        raise ConfigurationError(f"cannot write to {path.parent}: {error.strerror}") from None
    try:
        with handle:
            # NamedTemporaryFile creates 0600; a template is a public artefact.
            os.fchmod(handle.fileno(), 0o666 & ~_current_umask())
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except OSError as error:
        raise ConfigurationError(f"cannot write {path}: {error.strerror}") from None
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
