"""Side effects at the edge: the one atomic file write, and a clock that tests can replace."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

NEW_FILE_MODE = 0o644
ENCODING = "utf-8"


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[IO[bytes]], None],
    *,
    mode: int | None = None,
) -> Path:
    """Write a file so that readers see the old or the new content, never a part.

    `write` fills a temporary file in the same directory; it is flushed and fsynced, given the
    old file's mode (or `mode`, or 0644 for a new file), then renamed over `path`. On any
    failure the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is None:
            # mkstemp creates 0600 files: keep the old file's mode, or the usual 0644.
            mode = path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> Path:
    """`atomic_write` of UTF-8 text (no newline translation)."""
    data = text.encode(ENCODING)
    return atomic_write(path, lambda fh: fh.write(data), mode=mode)


class Clock(Protocol):
    """Time as the code that waits or keeps deadlines sees it."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait this long."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """time.sleep()."""
        time.sleep(seconds)


SYSTEM_CLOCK: Clock = SystemClock()
