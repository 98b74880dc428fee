"""The project's exceptions (each subclasses a builtin) and `Diagnostic`, a returned warning."""

from __future__ import annotations

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


@dataclass(frozen=True)
class Diagnostic:
    """Something a user should hear about that did not stop the work (returned, never printed).

    The command line prints each as `warning: <message>`; the app shows it on the page.
    """

    message: str
    kind: str = "warning"

    def __str__(self) -> str:
        return self.message
