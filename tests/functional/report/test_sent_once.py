"""Each report version is e-mailed to a recipient at most once (local outbox): a re-run of the same job,
a retry after a crash half-way through a run, a re-run of a restatement. Only ``--resend`` sends again."""

from __future__ import annotations

import email
import json
from email import policy
from typing import Any

import pytest

from contactlake.cli import main
from contactlake.report import build_reports
from contactlake.report.restate import restate_reports
from tests.functional.report.lake import SmallLake
from tests.functional.report.test_restatement import DAY, corrected_re_export

pytestmark = pytest.mark.slow


def outbox(lake: SmallLake) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for p in sorted((lake.home / "outbox").glob("*.eml"))
    ]


class Crash(BaseException):
    """The function dying (timeout, out of memory): not an error the builder can catch and record."""


class CrashAfter:
    """A mailer that delivers ``sends`` messages, then the process dies on the next."""

    def __init__(self, mailer: Any, sends: int) -> None:
        self.mailer, self.left = mailer, sends

    def send(self, message: Any) -> str:
        if self.left == 0:
            raise Crash
        self.left -= 1
        reference: str = self.mailer.send(message)
        return reference


def _operations(lake: SmallLake, ports: Any = None, **options: Any) -> list[Any]:
    return build_reports(
        ports or lake.ports(), lake.config, lake.settings, period="daily", as_of=DAY,
        audience="operations", **options,
    )  # fmt: skip


def test_running_the_same_report_job_twice_sends_one_message_and_says_so(lake: SmallLake) -> None:
    first = _operations(lake, centres=["north"])
    assert [r.status for r in first] == ["sent"]
    again = _operations(lake, centres=["north"])
    assert [r.status for r in again] == ["stored"]
    assert again[0].keys == first[0].keys  # stored again, not lost
    assert "already e-mailed to ops-north@example.com at " in again[0].message
    assert [m["To"] for m in outbox(lake)] == ["ops-north@example.com"]
    record = json.loads(
        lake.ports().store.get("reports", "north/operations/daily/2026-11-09.north_ops.issued.json")
    )
    (entry,) = record["sent"]
    assert entry["recipient"] == "ops-north@example.com"
    assert entry["reference"] == first[0].email

    resent = _operations(lake, centres=["north"], resend=True)
    assert [r.status for r in resent] == ["sent"]
    assert len(outbox(lake)) == 2


def test_a_retry_after_a_crash_between_two_reports_sends_each_once(lake: SmallLake) -> None:
    ports = lake.ports()
    ports.mailer = CrashAfter(ports.mailer, sends=1)
    with pytest.raises(Crash):
        _operations(lake, ports)  # north sent, then the function died on south
    assert [m["To"] for m in outbox(lake)] == ["ops-north@example.com"]
    retried = _operations(lake)  # Lambda's retry of the invocation
    assert [(r.centre_id, r.status) for r in retried] == [("north", "stored"), ("south", "sent")]
    assert sorted(m["To"] for m in outbox(lake)) == ["ops-north@example.com", "ops-south@example.com"]


def test_a_report_sent_with_a_gap_is_sent_again_once_the_gap_is_gone(
    lake: SmallLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contactlake.analyse import queries
    from contactlake.ports import QueryError

    real = queries.kpis

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise QueryError("Athena: query exhausted resources")

    monkeypatch.setattr(queries, "kpis", failing)
    (flagged,) = _operations(lake, centres=["north"])
    assert flagged.status == "sent"
    assert flagged.gaps
    monkeypatch.setattr(queries, "kpis", real)
    (fixed,) = _operations(lake, centres=["north"])  # the operator re-runs once the cause is fixed
    assert fixed.status == "sent"
    assert not fixed.gaps
    (same,) = _operations(lake, centres=["north"])
    assert same.status == "stored"
    assert len(outbox(lake)) == 2


def test_the_cli_says_already_e_mailed_and_resends_only_when_asked(
    lake: SmallLake, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["--home", str(lake.home), "report", "--period", "daily", "--as-of", str(DAY)]
    command += ["--audience", "operations", "--centre", "north"]
    assert main(command) == 0
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "already e-mailed to ops-north@example.com at " in out
    assert "add --resend to send it again" in out
    assert len(outbox(lake)) == 1
    assert main([*command, "--resend"]) == 0
    assert len(outbox(lake)) == 2


def _notices(lake: SmallLake) -> list[email.message.EmailMessage]:
    return [m for m in outbox(lake) if m["Subject"].startswith("Restated: ")]


def _restated(lake: SmallLake) -> list[email.message.EmailMessage]:
    return [m for m in outbox(lake) if "(restated)" in m["Subject"]]


def test_a_restatement_run_again_sends_one_notice_and_one_restated_report(lake: SmallLake) -> None:
    _operations(lake, centres=["north"])
    corrected_re_export(lake)
    (first,) = restate_reports(lake.ports(), lake.config, lake.settings, centre_id="north", days=[DAY])
    assert first.status == "restated"
    (again,) = restate_reports(lake.ports(), lake.config, lake.settings, centre_id="north", days=[DAY])
    assert again.status == "same uploads"
    assert len(_notices(lake)) == 1
    assert len(_restated(lake)) == 1
    (rerun,) = _operations(lake, centres=["north"])  # the night re-run after the restatement
    assert rerun.status == "stored"
    assert len(_restated(lake)) == 1


@pytest.mark.parametrize("sends", [0, 1], ids=["crash-on-notice", "crash-on-restated-report"])
def test_a_restatement_retried_after_a_crash_sends_each_message_once(lake: SmallLake, sends: int) -> None:
    _operations(lake, centres=["north"])
    corrected_re_export(lake)
    ports = lake.ports()
    ports.mailer = CrashAfter(ports.mailer, sends=sends)
    with pytest.raises(Crash):
        restate_reports(ports, lake.config, lake.settings, centre_id="north", days=[DAY])
    (retried,) = restate_reports(lake.ports(), lake.config, lake.settings, centre_id="north", days=[DAY])
    assert retried.status == "restated"
    assert retried.changes > 0
    assert len(_notices(lake)) == 1
    assert len(_restated(lake)) == 1
    html = lake.ports().store.get("reports", "north/operations/daily/2026-11-09.html").decode()
    assert "Restated: this report replaces version 1" in html
    (after,) = restate_reports(lake.ports(), lake.config, lake.settings, centre_id="north", days=[DAY])
    assert after.status == "same uploads"
    assert len(outbox(lake)) == 3  # the report, one notice, one restated report
