"""The project's exceptions (each subclasses a builtin) and `Diagnostic`, a returned warning."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass


class RecordError(ValueError):
    """A file is not a readable trial record; says where and what was expected."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The error as `FILE:LINE: message` (LINE omitted when the file has no lines)."""
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class TableError(ValueError):
    """A cached site table is corrupt, foreign or of an unknown version."""


class FetchError(RuntimeError):
    """A study could not be downloaded from the registry."""


class PathError(OSError):
    """A path is not what a command may use (a device, a FIFO, a directory); checked unopened."""

    # str() is the one line the command line prints: `PATH: what it is, expected what`.

    def __init__(
        self,
        path: str | os.PathLike[str],
        found: str,
        expected: str,
        code: int = errno.EINVAL,
    ) -> None:
        super().__init__(code, f"{found}, expected {expected}", os.fspath(path))
        self.found = found
        self.expected = expected

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


@dataclass(frozen=True)
class Diagnostic:
    """Something a user should hear about that did not stop the work (returned, never printed).

    The command line prints each as `warning: <message>`; the app shows it on the page.
    """

    message: str
    kind: str = "warning"

    def __str__(self) -> str:
        return self.message
