"""Declarative mapping files: how a centre's CSV export maps to canonical fields, with no code.

A mapping is a small TOML file (see ``sample_data/mappings/``)::

    [csv]
    delimiter = ","
    encoding = "auto"          # BOMs are honoured; auto = UTF-8, else cp1252
    thousands = ","            # optional thousands separator in numbers

    [time]
    format = "iso8601"         # or a strptime pattern such as "%d/%m/%Y %H:%M:%S"
    zone = "centre"            # zone of times without an offset: the centre's, or an IANA name

    [columns]                  # canonical field = column header in the export
    contact_id = "CallID"
    initiated = "StartTime"
    outcome = "Result"

    [values.outcome]           # export value = canonical value
    ANS = "answered"
    ABN = "abandoned"

    [defaults]                 # canonical field = constant when the export has no such column
    channel = "voice"
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from contactlake import schema
from contactlake.config import ConfigError, read_toml

__all__ = ["CONTACT_FIELDS", "REQUIRED_FIELDS", "Mapping", "load_mapping", "mapping_digest", "parse_mapping"]

#: Fields a contact export can supply, and the kind of value each holds.
CONTACT_FIELDS: dict[str, str] = {
    "contact_id": "text",
    "channel": "text",
    "direction": "text",
    "queue": "text",
    "agent_id": "text",
    "caller": "pii",
    "initiated": "timestamp",
    "ivr_entered": "timestamp",
    "enqueued": "timestamp",
    "answered": "timestamp",
    "disconnected": "timestamp",
    "ivr_seconds": "number",
    "queue_seconds": "number",
    "talk_seconds": "number",
    "hold_seconds": "number",
    "acw_seconds": "number",
    "outcome": "text",
    "transfer_count": "number",
    "escalation_count": "number",
    "hold_count": "number",
    "disposition": "text",
    "initial_contact_id": "text",
    "previous_contact_id": "text",
    "test_case_id": "text",
    # When the source last changed the record: a later export of the same contact with a later time
    # replaces the stored copy instead of being quarantined as a duplicate (ADR 0004).
    "source_updated": "timestamp",
}
#: Fields of an agent-activity export.
ACTIVITY_FIELDS: dict[str, str] = {
    "agent_id": "text",
    "team": "text",
    "state": "text",
    "started": "timestamp",
    "ended": "timestamp",
}
REQUIRED_FIELDS = ("contact_id", "initiated", "outcome")
REQUIRED_ACTIVITY_FIELDS = ("agent_id", "state", "started", "ended")
_VALUE_DOMAINS = {
    "outcome": schema.OUTCOMES,
    "channel": schema.CHANNELS,
    "direction": schema.DIRECTIONS,
    "state": schema.AGENT_STATES,
}


@dataclass(frozen=True)
class Mapping:
    kind: str  # "contacts" or "agent_activity"
    columns: dict[str, str]
    delimiter: str = ","
    encoding: str = "auto"
    thousands: str | None = None
    time_format: str = "iso8601"
    zone: str = "centre"
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    name: str = "<memory>"

    @property
    def required_columns(self) -> list[str]:
        required = REQUIRED_FIELDS if self.kind == "contacts" else REQUIRED_ACTIVITY_FIELDS
        return [self.columns[f] for f in required if f in self.columns]


def parse_mapping(raw: dict[str, Any], name: str = "<memory>") -> Mapping:
    kind = str(raw.get("kind", "contacts"))
    if kind not in ("contacts", "agent_activity"):
        raise ConfigError(f"mapping {name}: kind {kind!r} must be 'contacts' or 'agent_activity'")
    known = CONTACT_FIELDS if kind == "contacts" else ACTIVITY_FIELDS
    required = REQUIRED_FIELDS if kind == "contacts" else REQUIRED_ACTIVITY_FIELDS
    columns = {str(k): str(v) for k, v in raw.get("columns", {}).items()}
    defaults = {str(k): str(v) for k, v in raw.get("defaults", {}).items()}
    unknown = sorted((set(columns) | set(defaults)) - set(known))
    if unknown:
        raise ConfigError(f"mapping {name}: unknown fields {unknown}; known fields: {sorted(known)}")
    missing = [f for f in required if f not in columns]
    if missing:
        raise ConfigError(f"mapping {name}: [columns] must map the required fields {missing}")
    values = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in raw.get("values", {}).items()}
    for target, table in values.items():
        domain = _VALUE_DOMAINS.get(target)
        if domain is None:
            raise ConfigError(
                f"mapping {name}: [values.{target}] is not a coded field ({sorted(_VALUE_DOMAINS)})"
            )
        wrong = sorted({v for v in table.values() if v not in domain})
        if wrong:
            raise ConfigError(f"mapping {name}: [values.{target}] maps to {wrong}; allowed: {list(domain)}")
    csv = raw.get("csv", {})
    time_ = raw.get("time", {})
    delimiter = str(csv.get("delimiter", ","))
    if delimiter == "\\t":
        delimiter = "\t"
    if len(delimiter) != 1:
        raise ConfigError(f"mapping {name}: delimiter must be one character, got {delimiter!r}")
    return Mapping(
        kind=kind,
        columns=columns,
        delimiter=delimiter,
        encoding=str(csv.get("encoding", "auto")),
        thousands=csv.get("thousands"),
        time_format=str(time_.get("format", "iso8601")),
        zone=str(time_.get("zone", "centre")),
        values=values,
        defaults=defaults,
        name=name,
    )


def mapping_digest(mapping: Mapping) -> str:
    """Short hash of what the mapping says (not where it lives): a changed mapping re-processes uploads."""
    content = {k: v for k, v in asdict(mapping).items() if k != "name"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


@cache
def _load_version(path: str, mtime_ns: int, size: int) -> Mapping:
    return parse_mapping(read_toml(path), name=path)


def _load(path: str) -> Mapping:
    """Cached per file version, so a mapping fixed on disk is seen by the next upload or replay."""
    stat = Path(path).stat()
    return _load_version(path, stat.st_mtime_ns, stat.st_size)


def load_mapping(reference: str, config_dir: str | None = None) -> Mapping:
    """Load a mapping by path (relative to the configuration file's folder) or a packaged name."""
    candidates = []
    if config_dir:
        candidates.append(Path(config_dir) / reference)
    candidates.append(Path(reference))
    for path in candidates:
        if path.is_file():
            return _load(str(path.resolve()))
    packaged = resources.files("contactlake") / "sample_data" / "mappings" / Path(reference).name
    if packaged.is_file():
        with resources.as_file(packaged) as file:
            return _load(str(file))
    raise ConfigError(f"mapping file {reference!r} not found (looked in {[str(c) for c in candidates]})")
