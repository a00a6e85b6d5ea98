"""The scheduled reports: the four SAM schedules in template.yaml (daily, weekly, monthly, quarterly) invoke
``app.scheduled_report`` with ``{"period": "…"}`` (docs/adr/0007-reporting-and-api.md says why SAM).

The handler never raises for a report that failed or was held: a retry would only store the reports
that did go out again (each version is e-mailed once: the issue record says to whom, docs/reports.md),
and a failure is better reported than retried. Failures are logged, published as events by the report
builder, and counted as metrics (alarm on ``ReportsFailed``). The Athena engine is scoped to the
invocation (its scan budget is one run's).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.observability import logger, metrics
from contactlake.config import PERIODS, AppConfig
from contactlake.report.build import build_reports
from contactlake.report.periods import scheduled_as_of
from contactlake.runtime import for_run, runtime

__all__ = ["handler", "resolve_as_of"]


def resolve_as_of(config: AppConfig, event: dict[str, Any], now: datetime) -> date:
    """``event["as_of"]`` if given (re-runs), else yesterday in the centres' zone (UTC if they differ)."""
    if event.get("as_of"):
        return date.fromisoformat(str(event["as_of"]))
    zones = {c.timezone for c in config.centres.values()}
    return scheduled_as_of(now, zones.pop() if len(zones) == 1 else "UTC")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    period = str((event or {}).get("period", ""))
    if period not in PERIODS:
        raise ValueError(f'scheduled_report needs {{"period": one of {", ".join(PERIODS)}}}, got {event!r}')
    base = runtime()
    rt = for_run(base, context.aws_request_id)  # the alerts' scan budget: one per invocation
    as_of = resolve_as_of(rt.config, event, datetime.now(UTC))
    results = build_reports(
        rt.ports,
        rt.config,
        rt.settings,
        period=period,
        as_of=as_of,
        on_step=lambda step: logger.info(step),
        # One scan budget per report (ADR 0015), keyed by the invocation so a retry re-attaches.
        report_ports=lambda name: for_run(base, f"{context.aws_request_id}/{name}").ports,
    )
    if period == "daily":  # the nightly run: exception alerts, one digest per recipient
        from contactlake.report.alerts import send_alert_digests

        alerts = send_alert_digests(rt.ports, rt.config, rt.settings, day=as_of)
        metrics.add_metric(
            name="AlertDigestsSent", unit=MetricUnit.Count, value=sum(a.status == "sent" for a in alerts)
        )
    counts = Counter(r.status for r in results)
    for status in ("sent", "stored", "held", "failed"):
        metrics.add_metric(name=f"Reports{status.capitalize()}", unit=MetricUnit.Count, value=counts[status])
    for result in results:
        log = logger.error if result.status == "failed" else logger.info
        log(
            "report",
            extra={
                "stakeholder": result.stakeholder,
                "audience": result.audience,
                "centre_id": result.centre_id,
                "status": result.status,
                "detail": result.message,
            },
        )
    return {
        "period": period,
        "as_of": as_of.isoformat(),
        "counts": dict(counts),
        "reports": [
            {
                "stakeholder": r.stakeholder,
                "audience": r.audience,
                "centre_id": r.centre_id,
                "status": r.status,
                "keys": list(r.keys),
                "message": r.message,
            }
            for r in results
        ],
    }
