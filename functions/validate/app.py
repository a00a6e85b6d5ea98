"""Validate Lambda: a staged upload is ready → check it, store it in the lake, record its manifest.

Triggered by ``staging/<upload_id>/_ready.json`` in the lake bucket (prefix + suffix filter, so the
function's own writes to curated/ and manifests/ never trigger it).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from contactlake.ingest.routing import decode_event_key
from contactlake.pipeline import commit_staged
from contactlake.runtime import runtime

logger = Logger(service="contactlake-validate")
metrics = Metrics(namespace="ContactLake", service="validate")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    results = []
    for record in event.records:
        key = decode_event_key(record.s3.get_object.key)
        committed = commit_staged(rt.ports, rt.config, key)
        manifest = committed.manifest
        logger.info(
            "upload validated" if committed.fresh else "duplicate delivery: upload already validated",
            extra={
                "upload_id": manifest.upload_id,
                "status": manifest.status,
                "rows_read": manifest.rows_read,
                "rows_stored": manifest.rows_stored,
                "rows_quarantined": manifest.rows_quarantined,
                "rows_excluded": manifest.rows_excluded,
            },
        )
        results.append(
            {"upload_id": manifest.upload_id, "status": manifest.status, "reconciles": manifest.reconciles}
        )
        if not committed.fresh:  # counted when it was committed: the metrics count an upload once
            continue
        for name, value in (
            ("RowsStored", manifest.rows_stored),
            ("RowsQuarantined", manifest.rows_quarantined),
            ("UploadsValidated", 1),
        ):
            # Per-centre series (alarms watch a centre's uploads and quarantine rate) and a total.
            with single_metric(
                name=name, unit=MetricUnit.Count, value=value, namespace="ContactLake"
            ) as metric:
                metric.add_dimension(name="centre_id", value=manifest.centre_id)
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return {"uploads": results}
