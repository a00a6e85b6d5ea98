"""Service-level presets side by side (issue 16): one queue-day under every definition, in the operations
report and in the API's KPI response, each from the same counts as the centre's own figure."""

from __future__ import annotations

import json
import warnings
from datetime import date

import pytest
from chalice.test import Client

from contactlake.analyse import queries
from contactlake.analyse.presets import comparison_thresholds, service_level_presets
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
    assert {r["threshold_seconds"] for r in rows} == {30}  # by default the centre's own threshold only


def test_each_definition_at_every_threshold_the_centre_is_compared_on(small_lake: SmallLake) -> None:
    """Issue 16: not only at the centre's own threshold (the stored counts are at that one): at 20 s and
    every other configured centre's, counted from the day's contacts."""
    config = small_lake.config
    centre = config.centre("south")  # 30 s; north 20 s
    thresholds = comparison_thresholds(config, centre)
    assert thresholds == (20, 30)
    rows = service_level_presets(
        small_lake.ports(), centre, DAY, DAY, thresholds=(*thresholds, 60)
    ).to_pylist()
    assert {r["threshold_seconds"] for r in rows} == {20, 30, 60}
    at = {(r["threshold_seconds"], r["variant"]): r for r in rows if r["queue"] == "all"}
    # The same variant at the centre's own threshold is what the stored aggregates give.
    day = queries.kpis(small_lake.ports(), centre, "day", DAY, DAY).to_pylist()[0]
    assert at[(30, "short_abandons_positive")]["service_level"] == pytest.approx(day["service_level"])
    assert [r["is_centre_variant"] for r in rows if r["queue"] == "all"].count(True) == 1
    # A longer threshold can only meet more calls; the day's calls make the thresholds differ.
    for variant in ("answered_only", "abandons_negative"):
        levels = [at[(t, variant)]["service_level"] for t in (20, 30, 60)]
        assert levels == sorted(levels), (variant, levels)
        assert levels[0] < levels[-1], (variant, levels)
    # Counted independently in Python from the day's contacts: answered-only at 20 s.
    contacts = (
        small_lake.ports()
        .engine.query(
            "SELECT outcome, queue_seconds, direction, test_case_id FROM contacts "
            "WHERE centre_id = 'south' AND contact_date = DATE '2026-11-09'"
        )
        .to_pylist()
    )
    business = [
        c for c in contacts if c["test_case_id"] is None and (c["direction"] or "inbound") == "inbound"
    ]
    answered = [c for c in business if c["outcome"] == "answered"]
    within = [c for c in answered if (c["queue_seconds"] or 0) <= 20]
    assert at[(20, "answered_only")]["numerator"] == len(within)
    assert at[(20, "answered_only")]["denominator"] == len(answered)


def test_operations_report_and_api_show_them(small_lake: SmallLake, monkeypatch: pytest.MonkeyPatch) -> None:
    report = build_document(
        small_lake.ports(), small_lake.config, audience="operations", centre_ids=("north",), period="daily",
        as_of=DAY,
    )  # fmt: skip
    table = next(t for t in report.tables if t.name == "sl_presets")
    assert [c.label for c in table.columns][1:] == [
        "Answered within (s)",
        "Abandons ignored",
        "Short abandons excluded",
        "Abandons as failures",
        "Abandons within the threshold as met",
    ]
    assert table.rows[-1][0] == "all queues"
    assert [r[1] for r in table.rows if r[0] == "all queues"] == [20, 30]
    assert "This centre reports by 'short abandons excluded" in table.note
    assert "at 20 s" in table.note
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
    assert {p["threshold_seconds"] for p in presets} == {20, 30}  # north's own and south's
    assert len(presets) == 2 * 4 * 2  # queues x definitions x thresholds
