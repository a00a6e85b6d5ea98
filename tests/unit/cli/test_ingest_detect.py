"""`contactlake ingest` guesses the source from the content, or says which one fits; an export with no
rows is refused as "no rows" unless its source is configured as allowed to be empty."""

from __future__ import annotations

import gzip
import shutil
from importlib import resources
from pathlib import Path

import pytest

from contactlake.cli import main

SAMPLE = Path(str(resources.files("contactlake") / "sample_data"))
AGENTS = SAMPLE / "exports" / "north" / "agents" / "agents-2026-11-02.csv.gz"
CALLS = SAMPLE / "exports" / "north" / "acd" / "calls-2026-11-02.csv.gz"
CONNECT = Path(__file__).resolve().parents[2] / "fixtures" / "amazon_connect" / "ctr-2024-03-05.jsonl"


def ingest(capsys: pytest.CaptureFixture[str], home: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--home", str(home), "ingest", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def raw_keys(home: Path) -> list[str]:
    raw = home / "raw"
    return (
        sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()) if raw.exists() else []
    )


def header_only(tmp_path: Path) -> Path:
    with gzip.open(CALLS, "rt", encoding="utf-8") as handle:
        header = handle.readline()
    path = tmp_path / "acd-2026-11-20.csv"
    path.write_text(header, encoding="utf-8")
    return path


def config_allowing_empty(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(SAMPLE / "mappings", folder / "mappings")
    text = (SAMPLE / "contactlake.toml").read_text(encoding="utf-8")
    marker = "[centres.north.sources.acd]\n"
    assert marker in text
    path = folder / "contactlake.toml"
    path.write_text(text.replace(marker, marker + "allow_empty = true\n"), encoding="utf-8")
    return path


def test_the_source_is_detected_from_the_content(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "today.csv.gz"  # a name that says nothing
    shutil.copy(AGENTS, export)
    code, out, err = ingest(capsys, tmp_path / "lake", str(export), "--centre", "north")
    assert code == 0, err
    assert "source: agents (detected: the header has agent, state, start, end)" in out
    assert raw_keys(tmp_path / "lake") == ["north/agents/today.csv.gz"]
    assert "stored — read 85" in out


def test_a_mismatch_names_the_source_that_would_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = ingest(capsys, tmp_path / "lake", str(AGENTS), "--centre", "north", "--source", "acd")
    assert code == 2
    assert "does not look like source 'acd'" in err
    assert "did you mean --source agents?" in err
    assert raw_keys(tmp_path / "lake") == []  # nothing stored under the wrong source


def test_amazon_connect_records_sent_to_a_csv_source_are_named_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = ingest(capsys, tmp_path / "lake", str(CONNECT), "--centre", "north", "--source", "acd")
    assert code == 4
    assert "is JSON (Amazon Connect contact trace records), but source 'acd' reads delimited text" in err
    assert 'add a source with adapter = "amazon_connect"' in err
    assert "Type:" not in err
    assert "duplicate" not in err
    code, _, err = ingest(capsys, tmp_path / "lake", str(CONNECT), "--centre", "north")
    assert code == 4
    assert "fits none of centre north's sources" in err


@pytest.mark.parametrize("content", ["header", "empty"])
def test_an_export_without_rows_is_refused_as_no_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    export = header_only(tmp_path) if content == "header" else tmp_path / "acd-2026-11-20.csv"
    if content == "empty":
        export.write_bytes(b"")
    code, _, err = ingest(capsys, tmp_path / "lake", str(export), "--centre", "north", "--source", "acd")
    assert code == 4
    assert "has no rows" in err
    assert "set allow_empty = true under [centres.north.sources.acd]" in err
    assert raw_keys(tmp_path / "lake") == []


def test_a_source_allowed_to_be_empty_accepts_an_export_without_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(config_allowing_empty(tmp_path))
    home = tmp_path / "lake"
    export = header_only(tmp_path)
    code = main(["--home", str(home), "--config", config, "ingest", str(export), "--centre", "north"])
    out = capsys.readouterr().out
    assert code == 0
    assert "no rows (it has a header and no data rows); allowed for source 'acd' (allow_empty)" in out
    assert "stored — read 0" in out
    empty = tmp_path / "acd-2026-11-21.csv"
    empty.write_bytes(b"")

    def ingest_empty(source: str) -> int:
        argv = ["--home", str(home), "--config", config, "ingest", str(empty), "--centre", "north"]
        return main([*argv, "--source", source])

    assert ingest_empty("acd") == 0
    assert "no rows (it is empty); allowed" in capsys.readouterr().out
    # The agents source keeps the default: an empty agent export is still refused.
    code = ingest_empty("agents")
    assert code == 4
