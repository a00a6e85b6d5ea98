"""Building, storing and delivering stakeholder reports: :func:`build_reports` (schedules, CLI, demo) and
:func:`generate_report` (the API's generate-on-demand).

For each stakeholder whose audience and period match, the report is built once per scope (audience ×
centres × queues; stakeholders sharing a scope share the report), rendered in the stakeholder's
formats, stored under ``<centre>/<audience>/<period>/<period start>.<ext>`` in the reports area (the key
is :mod:`contactlake.report.keys`), and e-mailed through the Mailer port.

**Never partial data.** Missing expected uploads and failed queries are *gaps*. Audiences whose figures
are contractual or go to the board (executive, vendor) are **held**: nothing is sent, a
``<date>.held.json`` record with the reasons is stored and a ``ReportHeld`` event published. Everyone else
(operations, workforce, team leaders, data quality) gets the report with a red banner naming exactly
what is missing — for them a late report is worse than a flagged one.

**At most once per version.** A report version is e-mailed to a recipient once: the issue record
(:mod:`contactlake.report.issues`) keeps whom it was sent to, written after the mailer accepts the message
and checked before sending, so a re-run of the same job (a Lambda retry after a crash, an operator
re-running the night) stores the report again and says it was already e-mailed (status ``stored``).
Only the CLI's ``--resend`` sends it again; schedules and the API never do.

**Delivery failures** (SES rejection, SMTP down) leave the stored report in place; the result is
``failed``, the error is logged, and a ``ReportDeliveryFailed`` event is published (the scheduled
handler also counts it as a metric).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from contactlake.config import PERIODS, AppConfig, ConfigError, Settings, Stakeholder
from contactlake.ports import Ports
from contactlake.report.audiences import AUDIENCE_BUILDERS, COMBINED_AUDIENCES, INTERNAL_AUDIENCES, Context
from contactlake.report.figures import Figures
from contactlake.report.keys import report_key
from contactlake.report.mail import Attachment, compose_email, sender_domain
from contactlake.report.model import Banner, Column, Gap, Report, ReportResult, Scope, Table
from contactlake.report.periods import Window, window_for

__all__ = [
    "CONTENT_TYPES",
    "HOLD_WHEN_INCOMPLETE",
    "ReportPorts",
    "build_document",
    "build_reports",
    "document_name",
    "generate_report",
]

logger = logging.getLogger("contactlake.report")

#: The ports to query one report document with, given a name for it. On AWS the report handlers scope the
#: Athena engine per document (:func:`contactlake.runtime.for_run`), so the scan budget is checked per
#: report rather than per invocation (a daily run builds a dozen); by default every document uses the
#: caller's ports.
ReportPorts = Callable[[str], Ports]


def document_name(
    audience: str, centre_ids: Sequence[str], period: str, as_of: date, queues: Sequence[str]
) -> str:
    """A stable name for one report document (the same on a retried invocation: it keys Athena's tokens)."""
    return "/".join([audience, "+".join(centre_ids), period, as_of.isoformat(), *queues])


#: Audiences whose report is held (not sent) when data is missing; the others get a banner.
HOLD_WHEN_INCOMPLETE = frozenset({"executive", "vendor"})
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
_MAX_LISTED_GAPS = 8

Step = Callable[[str], None]


@dataclass(frozen=True)
class _Job:
    audience: str
    centre_ids: tuple[str, ...]
    queues: tuple[str, ...]


def _jobs(stakeholder: Stakeholder, centres: Sequence[str] | None) -> list[_Job]:
    """Combined audiences get one report over all their centres; the others one per centre."""
    members = [c for c in stakeholder.centres if centres is None or c in centres]
    if not members:
        return []
    if stakeholder.audience in COMBINED_AUDIENCES:
        return [_Job(stakeholder.audience, tuple(members), stakeholder.queues)]
    return [_Job(stakeholder.audience, (c,), stakeholder.queues) for c in members]


def _scope(config: AppConfig, job: _Job) -> Scope:
    return Scope(
        centre_ids=job.centre_ids,
        centre_names=tuple(config.centre(c).name for c in job.centre_ids),
        queues=job.queues,
        all_centres=set(job.centre_ids) == set(config.centres),
    )


def _listed(gaps: Sequence[Gap]) -> str:
    """The first few gaps' texts, and how many more there are."""
    listed = "; ".join(g.text for g in gaps[:_MAX_LISTED_GAPS])
    return listed + (f"; and {len(gaps) - _MAX_LISTED_GAPS} more" if len(gaps) > _MAX_LISTED_GAPS else "")


def _gap_banners(gaps: Sequence[Gap], window: Window, held: bool) -> list[Banner]:
    banners = []
    uploads = [g for g in gaps if g.kind == "upload"]
    queries = [g for g in gaps if g.kind == "query"]
    if uploads:
        consequence = (
            "This report is held until they arrive."
            if held
            else "Figures for the days and sources listed are missing or partial; the rest is complete."
        )
        banners.append(
            Banner("error", f"{len(uploads)} expected upload(s) missing: {_listed(uploads)}. {consequence}")
        )
    if queries:
        listed = "; ".join(g.text for g in queries[:_MAX_LISTED_GAPS])
        banners.append(
            Banner(
                "error",
                f"Some figures could not be computed: {listed}. The sections that need "
                "them say so; re-run the report once the cause is fixed.",
            )
        )
    opened = [g for g in gaps if g.kind == "open"]
    if opened:
        consequence = (
            "This report is held until they close."
            if held
            else "Their figures may still change when the rest of the day arrives."
        )
        banners.append(
            Banner("warning", f"{len(opened)} day(s) not closed yet: {_listed(opened)}. {consequence}")
        )
    for gap in (g for g in gaps if g.kind == "coverage"):
        consequence = "This report is held until the data is complete." if held else "Read costs with care."
        banners.append(Banner("error", f"{gap.text}. {consequence}"))
    if not window.complete:
        banners.append(
            Banner(
                "info",
                f"Period to date: {window.start} to {window.end}. The complete "
                f"{window.period} report follows after {window.period_end}.",
            )
        )
    return banners


def build_document(
    ports: Ports,
    config: AppConfig,
    *,
    audience: str,
    centre_ids: Sequence[str],
    period: str,
    as_of: date,
    queues: Sequence[str] = (),
    now: datetime | None = None,
) -> Report:
    """Query and lay out one report (no storing, no sending); its gaps say what was missing."""
    if audience not in AUDIENCE_BUILDERS:
        raise ConfigError(f"unknown audience {audience!r}; use one of {', '.join(AUDIENCE_BUILDERS)}")
    centres = tuple(config.centre(c) for c in centre_ids)
    window = window_for(period, as_of)
    figures = Figures(ports)
    statuses = {c.centre_id: figures.upload_status(c, window, now) for c in centres}
    job = _Job(audience, tuple(centre_ids), tuple(queues))
    context = Context(
        ports=ports,
        config=config,
        audience=audience,
        centres=centres,
        queues=tuple(queues),
        window=window,
        figures=figures,
        uploads=statuses,
        generated_at=(now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0),
        scope=_scope(config, job),
    )
    report = AUDIENCE_BUILDERS[audience](context)
    gaps = tuple(figures.gaps)
    used = sorted(
        (centre_id, str(row["business_day"]), str(row["source"]), str(row["upload_id"]))
        for centre_id, status in statuses.items()
        if status is not None
        for row in status.table.to_pylist()
        if row["status"] == "stored" and str(row["business_day"]) <= window.end.isoformat()
    )
    held = bool(gaps) and audience in HOLD_WHEN_INCOMPLETE
    return replace(
        report,
        gaps=gaps,
        banners=(*_gap_banners(gaps, window, held), *report.banners),
        internal_only=audience in INTERNAL_AUDIENCES,
        uploads_used=tuple(used),
    )


def _render(report: Report, fmt: str, exports: Sequence[str] = ()) -> bytes:
    """One format of ``report``; ``exports`` are the formats delivered with it (notes in HTML/PDF say so)."""
    from contactlake.report import render

    if fmt == "html":
        return render.render_html(report, for_email=False, exports=exports).encode("utf-8")
    if fmt == "pdf":
        from contactlake.report.pdf import render_pdf

        return render_pdf(report, exports)
    if fmt == "xlsx":
        return render.render_xlsx(report)
    if fmt == "csv":
        tables = {t.name: t for t in report.data_tables}
        table = tables.get(report.primary_table or "") or next(iter(tables.values()), None)
        if table is None:  # every builder declares its primary table; this is only a last resort
            table = Table(report.primary_table or "report", report.title, (Column("note", "note"),), ())
        return render.render_csv(table, report.style)
    raise ConfigError(f"unknown report format {fmt!r}; use html, pdf, csv or xlsx")


def _key(report: Report, ext: str) -> str:
    window, scope = report.window, report.scope
    return report_key(scope.key, report.audience, window.period, window.start, ext, scope.queues)


class _Publisher:
    """Stores and sends reports for one run; reports shared by stakeholders are rendered once per format."""

    def __init__(
        self,
        ports: Ports,
        settings: Settings,
        deliver: bool,
        on_step: Step | None,
        issued: bool = True,
        resend: bool = False,
    ) -> None:
        self.ports, self.settings, self.deliver = ports, settings, deliver
        #: Send even to recipients the issue record says already have this version (the CLI's --resend).
        self.resend = resend
        #: Issued to a stakeholder (the schedules, restatements): its version goes to the lake's
        #: report_issues. A report built on request is issued to nobody, and the API has no lake writes.
        self.issued = issued
        self.on_step = on_step or (lambda _step: None)
        self.rendered: dict[tuple[int, str, tuple[str, ...]], bytes] = {}
        self.stored: dict[str, bytes] = {}

    def _render(self, report: Report, fmt: str, formats: Sequence[str]) -> bytes:
        key = (id(report), fmt, tuple(formats))
        if key not in self.rendered:
            self.rendered[key] = _render(report, fmt, formats)
        return self.rendered[key]

    def _store(self, key: str, data: bytes, fmt: str) -> None:
        if self.stored.get(key) == data:
            return
        self.ports.store.put("reports", key, data, CONTENT_TYPES[fmt])
        self.stored[key] = data
        self.on_step(f"stored reports/{key} ({len(data) / 1024:,.0f} KB)")

    def publish(
        self, report: Report, name: str, formats: Sequence[str], recipients: Sequence[str]
    ) -> ReportResult:
        base = ReportResult(
            stakeholder=name,
            audience=report.audience,
            centre_id=report.scope.key,
            period=report.window.period,
            period_start=report.window.start,
            period_end=report.window.end,
            keys=(),
            email=None,
            status="stored",
            message="",
            gaps=tuple(g.text for g in report.gaps),
        )
        if report.gaps and report.audience in HOLD_WHEN_INCOMPLETE:
            return self._hold(report, base)
        self.ports.store.delete("reports", [_key(report, "held.json")])
        keys: list[str] = []
        attachments: list[Attachment] = []
        try:
            for fmt in dict.fromkeys(["html", *formats]):
                data = self._render(report, fmt, formats)
                key = _key(report, fmt)
                self._store(key, data, fmt)
                keys.append(key)
                if fmt != "html":
                    filename = key.replace("/", "-")
                    attachments.append(Attachment(filename, CONTENT_TYPES[fmt].split(";")[0], data, key))
        except Exception as error:
            logger.exception(
                "rendering or storing the %s report for %s failed", report.audience, base.centre_id
            )
            return replace(base, keys=tuple(keys), status="failed", message=f"not stored: {error}")
        base = replace(base, keys=tuple(keys))
        from contactlake.report.issues import already_sent, record_delivery, record_issue

        record = record_issue(
            self.ports, report, name, formats, recipients if self.deliver else (), in_lake=self.issued
        )
        gaps = f" with {len(report.gaps)} data gap(s) flagged" if report.gaps else ""
        if not self.deliver:
            return replace(base, message=f"stored{gaps}; e-mail not requested")
        allowed, refused = self._recipients(report, recipients)
        if not allowed:
            why = (
                f"external recipients refused for an internal report: {', '.join(refused)}"
                if refused
                else "no recipients configured"
            )
            return replace(base, message=f"stored{gaps}; not e-mailed ({why})")
        sent = {} if self.resend else already_sent(record, report)
        earlier = [sent[r.lower()] for r in allowed if r.lower() in sent]
        if len(earlier) == len(allowed):
            when = ", ".join(sorted({e["at"] for e in earlier}))
            self.on_step(f"already e-mailed to {', '.join(allowed)} at {when}")
            return replace(
                base,
                message=f"stored{gaps}; already e-mailed to {', '.join(allowed)} at {when} UTC "
                f"(version {record['version']}), not sent again",
            )
        already = [r for r in allowed if r.lower() in sent]
        allowed = [r for r in allowed if r.lower() not in sent]
        try:
            message = compose_email(
                report, sender=self.settings.mail_sender, recipients=allowed, attachments=attachments
            )
            reference = self.ports.mailer.send(message)
        except Exception as error:
            return self._failed(report, base, allowed, error, gaps)
        record_delivery(self.ports, report, name, allowed, reference, datetime.now(UTC))
        self.on_step(f"e-mailed {', '.join(allowed)}")
        note = f"; refused external {', '.join(refused)}" if refused else ""
        note += f"; already e-mailed earlier to {', '.join(already)}" if already else ""
        return replace(
            base,
            email=reference,
            status="sent",
            message=f"stored and e-mailed to {', '.join(allowed)}{gaps}{note}",
        )

    def _recipients(self, report: Report, recipients: Sequence[str]) -> tuple[list[str], list[str]]:
        """Internal-only reports go only to addresses in the sender's own domain."""
        if not report.internal_only:
            return list(recipients), []
        domain = sender_domain(self.settings.mail_sender)
        allowed = [r for r in recipients if sender_domain(r) == domain]
        refused = [r for r in recipients if r not in allowed]
        if refused:
            logger.warning("internal %s report: refused external recipients %s", report.audience, refused)
        return allowed, refused

    def _failed(
        self, report: Report, base: ReportResult, recipients: list[str], error: Exception, gaps: str
    ) -> ReportResult:
        logger.error(
            "e-mailing the %s report for %s to %s failed: %s",
            report.audience,
            base.centre_id,
            recipients,
            error,
        )
        self.ports.events.publish(
            "ReportDeliveryFailed",
            {
                "audience": report.audience,
                "centre_id": base.centre_id,
                "period": base.period,
                "period_start": str(base.period_start),
                "keys": list(base.keys),
                "error": str(error)[:500],
            },
        )
        return replace(base, status="failed", message=f"stored{gaps}; e-mail failed: {error}")

    def _hold(self, report: Report, base: ReportResult) -> ReportResult:
        key = _key(report, "held.json")
        record = {
            "status": "held",
            "audience": report.audience,
            "centres": list(report.scope.centre_ids),
            "queues": list(report.scope.queues),
            "period": report.window.period,
            "period_start": str(report.window.start),
            "period_end": str(report.window.end),
            "generated_at": report.generated_at.isoformat(),
            "gaps": [
                {"kind": g.kind, "centre_id": g.centre_id, "what": g.what, "detail": g.detail}
                for g in report.gaps
            ],
        }
        self._store(key, json.dumps(record, indent=2).encode(), "json")
        self.ports.events.publish("ReportHeld", record)
        logger.warning(
            "held the %s report for %s: %d gap(s)", report.audience, base.centre_id, len(report.gaps)
        )
        reasons = "; ".join(g.text for g in report.gaps[:3])
        more = f" (+{len(report.gaps) - 3} more)" if len(report.gaps) > 3 else ""
        return replace(base, keys=(key,), status="held", message=f"held, not sent: {reasons}{more}")


def _check(config: AppConfig, period: str, audience: str | None, centres: Sequence[str] | None) -> None:
    if period not in PERIODS:
        raise ConfigError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    if audience is not None and audience not in AUDIENCE_BUILDERS:
        raise ConfigError(f"unknown audience {audience!r}; use one of {', '.join(AUDIENCE_BUILDERS)}")
    for centre_id in centres or ():
        config.centre(centre_id)


def build_reports(
    ports: Ports,
    config: AppConfig,
    settings: Settings,
    *,
    period: str,
    as_of: date,
    audience: str | None = None,
    centres: Sequence[str] | None = None,
    deliver: bool = True,
    resend: bool = False,
    on_step: Callable[[str], None] | None = None,
    report_ports: ReportPorts | None = None,
) -> list[ReportResult]:
    """Build, store and (if ``deliver``) e-mail every configured stakeholder report for ``period``.

    ``as_of`` is the last local day covered (schedules pass yesterday). When ``audience`` is given and
    no stakeholder of that audience takes ``period``, one unaddressed report is built and stored
    (``stakeholder="ad-hoc"``), so the CLI can produce any report on request. A report version already
    e-mailed to a recipient is not e-mailed to them again unless ``resend`` (the CLI's ``--resend``).
    Each document is queried with ``report_ports(its name)`` when given (:data:`ReportPorts`).
    """
    _check(config, period, audience, centres)
    now = datetime.now(UTC)
    step = on_step or (lambda _step: None)
    publisher = _Publisher(ports, settings, deliver, on_step, resend=resend)
    chosen = [s for s in config.stakeholders if period in s.periods and audience in (None, s.audience)]
    plan = [(s.name, s.formats, s.recipients, job) for s in chosen for job in _jobs(s, centres)]
    if not chosen and audience is not None:
        adhoc = Stakeholder(
            "ad-hoc", audience, tuple(centres or config.centres), (period,), ("html", "pdf", "xlsx")
        )
        plan = [("ad-hoc", adhoc.formats, (), job) for job in _jobs(adhoc, None)]
    documents: dict[_Job, Report] = {}
    results = []
    for name, formats, recipients, job in plan:
        if job not in documents:
            step(f"{job.audience} {period} for {'+'.join(job.centre_ids)}: querying")
            named = document_name(job.audience, job.centre_ids, period, as_of, job.queues)
            documents[job] = build_document(
                report_ports(named) if report_ports else ports,
                config,
                audience=job.audience,
                centre_ids=job.centre_ids,
                period=period,
                as_of=as_of,
                queues=job.queues,
                now=now,
            )
        result = publisher.publish(documents[job], name, formats, recipients)
        step(f"{job.audience} {period} for {result.centre_id}: {result.status} — {result.message}")
        results.append(result)
    return results


def generate_report(
    ports: Ports,
    config: AppConfig,
    settings: Settings,
    *,
    audience: str,
    period: str,
    as_of: date,
    centre_ids: Sequence[str],
    queues: Sequence[str] = (),
    formats: Sequence[str] = ("html", "pdf", "csv", "xlsx"),
) -> ReportResult:
    """Build and store one report on request (the API); nothing is e-mailed. Same hold rules as schedules."""
    _check(config, period, audience, centre_ids)
    if audience not in COMBINED_AUDIENCES and len(centre_ids) != 1:
        raise ConfigError(f"a {audience} report covers one centre; ask for one centre at a time")
    report = build_document(
        ports, config, audience=audience, centre_ids=centre_ids, period=period, as_of=as_of, queues=queues
    )
    return _Publisher(ports, settings, False, None, issued=False).publish(report, "on-demand", formats, ())
