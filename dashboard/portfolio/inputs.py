"""Where a portfolio's records come from: folders of record files, and the registry's bulk zip.

Each record is an `Input`: a stable `source` key (the file's path, or "ZIP!member" for a
member of a zip), a `token` that changes whenever the record may have changed (size and
modification time of a file; size and CRC of a zip member), and a `read()` that returns its
bytes when called. Nothing is read while the inputs are listed, and a zip is read one member at a
time, so the registry's bulk download (one JSON per study, several GB unpacked) is never loaded
whole.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dashboard.ingest import MAX_RECORD_BYTES

RECORD_SUFFIXES = (".txt", ".json")
ZIP_SUFFIX = ".zip"
# Text and JSON files a data folder holds that are not trial records.
NOT_RECORDS = ("overrides.csv", "countries.geojson", "SOURCES.csv")
ZIP_SEPARATOR = "!"


@dataclass(frozen=True)
class Input:
    """One record to read: its key, its change token, and how to get its bytes."""

    source: str
    token: str
    read: Callable[[], bytes]
    size: int = 0


def _file_input(path: Path) -> Input:
    st = path.stat()

    def read() -> bytes:
        with open(path, "rb") as fh:
            return fh.read(MAX_RECORD_BYTES + 1)

    return Input(str(path), f"{st.st_size}-{st.st_mtime_ns}", read, st.st_size)


def zip_inputs(path: Path) -> Iterator[Input]:
    """The records in a zip, one per .json/.txt member, read lazily member by member."""
    archive = zipfile.ZipFile(path)  # noqa: SIM115 - kept open while the members are read
    for info in archive.infolist():
        if info.is_dir() or not info.filename.lower().endswith(RECORD_SUFFIXES):
            continue

        def read(info: zipfile.ZipInfo = info) -> bytes:
            with archive.open(info) as fh:
                return fh.read(MAX_RECORD_BYTES + 1)

        yield Input(
            f"{path}{ZIP_SEPARATOR}{info.filename}",
            f"{info.file_size}-{info.CRC}",
            read,
            info.file_size,
        )


def _is_record_file(path: Path) -> bool:
    return (
        path.suffix.lower() in RECORD_SUFFIXES
        and path.name not in NOT_RECORDS
        and not path.name.startswith(".")
    )


def scan(root: str | os.PathLike[str]) -> Iterator[Input]:
    """Every record under `root` (a folder, searched recursively; a zip; or one record file),
    in a stable order. Hidden folders and files are skipped."""
    root = Path(root)
    if root.is_file():
        if root.suffix.lower() == ZIP_SUFFIX:
            yield from zip_inputs(root)
        else:
            yield _file_input(root)
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_file():
                continue
            if path.suffix.lower() == ZIP_SUFFIX:
                yield from zip_inputs(path)
            elif _is_record_file(path):
                yield _file_input(path)
