"""Rejected rows of one upload, written out as they come: memory stays flat however many rows fail.

Phone numbers in a rejected row's text and message are masked as they are written
(:func:`contactlake.pii.mask_numbers_array`): the quarantine never holds a caller number.

A mapping mistake (a wrong time zone, an unknown outcome code) can reject every row of a multi-GB export;
holding those rows until the end would grow with the file. The spool keeps at most :data:`FLUSH_ROWS`
rows in memory and writes the rest, one Parquet row group at a time, to a scratch file that is stored
in the quarantine area when the upload commits. An upload with fewer rejects (the usual case) never
touches the disk and is serialised in one piece, exactly as before.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from contactlake import schema
from contactlake.contract import Reject
from contactlake.lake import parquet_bytes, parquet_writer
from contactlake.pii import mask_numbers_array
from contactlake.ports import ObjectStore

__all__ = ["FLUSH_ROWS", "QuarantineSpool"]

#: Rejected rows held before they are written out (a few tens of MB of raw text at most).
FLUSH_ROWS = 50_000


class QuarantineSpool:
    """Collects :class:`Reject` rows as quarantine table rows for one upload."""

    def __init__(
        self, upload_id: str, source_key: str, stamp: datetime, flush_rows: int | None = None
    ) -> None:
        self.upload_id, self.source_key, self.stamp = upload_id, source_key, stamp
        self.flush_rows = FLUSH_ROWS if flush_rows is None else flush_rows
        self.pending: list[Reject] = []
        self.by_rule: Counter[str] = Counter()
        self.count = 0
        self._path: Path | None = None
        self._writer: pq.ParquetWriter | None = None

    def add(self, rejects: Iterable[Reject]) -> None:
        for reject in rejects:
            self.pending.append(reject)
            self.by_rule[reject.rule_id] += 1
            self.count += 1
        if len(self.pending) >= self.flush_rows:
            self._flush()

    def _table(self) -> pa.Table:
        rows, self.pending = self.pending, []
        return pa.Table.from_pydict(
            {
                "upload_id": pa.repeat(pa.scalar(self.upload_id), len(rows)),
                "source_key": pa.repeat(pa.scalar(self.source_key), len(rows)),
                "source_line": [r.line for r in rows],
                # No caller numbers in the quarantine (it is queryable and kept 400 days): the original
                # line stays in the raw area, found by upload id and line.
                "raw_text": mask_numbers_array(pa.array([r.raw_text for r in rows], pa.string())),
                "rule_id": [r.rule_id for r in rows],
                "message": mask_numbers_array(pa.array([r.message for r in rows], pa.string())),
                "quarantined_utc": pa.repeat(pa.scalar(self.stamp, schema.TS), len(rows)),
            },
            schema=schema.QUARANTINE,
        )

    def _flush(self) -> None:
        if self._writer is None:
            handle, name = tempfile.mkstemp(prefix="contactlake-quarantine-", suffix=".parquet")
            os.close(handle)
            self._path = Path(name)
            self._writer = parquet_writer(self._path, schema.QUARANTINE)
        self._writer.write_table(self._table())

    def store(self, store: ObjectStore, key: str) -> bool:
        """Write every row to ``key`` in the quarantine area; False (nothing written) when there are none."""
        if not self.count:
            return False
        if self._writer is None:
            store.put("quarantine", key, parquet_bytes(self._table()))
            return True
        if self.pending:
            self._flush()
        self._writer.close()
        self._writer = None
        assert self._path is not None
        store.put_file("quarantine", key, self._path)
        self.close()
        return True

    def close(self) -> None:
        """Remove the scratch file (also after a failure)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None
