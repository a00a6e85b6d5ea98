"""Ingest Lambda: an export lands in the raw bucket → parse it with its source's adapter into staging/.

An adapter: parse the S3 event, call one domain function per record, shape the response. Unreadable
files are quarantined whole inside the domain function; anything else raises so Lambda retries and,
past the retries, the on-failure destination keeps the event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from contactlake.ingest.routing import decode_event_key
from contactlake.pipeline import stage_upload
from contactlake.runtime import runtime

logger = Logger(service="contactlake-ingest")
metrics = Metrics(namespace="ContactLake", service="ingest")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    staged = []
    for record in event.records:
        key = decode_event_key(record.s3.get_object.key)
        logger.append_keys(raw_key=key, bucket=record.s3.bucket.name)
        result = stage_upload(rt.ports, rt.config, rt.settings, key)
        if isinstance(result, str):
            logger.info("upload staged", extra={"upload_id": result})
            metrics.add_metric(name="UploadsStaged", unit=MetricUnit.Count, value=1)
            staged.append({"key": key, "upload_id": result, "status": "staged"})
        else:
            logger.warning(
                "upload not staged",
                extra={"upload_id": result.upload_id, "status": result.status, "reason": result.message},
            )
            metrics.add_metric(
                name="UploadsRejected", unit=MetricUnit.Count, value=int(result.status == "rejected")
            )
            staged.append({"key": key, "upload_id": result.upload_id, "status": result.status})
    return {"uploads": staged}
