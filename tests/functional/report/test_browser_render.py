"""Each audience's report as a browser renders it (issue 16): headless Chromium (Debian's ``chromium``)
loads the stored HTML and a probe reports what it drew: every chart decoded at a readable width with its
alt text, the section headings and the table headers. ``make test`` installs chromium when it is missing
(``.ci/run`` runs ``make test``); without it the test fails under CI and says how to install it elsewhere.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from contactlake.report.build import build_document
from contactlake.report.render import render_html
from tests.functional.report.lake import SmallLake

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IMG = Path(__file__).resolve().parents[3] / "docs" / "img"

#: audience, centres, period, as_of, queues, the section headings each report must show.
AUDIENCES: list[tuple[str, tuple[str, ...], str, date, tuple[str, ...], list[str]]] = [
    ("executive", ("north", "south"), "monthly", date(2026, 11, 9), (), ["Against plan and budget"]),
    ("operations", ("north",), "daily", date(2026, 11, 9), (), ["Queues", "Staffing gap"]),
    ("workforce", ("south",), "weekly", date(2026, 11, 8), (), ["Required (Erlang) vs staffed agents"]),
    ("team_leader", ("north",), "weekly", date(2026, 11, 8), (), ["Agents"]),
    ("data_quality", ("north", "south"), "daily", date(2026, 11, 9), (), ["Uploads"]),
    ("vendor", ("south",), "monthly", date(2026, 11, 9), ("sales",), ["Service against contract"]),
]
PROBE = """<script>
window.addEventListener("load", () => {
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    images: [...document.images].map(i => ({alt: i.alt, width: i.naturalWidth,
                                             shown: Math.round(i.getBoundingClientRect().width)})),
    headings: [...document.querySelectorAll("h2")].map(h => h.textContent.trim()),
    headers: [...document.querySelectorAll("th")].map(t => t.textContent.trim()),
  });
  document.body.appendChild(probe);
});
</script>"""


def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; make test installs it (apt-get install -y chromium)")
        pytest.skip("chromium is not installed: apt-get install -y chromium (make test does it)")
    return CHROMIUM


def browser(page: Path, profile: Path, *extra: str) -> str:
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
        "--virtual-time-budget=5000", *extra, page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def probe(page_html: str, folder: Path) -> dict[str, Any]:
    assert "<script" not in page_html.lower(), "reports carry no scripts; the probe is added for the test"
    page = folder / "probed.html"
    page.write_text(page_html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = browser(page, folder / "profile", "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


@pytest.mark.parametrize(("audience", "centres", "period", "as_of", "queues", "headings"), AUDIENCES)
def test_each_audience_renders_in_chromium(
    small_lake: SmallLake,
    tmp_path: Path,
    audience: str,
    centres: tuple[str, ...],
    period: str,
    as_of: date,
    queues: tuple[str, ...],
    headings: list[str],
) -> None:
    report = build_document(
        small_lake.ports(), small_lake.config, audience=audience, centre_ids=centres, period=period,
        as_of=as_of, queues=queues,
    )  # fmt: skip
    drawn = probe(render_html(report, for_email=False), tmp_path)
    assert drawn["headings"] == [s.title for s in report.sections]
    assert set(headings) <= set(drawn["headings"])
    assert len(drawn["images"]) == len(report.charts)
    for image, chart in zip(drawn["images"], report.charts, strict=True):
        assert image["alt"] == chart.alt
        assert image["width"] > 0, f"{chart.name} did not decode"
        assert image["shown"] >= 600, f"{chart.name} drawn {image['shown']} px wide"
    shown_tables = [t for t in report.tables if not t.attachment_only]
    for table in shown_tables:
        assert all(c.label in drawn["headers"] for c in table.columns), table.name


def test_screenshots_in_docs_are_refreshed_from_chromium(small_lake: SmallLake, tmp_path: Path) -> None:
    """docs/img/operations-daily.png is what Chromium draws for the operations daily report (refreshed by
    running this test with CONTACTLAKE_REFRESH_SCREENSHOTS=1)."""
    report = build_document(
        small_lake.ports(), small_lake.config, audience="operations", centre_ids=("north",),
        period="daily", as_of=date(2026, 11, 9),
    )  # fmt: skip
    page = tmp_path / "report.html"
    page.write_text(render_html(report, for_email=False), encoding="utf-8")
    shot = tmp_path / "shot.png"
    browser(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=720,2000", "--hide-scrollbars")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 50_000, "a real page, not a blank one"
    if os.environ.get("CONTACTLAKE_REFRESH_SCREENSHOTS") == "1":
        (IMG / "operations-daily.png").write_bytes(data)
