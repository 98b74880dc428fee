"""dashboard.io: path checks that never open what they check, the atomic write, stale temp files."""

from __future__ import annotations

import errno
import os
import re
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import dashboard.io
from dashboard.errors import PathError
from dashboard.io import (
    atomic_write_text,
    check_input_file,
    check_output_dir,
    check_output_file,
    remove_stale_temp_files,
)

HOUR_S = 3600
NULL_DEVICE = (1, 3)  # major, minor of /dev/null
ZERO_DEVICE = (1, 5)  # major, minor of /dev/zero


def make_char_device(path: Path, device: tuple[int, int] = NULL_DEVICE) -> Path:
    """A copy of a character device node at `path` (skips the test where mknod is not allowed)."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(*device))
    except PermissionError:
        pytest.skip("os.mknod needs root (CAP_MKNOD) to make a character device")
    return path


def assert_char_device(path: Path, device: tuple[int, int] = NULL_DEVICE) -> None:
    """`path` is still the same character device node: not renamed, replaced or turned regular."""
    st = os.lstat(path)
    assert stat.S_ISCHR(st.st_mode)
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == device


def _regular(tmp: Path) -> Path:
    path = tmp / "file.txt"
    path.write_text("x\n")
    return path


def _symlink_to_regular(tmp: Path) -> Path:
    link = tmp / "link.txt"
    link.symlink_to(_regular(tmp))
    return link


def _directory(tmp: Path) -> Path:
    path = tmp / "dir"
    path.mkdir()
    return path


def _fifo(tmp: Path) -> Path:
    path = tmp / "fifo"
    os.mkfifo(path)
    return path


def _socket(tmp: Path) -> Path:
    path = tmp / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the socket file stays
    return path


def _loop(tmp: Path) -> Path:
    (tmp / "a").symlink_to(tmp / "b")
    (tmp / "b").symlink_to(tmp / "a")
    return tmp / "a"


def _broken_link(tmp: Path) -> Path:
    link = tmp / "broken"
    link.symlink_to(tmp / "nothing-here")
    return link


def _null(tmp: Path) -> Path:
    return make_char_device(tmp / "null")


def _link_to_device(tmp: Path) -> Path:
    link = tmp / "link-to-null"
    link.symlink_to(_null(tmp))
    return link


# name, maker of the path, the words the refusal must use (None: the path is accepted)
INPUT_CASES = [
    # an ordinary file
    pytest.param(_regular, None, id="regular"),
    # a symlink to an ordinary file: followed
    pytest.param(_symlink_to_regular, None, id="symlink-to-regular"),
    # a directory where a file is expected
    pytest.param(_directory, "a directory", id="directory"),
    # a FIFO: opening it would block until a writer comes
    pytest.param(_fifo, "a named pipe (FIFO)", id="fifo"),
    # a copy of /dev/null (mknod)
    pytest.param(_null, "a character device", id="char-device"),
    # a copy of /dev/zero: reading it never ends
    pytest.param(
        lambda tmp: make_char_device(tmp / "zero", ZERO_DEVICE), "a character device", id="zero"
    ),
    # a Unix socket
    pytest.param(_socket, "a socket", id="socket"),
    # two symlinks pointing at each other
    pytest.param(_loop, "a symbolic link loop", id="symlink-loop"),
    # a symlink whose target is gone
    pytest.param(_broken_link, "a broken symbolic link", id="broken-symlink"),
    # a symlink to a device: what it points to is what counts
    pytest.param(_link_to_device, "a symbolic link to a character device", id="link-to-device"),
    # a kernel file: stat says "regular file" of size 0, reading it reads process memory
    pytest.param(lambda tmp: Path("/proc/self/mem"), "kernel file", id="proc-self-mem"),
    # a path through a regular file
    pytest.param(lambda tmp: _regular(tmp) / "x", "not a directory", id="through-a-file"),
]


@pytest.mark.parametrize(("make", "says"), INPUT_CASES)
def test_check_input_file(make: Callable[[Path], Path], says: str | None, tmp_path: Path) -> None:
    """Only a regular file passes; anything else is one PathError naming the path and its kind."""
    path = make(tmp_path)
    if says is None:
        assert check_input_file(path) == path
        return
    with pytest.raises(PathError) as caught:
        check_input_file(path, "a trial record")
    assert str(caught.value).startswith(f"{path}: ")
    assert says in str(caught.value)
    assert str(caught.value).endswith(", expected a trial record")


def test_check_input_file_missing_is_file_not_found(tmp_path: Path) -> None:
    """Nothing there: the usual FileNotFoundError (the command line says "no such file")."""
    with pytest.raises(FileNotFoundError):
        check_input_file(tmp_path / "nope.txt")


def test_path_error_is_an_os_error_with_one_line() -> None:
    """`PathError` is an OSError whose str() is `PATH: what it is, expected what`."""
    err = PathError("/x/y", "a socket", "a regular file")
    assert isinstance(err, OSError)
    assert err.filename == "/x/y"
    assert str(err) == "/x/y: a socket, expected a regular file"


# name, maker of the path, the words the refusal must use (None: accepted)
OUTPUT_FILE_CASES = [
    # a new file in an existing directory
    pytest.param(lambda tmp: tmp / "new.csv", None, id="new-file"),
    # an existing regular file: it will be replaced
    pytest.param(_regular, None, id="regular"),
    # a new file in a directory that does not exist
    pytest.param(lambda tmp: tmp / "missing" / "new.csv", "missing directory", id="missing-dir"),
    # a directory where the table should go
    pytest.param(_directory, "a directory", id="directory"),
    # a FIFO
    pytest.param(_fifo, "a named pipe (FIFO)", id="fifo"),
    # a copy of /dev/null
    pytest.param(_null, "a character device", id="char-device"),
    # a symlink loop
    pytest.param(_loop, "a symbolic link loop", id="symlink-loop"),
    # a kernel file
    pytest.param(lambda tmp: Path("/proc/self/mem"), "kernel file", id="proc-self-mem"),
    # a new file in a kernel directory
    pytest.param(lambda tmp: Path("/proc/self/new.csv"), "kernel directory", id="in-proc"),
]


@pytest.mark.parametrize(("make", "says"), OUTPUT_FILE_CASES)
def test_check_output_file(make: Callable[[Path], Path], says: str | None, tmp_path: Path) -> None:
    """A regular file or a new file in an existing directory passes; the rest is a PathError."""
    path = make(tmp_path)
    if says is None:
        assert check_output_file(path) == path
        return
    with pytest.raises(
        PathError, match=f"^{re.escape(str(path))}: .*{re.escape(says)}.*, expected "
    ):
        check_output_file(path)


def test_check_output_file_writes_a_symlinks_target(tmp_path: Path) -> None:
    """A symlink to a regular file: the target is what gets written (the link stays a link)."""
    link = _symlink_to_regular(tmp_path)
    assert check_output_file(link) == (tmp_path / "file.txt")


def test_check_output_file_may_create_the_parent_when_asked(tmp_path: Path) -> None:
    """The default `data/<NCT>.sites.csv`: `data/` may be created, if its own parent exists."""
    assert check_output_file(tmp_path / "data" / "t.csv", create_parent=True)
    with pytest.raises(PathError):
        check_output_file(_regular(tmp_path) / "t.csv", create_parent=True)


# name, maker of the path, the words the refusal must use (None: accepted)
OUTPUT_DIR_CASES = [
    # an existing directory
    pytest.param(_directory, None, id="directory"),
    # a new directory in an existing one
    pytest.param(lambda tmp: tmp / "new", None, id="new"),
    # new directories under an existing one (created with their parents)
    pytest.param(lambda tmp: tmp / "new" / "deeper", None, id="new-nested"),
    # a regular file where the directory should be
    pytest.param(_regular, "a regular file", id="regular-file"),
    # a FIFO
    pytest.param(_fifo, "a named pipe (FIFO)", id="fifo"),
    # a copy of /dev/null
    pytest.param(_null, "a character device", id="char-device"),
    # a symlink loop
    pytest.param(_loop, "a symbolic link loop", id="symlink-loop"),
    # a kernel directory
    pytest.param(lambda tmp: Path("/proc/self"), "kernel directory", id="proc-self"),
]


@pytest.mark.parametrize(("make", "says"), OUTPUT_DIR_CASES)
def test_check_output_dir(make: Callable[[Path], Path], says: str | None, tmp_path: Path) -> None:
    """A directory, or a missing one under an existing directory; the rest is a PathError."""
    path = make(tmp_path)
    if says is None:
        assert check_output_dir(path) == path
        return
    with pytest.raises(
        PathError, match=f"^{re.escape(str(path))}: .*{re.escape(says)}.*, expected "
    ):
        check_output_dir(path)


# ----------------------------------------------------------------------------- atomic_write


def test_atomic_write_refuses_a_device_and_leaves_it(tmp_path: Path) -> None:
    """A device node is never replaced by a regular file (as root, /dev/null would be)."""
    dev = _null(tmp_path)
    with pytest.raises(PathError, match="a character device"):
        atomic_write_text(dev, "x\n")
    assert_char_device(dev)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_atomic_write_refuses_a_fifo_without_opening_it(tmp_path: Path) -> None:
    """A FIFO is refused by its stat (opening it would block), and stays a FIFO."""
    fifo = _fifo(tmp_path)
    with pytest.raises(PathError, match="FIFO"):
        atomic_write_text(fifo, "x\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_atomic_write_refuses_a_directory(tmp_path: Path) -> None:
    """A directory named like the file: refused, left as it was."""
    d = _directory(tmp_path)
    with pytest.raises(PathError, match="a directory"):
        atomic_write_text(d, "x\n")
    assert d.is_dir()


# (what fails, how): an OSError from the write names the target, never the temp file
WRITE_FAILURES = [
    # the rename onto a read-only filesystem
    pytest.param("replace", errno.EROFS, id="erofs-replace"),
    # creating the temporary file in a read-only directory
    pytest.param("mkstemp", errno.EROFS, id="erofs-mkstemp"),
    # the disk fills up when the data is flushed
    pytest.param("fsync", errno.ENOSPC, id="enospc-fsync"),
    # the directory is not writable
    pytest.param("replace", errno.EACCES, id="eacces-replace"),
]


@pytest.mark.parametrize(("where", "code"), WRITE_FAILURES)
def test_a_failed_write_names_the_target_and_leaves_it(
    where: str, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old file stays byte for byte, no temp file is left, the error names the target."""
    target = tmp_path / "t.csv"
    target.write_text("old\n")

    def fail(*args: object, **kwargs: object) -> None:
        name = args[0] if args and isinstance(args[0], str) else None
        raise OSError(code, os.strerror(code), name)

    if where == "mkstemp":
        monkeypatch.setattr(
            dashboard.io.tempfile,
            "mkstemp",
            lambda **kw: fail(str(tmp_path / ".t.csv.abcdefgh.tmp")),
        )
    else:
        monkeypatch.setattr(dashboard.io.os, where, fail)
    with pytest.raises(OSError) as caught:
        atomic_write_text(target, "new\n")
    assert caught.value.errno == code
    assert caught.value.filename == str(target)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


# ----------------------------------------------------------------------------- stale temp files


def _age(path: Path, seconds: float) -> Path:
    """Set `path`'s modification time `seconds` in the past (without following a symlink)."""
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)
    return path


def test_stale_temp_files_go_and_fresh_ones_stay(tmp_path: Path) -> None:
    """Only old `.<name>.<random>.tmp` regular files are removed."""
    # a write that died two hours ago: removed
    stale = tmp_path / ".t.csv.abc12_xy.tmp"
    stale.write_text("half a table")
    _age(stale, 2 * HOUR_S)
    # another writer's file, being written now: kept
    fresh = tmp_path / ".t.csv.q9w8e7r6.tmp"
    fresh.write_text("in progress")
    # old files whose names do not match the pattern: kept
    others = [tmp_path / n for n in ("notes.tmp", ".notes.tmp", "t.csv.abcdefgh.tmp", "t.csv")]
    for p in others:
        p.write_text("mine")
        _age(p, 2 * HOUR_S)
    # an old symlink with a matching name: kept, and its target too
    target = tmp_path / "target.txt"
    target.write_text("keep")
    _age(target, 2 * HOUR_S)
    link = tmp_path / ".x.csv.abcdefgh.tmp"
    link.symlink_to(target)
    _age(link, 2 * HOUR_S)
    # an old directory with a matching name: kept
    d = tmp_path / ".y.csv.abcdefgh.tmp"
    d.mkdir()
    _age(d, 2 * HOUR_S)

    assert remove_stale_temp_files(tmp_path) == [stale]
    assert not stale.exists()
    assert fresh.read_text() == "in progress"
    assert all(p.exists() for p in [*others, target, d]) and link.is_symlink()


def test_stale_temp_files_in_a_missing_directory_are_no_error(tmp_path: Path) -> None:
    """Nothing to list: nothing removed, no error."""
    assert remove_stale_temp_files(tmp_path / "missing") == []


def test_atomic_write_clears_stale_temp_files_first(tmp_path: Path) -> None:
    """Writing a file removes temp files dead writers left next to it, keeps live ones."""
    stale = tmp_path / ".t.csv.deadbeef.tmp"
    stale.write_text("interrupted an hour and a half ago")
    _age(stale, 1.5 * HOUR_S)
    fresh = tmp_path / ".t.csv.alive123.tmp"
    fresh.write_text("another build, writing now")
    atomic_write_text(tmp_path / "t.csv", "new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "t.csv"]
