"""`python -m dashboard build DIR|ZIP`: the portfolio from the command line."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from portfolio_support import SOME_EVAL_RECORDS, data_folder

from dashboard.cli import main


def test_build_a_folder_then_again_reads_nothing(tmp_path: Path, capsys: pytest.CaptureFixture):
    folder = data_folder(tmp_path / "data")
    assert main(["build", str(folder), "--quiet"]) == 0
    first = capsys.readouterr().err
    assert (folder / "portfolio.duckdb").is_file()
    assert "7 trials" in first and "7 records read now" in first
    assert main(["build", str(folder), "--quiet"]) == 0
    assert "0 records read now (7 unchanged" in capsys.readouterr().err


def test_build_the_registry_zip_into_a_named_store(tmp_path: Path, capsys: pytest.CaptureFixture):
    folder = data_folder(tmp_path / "data")
    archive = tmp_path / "studies.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (folder / "portfolio").glob("*.json"):
            z.write(path, path.name)
    store = tmp_path / "out" / "all.duckdb"
    assert main(["build", str(archive), "--store", str(store), "--quiet"]) == 0
    assert store.is_file()
    assert f"{len(SOME_EVAL_RECORDS)} trials" in capsys.readouterr().err


def test_options_of_one_record_are_refused_for_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    folder = data_folder(tmp_path / "data")
    assert main(["build", str(folder), "--force"]) == 2
    assert "use --store" in capsys.readouterr().err


def test_a_store_path_that_is_a_directory_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    folder = data_folder(tmp_path / "data")
    (tmp_path / "dir.duckdb").mkdir()
    code = main(["build", str(folder), "--store", str(tmp_path / "dir.duckdb"), "--quiet"])
    err = capsys.readouterr().err
    assert code in (1, 2) and err.count("\n") == 1 and err.startswith("error:")
