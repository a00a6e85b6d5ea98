"""The collect path end to end: route an upload, read it with its adapter, validate and store it.

Locally (and in the benchmark) :func:`process_upload` streams batches straight from the adapter into the
validate stage. On AWS the two stages are two functions: :func:`stage_upload` (ingest) writes the
parsed batches to ``staging/<upload_id>/`` and a ``_ready.json`` marker that triggers
:func:`commit_staged` (validate). The staged batches are Arrow/Parquet, so nothing is parsed twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from contactlake import schema
from contactlake.config import AppConfig, Settings
from contactlake.ingest.mapping import load_mapping
from contactlake.ingest.model import IngestError, ParsedBatch, Reject, Upload
from contactlake.ingest.routing import route_upload
from contactlake.ingest.sources import AdapterContext, get_adapter
from contactlake.lake import parquet_bytes
from contactlake.ports import ObjectNotFound, Ports
from contactlake.validate.commit import Manifest, ProgressCallback, commit_upload, load_manifest, quarantine_file

__all__ = ["commit_staged", "process_upload", "read_upload", "stage_upload"]

_REJECT_SCHEMA = pa.schema(
    [("line", pa.int64()), ("raw_text", pa.string()), ("rule_id", pa.string()), ("message", pa.string())]
)


def _context(upload: Upload, config: AppConfig, settings: Settings, block_bytes: int | None) -> AdapterContext:
    config_dir = str(Path(config.source_path).parent) if config.source_path != "<memory>" else None
    mapping = load_mapping(upload.mapping, config_dir) if upload.mapping else None
    kwargs = {"block_bytes": block_bytes} if block_bytes else {}
    return AdapterContext(pii_key=settings.pii_key, mapping=mapping, **kwargs)


def read_upload(
    ports: Ports, upload: Upload, config: AppConfig, settings: Settings, block_bytes: int | None = None
) -> Iterator[ParsedBatch]:
    """Parse the raw object into canonical batches (bounded memory); raises IngestError if unreadable."""
    adapter = get_adapter(upload.adapter)
    ctx = _context(upload, config, settings, block_bytes)
    with ports.store.open("raw", upload.key) as stream:
        yield from adapter.read(stream, upload, ctx)


def process_upload(
    ports: Ports,
    config: AppConfig,
    settings: Settings,
    key: str,
    progress: ProgressCallback | None = None,
    block_bytes: int | None = None,
) -> Manifest:
    """Route, read, validate and store one raw object; an unreadable file is quarantined whole."""
    upload = route_upload(key, config, ports.store)
    try:
        return commit_upload(ports, upload, read_upload(ports, upload, config, settings, block_bytes), progress)
    except IngestError as error:
        return quarantine_file(ports, upload, error.rule_id, str(error), error.line)
    except ObjectNotFound as error:
        return quarantine_file(ports, upload, "file.vanished", f"the object changed or vanished while read: {error}")


def _staging(upload_id: str) -> str:
    return f"staging/{upload_id}"


def stage_upload(ports: Ports, config: AppConfig, settings: Settings, key: str) -> str | Manifest:
    """AWS ingest stage: parse to ``staging/`` and write the ``_ready.json`` marker; returns the upload id.

    An unreadable file is quarantined whole here and its manifest returned instead.
    """
    upload = route_upload(key, config, ports.store)
    done = load_manifest(ports, upload.upload_id)
    if done is not None:
        return done
    prefix = _staging(upload.upload_id)
    count = 0
    try:
        for index, batch in enumerate(read_upload(ports, upload, config, settings)):
            for name in ("contacts", "pathway_steps", "agent_activity"):
                table = getattr(batch, name)
                if table is not None and table.num_rows:
                    ports.store.put("lake", f"{prefix}/{index:05d}-{name}.parquet", parquet_bytes(table))
            rejects = pa.Table.from_pylist([asdict(r) for r in batch.rejects], schema=_REJECT_SCHEMA)
            meta = {"rows_read": batch.rows_read, "excluded": dict(batch.excluded)}
            rejects = rejects.replace_schema_metadata({"contactlake.batch": json.dumps(meta)})
            ports.store.put("lake", f"{prefix}/{index:05d}-rejects.parquet", parquet_bytes(rejects))
            count = index + 1
    except (IngestError, ObjectNotFound) as error:
        rule = error.rule_id if isinstance(error, IngestError) else "file.vanished"
        line = error.line if isinstance(error, IngestError) else None
        return quarantine_file(ports, upload, rule, str(error), line)
    ready = {"upload_id": upload.upload_id, "key": key, "batches": count, "version": upload.version}
    ports.store.put("lake", f"{prefix}/_ready.json", json.dumps(ready).encode(), "application/json")
    return upload.upload_id


def _read_staged(ports: Ports, prefix: str, batches: int) -> Iterator[ParsedBatch]:
    for index in range(batches):
        rejects_table = pq.read_table(pa.BufferReader(ports.store.get("lake", f"{prefix}/{index:05d}-rejects.parquet")))
        meta = json.loads((rejects_table.schema.metadata or {})[b"contactlake.batch"])
        batch = ParsedBatch(
            rows_read=int(meta["rows_read"]),
            rejects=[Reject(r["line"], r["raw_text"], r["rule_id"], r["message"]) for r in rejects_table.to_pylist()],
            excluded=Counter(meta["excluded"]),
        )
        for name, table_schema in (
            ("contacts", schema.CONTACTS),
            ("pathway_steps", schema.PATHWAY_STEPS),
            ("agent_activity", schema.AGENT_ACTIVITY),
        ):
            key = f"{prefix}/{index:05d}-{name}.parquet"
            if ports.store.exists("lake", key):
                table = pq.read_table(pa.BufferReader(ports.store.get("lake", key)))
                setattr(batch, name, table.cast(table_schema.remove_metadata()))
        yield batch


def commit_staged(ports: Ports, config: AppConfig, ready_key: str) -> Manifest:
    """AWS validate stage: commit the staged batches named by a ``_ready.json`` marker, then tidy up."""
    ready = json.loads(ports.store.get("lake", ready_key))
    upload = route_upload(ready["key"], config, ports.store)
    if upload.upload_id != ready["upload_id"]:
        # The raw object was overwritten after it was staged: the new version has its own event.
        upload = Upload(**{**upload.__dict__, "upload_id": ready["upload_id"], "version": ready.get("version")})
    prefix = _staging(ready["upload_id"])
    manifest = commit_upload(ports, upload, _read_staged(ports, prefix, int(ready["batches"])))
    ports.store.delete("lake", [info.key for info in ports.store.list("lake", prefix + "/")])
    return manifest
