"""The spine on the shipped sample: every row accounted for, and a re-run leaves exactly the same lake."""

from __future__ import annotations

import email
import hashlib
from email import policy
from pathlib import Path

from contactlake.cli import main
from contactlake.config import AppConfig, Settings
from contactlake.pipeline import process_upload
from contactlake.ports import Ports
from contactlake.sample import write_sample


def _lake_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix == ".parquet"
    }


def test_rerunning_an_upload_changes_nothing(
    ports: Ports, config: AppConfig, settings: Settings, tmp_path: Path
) -> None:
    from datetime import date

    files = write_sample(settings.home / "raw", date(2026, 11, 2), 1)
    keys = [f.relative_to(settings.home / "raw").as_posix() for f in files]
    first = [process_upload(ports, config, settings, key) for key in keys]
    before = _lake_digest(settings.home)
    second = [process_upload(ports, config, settings, key) for key in keys]
    assert _lake_digest(settings.home) == before
    assert [m.upload_id for m in first] == [m.upload_id for m in second]
    calls = first[0]
    assert calls.reconciles
    assert calls.rows_read == calls.rows_stored + calls.rows_quarantined + calls.rows_excluded
    assert calls.quarantined_by_rule == {
        "duplicate.contact_id_in_file": 1,
        "outcome.unknown_code": 1,
        "timestamp.invalid": 1,
    }
    assert (calls.rows_flagged, calls.flagged_by_rule) == (1, {"duration.negative": 1})
    stored = ports.engine.query(
        "SELECT count(*) AS n, count(DISTINCT contact_id) AS ids FROM contacts WHERE upload_id = :u",
        {"u": calls.upload_id},
    ).to_pylist()
    assert stored == [{"n": calls.rows_stored, "ids": calls.rows_stored}]


def test_demo_command_end_to_end(tmp_path: Path, capsys: object) -> None:
    home = tmp_path / "lake"
    assert main(["--home", str(home), "demo"]) == 0
    assert list(
        (home / "lake" / "curated" / "contacts").glob("centre_id=north/contact_date=2026-11-02/*.parquet")
    )
    assert list((home / "quarantine" / "rows").rglob("*.parquet"))
    assert list((home / "reports").rglob("*.html"))
    assert list((home / "outbox").glob("*.eml"))
    manifests = list((home / "lake" / "manifests").glob("*.json"))
    # 56 nightly sample exports, the Anonymous Bank month and the scripted corrected re-export
    assert len(manifests) == 58
    subjects = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"]
        for p in (home / "outbox").glob("*.eml")
    ]
    assert any(s.startswith("contactlake alerts for") for s in subjects), subjects
    assert any(s.startswith("Restated: Operations daily report") for s in subjects), subjects
    assert any("(restated)" in s for s in subjects), subjects
    before = _lake_digest(home / "lake")
    assert main(["--home", str(home), "demo"]) == 0
    assert _lake_digest(home / "lake") == before
    # Issue 15: `SELECT … FROM quarantine` on the demo lake finds no caller number (112 rows held one).
    assert (
        main(["--home", str(home), "sql", "SELECT raw_text, message FROM quarantine", "--format", "csv"]) == 0
    )
    quarantine = capsys.readouterr().out  # type: ignore[attr-defined]
    numbers = {
        line.split(",")[14]
        for export in (home / "raw" / "north" / "acd").glob("*.csv*")
        for line in _text(export).splitlines()[1:]
        if line.count(",") >= 19 and line.split(",")[14]
    }
    assert numbers
    assert "[number]" in quarantine
    assert not [number for number in numbers if number in quarantine]


def _text(path: Path) -> str:
    import gzip

    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", errors="replace")
