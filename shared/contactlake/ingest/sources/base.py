"""What a source adapter is: a reader from one export format to canonical batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from contactlake.contract import ParsedBatch, Upload
from contactlake.ingest.carry import Carried
from contactlake.ingest.mapping import Mapping

__all__ = ["AdapterContext", "SourceAdapter"]


@dataclass(frozen=True)
class AdapterContext:
    pii_key: bytes
    mapping: Mapping | None = None
    #: Bytes per parsed block: bounds memory whatever the file size (16 MiB of CSV ≈ 80k contacts).
    block_bytes: int = 16 * 1024 * 1024
    #: Records per batch for record-oriented formats (JSON).
    batch_records: int = 50_000
    #: What the previous upload of the source left open, for adapters that carry records (``carries``).
    carried: Carried = field(default_factory=Carried)


class SourceAdapter(Protocol):
    """Reads one export format; ``version`` is bumped when the same bytes would give different rows
    (it is part of the upload id, so uploads are re-processed), ``dataset_grain`` says what a later upload
    replaces: ``"day"`` (nightly exports: the centre/source/day) or ``"object"`` (streams of files).
    An adapter with ``carries = True`` reads the records the previous upload left open (``ctx.carried``)
    and returns those still open on a batch's ``carried`` (docs/adr/0018-carried-records.md)."""

    name: str
    version: str
    dataset_grain: str

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]: ...
