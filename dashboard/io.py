"""Side effects at the edge: path checks, the one atomic file write, and a replaceable clock.

The checks look at a path with `os.stat`/`os.lstat` only, never opening it, so a device, a FIFO
or a kernel file (`/proc`, `/sys`) is refused before anything could read, block on, truncate or
rename it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from dashboard.errors import PathError

NEW_FILE_MODE = 0o644
ENCODING = "utf-8"
# `atomic_write`'s temporary files: mkstemp(prefix=".<name>.", suffix=".tmp") adds 8 characters.
TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
STALE_TEMP_AGE_S = 3600  # a write that has not touched its temporary file for an hour is dead
# Filesystems whose "regular" files are windows into the kernel: /proc/self/mem, /sys/...
KERNEL_FILESYSTEMS = frozenset(
    {
        "proc",
        "sysfs",
        "debugfs",
        "tracefs",
        "securityfs",
        "configfs",
        "cgroup",
        "cgroup2",
        "pstore",
        "bpf",
        "efivarfs",
        "binfmt_misc",
        "fusectl",
        "mqueue",
    }
)
MOUNTS_FILE = "/proc/self/mounts"
REGULAR_FILE = "a regular file"
OUTPUT_FILE = "a regular file, or a new file in an existing directory"
OUTPUT_DIR = "a directory, or a new one under an existing directory"
REPLACEABLE = "a regular file to replace"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISREG, "a regular file"),
)


def describe_mode(mode: int) -> str:
    """What an `st_mode` is, in words: "a directory", "a character device", ..."""
    return next((words for test, words in _KINDS if test(mode)), "a special file")


def _unescape_mount_field(field: str) -> str:
    """A field of /proc/self/mounts with its octal escapes (`\\040` for a space) undone."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


@functools.cache
def _kernel_devices() -> dict[int, str]:
    """`st_dev` -> type of every mounted kernel filesystem (proc, sysfs, ...), read once."""
    devices: dict[int, str] = {}
    try:
        with open(MOUNTS_FILE, encoding="utf-8", errors="replace") as fh:
            mounts = [line.split() for line in fh]
    except OSError:
        return devices  # no procfs mounted (or not Linux): there is no /proc/self/mem to refuse
    for fields in mounts:
        if len(fields) >= 3 and fields[2] in KERNEL_FILESYSTEMS:
            try:
                devices.setdefault(os.stat(_unescape_mount_field(fields[1])).st_dev, fields[2])
            except OSError:
                continue
    return devices


def _kernel_filesystem(st: os.stat_result) -> str | None:
    """The kernel filesystem (e.g. "proc") that a stat result lives on, or None."""
    return _kernel_devices().get(st.st_dev)


def _what(path: Path, st: os.stat_result) -> str:
    """What `path` (already stat'ed, symlinks followed) is, in words."""
    kernel = _kernel_filesystem(st)
    if kernel:
        kind = "directory" if stat.S_ISDIR(st.st_mode) else "file"
        what = f"a kernel {kind} in the {kernel} filesystem"
    else:
        what = describe_mode(st.st_mode)
    return f"a symbolic link to {what}" if path.is_symlink() else what


def _is_plain(st: os.stat_result, test: Callable[[int], bool]) -> bool:
    """Whether a stat result passes `test` (S_ISREG, S_ISDIR) and is not a kernel file."""
    return test(st.st_mode) and _kernel_filesystem(st) is None


def _stat(path: Path, given: str, expected: str) -> os.stat_result | None:
    """`os.stat` (following symlinks) or None if nothing is there; PathError for a link loop."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        if path.is_symlink():
            raise PathError(given, "a broken symbolic link", expected, errno.ENOENT) from None
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PathError(given, "a symbolic link loop", expected, errno.ELOOP) from None
        if exc.errno == errno.ENOTDIR:
            found = "a path through a file that is not a directory"
            raise PathError(given, found, expected, errno.ENOTDIR) from None
        raise


def _refuse(path: Path, given: str, st: os.stat_result, expected: str) -> PathError:
    """The PathError for an existing path of the wrong kind."""
    code = errno.EISDIR if stat.S_ISDIR(st.st_mode) else errno.EINVAL
    return PathError(given, _what(path, st), expected, code)


def check_input_file(path: str | os.PathLike[str], expected: str = REGULAR_FILE) -> Path:
    """`path` if it is a regular file to read (symlinks followed), checked without opening it."""
    given = os.fspath(path)
    p = Path(given)
    st = _stat(p, given, expected)
    if st is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), given)
    if not _is_plain(st, stat.S_ISREG):
        raise _refuse(p, given, st, expected)
    return p


def check_output_file(
    path: str | os.PathLike[str],
    expected: str = OUTPUT_FILE,
    *,
    create_parent: bool = False,
) -> Path:
    """Where to write `path`: a regular file (a symlink's target) or a new file in a directory."""
    # With `create_parent`, the directory may be missing too, if `check_output_dir` accepts it.
    given = os.fspath(path)
    p = Path(given)
    st = _stat(p, given, expected)
    if st is not None:
        if not _is_plain(st, stat.S_ISREG):
            raise _refuse(p, given, st, expected)
        # Write the link's target, not over the link (its temporary file goes next to it).
        return Path(os.path.realpath(p)) if p.is_symlink() else p
    try:
        parent = os.stat(p.parent)
    except FileNotFoundError:
        if create_parent:
            check_output_dir(p.parent)
            return p
        found = f"a new file in a missing directory ({p.parent})"
        raise PathError(given, found, expected, errno.ENOENT) from None
    except OSError as exc:
        found = f"a new file in {p.parent} ({exc.strerror or exc})"
        raise PathError(given, found, expected, exc.errno or errno.EINVAL) from None
    if not _is_plain(parent, stat.S_ISDIR):
        found = f"a new file in {p.parent} ({_what(p.parent, parent)})"
        raise PathError(given, found, expected, errno.ENOTDIR)
    return p


def check_output_dir(path: str | os.PathLike[str], expected: str = OUTPUT_DIR) -> Path:
    """`path` if it is a directory to write in, or a missing one under an existing directory."""
    given = os.fspath(path)
    p = Path(given)
    st = _stat(p, given, expected)
    if st is not None:
        if not _is_plain(st, stat.S_ISDIR):
            raise _refuse(p, given, st, expected)
        return p
    # Missing: it will be created (with any missing parents) under its nearest existing ancestor.
    ancestor = p.parent
    while True:
        try:
            found_st = os.stat(ancestor)
            break
        except FileNotFoundError:
            if ancestor.parent == ancestor:
                raise PathError(given, "a new directory", expected, errno.ENOENT) from None
            ancestor = ancestor.parent
        except OSError as exc:
            found = f"a new directory in {ancestor} ({exc.strerror or exc})"
            raise PathError(given, found, expected, exc.errno or errno.EINVAL) from None
    if not _is_plain(found_st, stat.S_ISDIR):
        found = f"a new directory in {ancestor} ({_what(ancestor, found_st)})"
        raise PathError(given, found, expected, errno.ENOTDIR)
    return p


def remove_stale_temp_files(
    directory: str | os.PathLike[str], older_than_s: float = STALE_TEMP_AGE_S
) -> list[Path]:
    """Delete temp files that dead `atomic_write` calls left in `directory` (errors ignored)."""
    # Only regular files named `.<name>.<random>.tmp` and untouched for `older_than_s` go (and
    # are returned); symlinks are never followed; a younger file (a writer in progress) is kept.
    removed: list[Path] = []
    cutoff = time.time() - older_than_s
    try:
        with os.scandir(directory) as it:
            entries = [e for e in it if TEMP_NAME.fullmatch(e.name)]
    except OSError:
        return removed
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _is_temp_of(name: object, path: Path) -> bool:
    """Whether an error's filename is one of `path`'s temporary files."""
    if not isinstance(name, (str, os.PathLike)):
        return False
    candidate = Path(os.fspath(name))
    return (
        candidate.parent == path.parent
        and candidate.name.startswith(f".{path.name}.")
        and TEMP_NAME.fullmatch(candidate.name) is not None
    )


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[IO[bytes]], None],
    *,
    mode: int | None = None,
) -> Path:
    """Write a file so that readers see the old or the new content, never a part.

    `write` fills a temporary file in the same directory; it is flushed and fsynced, given the
    old file's mode (or `mode`, or 0644 for a new file), then renamed over `path`. On any
    failure the temporary file is removed and `path` is left as it was; an OSError names `path`
    (not the temporary file). A `path` that exists but is not a regular file (a device, a FIFO,
    a directory) is refused with PathError before anything is written. Temporary files that
    dead writers left over an hour ago are removed first.
    """
    path = Path(path)
    st = _stat(path, os.fspath(path), REPLACEABLE)
    if st is not None and not _is_plain(st, stat.S_ISREG):
        raise _refuse(path, os.fspath(path), st, REPLACEABLE)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is None:
            # mkstemp creates 0600 files: keep the old file's mode, or the usual 0644.
            mode = path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and (exc.filename is None or _is_temp_of(exc.filename, path)):
            exc.filename, exc.filename2 = os.fspath(path), None
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
