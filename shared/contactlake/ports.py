"""The ports the domain talks through; :mod:`contactlake.adapters` has a local and an AWS side of each.

The domain functions take these as arguments, so the same code runs on a folder + DuckDB + an outbox
folder on a laptop, and on S3 + Athena + SES in Lambda, and unit tests need no network.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol

import pyarrow as pa

if TYPE_CHECKING:  # only a type here; the email package is imported by the code that mails
    from email.message import EmailMessage

__all__ = [
    "AREAS",
    "Area",
    "Catalog",
    "EventPublisher",
    "Mailer",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "Ports",
    "QueryEngine",
    "QueryError",
    "SqlParam",
]

#: Storage areas. Locally each is a sub-folder of the lake folder; on AWS each is its own bucket
#: (``lake`` holds curated tables, aggregates, staging and manifests).
Area = Literal["raw", "lake", "quarantine", "reports"]
AREAS: tuple[Area, ...] = ("raw", "lake", "quarantine", "reports")

SqlParam = str | int | float | bool | None | datetime


class ObjectNotFound(FileNotFoundError):
    """The object is not there (deleted, never written, or a stale event)."""


class ObjectChanged(RuntimeError):
    """The object is no longer the version announced: it was overwritten before or while being read."""


class QueryError(RuntimeError):
    """A query failed, was cancelled, or was throttled past its retries; the message says which."""


@dataclass(frozen=True)
class ObjectInfo:
    area: str
    key: str
    size: int
    version: str | None = None
    etag: str | None = None
    last_modified: datetime | None = None
    #: User metadata set with the object (S3 ``x-amz-meta-*``, names lower-case, without the prefix).
    metadata: Mapping[str, str] = field(default_factory=dict)


class ObjectStore(Protocol):
    def put(self, area: Area, key: str, data: bytes, content_type: str = ...) -> None: ...
    def put_file(self, area: Area, key: str, path: Path) -> None:
        """Store a local file's bytes under ``key`` streaming, however large (never held in memory)."""
        ...

    def get(self, area: Area, key: str) -> bytes: ...
    def get_versioned(self, area: Area, key: str) -> tuple[bytes, str]:
        """The object's bytes and the ETag of exactly those bytes (for :meth:`delete_if`)."""
        ...

    def create(self, area: Area, key: str, data: bytes, content_type: str = ...) -> bool:
        """Write only if nothing is stored under ``key`` (S3 ``If-None-Match: *``); False if something is."""
        ...

    def delete_if(self, area: Area, key: str, etag: str) -> bool:
        """Delete only if the object is still that version (S3 ``If-Match``); False if changed or gone."""
        ...

    def open(self, area: Area, key: str, if_match: str | None = None) -> BinaryIO: ...
    def head(self, area: Area, key: str) -> ObjectInfo: ...
    def exists(self, area: Area, key: str) -> bool: ...
    def list(self, area: Area, prefix: str) -> Iterator[ObjectInfo]: ...
    def delete(self, area: Area, keys: Sequence[str]) -> None: ...
    def presigned_url(self, area: Area, key: str, expires_seconds: int = ..., method: str = ...) -> str: ...


class QueryEngine(Protocol):
    """Runs Athena-dialect SQL with bound parameters and returns an Arrow table."""

    def query(self, sql: str, params: Mapping[str, SqlParam] | None = None) -> pa.Table:
        """The rows of a SELECT, for Python to read (reports, the API, the analysis's own inputs)."""
        ...

    def unload(self, sql: str, params: Mapping[str, SqlParam] | None = None) -> pa.Table:
        """Rows that will be written to the lake: the whole result, typed, in no promised order.

        On Athena an ``UNLOAD`` to Parquet (typed by the engine, not parsed from CSV; ADR 0015); an engine
        that returns Arrow directly answers as :meth:`query` does.
        """
        ...


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> str: ...


class Catalog(Protocol):
    """Makes new partitions visible to the query engine (Glue locally is a no-op: DuckDB globs)."""

    def add_partitions(self, table: str, partitions: Sequence[Mapping[str, str]]) -> None: ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, object]) -> None: ...


@dataclass
class Ports:
    """Everything the domain needs from the outside world, bundled for the handlers and the CLI."""

    store: ObjectStore
    engine: QueryEngine
    mailer: Mailer
    catalog: Catalog
    events: EventPublisher
