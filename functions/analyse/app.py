"""Analyse Lambda: recompute the KPI aggregates nightly, and for the days an upload just touched.

Two triggers: a nightly schedule (recomputes the last ``CONTACTLAKE_RECOMPUTE_DAYS`` local days of every
centre, so late uploads are picked up) and the ``UploadValidated`` EventBridge event (recomputes exactly
the centre-days that upload wrote).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from contactlake.adapters.athena import AthenaEngine
from contactlake.jobs import analysis_windows, record_analysis_run, run_windows
from contactlake.runtime import runtime

logger = Logger(service="contactlake-analyse")
metrics = Metrics(namespace="ContactLake", service="analyse")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    ports = rt.ports
    if isinstance(ports.engine, AthenaEngine):
        # Tie Athena's start tokens to the event: a retried invocation reuses the running queries.
        ports = replace(ports, engine=ports.engine.with_run_id(event.get_id))
    windows = analysis_windows(rt.config, event.detail_type, dict(event.detail or {}), event.time)
    results = run_windows(ports, rt.config, windows, on_step=lambda step: logger.info(step))
    metrics.add_metric(
        name="AggregatePartitionsWritten", unit=MetricUnit.Count, value=sum(r.days for r in results)
    )
    summary: dict[str, Any] = {
        "windows": [w.as_dict() for w in windows],
        "tables": [r.__dict__ for r in results],
    }
    athena = ports.engine.usage() if isinstance(ports.engine, AthenaEngine) else None
    if athena is not None:
        # What the run read and cost: the figures infra/README.md's cost per nightly run is taken from.
        metrics.add_metric(name="AthenaBytesScanned", unit=MetricUnit.Bytes, value=athena["bytes_scanned"])
        summary["athena"] = athena
        logger.info("athena usage", extra=athena)
    summary["record"] = record_analysis_run(
        ports, event.get_id, event.time, event.detail_type, windows, results, athena
    )
    return summary
