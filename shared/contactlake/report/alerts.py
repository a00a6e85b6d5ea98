"""Exception alerts after each nightly run: rules on any interval KPI, one digest per recipient.

A rule (``[stakeholders.<name>.alerts.<rule>]``) fires when its KPI is above / below the threshold for at
least ``consecutive`` intervals in a row, counting only intervals with ``min_offered`` contacts or more.
Every firing of every rule a recipient follows goes into **one** short e-mail per run (no alert storm):
the interval table and a link to the day's full operations report. A record of each digest sent is kept
in the reports area (``alerts/<day>/<recipient hash>.json``), so re-running the same night sends nothing
twice; a new night's run sends again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from typing import Any

from contactlake.analyse import queries
from contactlake.config import AlertRule, AppConfig, CentreConfig, Settings
from contactlake.ports import Ports
from contactlake.report.keys import report_key
from contactlake.report.mail import sender_domain
from contactlake.report.model import Format, NumberStyle, format_value

__all__ = ["AlertResult", "Breach", "find_breaches", "send_alert_digests"]

logger = logging.getLogger("contactlake.report.alerts")
_FORMATS: dict[str, Format] = {
    "service_level": "pct",
    "abandon_rate": "pct",
    "transfer_rate": "pct",
    "asa_seconds": "seconds",
    "aht_seconds": "seconds",
    "offered": "int",
}
_LINK_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Breach:
    """One run of consecutive intervals where a rule's KPI was past its threshold."""

    rule: AlertRule
    centre: CentreConfig
    start: datetime
    end: datetime
    intervals: int
    worst: float
    offered: int

    @property
    def until(self) -> datetime:
        """The end of the last interval of the run."""
        return self.end + timedelta(minutes=15 if self.rule.grain == "15min" else 60)

    @property
    def text(self) -> str:
        fmt = _FORMATS[self.rule.kpi]
        style = NumberStyle(self.centre.currency, self.centre.locale)
        return (
            f"{self.centre.name} {self.start:%H:%M}–{self.until:%H:%M}: {self.rule.kpi.replace('_', ' ')} "
            f"{'down to' if self.rule.direction == 'below' else 'up to'} "
            f"{format_value(self.worst, fmt, style)} "
            f"({self.rule.direction} {format_value(self.rule.threshold, fmt, style)} for {self.intervals} "
            f"interval(s), {self.offered:,} contacts) — rule {self.rule.name}"
        )


@dataclass(frozen=True)
class AlertResult:
    recipient: str
    breaches: int
    status: str  # "sent" | "already sent" | "failed"
    reference: str | None = None


def find_breaches(rule: AlertRule, centre: CentreConfig, rows: Sequence[Mapping[str, Any]]) -> list[Breach]:
    """Runs of at least ``rule.consecutive`` intervals past the threshold (rows ordered by time).

    An interval under the minimum volume, or with no value, ends a run: it is not evidence either way.
    """
    found: list[Breach] = []
    run: list[tuple[datetime, float, int]] = []

    def close() -> None:
        if len(run) >= rule.consecutive:
            values = [v for _, v, _ in run]
            worst = min(values) if rule.direction == "below" else max(values)
            found.append(
                Breach(rule, centre, run[0][0], run[-1][0], len(run), worst, sum(o for *_, o in run))
            )
        run.clear()

    for row in rows:
        start, value, offered = row.get("period_start"), row.get(rule.kpi), int(row.get("offered") or 0)
        if (
            isinstance(start, datetime)
            and isinstance(value, int | float)
            and offered >= rule.min_offered
            and (value < rule.threshold if rule.direction == "below" else value > rule.threshold)
        ):
            run.append((start, float(value), offered))
        else:
            close()
    close()
    return found


def _message(
    sender: str, recipient: str, day: date, breaches: Sequence[Breach], links: dict[str, str]
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"contactlake alerts for {day:%a %d %b %Y}: {len(breaches)} exception(s)"
    message["From"] = Address(display_name="contactlake alerts", addr_spec=sender)
    message["To"] = recipient
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = make_msgid(idstring="alerts", domain=sender_domain(sender) or "contactlake.local")
    message["Auto-Submitted"] = "auto-generated"
    lines = [f"Exceptions in the night's figures for {day:%A %d %B %Y} (one digest per run):", ""]
    lines += [f"  - {b.text}" for b in breaches]
    lines += ["", "Full reports:"] + [f"  {name}: {url}" for name, url in links.items()]
    message.set_content("\n".join(lines) + "\n", charset="utf-8", cte="quoted-printable")
    cells = "".join(
        f"<tr><td>{escape(b.centre.name)}</td><td>{b.start:%H:%M}–{b.until:%H:%M}</td>"
        f"<td>{escape(b.rule.kpi)}</td><td>{escape(format_value(b.worst, _FORMATS[b.rule.kpi]))}</td>"
        f"<td>{b.rule.direction} {escape(format_value(b.rule.threshold, _FORMATS[b.rule.kpi]))}</td>"
        f"<td>{b.intervals}</td><td>{b.offered:,}</td><td>{escape(b.rule.name)}</td></tr>"
        for b in breaches
    )
    report_links = "".join(
        f'<li><a href="{escape(url)}">{escape(name)}</a></li>' for name, url in links.items()
    )
    html = (
        f"<p>Exceptions in the night's figures for {day:%A %d %B %Y}:</p>"
        '<table border="1" cellpadding="4" cellspacing="0"><tr><th>Centre</th><th>Intervals</th><th>KPI</th>'
        "<th>Worst</th><th>Rule</th><th>Intervals in a row</th><th>Contacts</th><th>Rule name</th></tr>"
        f"{cells}</table><p>Full reports:</p><ul>{report_links}</ul>"
    )
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def _link(ports: Ports, centre_id: str, day: date) -> str:
    key = report_key(centre_id, "operations", "daily", day, "html")
    try:
        return ports.store.presigned_url("reports", key, _LINK_SECONDS)
    except Exception:  # a store without links: the key is still where the report is
        return f"reports/{key}"


def send_alert_digests(
    ports: Ports, config: AppConfig, settings: Settings, *, day: date, centres: Sequence[str] | None = None
) -> list[AlertResult]:
    """Evaluate every stakeholder's alert rules on ``day`` and e-mail one digest per recipient."""
    by_recipient: dict[str, list[Breach]] = {}
    rows_cache: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for stakeholder in config.stakeholders:
        for centre_id in stakeholder.centres:
            if centres is not None and centre_id not in centres:
                continue
            centre = config.centre(centre_id)
            for rule in stakeholder.alerts:
                cache_key = (centre_id, rule.grain)
                if cache_key not in rows_cache:
                    rows_cache[cache_key] = queries.kpis(ports, centre, rule.grain, day, day).to_pylist()
                breaches = find_breaches(rule, centre, rows_cache[cache_key])
                for recipient in stakeholder.recipients:
                    by_recipient.setdefault(recipient, []).extend(breaches)
    results = []
    for recipient, breaches in sorted(by_recipient.items()):
        unique = list(dict.fromkeys(breaches))
        if not unique:
            continue
        digest = hashlib.sha256(recipient.lower().encode()).hexdigest()[:16]
        record_key = f"alerts/{day.isoformat()}/{digest}.json"
        if ports.store.exists("reports", record_key):
            results.append(AlertResult(recipient, len(unique), "already sent"))
            continue
        links = {
            f"{c} operations report": _link(ports, c, day)
            for c in dict.fromkeys(b.centre.centre_id for b in unique)
        }
        try:
            reference = ports.mailer.send(_message(settings.mail_sender, recipient, day, unique, links))
        except Exception as error:
            logger.error("alert digest to %s failed: %s", recipient, error)
            results.append(AlertResult(recipient, len(unique), "failed"))
            continue
        record = {"day": day.isoformat(), "breaches": [b.text for b in unique], "reference": reference}
        ports.store.put("reports", record_key, json.dumps(record, indent=2).encode(), "application/json")
        results.append(AlertResult(recipient, len(unique), "sent", reference))
    return results
