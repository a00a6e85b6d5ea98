"""Service-level presets side by side (issue 16): one queue-day under every definition, in the operations
report and in the API's KPI response, each from the same counts as the centre's own figure."""

from __future__ import annotations

import json
import warnings
from datetime import date

import pytest
from chalice.test import Client

from contactlake.analyse import queries
from contactlake.analyse.presets import service_level_presets
from contactlake.report.build import build_document
from tests.functional.report.lake import SmallLake, load_report_app, use_lake

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]
DAY = date(2026, 11, 9)


def test_each_definition_from_the_same_counts(small_lake: SmallLake) -> None:
    centre = small_lake.config.centre("south")
    rows = service_level_presets(small_lake.ports(), centre, DAY, DAY).to_pylist()
    day = queries.kpis(small_lake.ports(), centre, "day", DAY, DAY).to_pylist()[0]
    centre_rows = {r["variant"]: r for r in rows if r["queue"] == "all"}
    assert set(centre_rows) == {
        "answered_only",
        "abandons_ignored",
        "abandons_negative",
        "short_abandons_positive",
    }
    ours = centre_rows["short_abandons_positive"]  # South reports by this variant
    assert ours["is_centre_variant"]
    assert ours["service_level"] == pytest.approx(day["service_level"])
    # Abandons as failures can only be lower than answered-only; the definitions differ on this day.
    assert centre_rows["abandons_negative"]["service_level"] < centre_rows["answered_only"]["service_level"]
    assert len({round(r["service_level"], 6) for r in centre_rows.values()}) == 4
    assert {r["threshold_seconds"] for r in rows} == {30}


def test_operations_report_and_api_show_them(small_lake: SmallLake, monkeypatch: pytest.MonkeyPatch) -> None:
    report = build_document(
        small_lake.ports(), small_lake.config, audience="operations", centre_ids=("north",), period="daily",
        as_of=DAY,
    )  # fmt: skip
    table = next(t for t in report.tables if t.name == "sl_presets")
    assert [c.label for c in table.columns][1:] == [
        "Abandons ignored",
        "Short abandons excluded",
        "Abandons as failures",
        "Abandons within the threshold as met",
    ]
    assert table.rows[-1][0] == "all queues"
    assert "This centre reports by 'short abandons excluded" in table.note
    use_lake(monkeypatch, small_lake.home, CONTACTLAKE_API_AUTH="api_key")
    with warnings.catch_warnings(), Client(load_report_app().app) as client:
        warnings.simplefilter("ignore")
        response = client.http.get(
            "/centres/north/kpis?grain=day&from=2026-11-09&to=2026-11-09&queue=billing",
            headers={"x-api-key": "demo-key-north"},
        )
    from contactlake.runtime import runtime

    runtime.cache_clear()
    body = json.loads(response.body)
    assert response.status_code == 200, body
    presets = body["service_level_presets"]
    assert {p["queue"] for p in presets} == {"billing", "all"}
    assert len(presets) == 8
