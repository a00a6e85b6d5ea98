"""The commit stage: checks that need state (duplicates), then stores an upload in the lake, exactly once.

Guarantees (docs/adr/0004-idempotent-uploads.md):

* **Nothing lost**: every record read is stored, quarantined (with rule and raw text) or excluded (with
  a rule), and the manifest proves ``rows_read == stored + quarantined + excluded``.
* **Idempotent**: file names derive from the upload id (a hash of centre, source, day and content), so a
  duplicate event, a retry after a crash, or a re-upload of the same bytes rewrites the same names with
  the same bytes; once an upload's manifest exists, re-processing it is a no-op.
* **Replacement**: a corrected re-export of the same centre/source/day replaces the earlier upload's
  files completely; an older version arriving late is recorded as superseded and stores nothing.
* The manifest is written last: it is the commit record. After it the upload is *announced* (the
  ``UploadValidated`` event that starts the analysis, then the dataset's ``manifests/current`` pointer),
  each step repeatable, so a redelivery finishes a commit killed in between.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from contactlake import schema
from contactlake.commit.idledger import IdLedger
from contactlake.commit.lease import commit_lease
from contactlake.commit.spool import QuarantineSpool
from contactlake.contract import ParsedBatch, Reject, Upload
from contactlake.ingest.carry import save_carried
from contactlake.ingest.rules import IN_FILE_MESSAGE, IN_FILE_RULE, first_of_each_id
from contactlake.kernels.csvblocks import kept_rows
from contactlake.kernels.idhash import U64, hash_ids, hashes_as_arrow
from contactlake.lake import manifest_key, parquet_bytes, partition_prefix
from contactlake.pii import mask_numbers
from contactlake.ports import ObjectNotFound, Ports
from contactlake.tables import LAKE_TABLES

__all__ = [
    "Committed",
    "Manifest",
    "ProgressCallback",
    "commit_once",
    "commit_upload",
    "load_manifest",
    "quarantine_file",
    "quarantine_rows_key",
    "retire_upload",
    "write_ingest_log",
]

ProgressCallback = Callable[[int], None]
_FINAL_STATES = ("stored", "superseded", "rejected", "replaced")
_DISPLACED_RULE = "duplicate.superseded_by_later_upload"
#: Curated tables whose rows count in an upload's coverage (pathway steps follow their contacts).
_COVERED = ("contacts", "agent_activity")


@dataclass
class Manifest:
    """The per-upload record of what was read and where every row went."""

    upload_id: str
    centre_id: str
    source: str
    adapter: str
    source_key: str
    source_version: str | None
    fingerprint: str
    dataset_key: str
    status: str = "stored"
    #: SHA-256 of the raw object's bytes, computed while they streamed (``fingerprint`` is the ETag).
    checksum_sha256: str | None = None
    #: Adapter version and mapping digest this processing used (part of the upload id).
    processing: str = ""
    message: str = ""
    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    rows_excluded: int = 0
    #: Event logs cut into files (docs/adr/0018-carried-records.md): records still open at the end of this
    #: upload, carried to the next upload of the source; records an earlier upload carried
    #: (``carried_from``) that this one took in.
    #: ``rows_read + rows_carried_in = stored + quarantined + excluded + rows_carried``.
    rows_carried: int = 0
    rows_carried_in: int = 0
    carried_from: str | None = None
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    excluded_by_rule: dict[str, int] = field(default_factory=dict)
    #: Stored rows (contacts, agent activity) carrying a quality flag (within ``rows_stored``), and per
    #: flag rule id (a row with two flags counts under both).
    rows_flagged: int = 0
    flagged_by_rule: dict[str, int] = field(default_factory=dict)
    #: Business (centre-local) date → curated rows stored on it (contacts by ``initiated_local``, agent
    #: activity by ``started_local``): what the upload delivered, whatever its object's name.
    coverage: dict[str, int] = field(default_factory=dict)
    pathway_steps_stored: int = 0
    agent_activity_stored: int = 0
    partitions: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    quarantine_files: list[str] = field(default_factory=list)
    #: The upload this one replaced (the source's ``replaces`` rule allowed it), if any.
    replaced_upload_id: str | None = None
    #: The source's replacement rule this upload was committed under: nothing, day or object.
    replaces: str = "nothing"
    #: The time uploads of one dataset are ordered by: the export time the source gave (``ordered_by =
    #: "export_time"``), else the first arrival of these bytes in the dataset (a late re-upload of an old
    #: export keeps its first arrival, so it never beats a correction). docs/adr/0017.
    ordered_by_utc: str | None = None
    ordered_by: str = "first_arrival"
    #: Set when a later upload (a corrected re-export, or a replay with a fixed mapping) replaced this one.
    replaced_by: str | None = None
    #: Contacts of this upload that later uploads delivered newer copies of (per later upload id); they
    #: left this upload's files and count as excluded under ``duplicate.superseded_by_later_upload``.
    displaced_by: dict[str, int] = field(default_factory=dict)
    source_last_modified: str | None = None
    started_utc: str = ""
    finished_utc: str = ""
    duration_ms: int = 0
    schema_version: int = schema.SCHEMA_VERSION

    @property
    def reconciles(self) -> bool:
        return (
            self.rows_read + self.rows_carried_in
            == self.rows_stored + self.rows_quarantined + self.rows_excluded + self.rows_carried
        )

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        return cls(**json.loads(data))


def load_manifest(ports: Ports, upload_id: str) -> Manifest | None:
    try:
        return Manifest.from_json(ports.store.get("lake", manifest_key(upload_id)))
    except ObjectNotFound:
        return None


def _current_key(dataset_key: str) -> str:
    return f"manifests/current/{dataset_key}.json"


def _arrival_key(dataset_key: str, fingerprint: str) -> str:
    content = hashlib.sha256(fingerprint.strip('"').encode()).hexdigest()[:16]
    return f"manifests/arrivals/{dataset_key}/{content}.json"


def _first_arrival(ports: Ports, upload: Upload) -> str:
    """When these bytes first arrived in this dataset (ISO 8601, UTC): the order of its uploads.

    Recorded once, when the first commit of them ends (:func:`_record_arrival`), so a re-upload of an
    old export keeps its first arrival, and a retry after a crash reads the same value.
    """
    try:
        record = ports.store.get("lake", _arrival_key(upload.dataset_key, upload.fingerprint))
        return str(json.loads(record)["first_arrival_utc"])
    except ObjectNotFound:
        return (upload.last_modified or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).isoformat()


def _recorded_arrival(ports: Ports, manifest: Manifest) -> str:
    """A committed upload's first arrival (manifests before ADR 0014: its ``LastModified``)."""
    if manifest.ordered_by == "first_arrival" and manifest.ordered_by_utc:
        return manifest.ordered_by_utc
    try:
        record = ports.store.get("lake", _arrival_key(manifest.dataset_key, manifest.fingerprint))
        return str(json.loads(record)["first_arrival_utc"])
    except ObjectNotFound:
        return manifest.source_last_modified or ""


def _is_older(ports: Ports, upload: Upload, arrival: str, previous: Manifest) -> bool:
    """Whether ``upload`` is older than the dataset's current upload ``previous`` (docs/adr/0017).

    When both carry the export time their source gave, the later export wins, whatever arrived first:
    a corrected export made later is never undone by the original arriving after it. Otherwise the later
    first arrival wins (ADR 0014). Equal times: the new upload wins, as before.
    """
    if upload.export_time is not None and previous.ordered_by == "export_time" and previous.ordered_by_utc:
        return previous.ordered_by_utc > upload.export_time.astimezone(UTC).isoformat()
    return _recorded_arrival(ports, previous) > arrival


def _record_arrival(ports: Ports, upload: Upload, arrived: str) -> None:
    """Write the first arrival once (a conditional create: a later arrival never moves it)."""
    body = json.dumps({"first_arrival_utc": arrived, "upload_id": upload.upload_id}).encode()
    ports.store.create("lake", _arrival_key(upload.dataset_key, upload.fingerprint), body, "application/json")


def _ingest_date(upload: Upload) -> date:
    """Quarantine and log partitions use the upload's own date: re-processing later writes the same keys."""
    return (upload.last_modified or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).date()


def _now() -> datetime:
    return datetime.now(UTC)


class _ExistingIds:
    """Contacts already stored for this centre and source by *other* datasets, per partition date.

    Per day: each stored copy's ``contact_id``, ``source_updated_utc`` and the ``file`` holding it, so a
    re-delivered record can be compared with the copy it would replace.
    """

    _SCHEMA = pa.schema(
        [("contact_id", pa.string()), ("source_updated_utc", schema.TS), ("file", pa.string())]
    )

    def __init__(self, ports: Ports, upload: Upload, ignore_uploads: set[str]) -> None:
        self.ports, self.upload, self.ignore = ports, upload, ignore_uploads
        self.cache: dict[date, pa.Table] = {}

    def stored_on(self, day: date) -> pa.Table:
        if day not in self.cache:
            table = LAKE_TABLES["contacts"]
            prefix = partition_prefix(table, {"centre_id": self.upload.centre_id, "contact_date": day}) + "/"
            parts = []
            for info in self.ports.store.list("lake", prefix):
                if _upload_of(info.key) in self.ignore or not info.key.endswith(".parquet"):
                    continue
                stored = pq.ParquetFile(pa.BufferReader(self.ports.store.get("lake", info.key)))
                wanted = [name for name in self._SCHEMA.names if name in stored.schema_arrow.names]
                data = stored.read(columns=[*wanted, "source_system"])
                data = data.filter(pc.equal(data.column("source_system"), self.upload.adapter))
                updated = (
                    data.column("source_updated_utc")
                    if "source_updated_utc" in data.column_names  # files written before schema version 2
                    else pa.nulls(data.num_rows, schema.TS)
                )
                parts.append(
                    pa.table(
                        [data.column("contact_id"), updated, pa.repeat(pa.scalar(info.key), data.num_rows)],
                        schema=self._SCHEMA,
                    )
                )
            self.cache[day] = pa.concat_tables(parts) if parts else self._SCHEMA.empty_table()
        return self.cache[day]


def _upload_of(key: str) -> str:
    """The upload id in a curated file's name (``<upload_id>-<batch>.parquet``)."""
    return key.rsplit("/", 1)[-1].rsplit("-", 1)[0]


def _day_of(epoch_day: int) -> str:
    return str(date(1970, 1, 1) + timedelta(days=epoch_day))


def _epoch_day(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _raw_json(table: pa.Table) -> list[str]:
    """Commit-stage rejects keep the canonical row as JSON (the adapter's text is no longer at hand)."""
    return [json.dumps(row, default=str, sort_keys=True) for row in table.drop(["customer_key"]).to_pylist()]


@dataclass(frozen=True)
class _Day:
    """Contacts ready to store, row for row with their id hashes and local days (``date32``), and
    their pathway steps with each step's day. Despite the name it may span several days; see
    :meth:`split_last_day`."""

    contacts: pa.Table
    hashes: U64
    days: pa.Array
    steps: pa.Table | None
    step_days: pa.Array | None

    @staticmethod
    def concat(first: _Day, second: _Day) -> _Day:
        steps = [part for part in (first.steps, second.steps) if part is not None]
        step_days = [part for part in (first.step_days, second.step_days) if part is not None]
        return _Day(
            pa.concat_tables([first.contacts, second.contacts]),
            np.concatenate([first.hashes, second.hashes]),
            pa.concat_arrays([first.days, second.days]),
            pa.concat_tables(steps) if steps else None,
            pa.concat_arrays(step_days) if step_days else None,
        )

    def split_last_day(self) -> tuple[_Day, _Day | None]:
        """The rows before the last day, and the last day's rows (None when nothing is held back).

        Only rows in day order that span more than one day are split, so what is held back is always
        less than one batch (memory stays bounded) and a one-day export is written batch by batch.
        """
        days = self.days.to_numpy(zero_copy_only=False) if not self.days.null_count else None
        if days is None or len(days) < 2 or days[0] == days[-1] or bool((days[1:] < days[:-1]).any()):
            return self, None
        start = int(np.searchsorted(days, days[-1]))
        steps = held_steps = steps_days = held_step_days = None
        if self.steps is not None and self.step_days is not None:
            on_last = pc.equal(self.step_days, self.days[start])
            steps, steps_days = (
                self.steps.filter(pc.invert(on_last)),
                self.step_days.filter(pc.invert(on_last)),
            )
            held_steps, held_step_days = self.steps.filter(on_last), self.step_days.filter(on_last)
        rest = _Day(
            self.contacts.slice(0, start), self.hashes[:start], self.days.slice(0, start), steps, steps_days
        )
        # Copied (a slice would keep the whole batch's buffers alive until the next batch), from a slice
        # (a take from the whole table would first join its chunks).
        copy = pa.array(np.arange(len(days) - start))
        held = _Day(
            self.contacts.slice(start).take(copy),
            self.hashes[start:].copy(),
            self.days.slice(start).take(copy),
            held_steps,
            held_step_days,
        )
        return rest, held


class _Committer:
    def __init__(self, ports: Ports, upload: Upload, manifest: Manifest, replaced: str | None) -> None:
        self.ports, self.upload, self.manifest = ports, upload, manifest
        #: Hashes of the ids each batch stored, and each batch's files: repeats across batches are found
        #: once, at the end, in bounded memory (checking every batch against all earlier ones would cost
        #: O(rows x batches), and keeping the ids would grow with the file).
        self.ledger = IdLedger()
        #: (batch, table, day as days since 1970) → the file that batch wrote for that day.
        self.batch_files: dict[tuple[int, str, int], str] = {}
        self.existing = _ExistingIds(ports, upload, {upload.upload_id, *([replaced] if replaced else [])})
        # The upload's arrival time, not the clock: re-processing the same upload rewrites identical bytes.
        stamp = (
            (upload.last_modified or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None)
        )
        self.rejects = QuarantineSpool(upload.upload_id, upload.key, stamp)
        #: (another upload's curated contacts file, its day) → ids this upload delivers a newer copy of.
        self.displaced: dict[tuple[str, date], set[str]] = defaultdict(set)
        self.partitions: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        self.batch_index = 0
        self.excluded: Counter[str] = Counter()
        #: The last day of the previous batch, not yet written: the next batch usually continues it, so
        #: the day is written once, in one file, and an id repeated across the boundary is caught here.
        self.held: _Day | None = None
        self.held_batch = 0
        #: The records this upload carries to the next one (None: its adapter carries nothing).
        self.carried: list[dict[str, Any]] | None = None

    def _quarantine(self, dropped: pa.Table, rule_id: str, message: str) -> None:
        """Canonical rows the commit stage turns away, kept as JSON with their source line."""
        lines = dropped.column("source_line").to_pylist()
        self.rejects.add(
            Reject(line, raw, rule_id, message) for line, raw in zip(lines, _raw_json(dropped), strict=True)
        )

    def _dedupe(self, contacts: pa.Table) -> tuple[pa.Table, U64, pa.Array]:
        """Drop repeats of ids within the batch and settle ids stored by other uploads.

        The in-file rule costs nothing for a batch its adapter already checked (with the source's text).
        Returns the contacts kept, their hashes and their local days (``date32``), row for row.
        """
        hashes, keep = first_of_each_id(contacts)
        if keep is not None:
            mask = pa.array(keep)
            self._quarantine(contacts.filter(pc.invert(mask)), IN_FILE_RULE, IN_FILE_MESSAGE)
            contacts, hashes = contacts.filter(mask), hashes[keep]
        days = pc.cast(contacts.column("initiated_local"), pa.date32())
        if isinstance(days, pa.ChunkedArray):
            days = days.combine_chunks()
        contacts, days, settled = self._settle_redeliveries(contacts, days)
        if settled is not None:
            hashes = hashes[settled]
        return contacts, hashes, days

    def _settle_redeliveries(
        self, contacts: pa.Table, days: pa.Array
    ) -> tuple[pa.Table, pa.Array, npt.NDArray[np.bool_] | None]:
        """Contacts another upload already stored (same centre, source and local day).

        When both copies carry the source's update time (Connect's ``LastUpdateTimestamp``) the later
        one is kept: a newer delivery displaces the stored copy (done in :meth:`finish`), an older or
        equal one is excluded as ``duplicate.superseded_update``. Without update times the stored copy
        wins and the new one is quarantined as ``duplicate.contact_id_across_uploads``. The third value
        is the mask of rows kept (None when all are).
        """
        ids = contacts.column("contact_id").combine_chunks()
        updated = contacts.column("source_updated_utc").combine_chunks()
        clash = np.zeros(contacts.num_rows, dtype=np.bool_)
        comparable = np.zeros(contacts.num_rows, dtype=np.bool_)
        newer = np.zeros(contacts.num_rows, dtype=np.bool_)
        for day in pc.unique(days).to_pylist():
            stored = self.existing.stored_on(day)
            if not stored.num_rows:
                continue
            on_day = pc.equal(days, pa.scalar(day, pa.date32()))
            where = pc.if_else(on_day, pc.index_in(ids, stored.column("contact_id")), None)
            found = pc.is_valid(where).to_numpy(zero_copy_only=False)
            if not found.any():
                continue
            theirs = pc.take(stored.column("source_updated_utc"), where)
            dated = pc.and_(pc.is_valid(updated), pc.is_valid(theirs))
            later = pc.and_(dated, pc.fill_null(pc.greater(updated, theirs), False))
            clash |= found
            comparable |= dated.to_numpy(zero_copy_only=False)
            newer |= later.to_numpy(zero_copy_only=False)
            files = pc.take(stored.column("file"), where).filter(later).to_pylist()
            for file, contact_id in zip(files, ids.filter(later).to_pylist(), strict=True):
                self.displaced[file, day].add(contact_id)
        if not clash.any():
            return contacts, days, None
        stale = comparable & ~newer
        unresolved = clash & ~comparable
        if stale.any():
            self.excluded["duplicate.superseded_update"] += int(stale.sum())
        if unresolved.any():
            self._quarantine(
                contacts.filter(pa.array(unresolved)),
                "duplicate.contact_id_across_uploads",
                "contact_id is already stored from another upload of this centre and source; contact ids "
                "must be unique per source system",
            )
        keep = ~(stale | unresolved)
        return contacts.filter(pa.array(keep)), days.filter(pa.array(keep)), keep

    def _write_partitioned(
        self, table_name: str, table: pa.Table, date_values: pa.Array, batch_index: int
    ) -> int:
        """One file per day, named after the upload and ``batch_index``; returns the rows written."""
        spec = LAKE_TABLES[table_name]
        date_column = spec.partition_names[1]
        written = 0
        if not table.num_rows:
            return written
        if isinstance(date_values, pa.ChunkedArray):
            date_values = date_values.combine_chunks()
        # Rows in day order (exports usually are) are sliced as they are; otherwise one stable sort by
        # day first (filtering once per day would cost days x rows).
        if (
            len(date_values) > 1
            and not pc.all(
                pc.less_equal(date_values.slice(0, len(date_values) - 1), date_values.slice(1))
            ).as_py()
        ):
            order = pc.sort_indices(date_values)
            table, date_values = table.take(order), pc.take(date_values, order)
        runs = pc.run_end_encode(date_values)
        ends, days = runs.run_ends.to_pylist(), runs.values.to_pylist()
        for start, end, day in zip([0, *ends[:-1]], ends, days, strict=True):
            part = table.slice(start, end - start)
            prefix = partition_prefix(spec, {"centre_id": self.upload.centre_id, date_column: day})
            key = f"{prefix}/{self.upload.upload_id}-{batch_index:05d}.parquet"
            meta = {**(spec.schema.metadata or {}), b"contactlake.upload_id": self.upload.upload_id.encode()}
            self.ports.store.put("lake", key, parquet_bytes(part.replace_schema_metadata(meta)))
            self.manifest.files.append(key)
            self.batch_files[batch_index, table_name, _epoch_day(day)] = key
            self.partitions[table_name].add((self.upload.centre_id, str(day)))
            if table_name in _COVERED:
                self._count_stored(table_name, part, str(day), +1)
            written += part.num_rows
        return written

    def _count_stored(self, table_name: str, rows: pa.Table, day: str, sign: int) -> None:
        """Add (``sign`` +1) or take back (-1) stored rows in the manifest's coverage and flag counts."""
        coverage = self.manifest.coverage
        coverage[day] = coverage.get(day, 0) + sign * rows.num_rows
        if not coverage[day]:
            del coverage[day]
        flags = rows.column("quality_flags")
        flagged = len(flags) - flags.null_count
        self.manifest.rows_flagged += sign * flagged
        if not flagged:
            return
        by_rule = self.manifest.flagged_by_rule
        for item in pc.value_counts(pc.list_flatten(pc.split_pattern(flags.drop_null(), ","))).to_pylist():
            by_rule[item["values"]] = by_rule.get(item["values"], 0) + sign * item["counts"]
            if not by_rule[item["values"]]:
                del by_rule[item["values"]]

    def add(self, batch: ParsedBatch) -> None:
        if batch.checksum_sha256:
            self.manifest.checksum_sha256 = batch.checksum_sha256
        self.manifest.rows_read += batch.rows_read
        if batch.carried is not None:
            self.carried = batch.carried
            self.manifest.rows_carried = len(batch.carried)
            self.manifest.carried_from = batch.carried_from
        self.manifest.rows_carried_in += batch.carried_in
        self.rejects.add(batch.rejects)
        self.excluded.update(batch.excluded)
        if batch.contacts is not None and batch.contacts.num_rows:
            contacts, hashes, days = self._dedupe(batch.contacts)
            if self.held is not None:
                contacts, hashes, days = self._drop_repeats_of_held(contacts, hashes, days)
            steps, step_days = self._steps_of(batch.pathway_steps, contacts, days)
            day = _Day(contacts, hashes, days, steps, step_days)
            if self.held is not None:
                day = _Day.concat(self.held, day)
            ready, self.held = day.split_last_day()
            self._store_contacts(ready, self.batch_index)
            self.held_batch = self.batch_index
        if batch.agent_activity is not None and batch.agent_activity.num_rows:
            activity = batch.agent_activity
            days = pc.cast(activity.column("started_local"), pa.date32())
            stored = self._write_partitioned("agent_activity", activity, days, self.batch_index)
            self.manifest.agent_activity_stored += stored
            self.manifest.rows_stored += stored
        self.batch_index += 1

    def _drop_repeats_of_held(
        self, contacts: pa.Table, hashes: U64, days: pa.Array
    ) -> tuple[pa.Table, U64, pa.Array]:
        """Rows repeating an id of the held-back day: the held copy came first, so these are quarantined."""
        assert self.held is not None
        held_ids = self.held.contacts.column("contact_id").combine_chunks()
        repeat = pc.is_in(contacts.column("contact_id"), value_set=held_ids)
        if isinstance(repeat, pa.ChunkedArray):
            repeat = repeat.combine_chunks()
        if not pc.any(repeat).as_py():
            return contacts, hashes, days
        self._quarantine(contacts.filter(repeat), IN_FILE_RULE, IN_FILE_MESSAGE)
        keep = np.logical_not(repeat.to_numpy(zero_copy_only=False))
        return kept_rows(contacts, keep), hashes[keep], days.filter(pa.array(keep))

    @staticmethod
    def _steps_of(
        steps: pa.Table | None, contacts: pa.Table, days: pa.Array
    ) -> tuple[pa.Table | None, pa.Array | None]:
        """The pathway steps of the contacts kept, with each step's partition day (its contact's)."""
        if steps is None or not steps.num_rows:
            return None, None
        ids = contacts.column("contact_id").combine_chunks()
        steps = steps.filter(pc.is_in(steps.column("contact_id"), value_set=ids))
        where = pc.index_in(steps.column("contact_id").combine_chunks(), value_set=ids)
        return steps, pc.take(days, where)

    def _store_contacts(self, day: _Day, batch_index: int) -> None:
        """Write contacts and their pathway steps; record their ids in the ledger as ``batch_index``'s."""
        if not day.contacts.num_rows:
            return
        days = pc.cast(day.days, pa.int32()).to_numpy(zero_copy_only=False)
        self.ledger.add(batch_index, day.hashes, days)
        self.manifest.rows_stored += self._write_partitioned("contacts", day.contacts, day.days, batch_index)
        if day.steps is not None and day.step_days is not None:
            self.manifest.pathway_steps_stored += self._write_partitioned(
                "pathway_steps", day.steps, day.step_days, batch_index
            )

    def _drop_later_duplicates(self) -> None:
        """Remove ids already stored by an earlier batch of this upload from later batches' files.

        The ledger names the batch and day of every repeat, so only the files holding one are re-read.
        """
        for (index, day), hashes in sorted(self.ledger.repeats().items()):
            later = hashes_as_arrow(hashes)
            for table_name in ("contacts", "pathway_steps"):
                key = self.batch_files.get((index, table_name, day))
                if key is None:
                    continue
                stored = pq.read_table(pa.BufferReader(self.ports.store.get("lake", key)))
                drop = pc.is_in(hashes_as_arrow(hash_ids(stored.column("contact_id"))), later)
                if not pc.any(drop).as_py():
                    continue
                if table_name == "contacts":
                    dropped = stored.filter(drop)
                    self.manifest.rows_stored -= dropped.num_rows
                    self._count_stored(table_name, dropped, _day_of(day), -1)
                    self._quarantine(dropped, IN_FILE_RULE, IN_FILE_MESSAGE)
                else:
                    self.manifest.pathway_steps_stored -= int(pc.sum(pc.cast(drop, pa.int64())).as_py())
                kept = stored.filter(pc.invert(drop))
                if kept.num_rows:
                    self.ports.store.put("lake", key, parquet_bytes(kept))
                else:
                    self.ports.store.delete("lake", [key])
                    self.manifest.files.remove(key)

    def _displace_older_copies(self) -> None:
        """Take the contacts this upload delivered newer copies of out of the uploads that stored them.

        Each earlier upload's manifest is rewritten first (``displaced_by`` *sets* this upload's count, so
        writing it twice is harmless), then its files. A crash in between is repaired by the retry, which
        finds the same stored copies and rewrites the files; a retry after the files were rewritten finds
        nothing left to displace. An earlier upload with no manifest yet is still in flight (or crashed):
        its own retry sees this upload's newer copies and excludes its older ones itself.
        """
        by_upload: dict[str, dict[tuple[str, date], set[str]]] = defaultdict(dict)
        for (file, day), ids in self.displaced.items():
            by_upload[_upload_of(file)][file, day] = ids
        steps_spec = LAKE_TABLES["pathway_steps"]
        for upload_id, files in sorted(by_upload.items()):
            owner = load_manifest(self.ports, upload_id)
            if owner is None or owner.status != "stored":
                continue
            rewrites: dict[str, pa.Table] = {}
            removed_contacts = removed_steps = 0
            for (file, day), ids in sorted(files.items()):
                steps_file = (
                    f"{partition_prefix(steps_spec, {'centre_id': owner.centre_id, 'contact_date': day})}/"
                    f"{file.rsplit('/', 1)[-1]}"
                )
                gone = pa.array(sorted(ids), pa.string())
                for key in (file, steps_file):
                    if key not in owner.files:
                        continue
                    stored = pq.read_table(pa.BufferReader(self.ports.store.get("lake", key)))
                    kept = stored.filter(pc.invert(pc.is_in(stored.column("contact_id"), gone)))
                    if key == file:
                        removed_contacts += stored.num_rows - kept.num_rows
                    else:
                        removed_steps += stored.num_rows - kept.num_rows
                    rewrites[key] = kept
            if owner.displaced_by.get(self.upload.upload_id) != removed_contacts:
                owner.rows_stored += owner.displaced_by.get(self.upload.upload_id, 0) - removed_contacts
                owner.pathway_steps_stored -= removed_steps
                owner.displaced_by[self.upload.upload_id] = removed_contacts
                owner.excluded_by_rule[_DISPLACED_RULE] = sum(owner.displaced_by.values())
                owner.rows_excluded = sum(owner.excluded_by_rule.values())
                owner.files = [key for key in owner.files if key not in rewrites or rewrites[key].num_rows]
                _rewrite_manifest(self.ports, owner)
            for key, kept in rewrites.items():
                if kept.num_rows:
                    self.ports.store.put("lake", key, parquet_bytes(kept))
                else:
                    self.ports.store.delete("lake", [key])

    def finish(self) -> None:
        try:
            if self.held is not None:
                self._store_contacts(self.held, self.held_batch)
                self.held = None
            self._drop_later_duplicates()
            self._displace_older_copies()
            day = _ingest_date(self.upload)
            key = quarantine_rows_key(self.upload.centre_id, day, self.upload.upload_id)
            if self.rejects.store(self.ports.store, key):
                self.manifest.quarantine_files.append(key)
                self.partitions["quarantine"].add((self.upload.centre_id, str(day)))
        finally:
            self.ledger.close()
            self.rejects.close()
        self.manifest.rows_quarantined = self.rejects.count
        self.manifest.rows_excluded = sum(self.excluded.values())
        self.manifest.quarantined_by_rule = dict(sorted(self.rejects.by_rule.items()))
        self.manifest.excluded_by_rule = dict(sorted(self.excluded.items()))
        self.manifest.partitions = sorted(
            f"{name}/centre_id={c}/{d}" for name, parts in self.partitions.items() for c, d in parts
        )


def quarantine_rows_key(centre_id: str, day: date, upload_id: str) -> str:
    spec = LAKE_TABLES["quarantine"]
    return f"{partition_prefix(spec, {'centre_id': centre_id, 'ingest_date': day})}/{upload_id}.parquet"


def quarantine_file(
    ports: Ports, upload: Upload, rule_id: str, message: str, line: int | None = None
) -> Manifest:
    """An upload that cannot be read at all: one quarantine row for the whole file, nothing stored.

    The file counts as one record read and quarantined, so ``rows_read == stored + quarantined +
    excluded`` holds for rejected uploads too (rows read before the file turned out unreadable are
    not counted: none of them was kept).
    """
    message = mask_numbers(message)  # a headerless file's first row may be named in it; logs print it
    manifest = _new_manifest(upload)
    manifest.status = "rejected"
    manifest.message = f"{rule_id}: {message}"
    manifest.rows_read = 1
    committer = _Committer(ports, upload, manifest, None)
    committer.rejects.add([Reject(line, f"s3 object {upload.key} (whole file)", rule_id, message)])
    committer.finish()
    _write_log_and_manifest(ports, upload, manifest, committer, time.perf_counter())
    return manifest


def _new_manifest(upload: Upload) -> Manifest:
    return Manifest(
        upload_id=upload.upload_id,
        centre_id=upload.centre_id,
        source=upload.source,
        adapter=upload.adapter,
        source_key=upload.key,
        source_version=upload.version,
        fingerprint=upload.fingerprint,
        dataset_key=upload.dataset_key,
        source_last_modified=upload.last_modified.isoformat() if upload.last_modified else None,
        processing=upload.processing,
        replaces=upload.replaces,
        started_utc=_now().isoformat(),
    )


def _write_log_and_manifest(
    ports: Ports, upload: Upload, manifest: Manifest, committer: _Committer, started: float
) -> None:
    manifest.finished_utc = _now().isoformat()
    manifest.duration_ms = int((time.perf_counter() - started) * 1000)
    write_ingest_log(ports, upload.centre_id, _ingest_date(upload), manifest)
    committer.partitions["ingest_log"].add((upload.centre_id, str(_ingest_date(upload))))
    for table_name, parts in committer.partitions.items():
        spec = LAKE_TABLES[table_name]
        ports.catalog.add_partitions(
            table_name, [dict(zip(spec.partition_names, values, strict=True)) for values in sorted(parts)]
        )
    ports.store.put("lake", manifest_key(upload.upload_id), manifest.to_json(), "application/json")


def _naive_utc(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso).astimezone(UTC).replace(tzinfo=None) if iso else None


def write_ingest_log(ports: Ports, centre_id: str, day: date, manifest: Manifest) -> None:
    spec = LAKE_TABLES["ingest_log"]
    row: dict[str, Any] = {
        "upload_id": manifest.upload_id,
        "source_system": manifest.adapter,
        "source_key": manifest.source_key,
        "source_version": manifest.source_version,
        "checksum_sha256": manifest.checksum_sha256,
        "dataset_key": manifest.dataset_key,
        "status": manifest.status,
        "rows_read": manifest.rows_read,
        "rows_stored": manifest.rows_stored,
        "rows_quarantined": manifest.rows_quarantined,
        "rows_excluded": manifest.rows_excluded,
        "quarantined_by_rule": json.dumps(manifest.quarantined_by_rule, sort_keys=True),
        "excluded_by_rule": json.dumps(manifest.excluded_by_rule, sort_keys=True),
        "rows_flagged": manifest.rows_flagged,
        "flagged_by_rule": json.dumps(manifest.flagged_by_rule, sort_keys=True),
        "coverage": json.dumps(manifest.coverage, sort_keys=True),
        "rows_carried": manifest.rows_carried,
        "rows_carried_in": manifest.rows_carried_in,
        "arrived_utc": _naive_utc(manifest.ordered_by_utc or manifest.source_last_modified),
        "files_written": len(manifest.files),
        "started_utc": datetime.fromisoformat(manifest.started_utc).replace(tzinfo=None),
        "finished_utc": datetime.fromisoformat(manifest.finished_utc).replace(tzinfo=None),
        "schema_version": manifest.schema_version,
    }
    table = pa.Table.from_pylist([row], schema=schema.INGEST_LOG)
    key = (
        f"{partition_prefix(spec, {'centre_id': centre_id, 'ingest_date': day})}/{manifest.upload_id}.parquet"
    )
    ports.store.put("lake", key, parquet_bytes(table))


def retire_upload(ports: Ports, previous: Manifest, replaced_by: str) -> None:
    """Remove an earlier processing of the same data, now replaced; its manifest keeps the history.

    Its curated files and its quarantined rows go (they described data that is no longer in the lake);
    its ingest_log row stays, with status ``replaced``. Idempotent: retiring twice changes nothing.
    """
    if previous.status == "replaced" and previous.replaced_by == replaced_by:
        return
    ports.store.delete("lake", previous.files)
    ports.store.delete("quarantine", previous.quarantine_files)
    previous.status = "replaced"
    previous.replaced_by = replaced_by
    previous.files = []
    previous.quarantine_files = []
    _rewrite_manifest(ports, previous)


def _rewrite_manifest(ports: Ports, manifest: Manifest) -> None:
    """Record a change to an upload committed earlier: its ingest_log row and its manifest."""
    ingest_date = (
        datetime.fromisoformat(manifest.source_last_modified or "1970-01-01T00:00:00+00:00")
        .astimezone(UTC)
        .date()
    )
    write_ingest_log(ports, manifest.centre_id, ingest_date, manifest)
    ports.store.put("lake", manifest_key(manifest.upload_id), manifest.to_json(), "application/json")


@dataclass(frozen=True)
class Committed:
    """What a commit did: the upload's manifest, and whether this call validated it — false for a
    duplicate delivery of an upload already committed and announced (it counts once, wherever it
    is counted: the validate function's ``UploadsValidated`` metric)."""

    manifest: Manifest
    fresh: bool


def commit_upload(
    ports: Ports,
    upload: Upload,
    batches: Iterable[ParsedBatch],
    progress: ProgressCallback | None = None,
) -> Manifest:
    """Store one upload's batches in the lake and return its manifest (see the module's guarantees)."""
    return commit_once(ports, upload, batches, progress).manifest


def commit_once(
    ports: Ports,
    upload: Upload,
    batches: Iterable[ParsedBatch],
    progress: ProgressCallback | None = None,
) -> Committed:
    """:func:`commit_upload`, also saying whether this call did the work (see :class:`Committed`).

    Commits of one centre and source are serialised by a lease (:mod:`contactlake.commit.lease`):
    they read and rewrite each other's state. Raises :class:`~contactlake.commit.lease.CommitBusy`,
    having written nothing, if another commit holds the lease too long.
    """
    with commit_lease(ports.store, upload.centre_id, upload.source, upload.upload_id):
        return _commit(ports, upload, batches, progress)


def _commit(
    ports: Ports,
    upload: Upload,
    batches: Iterable[ParsedBatch],
    progress: ProgressCallback | None,
) -> Committed:
    started = time.perf_counter()
    done = load_manifest(ports, upload.upload_id)
    if done is not None and done.status in _FINAL_STATES:
        # Stored before, or replaced by a correction since: these bytes arriving again (a duplicate
        # event, a late re-upload of the old export) change nothing — except that a commit killed after
        # its manifest (the commit record) and before its announcement is announced now.
        return Committed(done, done.status == "stored" and _announce(ports, done, resumed=True))
    manifest = _new_manifest(upload)
    previous: Manifest | None = None
    try:
        pointer = json.loads(ports.store.get("lake", _current_key(upload.dataset_key)))
        previous = load_manifest(ports, pointer["upload_id"])
    except ObjectNotFound:
        previous = None
    arrival = _first_arrival(ports, upload)
    manifest.ordered_by_utc = arrival
    if upload.export_time is not None:
        manifest.ordered_by_utc, manifest.ordered_by = (
            upload.export_time.astimezone(UTC).isoformat(),
            "export_time",
        )
    if (
        previous is not None
        and previous.upload_id != upload.upload_id
        and _is_older(ports, upload, arrival, previous)
    ):
        manifest.status = "superseded"
        manifest.message = (
            f"a newer export of {upload.dataset_key} ({previous.upload_id}, ordered by "
            f"{previous.ordered_by.replace('_', ' ')} {previous.ordered_by_utc}) is already stored"
        )
        committer = _Committer(ports, upload, manifest, None)
        _record_arrival(ports, upload, arrival)
        _write_log_and_manifest(ports, upload, manifest, committer, started)
        return Committed(manifest, True)
    replaced = previous.upload_id if previous is not None and previous.upload_id != upload.upload_id else None
    committer = _Committer(ports, upload, manifest, replaced)
    try:
        for batch in batches:
            committer.add(batch)
            if progress is not None:
                progress(batch.rows_read)
    except Exception:
        # The file turned out unreadable part-way (truncated gzip, broken quote…): take back what this
        # attempt wrote so the lake holds all of an upload or none of it.
        committer.ledger.close()
        committer.rejects.close()
        ports.store.delete("lake", manifest.files)
        raise
    committer.finish()
    if not manifest.reconciles:
        raise AssertionError(f"upload {upload.upload_id} does not reconcile: {manifest}")
    if replaced is not None and previous is not None:
        retire_upload(ports, previous, upload.upload_id)
        manifest.replaced_upload_id = replaced
        manifest.message = (
            f"replaced upload {replaced} ({previous.source_key}: {previous.rows_stored:,} rows stored) "
            f"under the source's rule replaces = {upload.replaces!r}; its lake files were deleted, its raw "
            "object and manifest are kept"
        )
    _record_arrival(ports, upload, arrival)
    if committer.carried is not None:  # before the manifest: a retry then reads what this attempt read
        save_carried(
            ports.store,
            upload.centre_id,
            upload.source,
            upload_id=upload.upload_id,
            key=upload.key,
            carried_from=manifest.carried_from,
            records=committer.carried,
        )
    _write_log_and_manifest(ports, upload, manifest, committer, started)
    _announce(ports, manifest, resumed=False)
    return Committed(manifest, True)


def _announce(ports: Ports, manifest: Manifest, resumed: bool) -> bool:
    """After the manifest: publish ``UploadValidated``, then point the dataset at the upload.

    The pointer written last records the announcement, and each step is safe to repeat, so a commit
    killed anywhere after its manifest (which a redelivered event finds, and used to stop at: the
    analysis was never triggered) is finished by the redelivery (``resumed``), and a later duplicate
    finds the pointer and does nothing. A resumed announcement happens only when the pointer is still
    where the killed commit left it (nothing, or the upload this one replaced): a later commit of the
    dataset that moved it on is never undone. Killed between the event and the pointer, the redelivery
    publishes the event again (EventBridge delivers at least once anyway; the analysis it triggers
    recomputes the same partitions). Returns whether this call announced.
    """
    pointer_key = _current_key(manifest.dataset_key)
    if resumed:
        try:
            pointed = json.loads(ports.store.get("lake", pointer_key)).get("upload_id")
        except ObjectNotFound:
            pointed = None
        if pointed not in (None, manifest.replaced_upload_id):
            return False
    ports.events.publish(
        "UploadValidated",
        {
            "upload_id": manifest.upload_id,
            "centre_id": manifest.centre_id,
            "source": manifest.source,
            "rows_stored": manifest.rows_stored,
            "rows_quarantined": manifest.rows_quarantined,
            "partitions": manifest.partitions,
            # Set for a corrected re-export or a replay: its analysis leads to restated reports.
            "replaced_upload_id": manifest.replaced_upload_id,
        },
    )
    ports.store.put("lake", pointer_key, json.dumps({"upload_id": manifest.upload_id}).encode())
    return True
