"""Restatement notices: when a corrected re-export or a replay changes days a sent report covered.

After the lake and its aggregates are updated for ``days`` of a centre, :func:`restate_reports` reads the
issue records (:mod:`contactlake.report.issues`) of the reports that covered any of those days. Each is
rebuilt; where the uploads behind it changed *and* its figures moved, the stakeholder gets

* a **notice**: a short e-mail with each figure before and after, and which uploads replaced which, and
* the **re-issued report**, titled and bannered "restated", stored over the old one (the issue record
  keeps the earlier version's uploads, so which version used which uploads stays known).

Each notice is recorded in the issue record before the re-issued report is published, and the re-issued
report's delivery is recorded like any other (:mod:`contactlake.report.issues`): a re-run of the same
restatement — even one after a crash half-way — sends neither twice. A later correction is a new version,
and is announced.

A report whose uploads changed but whose figures did not is re-recorded silently (new upload versions,
same version number is not enough: the record says what it rests on now).

Nobody has to remember to call it: the analysis of a correction announces itself (``AnalysisFinished``
with ``replaced`` true, :mod:`contactlake.jobs`), and :func:`restate_after_analysis` is what that event
runs — in the report function on AWS (template.yaml routes it there), through :mod:`contactlake.bus`
locally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from typing import Any

from contactlake.config import AppConfig, Settings
from contactlake.ports import Ports
from contactlake.report.build import ReportPorts, _Publisher, build_document, document_name
from contactlake.report.issues import (
    ISSUED_SUFFIX,
    Change,
    already_sent,
    changes,
    load_issue,
    notice_sent,
    primary_table,
    record_issue,
    record_notice,
    table_data,
)
from contactlake.report.mail import sender_domain
from contactlake.report.model import Banner, Format, Report, format_value

__all__ = ["Restatement", "restate_after_analysis", "restate_reports"]

logger = logging.getLogger("contactlake.report.restate")
_FORMATS: dict[str, Format] = {f: f for f in ("int", "pct", "signed_pct", "seconds", "money", "decimal")}


@dataclass(frozen=True)
class Restatement:
    stakeholder: str
    audience: str
    period_start: date
    status: str  # "restated" | "unchanged" | "same uploads"
    changes: int = 0
    version: int = 0
    notice: str | None = None


def _value(change: Change, which: float | None) -> str:
    return format_value(which, _FORMATS.get(change.fmt, "decimal"))


def _notice(
    sender: str, recipients: Sequence[str], report: Report, found: Sequence[Change], record: dict[str, Any]
) -> EmailMessage:
    old = {tuple(u) for u in record.get("uploads", [])}
    new = {tuple(u) for u in report.uploads_used}
    replaced = sorted(new - old)
    message = EmailMessage()
    message["Subject"] = f"Restated: {report.title} — {report.scope.label} — {report.window.label}"
    message["From"] = Address(display_name="contactlake reports", addr_spec=sender)
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(
        idstring="restated", domain=sender_domain(sender) or "contactlake.local"
    )
    message["Auto-Submitted"] = "auto-generated"
    lines = [
        f"The {report.title.lower()} for {report.scope.label}, {report.window.label}, that you received "
        f"(version {record['version']}, generated {record['generated_at']} UTC) has changed: a corrected "
        "export replaced data it rested on. The re-issued report, marked restated, follows separately.",
        "",
        "Figures before and after:",
        *(f"  {c.row} — {c.column}: {_value(c, c.before)} -> {_value(c, c.after)}" for c in found),
        "",
        "Uploads now used that the earlier version did not:",
        *(f"  {centre} {day} {source}: upload {upload}" for centre, day, source, upload in replaced),
    ]
    message.set_content("\n".join(lines) + "\n", charset="utf-8", cte="quoted-printable")
    rows = "".join(
        f"<tr><td>{escape(c.row)}</td><td>{escape(c.column)}</td><td>{escape(_value(c, c.before))}</td>"
        f"<td>{escape(_value(c, c.after))}</td></tr>"
        for c in found
    )
    html = (
        f"<p>{escape(lines[0])}</p><table border='1' cellpadding='4' cellspacing='0'><tr><th>Row</th>"
        f"<th>Figure</th><th>Before</th><th>After</th></tr>{rows}</table>"
    )
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def _records(ports: Ports, centre_id: str, days: Sequence[date]) -> list[tuple[str, dict[str, Any]]]:
    first, last = min(days).isoformat(), max(days).isoformat()
    found = []
    for item in ports.store.list("reports", ""):
        if not item.key.endswith(ISSUED_SUFFIX):
            continue
        record = load_issue(ports, item.key)
        if record is None or centre_id not in record["centres"]:
            continue
        if record["period_start"] <= last and first <= record["period_end"]:
            found.append((item.key, record))
    return found


def restate_reports(
    ports: Ports,
    config: AppConfig,
    settings: Settings,
    *,
    centre_id: str,
    days: Sequence[date],
    on_step: Callable[[str], None] | None = None,
    report_ports: ReportPorts | None = None,
) -> list[Restatement]:
    """Re-issue each recorded report of ``centre_id`` over ``days`` whose figures changed, with a notice.

    Each document is queried with ``report_ports(its name)`` when given (a scan budget per report on AWS).
    """
    step = on_step or (lambda _s: None)
    results = []
    built: dict[tuple[Any, ...], Report] = {}
    for _key, record in _records(ports, centre_id, days):
        scope = (record["audience"], tuple(record["centres"]), tuple(record["queues"]), record["period"])
        as_of = date.fromisoformat(record["period_end"])
        if (*scope, as_of) not in built:
            name = document_name(
                record["audience"], record["centres"], record["period"], as_of, record["queues"]
            )
            built[(*scope, as_of)] = build_document(
                report_ports(name) if report_ports else ports,
                config, audience=record["audience"], centre_ids=record["centres"],
                period=record["period"], as_of=as_of, queues=record["queues"],
            )  # fmt: skip
        report = built[(*scope, as_of)]
        start = date.fromisoformat(record["period_start"])
        recipients = record["recipients"]
        publisher = _Publisher(ports, settings, bool(recipients), on_step)
        earlier = notice_sent(record, report)
        if sorted(tuple(u) for u in record.get("uploads", [])) == sorted(report.uploads_used):
            allowed, _refused = publisher._recipients(report, recipients)
            delivered = already_sent(record, report)
            if earlier is None or all(r.lower() in delivered for r in allowed):
                results.append(Restatement(record["stakeholder"], record["audience"], start, "same uploads"))
                continue
            # Noticed and recorded, but the re-issued report was not e-mailed (a crash between): finish it.
            count, banner = int(earlier.get("changes", 0)), str(earlier.get("banner", ""))
        else:
            found = changes(record.get("primary", {}), table_data(primary_table(report)))
            if not found:
                new = record_issue(
                    ports, report, record["stakeholder"], record["formats"], recipients, keep_sent=True
                )
                results.append(
                    Restatement(
                        record["stakeholder"], record["audience"], start, "unchanged", 0, new["version"]
                    )
                )
                continue
            count = len(found)
            banner = (
                f"Restated: this report replaces version {record['version']} issued "
                f"{record['generated_at']} UTC. A corrected export changed {count} figure(s); "
                "the notice sent with it lists each before and after."
            )
        restated = replace(
            report, title=f"{report.title} (restated)", banners=(Banner("warning", banner), *report.banners)
        )
        notice = None
        if recipients and earlier:
            notice = earlier["reference"]
            step(f"restatement notice already sent to {', '.join(earlier['recipients'])} at {earlier['at']}")
        elif recipients:
            notice = ports.mailer.send(_notice(settings.mail_sender, recipients, report, found, record))
            record_notice(ports, _key, report, recipients, notice, datetime.now(UTC), banner, count)
        published = publisher.publish(restated, record["stakeholder"], record["formats"], recipients)
        version = (load_issue(ports, _key) or {}).get("version", 0)
        step(f"{record['audience']} {record['period']} {start}: restated ({count} figure(s) changed)")
        results.append(
            Restatement(record["stakeholder"], record["audience"], start, "restated", count, version, notice)
        )
        logger.info("restated %s: %s", published.keys, published.message)
    return results


def restate_after_analysis(
    ports: Ports,
    config: AppConfig,
    settings: Settings,
    detail: Mapping[str, Any],
    on_step: Callable[[str], None] | None = None,
    report_ports: ReportPorts | None = None,
) -> list[Restatement]:
    """What an ``AnalysisFinished`` event runs: restate the centre's reports over its days, when the
    analysed upload replaced another (a corrected re-export or a replay); nothing otherwise."""
    if not detail.get("replaced") or not detail.get("days"):
        return []
    centre_id = config.centre(str(detail["centre_id"])).centre_id
    days = [date.fromisoformat(str(day)) for day in detail["days"]]
    return restate_reports(
        ports, config, settings, centre_id=centre_id, days=days, on_step=on_step, report_ports=report_ports
    )
