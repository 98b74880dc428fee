"""Records -> `Trial`: read a file or upload (size limit, decoding, layout sniffing), then parse.

Two layouts are read: the ClinicalTrials.gov text layout (`text_layout`) and the registry's API
v2 JSON (`ctgov_json`); `common` holds what both share and `countries` names countries.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from dashboard.errors import Diagnostic, RecordError
from dashboard.ingest.common import unknown_country
from dashboard.ingest.ctgov_json import parse_json_text
from dashboard.ingest.text_layout import parse_text_record
from dashboard.model import Trial

MAX_RECORD_BYTES = 20 * 1024 * 1024  # the seed is 60 kB; anything this big is not a record
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # not tab, newline, CR or form feed
BINARY_CONTROL_RATIO = 0.05  # share of control characters above which text is "binary"


@dataclass(frozen=True)
class LoadedRecord:
    """A parsed record and what looked wrong in it without stopping the parse."""

    trial: Trial
    diagnostics: tuple[Diagnostic, ...] = ()


def _line_of_offset(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def decode_record(data: bytes, name: str) -> str:
    """Bytes -> text: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252/Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise RecordError(name, None, "expected text, found undecodable UTF-16") from exc
    nul = data.find(b"\x00")
    if nul >= 0:
        raise RecordError(
            name, _line_of_offset(data, nul), "expected a text record, found binary data"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Saved by an old Windows editor: cp1252 covers the "smart quotes", Latin-1 the rest.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    # Counted by a regex, not a Python loop over every character (a record is ~100 kB).
    controls = sum(1 for _ in CONTROL_CHARS.finditer(text))
    if text and controls / len(text) > BINARY_CONTROL_RATIO:
        first = CONTROL_CHARS.search(text)
        assert first is not None
        line = text.count("\n", 0, first.start()) + 1
        raise RecordError(name, line, "expected a text record, found binary data")
    return text


def parse_record(data: bytes, name: str) -> LoadedRecord:
    """Decode a record's bytes and parse it as the text layout or as registry JSON."""
    # Uploads reach here without load_record's bounded read: refuse oversize bytes before
    # decoding them (a 100 MB upload would otherwise be parsed in full).
    if len(data) > MAX_RECORD_BYTES:
        raise _too_big(name)
    text = decode_record(data, name)
    if text.lstrip().startswith(("{", "[")):
        trial = parse_json_text(text, name)
        unknown = sorted({s.country for s in trial.sites if not s.country_code})
        return LoadedRecord(
            trial,
            tuple(Diagnostic(unknown_country(name, c)) for c in unknown),
        )
    trial, diagnostics = parse_text_record(text, name)
    return LoadedRecord(trial, tuple(diagnostics))


def read_record(data: bytes, name: str) -> Trial:
    """The trial in a record's bytes (diagnostics dropped: see `parse_record`)."""
    return parse_record(data, name).trial


def load_record(path: str | os.PathLike[str]) -> LoadedRecord:
    """Read a record file (at most MAX_RECORD_BYTES) and parse it, with its diagnostics."""
    name = os.fspath(path)
    with open(name, "rb") as handle:
        # A regular file's size is known up front; a pipe's is not, so read one byte too many.
        too_big = os.fstat(handle.fileno()).st_size > MAX_RECORD_BYTES
        data = b"" if too_big else handle.read(MAX_RECORD_BYTES + 1)
    if too_big or len(data) > MAX_RECORD_BYTES:
        raise _too_big(name)
    return parse_record(data, name)


def load_trial(path: str | os.PathLike[str]) -> Trial:
    """The trial in a record file (diagnostics dropped: see `load_record`)."""
    return load_record(path).trial


def _too_big(name: str) -> RecordError:
    """The error for a file over MAX_RECORD_BYTES."""
    return RecordError(
        name,
        None,
        f"expected a trial record of at most {MAX_RECORD_BYTES // (1024 * 1024)} MB, "
        "found a bigger file",
    )
