"""Which of a centre's sources an export is, from its first bytes: so ``contactlake ingest`` can pick the
source when none is given, and name the one that fits when the given one does not.

Only the start of the file is read (:data:`HEAD_BYTES`, decompressed if gzip): its format (JSON records
or delimited text), the header's columns, and whether any data row follows the header. Each source is
checked against what its adapter needs: a generic CSV source its mapping's required columns, the vendor
adapters their documented columns or record keys. The adapters still validate every row; this only
chooses and explains.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from contactlake.config import AppConfig, CentreConfig, ConfigError, SourceConfig

__all__ = ["HEAD_BYTES", "Fit", "Head", "fits_of", "read_head", "sniff", "source_fits"]

HEAD_BYTES = 64 * 1024
_DELIMITERS = (",", "\t", ";", "|")
#: JSON adapters: the record keys that identify their format, and how to name it to a person.
_JSON_FORMATS = {
    "amazon_connect": (
        ("ContactId", "AWSContactTraceRecordFormatVersion"),
        "Amazon Connect contact trace records",
    ),
    "genesys_cloud": (("conversations", "conversationId"), "Genesys Cloud conversation details"),
}


@dataclass(frozen=True)
class Head:
    """What the first bytes of an export show."""

    kind: Literal["empty", "json", "text"]
    #: The header line's fields (text), or the first record's keys (JSON).
    names: tuple[str, ...]
    #: Whether a data row (or record) follows the header; True if the head ends before the file does.
    has_rows: bool
    #: For text: the delimiter the header splits best on.
    delimiter: str = ","

    def json_adapter(self) -> str | None:
        """The adapter whose records these are (JSON only)."""
        for adapter, (keys, _label) in _JSON_FORMATS.items():
            if self.kind == "json" and set(keys) & set(self.names):
                return adapter
        return None

    def describe(self) -> str:
        adapter = self.json_adapter()
        if adapter:
            return f"JSON ({_JSON_FORMATS[adapter][1]})"
        return {"json": "JSON", "text": "delimited text"}.get(self.kind, "empty")


@dataclass(frozen=True)
class Fit:
    source: str
    fits: bool
    #: Why not (or what matched), in words.
    reason: str


def read_head(path: Path) -> tuple[bytes, bool]:
    """The first :data:`HEAD_BYTES` of the file (decompressed if gzip), and whether that is all of it."""
    with path.open("rb") as handle:
        raw = handle.read(HEAD_BYTES + 1)
    if raw[:2] != b"\x1f\x8b":
        return raw[:HEAD_BYTES], len(raw) <= HEAD_BYTES
    with gzip.open(path, "rb") as handle:
        try:
            text = handle.read(HEAD_BYTES + 1)
        except (OSError, EOFError, zlib.error):
            return b"", False  # a corrupt gzip: the reader explains it
    return text[:HEAD_BYTES], len(text) <= HEAD_BYTES


def sniff(head: bytes, complete: bool) -> Head:
    """The format, header names and row presence of an export's first bytes."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    lines = [line for line in text.splitlines() if line.strip()]
    if not complete and lines:
        lines = lines[:-1] or lines  # the last line may be cut
    if not lines:
        return Head("empty", (), False)
    first = lines[0].strip()
    if first.startswith(("{", "[")):
        try:
            record = json.loads(first.lstrip("["))
        except ValueError:
            record = None
        names = tuple(record) if isinstance(record, dict) else ()
        return Head("json", names, True)
    delimiter = max(_DELIMITERS, key=first.count)
    names = tuple(name.strip().strip('"').strip() for name in first.split(delimiter))
    return Head("text", names, len(lines) > 1 or not complete, delimiter)


def _needs(source: SourceConfig, config: AppConfig) -> tuple[Literal["json", "text"], list[str], str | None]:
    """What the source's adapter needs: the format, the columns (or any one of the keys), the delimiter."""
    if source.adapter in _JSON_FORMATS:
        return "json", list(_JSON_FORMATS[source.adapter][0]), None
    if source.adapter == "anonymous_bank":
        from contactlake.ingest.sources.anonymous_bank import COLUMNS

        return "text", list(COLUMNS), "\t"
    if source.adapter == "cisco_ucce":
        from contactlake.ingest.sources.cisco_ucce import REQUIRED

        return "text", list(REQUIRED), None
    if source.mapping:
        from contactlake.ingest.mapping import load_mapping

        folder = str(Path(config.source_path).parent) if config.source_path != "<memory>" else None
        mapping = load_mapping(source.mapping, folder)
        return "text", mapping.required_columns, mapping.delimiter
    return "text", [], None


def source_fits(source: SourceConfig, head: Head, config: AppConfig) -> Fit:
    """Whether the export's head has what the source's adapter needs, and why (not)."""
    try:
        kind, needed, _delimiter = _needs(source, config)
    except ConfigError as error:
        return Fit(source.name, False, f"its configuration does not load: {error}")
    if head.kind == "empty":
        return Fit(source.name, False, "the file is empty")
    if kind != head.kind:
        wanted = "JSON records" if kind == "json" else "delimited text (CSV)"
        return Fit(source.name, False, f"it reads {wanted} with {source.adapter}")
    if kind == "json":
        if set(needed) & set(head.names):
            return Fit(
                source.name, True, f"the records have {', '.join(sorted(set(needed) & set(head.names)))}"
            )
        return Fit(source.name, False, f"its records have {' or '.join(needed)}; these do not")
    missing = [name for name in needed if name not in head.names]
    if missing:
        return Fit(source.name, False, f"it needs the column(s) {', '.join(missing)}")
    return Fit(source.name, True, f"the header has {', '.join(needed)}")


def fits_of(centre: CentreConfig, head: Head, config: AppConfig) -> list[Fit]:
    """How the export fits each of the centre's sources, in configuration order."""
    return [source_fits(source, head, config) for source in centre.sources]
