"""The project's exceptions; each subclasses a builtin so callers can catch broadly."""

from __future__ import annotations


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


class GeocodeError(RuntimeError):
    """A geocoder could not answer (network absent, timeout, refused, bad answer)."""


class TableError(ValueError):
    """A cached site table is corrupt, foreign or of an unknown version."""


class FetchError(RuntimeError):
    """A study could not be downloaded from the registry."""
