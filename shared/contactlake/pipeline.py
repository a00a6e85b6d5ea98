"""The collect path end to end, above both stages: route an upload, parse it (ingest), store it (commit).

Locally (and in the benchmark) :func:`process_upload` streams batches straight from the ingest stage
into the commit stage. On AWS the two stages are two functions: :func:`stage_upload` (the ingest
Lambda) writes the parsed batches to ``staging/<upload_id>/`` and a ``_ready.json`` marker that
triggers :func:`commit_staged` (the validate Lambda, which runs the commit stage). The staged batches
are Arrow/Parquet, so nothing is parsed twice. :func:`replay_upload` processes an upload again after
its mapping (or its adapter) was fixed, without duplicating anything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from contactlake import schema
from contactlake.commit.committer import (
    Committed,
    Manifest,
    ProgressCallback,
    commit_once,
    commit_upload,
    load_manifest,
    quarantine_file,
    retire_upload,
)
from contactlake.config import AppConfig, Settings
from contactlake.contract import IngestError, ParsedBatch, Reject, Upload
from contactlake.ingest.parse import read_upload
from contactlake.ingest.routing import route_upload, upload_from_identity, upload_identity
from contactlake.lake import parquet_bytes
from contactlake.ports import ObjectChanged, ObjectNotFound, Ports

__all__ = [
    "DryRun",
    "ReplayError",
    "commit_staged",
    "dry_run",
    "process_upload",
    "replay_upload",
    "skipped_manifest",
    "stage_upload",
    "unroutable_manifest",
]

_REJECT_SCHEMA = pa.schema(
    [("line", pa.int64()), ("raw_text", pa.string()), ("rule_id", pa.string()), ("message", pa.string())]
)


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


def _route(ports: Ports, config: AppConfig, key: str) -> Upload | Manifest:
    """The routed upload, or the manifest of a key that cannot be: vanished, or outside the allow-list."""
    try:
        return route_upload(key, config, ports.store)
    except ObjectNotFound as error:
        return skipped_manifest(key, f"the object vanished before it was read: {error}")
    except IngestError as error:
        return unroutable_manifest(key, error)


#: What reading an upload may raise: the file is unreadable, or it vanished or changed meanwhile.
_UNREADABLE = (IngestError, ObjectNotFound, ObjectChanged)


def _unreadable(ports: Ports, key: str, upload: Upload, error: Exception) -> Manifest:
    """An unreadable file is quarantined whole; one that vanished or changed is skipped (nothing written)."""
    if isinstance(error, IngestError):
        return quarantine_file(ports, upload, error.rule_id, str(error), error.line)
    if isinstance(error, ObjectNotFound):
        return skipped_manifest(key, f"the object vanished while it was read: {error}", upload)
    return skipped_manifest(key, str(error), upload)


def process_upload(
    ports: Ports,
    config: AppConfig,
    settings: Settings,
    key: str,
    progress: ProgressCallback | None = None,
    block_bytes: int | None = None,
) -> Manifest:
    """Route, read, validate and store one raw object; an unreadable file is quarantined whole."""
    upload = _route(ports, config, key)
    if isinstance(upload, Manifest):
        return upload
    try:
        return commit_upload(
            ports, upload, read_upload(ports, upload, config, settings, block_bytes), progress
        )
    except _UNREADABLE as error:
        return _unreadable(ports, key, upload, error)


def _staging(upload_id: str) -> str:
    return f"staging/{upload_id}"


def stage_upload(ports: Ports, config: AppConfig, settings: Settings, key: str) -> str | Manifest:
    """AWS ingest stage: parse to ``staging/`` and write the ``_ready.json`` marker; returns the upload id.

    An unreadable file is quarantined whole here and its manifest returned instead; an object that
    vanished or changed before it was read returns a ``skipped`` manifest and writes nothing.
    """
    upload = _route(ports, config, key)
    if isinstance(upload, Manifest):
        return upload
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
                "carried": batch.carried,
                "carried_in": batch.carried_in,
                "carried_from": batch.carried_from,
            }
            rejects = rejects.replace_schema_metadata({"contactlake.batch": json.dumps(meta)})
            ports.store.put("lake", f"{prefix}/{index:05d}-rejects.parquet", parquet_bytes(rejects))
            count = index + 1
    except _UNREADABLE as error:
        return _unreadable(ports, key, upload, error)
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
            carried=meta.get("carried"),
            carried_in=int(meta.get("carried_in", 0)),
            carried_from=meta.get("carried_from"),
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


def commit_staged(ports: Ports, config: AppConfig, ready_key: str) -> Committed:
    """AWS commit stage (the validate Lambda): commit the staged batches a ``_ready.json`` marker names.

    The marker carries the upload's identity, so this stage never looks at the raw object again (it may
    have been overwritten since; its new version has its own event and its own upload id). The staged
    files are deleted once the upload is committed. ``fresh`` is false for a duplicate delivery of an
    upload already committed (the validate function counts an upload once).
    """
    try:
        ready = json.loads(ports.store.get("lake", ready_key))
    except ObjectNotFound:
        # A duplicate delivery of the event after the commit deleted the staging files: a no-op.
        upload_id = ready_key.removeprefix("staging/").split("/", 1)[0]
        done = load_manifest(ports, upload_id)
        if done is not None:
            return Committed(done, fresh=False)
        return Committed(
            skipped_manifest(
                ready_key,
                f"no staged upload at {ready_key} and no manifest for {upload_id!r}: nothing to commit",
            ),
            fresh=False,
        )
    upload = upload_from_identity(ready["upload"], config)
    prefix = _staging(upload.upload_id)
    committed = commit_once(ports, upload, _read_staged(ports, prefix, int(ready["batches"])))
    ports.store.delete("lake", [info.key for info in ports.store.list("lake", prefix + "/")])
    return committed


class ReplayError(ValueError):
    """The upload cannot be replayed; the message says why and what to do instead."""


def replay_upload(ports: Ports, config: AppConfig, settings: Settings, upload_id: str) -> Manifest:
    """Process an upload's raw object again with the current mapping; returns the resulting manifest.

    The upload id already includes the processing — adapter version and mapping digest — (see
    :mod:`contactlake.ingest.routing`), so a replay is simply processing the same raw object again:

    * with the mapping unchanged, it gets the same upload id, whose manifest exists: nothing happens;
    * with a fixed mapping, it gets a new upload id and is committed like a corrected re-export of the
      same dataset: the new files are written, then the earlier processing is retired (its curated files
      and its quarantined rows removed, its manifest and ingest_log row kept with status ``replaced``).

    Rows quarantined before the fix therefore drop out of the quarantine, the rows they were are stored
    once, and running the replay again changes nothing. docs/adr/0004-idempotent-uploads.md has the design.
    """
    old = load_manifest(ports, upload_id)
    if old is None:
        raise ReplayError(f"no manifest for upload {upload_id!r}; check the id in the ingest_log")
    if old.status == "replaced":
        raise ReplayError(f"upload {upload_id} was replaced by {old.replaced_by}; replay that upload instead")
    if old.status == "superseded":
        raise ReplayError(f"upload {upload_id} was superseded by a newer export of {old.dataset_key}")
    try:
        current = route_upload(old.source_key, config, ports.store)
    except ObjectNotFound:
        raise ReplayError(f"the raw object {old.source_key} no longer exists; nothing to replay") from None
    except IngestError as error:
        raise ReplayError(f"the raw object {old.source_key} no longer routes: {error}") from None
    if current.fingerprint != old.fingerprint:
        raise ReplayError(
            f"the raw object {old.source_key} changed since upload {upload_id} (ETag {old.fingerprint} → "
            f"{current.fingerprint}); its current version is processed as a new upload from its own event"
        )
    if current.upload_id == upload_id:
        return old  # same bytes, same adapter version, same mapping: nothing would change
    manifest = process_upload(ports, config, settings, old.source_key)
    if manifest.upload_id != upload_id and manifest.status in ("stored", "rejected"):
        # A stored upload was retired by the commit already (it was the dataset's current upload); a
        # rejected one (unreadable with the old mapping) never was, so it is retired here.
        earlier = load_manifest(ports, upload_id)
        if earlier is not None:
            retire_upload(ports, earlier, manifest.upload_id)
    return manifest


@dataclass
class DryRun:
    """What ingesting an upload would do, by rule, with nothing written (``contactlake ingest --dry-run``).

    The repeats only the commit stage finds (an id repeated across batches or already stored by another
    upload) are not counted: they need the lake.
    """

    rows_read: int = 0
    stored: int = 0
    flagged: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    excluded: Counter[str] = field(default_factory=Counter)
    #: Records an event log would carry to its next upload (docs/adr/0018-carried-records.md).
    carried: int = 0
    rejected_whole: str | None = None


def dry_run(ports: Ports, config: AppConfig, settings: Settings, key: str) -> DryRun:
    """Route and parse the raw object ``key`` as :func:`process_upload` would, and count; store nothing."""
    upload = _route(ports, config, key)
    result = DryRun()
    if isinstance(upload, Manifest):
        result.rejected_whole = upload.message
        return result
    try:
        for batch in read_upload(ports, upload, config, settings):
            result.rows_read += batch.rows_read
            result.quarantined.update(reject.rule_id for reject in batch.rejects)
            result.excluded.update(batch.excluded)
            result.carried += len(batch.carried or [])
            for table in (batch.contacts, batch.agent_activity):
                if table is not None:
                    result.stored += table.num_rows
            if batch.contacts is not None and batch.contacts.num_rows:
                flags = batch.contacts.column("quality_flags").drop_null().to_pylist()
                result.flagged.update(rule for text in flags for rule in text.split(","))
    except _UNREADABLE as error:
        result.rejected_whole = f"{getattr(error, 'rule_id', 'file')}: {error}"
    return result
