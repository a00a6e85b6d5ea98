"""The BI views the README promises exist and return rows on the demo lake, through `contactlake sql`
(as a BI developer meets them locally), with JSON numbers as numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from contactlake.analyse.ddl import VIEWS
from contactlake.cli import main
from tests.functional.analyse.conftest import SampleLake

README = Path(__file__).resolve().parents[3] / "README.md"


def promised_views() -> list[str]:
    return sorted(set(re.findall(r"`(v_[a-z0-9_]+)`", README.read_text(encoding="utf-8"))))


def test_the_readme_names_views() -> None:
    assert {"v_kpi_daily", "v_cost_daily"} <= set(promised_views())


@pytest.mark.parametrize("view", promised_views())
def test_every_view_the_readme_names_exists_and_returns_rows(
    sample_lake: SampleLake, view: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert view in VIEWS, f"README names {view}, but sql/views has no {view}.sql"
    home = str(sample_lake.settings.home)
    code = main(["--home", home, "sql", f"SELECT * FROM {view} ORDER BY contact_date", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = json.loads(captured.out)
    assert len(rows) >= 14  # one per day of the shipped fortnight, north
    assert {row["centre_id"] for row in rows} == {"north"}
    assert isinstance(rows[0]["answered"], int)
    assert rows[0]["contact_date"] == "2026-11-02"
