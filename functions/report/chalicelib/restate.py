"""Restatements: the ``AnalysisFinished`` event of a correction (template.yaml routes only those with
``replaced`` true here) restates the reports that covered its days, with a notice to their recipients.

Like the schedules, the handler never raises for a report that could not be restated: the function is
not retried (a retry would mail the notices that did go out a second time); failures are logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.observability import logger, metrics
from contactlake.report.restate import restate_after_analysis
from contactlake.runtime import for_run, runtime

__all__ = ["handler"]


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    base = runtime()
    rt = for_run(base, context.aws_request_id)
    detail = dict(event.detail or {})
    results = restate_after_analysis(
        rt.ports,
        rt.config,
        rt.settings,
        detail,
        on_step=lambda step: logger.info(step),
        # One scan budget per re-built report (ADR 0015), keyed by the invocation so a retry re-attaches.
        report_ports=lambda name: for_run(base, f"{context.aws_request_id}/{name}").ports,
    )
    restated = [r for r in results if r.status == "restated"]
    metrics.add_metric(name="ReportsRestated", unit=MetricUnit.Count, value=len(restated))
    logger.info("restatements", extra={"centre_id": detail.get("centre_id"), "days": detail.get("days")})
    return {
        "centre_id": detail.get("centre_id"),
        "days": detail.get("days"),
        "restatements": [
            {
                "stakeholder": r.stakeholder,
                "audience": r.audience,
                "period_start": r.period_start.isoformat(),
                "status": r.status,
                "changes": r.changes,
                "version": r.version,
            }
            for r in results
        ],
    }
