"""The command line: helpful --help, clear errors that say what to do, real output."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactlake.cli import main


def test_help_lists_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "ingest", "analyse", "report", "sql", "serve", "sample"):
        assert command in out


def test_unknown_centre_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "x.csv"
    export.write_text("call_id\n1\n")
    code = main(["--home", str(tmp_path / "lake"), "ingest", str(export), "--centre", "nowhere"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown centre 'nowhere'" in err
    assert "north" in err  # the configured centres are listed


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(tmp_path), "ingest", str(tmp_path / "nope.csv"), "--centre", "north"]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["analyse", "--from", "02/11/2026"])
    assert exit_info.value.code == 2
    assert "use YYYY-MM-DD" in capsys.readouterr().err


def test_ingest_then_sql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    from contactlake.sample import write_sample

    files = write_sample(tmp_path / "exports", date(2026, 11, 2), 1)
    calls = next(f for f in files if f.parent.name == "acd" and "north" in f.parts)
    home = str(tmp_path / "lake")
    assert main(["--home", home, "ingest", str(calls), "--centre", "north", "--source", "acd"]) == 0
    out = capsys.readouterr().out
    assert "(flagged 1: duration.negative 1)" in out  # the negative talk time: stored, nulled
    assert "quarantined 3 (duplicate.contact_id_in_file 1" in out
    assert calls.read_bytes() == (tmp_path / "lake" / "raw" / "north" / "acd" / calls.name).read_bytes()
    assert main(["--home", home, "sql", "SELECT count(*) AS n FROM contacts WHERE centre_id = :c",
                 "--param", "c=north", "--format", "csv"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == '"n"'
    assert int(lines[1]) > 1000


def test_sql_error_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(tmp_path), "sql", "SELECT * FROM no_such_table"]) == 2
    assert "`contactlake tables` lists them all" in capsys.readouterr().err


def test_sql_param_needs_name_equals_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(tmp_path), "sql", "SELECT 1", "--param", "oops"]) == 2
    assert "use name=value" in capsys.readouterr().err


def test_ingest_dry_run_prints_the_counts_by_rule_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import date

    from contactlake.sample import write_sample

    files = write_sample(tmp_path / "exports", date(2026, 11, 2), 1)
    calls = next(f for f in files if f.parent.name == "acd" and "north" in f.parts)
    home = tmp_path / "lake"
    argv = ["--home", str(home), "ingest", str(calls), "--centre", "north", "--source", "acd", "--dry-run"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "dry run, nothing written" in out
    assert "flagged (stored, by rule):   duration.negative 1" in out
    assert "outcome.unknown_code 1" in out
    assert "timestamp.invalid 1" in out
    assert not home.exists() or not any(home.rglob("*.parquet"))


def test_ingest_warns_about_the_demo_key_and_says_what_it_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: replacement is configured per source and reported; the public demo key is flagged."""
    import shutil

    sample = Path(__file__).resolve().parents[3] / "shared/contactlake/sample_data"
    config_dir = tmp_path / "config"
    shutil.copytree(sample / "mappings", config_dir / "mappings")
    text = (sample / "contactlake.toml").read_text(encoding="utf-8")
    north_acd = text.split("[centres.north.sources.acd]", 1)[1].split("\n[", 1)[0]
    assert 'replaces = "day"' in north_acd  # the sample declares it: a corrected re-export replaces the day
    (config_dir / "contactlake.toml").write_text(text, encoding="utf-8")
    header = (
        "call_id,start_time,queue_start,answer_time,end_time,ivr_secs,wait_secs,talk_secs,hold_secs,hold_count,"
        "wrap_secs,result,queue,agent,caller_number,channel,transfers,escalations,disposition,test_case\n"
    )
    row = "A1,2026-11-02T09:00:00,,,2026-11-02T09:01:{s},60,,,,0,,IVR,,,+44 7700 900001,voice,0,0,,\n"
    first, corrected = tmp_path / "calls-2026-11-02.csv", tmp_path / "calls-2026-11-02-corrected.csv"
    first.write_text(header + row.format(s="00"))
    corrected.write_text(header + row.format(s="30"))
    monkeypatch.delenv("CONTACTLAKE_PII_KEY", raising=False)
    common = ["--home", str(tmp_path / "lake"), "--config", str(config_dir / "contactlake.toml"), "ingest"]
    assert main([*common, str(first), "--centre", "north", "--source", "acd"]) == 0
    assert "public demo key" in capsys.readouterr().err
    assert main([*common, str(corrected), "--centre", "north", "--source", "acd"]) == 0
    out = capsys.readouterr().out
    assert "replaced upload north-acd-" in out
    assert "calls-2026-11-02.csv" in out
    monkeypatch.setenv("CONTACTLAKE_PII_KEY", "a-secret-of-our-own")
    assert main([*common, str(first), "--centre", "north", "--source", "acd"]) == 0
    assert "demo key" not in capsys.readouterr().err


def test_ingest_prints_what_an_event_log_carries_to_the_next_upload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = Path(__file__).resolve().parents[2] / "fixtures" / "asterisk"
    config = tmp_path / "contactlake.toml"
    config.write_text(
        '[centres.leeds]\ntimezone = "Europe/London"\n[centres.leeds.sources.pbx]\nadapter = "asterisk_queue_log"\n'
    )
    monkeypatch.delenv("CONTACTLAKE_CONFIG", raising=False)
    home = str(tmp_path / "lake")
    common = ["--home", home, "--config", str(config), "ingest"]
    assert (
        main([*common, str(logs / "queue_log-2024-03-05-night"), "--centre", "leeds", "--source", "pbx"]) == 0
    )
    assert "carried to the next upload 4" in capsys.readouterr().out
    assert main([*common, str(logs / "queue_log-2024-03-06"), "--centre", "leeds", "--source", "pbx"]) == 0
    assert "carried in 4, carried to the next upload 1" in capsys.readouterr().out
    dry = [*common, str(logs / "queue_log-2024-03-07"), "--centre", "leeds", "--source", "pbx", "--dry-run"]
    assert main(dry) == 0
    assert "quarantined (by rule):       carried.expired 1" in capsys.readouterr().out
