"""Analyse Lambda: the nightly schedule and the UploadValidated event each recompute the right days."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from contactlake.config import AppConfig, Settings
from contactlake.jobs import RECOMPUTE_DAYS, analysis_windows
from contactlake.pipeline import process_upload
from contactlake.ports import Ports
from contactlake.runtime import Runtime
from contactlake.sample import write_sample
from tests.conftest import EVENTS, load_handler


@dataclass
class Context:
    function_name: str = "analyse"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:analyse"
    aws_request_id: str = "req-2"


def _event(name: str) -> dict[str, object]:
    return json.loads((EVENTS / name).read_text())  # type: ignore[no-any-return]


def test_nightly_window_is_the_last_week_in_each_centres_zone(config: AppConfig) -> None:
    windows = analysis_windows(config, "Scheduled Event", {}, "2026-11-16T02:30:00Z")
    assert {(w.centre_id, str(w.date_from), str(w.date_to)) for w in windows} == {
        ("north", "2026-11-09", "2026-11-15"),
        ("south", "2026-11-09", "2026-11-15"),
        ("anonbank", "2026-11-09", "2026-11-15"),  # Asia/Jerusalem is already on the 16th, too
    }
    assert all((w.date_to - w.date_from).days == RECOMPUTE_DAYS - 1 for w in windows)


def test_upload_event_recomputes_only_the_days_it_wrote(config: AppConfig) -> None:
    event = _event("upload_validated.json")
    windows = analysis_windows(config, "UploadValidated", event["detail"])  # type: ignore[arg-type]
    assert [w.as_dict() for w in windows] == [
        {"centre_id": "north", "date_from": "2026-11-02", "date_to": "2026-11-02"}
    ]


def test_unknown_centres_in_an_event_are_ignored(config: AppConfig) -> None:
    detail = {"partitions": ["contacts/centre_id=evil/2026-11-02", "contacts/centre_id=../x/2026-11-02"]}
    assert analysis_windows(config, "UploadValidated", detail) == []


def test_handler_materialises_the_event_days(
    ports: Ports, config: AppConfig, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    for path in write_sample(settings.home / "raw", date(2026, 11, 2), 1):
        process_upload(ports, config, settings, path.relative_to(settings.home / "raw").as_posix())
    module = load_handler("analyse")
    monkeypatch.setattr(module, "runtime", lambda: Runtime(settings=settings, config=config, ports=ports))
    result = module.handler(_event("upload_validated.json"), Context())
    assert result["windows"] == [{"centre_id": "north", "date_from": "2026-11-02", "date_to": "2026-11-02"}]
    daily = ports.engine.query(
        "SELECT sum(offered) AS offered FROM kpi_daily WHERE centre_id = 'north' AND contact_date = DATE '2026-11-02'"
    ).to_pylist()
    contacts = ports.engine.query(
        "SELECT count(*) AS n FROM contacts WHERE centre_id = 'north' AND test_case_id IS NULL "
        "AND outcome IN ('answered', 'abandoned', 'callback_requested', 'transferred')"
    ).to_pylist()
    assert daily[0]["offered"] == contacts[0]["n"] > 0
    assert Path(settings.home / "lake" / "aggregates" / "kpi_daily" / "centre_id=north").is_dir()
    # The run's record: by the event's UTC day and id; no Athena figures when DuckDB ran the SQL.
    key = "manifests/analysis/2026-11-03/9f1e0c55-3a8b-4bde-9c55-0c1c2a7c6f10.json"
    assert result["record"] == key
    record = json.loads(ports.store.get("lake", key))
    assert record["trigger"] == "UploadValidated"
    assert record["at"] == "2026-11-03T05:12:09+00:00"
    assert record["windows"] == result["windows"]
    assert record["tables"] == result["tables"]
    assert record["athena"] is None
