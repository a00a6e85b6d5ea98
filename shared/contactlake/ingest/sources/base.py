"""What a source adapter is: a reader from one export format to canonical batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from contactlake.ingest.mapping import Mapping
from contactlake.ingest.model import ParsedBatch, Upload

__all__ = ["AdapterContext", "SourceAdapter"]


@dataclass(frozen=True)
class AdapterContext:
    pii_key: bytes
    mapping: Mapping | None = None
    #: Bytes per parsed block: bounds memory whatever the file size (16 MiB of CSV ≈ 80k contacts).
    block_bytes: int = 16 * 1024 * 1024
    #: Records per batch for record-oriented formats (JSON).
    batch_records: int = 50_000


class SourceAdapter(Protocol):
    name: str

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]: ...
