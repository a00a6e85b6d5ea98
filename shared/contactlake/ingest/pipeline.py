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
from contactlake.ingest.reader import HashingReader, ObjectChanged
from contactlake.ingest.routing import route_upload, upload_from_identity, upload_identity
from contactlake.ingest.sources import AdapterContext, get_adapter
from contactlake.lake import parquet_bytes
from contactlake.ports import ObjectNotFound, Ports
from contactlake.validate.commit import (
    Manifest,
    ProgressCallback,
    commit_upload,
    load_manifest,
    quarantine_file,
)

__all__ = [
    "commit_staged",
    "process_upload",
    "read_upload",
    "skipped_manifest",
    "stage_upload",
    "unroutable_manifest",
]

_REJECT_SCHEMA = pa.schema(
    [("line", pa.int64()), ("raw_text", pa.string()), ("rule_id", pa.string()), ("message", pa.string())]
)


def _context(
    upload: Upload, config: AppConfig, settings: Settings, block_bytes: int | None
) -> AdapterContext:
    config_dir = str(Path(config.source_path).parent) if config.source_path != "<memory>" else None
    mapping = load_mapping(upload.mapping, config_dir) if upload.mapping else None
    kwargs = {"block_bytes": block_bytes} if block_bytes else {}
    return AdapterContext(pii_key=settings.pii_key, mapping=mapping, **kwargs)


def read_upload(
    ports: Ports, upload: Upload, config: AppConfig, settings: Settings, block_bytes: int | None = None
) -> Iterator[ParsedBatch]:
    """Parse the raw object into canonical batches (bounded memory); raises IngestError if unreadable.

    The raw bytes are hashed on the way through; the last batch carries the SHA-256 for the manifest.
    Raises :class:`ObjectChanged` if the bytes read are not the version the upload was identified by.
    """
    adapter = get_adapter(upload.adapter)
    ctx = _context(upload, config, settings, block_bytes)
    with ports.store.open("raw", upload.key, if_match=upload.fingerprint) as raw:
        hashing = HashingReader(raw)
        yield from adapter.read(hashing, upload, ctx)  # type: ignore[arg-type]  # a binary stream
        yield ParsedBatch(rows_read=0, checksum_sha256=hashing.finish())


def skipped_manifest(key: str, message: str, upload: Upload | None = None) -> Manifest:
    """What an event for an object that vanished or changed before it was read leaves: nothing stored.

    Nothing is written either: the object's current version (if any) is processed from its own event,
    and a deleted object has nothing to ingest. The handler logs the message.
    """
    parts = key.split("/")
    return Manifest(
        upload_id=upload.upload_id if upload else "",
        centre_id=upload.centre_id if upload else parts[0],
        source=upload.source if upload else (parts[1] if len(parts) > 1 else ""),
        adapter=upload.adapter if upload else "",
        source_key=key,
        source_version=upload.version if upload else None,
        fingerprint=upload.fingerprint if upload else "",
        dataset_key=upload.dataset_key if upload else "",
        status="skipped",
        message=message,
    )


def unroutable_manifest(key: str, error: IngestError) -> Manifest:
    """A key outside the allow-list (unknown centre or source, ``..``, no file name): nothing is written.

    There is no centre to file it under, and retrying cannot help, so the event is acknowledged with
    status ``unroutable`` and the reason (the handler logs it; the key is not written anywhere).
    """
    manifest = skipped_manifest(key, f"{error.rule_id}: {error}")
    manifest.status = "unroutable"
    manifest.centre_id = ""
    manifest.source = ""
    return manifest


def process_upload(
    ports: Ports,
    config: AppConfig,
    settings: Settings,
    key: str,
    progress: ProgressCallback | None = None,
    block_bytes: int | None = None,
) -> Manifest:
    """Route, read, validate and store one raw object; an unreadable file is quarantined whole."""
    try:
        upload = route_upload(key, config, ports.store)
    except ObjectNotFound as error:
        return skipped_manifest(key, f"the object vanished before it was read: {error}")
    except IngestError as error:
        return unroutable_manifest(key, error)
    try:
        return commit_upload(
            ports, upload, read_upload(ports, upload, config, settings, block_bytes), progress
        )
    except IngestError as error:
        return quarantine_file(ports, upload, error.rule_id, str(error), error.line)
    except ObjectNotFound as error:
        return skipped_manifest(key, f"the object vanished while it was read: {error}", upload)
    except ObjectChanged as error:
        return skipped_manifest(key, str(error), upload)


def _staging(upload_id: str) -> str:
    return f"staging/{upload_id}"


def stage_upload(ports: Ports, config: AppConfig, settings: Settings, key: str) -> str | Manifest:
    """AWS ingest stage: parse to ``staging/`` and write the ``_ready.json`` marker; returns the upload id.

    An unreadable file is quarantined whole here and its manifest returned instead; an object that
    vanished or changed before it was read returns a ``skipped`` manifest and writes nothing.
    """
    try:
        upload = route_upload(key, config, ports.store)
    except ObjectNotFound as error:
        return skipped_manifest(key, f"the object vanished before it was read: {error}")
    except IngestError as error:
        return unroutable_manifest(key, error)
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
            meta = {
                "rows_read": batch.rows_read,
                "excluded": dict(batch.excluded),
                "checksum_sha256": batch.checksum_sha256,
                "ids_unique": batch.ids_unique,
            }
            rejects = rejects.replace_schema_metadata({"contactlake.batch": json.dumps(meta)})
            ports.store.put("lake", f"{prefix}/{index:05d}-rejects.parquet", parquet_bytes(rejects))
            count = index + 1
    except IngestError as error:
        return quarantine_file(ports, upload, error.rule_id, str(error), error.line)
    except ObjectNotFound as error:
        return skipped_manifest(key, f"the object vanished while it was read: {error}", upload)
    except ObjectChanged as error:
        return skipped_manifest(key, str(error), upload)
    ready = {"upload_id": upload.upload_id, "key": key, "batches": count, "upload": upload_identity(upload)}
    ports.store.put("lake", f"{prefix}/_ready.json", json.dumps(ready).encode(), "application/json")
    return upload.upload_id


def _read_staged(ports: Ports, prefix: str, batches: int) -> Iterator[ParsedBatch]:
    for index in range(batches):
        rejects_table = pq.read_table(
            pa.BufferReader(ports.store.get("lake", f"{prefix}/{index:05d}-rejects.parquet"))
        )
        meta = json.loads((rejects_table.schema.metadata or {})[b"contactlake.batch"])
        batch = ParsedBatch(
            rows_read=int(meta["rows_read"]),
            rejects=[
                Reject(r["line"], r["raw_text"], r["rule_id"], r["message"])
                for r in rejects_table.to_pylist()
            ],
            excluded=Counter(meta["excluded"]),
            checksum_sha256=meta.get("checksum_sha256"),
            ids_unique=bool(meta.get("ids_unique", False)),
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
    """AWS validate stage: commit the staged batches named by a ``_ready.json`` marker, then tidy up.

    The marker carries the upload's identity, so this stage never looks at the raw object again (it may
    have been overwritten since; its new version has its own event and its own upload id).
    """
    ready = json.loads(ports.store.get("lake", ready_key))
    upload = upload_from_identity(ready["upload"], config)
    prefix = _staging(upload.upload_id)
    manifest = commit_upload(ports, upload, _read_staged(ports, prefix, int(ready["batches"])))
    ports.store.delete("lake", [info.key for info in ports.store.list("lake", prefix + "/")])
    return manifest
