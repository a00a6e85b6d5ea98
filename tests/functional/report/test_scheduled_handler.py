"""The SAM schedules' entry point, app.scheduled_report, called as Lambda would (moto cannot fire schedules)."""

from __future__ import annotations

import json

import pytest

from tests.functional.report.lake import SmallLake, load_report_app, use_lake


class Context:
    function_name = "contactlake-report-scheduled"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:contactlake-report-scheduled"
    aws_request_id = "req-1"


@pytest.mark.slow
def test_daily_schedule_sends_every_daily_report_and_counts_them(
    lake: SmallLake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_lake(monkeypatch, lake.home)
    app = load_report_app()
    result = app.scheduled_report({"period": "daily", "as_of": "2026-11-09"}, Context())
    assert result["as_of"] == "2026-11-09"
    assert result["counts"] == {"sent": 3}
    assert sorted((r["audience"], r["centre_id"]) for r in result["reports"]) == [
        ("data_quality", "all"),
        ("operations", "north"),
        ("operations", "south"),
    ]
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    values = {
        name: metrics[-1][name] for name in ("ReportsSent", "ReportsStored", "ReportsHeld", "ReportsFailed")
    }
    assert values == {
        "ReportsSent": [3.0],
        "ReportsStored": [0.0],
        "ReportsHeld": [0.0],
        "ReportsFailed": [0.0],
    }
    assert len(list((lake.home / "outbox").glob("*.eml"))) == 3


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_schedule_needs_a_period(lake: SmallLake, monkeypatch: pytest.MonkeyPatch) -> None:
    use_lake(monkeypatch, lake.home)
    with pytest.raises(ValueError, match=r'needs \{"period": one of daily, weekly, monthly, quarterly\}'):
        load_report_app().scheduled_report({"period": "hourly"}, Context())


@pytest.mark.slow
def test_the_same_schedule_invoked_again_sends_nothing_twice_and_says_so(
    lake: SmallLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_lake(monkeypatch, lake.home)
    app = load_report_app()
    event = {"period": "daily", "as_of": "2026-11-09"}
    assert app.scheduled_report(event, Context())["counts"] == {"sent": 3}
    again = app.scheduled_report(event, Context())  # Lambda's retry, or an operator's re-run
    assert again["counts"] == {"stored": 3}
    assert all("already e-mailed to " in r["message"] for r in again["reports"])
    assert len(list((lake.home / "outbox").glob("*.eml"))) == 3
