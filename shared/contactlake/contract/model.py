"""Value objects passed between the ingest stage (parse a source) and the commit stage (check, store)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from contactlake.config import CentreConfig

__all__ = ["IngestError", "ParsedBatch", "Reject", "Upload", "make_upload_id"]


class IngestError(ValueError):
    """The whole upload cannot be read; ``rule_id`` names why. The file is quarantined whole."""

    def __init__(self, rule_id: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.rule_id = rule_id
        self.line = line


def make_upload_id(centre_id: str, source: str, dataset_key: str, fingerprint: str) -> str:
    """Deterministic id: the same bytes for the same dataset always get the same id (and file names)."""
    digest = hashlib.sha256(f"{centre_id}|{source}|{dataset_key}|{fingerprint}".encode()).hexdigest()
    return f"{centre_id}-{source}-{digest[:16]}"


@dataclass(frozen=True)
class Upload:
    """One raw object a centre uploaded, identified by content, routed to its adapter."""

    upload_id: str
    centre: CentreConfig
    source: str
    adapter: str
    mapping: str | None
    key: str
    dataset_key: str
    fingerprint: str
    version: str | None
    size: int
    last_modified: datetime | None
    #: Adapter version and mapping digest the upload id was derived with (see ingest/routing.py).
    processing: str = ""
    #: The source's replacement rule this upload's dataset key was made with: nothing, day or object.
    replaces: str = "nothing"
    #: When the source says the export was made (object metadata, see ``export_time_metadata``).
    export_time: datetime | None = None

    @property
    def centre_id(self) -> str:
        return self.centre.centre_id


@dataclass(frozen=True)
class Reject:
    """A row that failed a rule; kept in quarantine with its raw text, line and reason."""

    line: int | None
    raw_text: str | None
    rule_id: str
    message: str


@dataclass
class ParsedBatch:
    """A bounded slice of an upload in canonical form, with what was rejected or excluded on the way.

    ``rows_read`` counts source records in this slice, so that over the whole upload
    ``rows_read + carried in == stored + quarantined + excluded + carried`` can be checked batch by batch.
    """

    rows_read: int
    contacts: pa.Table | None = None
    pathway_steps: pa.Table | None = None
    agent_activity: pa.Table | None = None
    rejects: list[Reject] = field(default_factory=list)
    excluded: Counter[str] = field(default_factory=Counter)
    #: Set on the last batch of an upload: the SHA-256 of the raw object, computed while it streamed.
    checksum_sha256: str | None = None
    #: Open records (events of calls or agent spans whose end is not in this upload) carried to the next
    #: upload of the source (docs/adr/0018-carried-records.md): set on one batch by adapters that carry.
    carried: list[dict[str, Any]] | None = None
    #: Records an earlier upload carried that this batch took in, and the upload that carried them.
    carried_in: int = 0
    carried_from: str | None = None
