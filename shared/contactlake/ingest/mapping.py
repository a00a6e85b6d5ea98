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
    channel = "voice"          # (or fills the blanks of a mapped column)

Real exports need more, all without code:

    [columns]
    contact_id = ["line", "call_id"]      # composed of several columns, joined with "-"
    initiated = ["date", "vru_entry"]     # timestamps are joined with " "

    [time.formats]                        # per-field strptime patterns (else [time] format)
    initiated = "%y%m%d %H:%M:%S"
    [time.zones]                          # per-field zones (else [time] zone)
    source_updated = "UTC"

    [[conditions.outcome]]                # a value set from a condition on other columns, first match
    set = "ivr_abandoned"                 # wins (before [values]); "!x" means "not x", "" means blank
    when = { result = "HANG", q_start = "0:00:00" }

    [[exclude]]                           # rows that are not contacts, counted under the named rule
    rule = "excluded.phantom"
    when = { result = "PHANTOM" }
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

__all__ = [
    "ACTIVITY_FIELDS",
    "CONTACT_FIELDS",
    "REQUIRED_FIELDS",
    "Mapping",
    "field_reference",
    "load_mapping",
    "mapping_digest",
    "parse_mapping",
]

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


#: A condition on the export's columns: column → expected text ("!x" = not x, "" = blank).
Condition = dict[str, str]


@dataclass(frozen=True)
class Mapping:
    kind: str  # "contacts" or "agent_activity"
    #: Canonical field → the export's column, or several columns composed into the field.
    columns: dict[str, str | list[str]]
    delimiter: str = ","
    encoding: str = "auto"
    thousands: str | None = None
    time_format: str = "iso8601"
    zone: str = "centre"
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    name: str = "<memory>"
    #: Per-field strptime patterns and zones, overriding ``time_format`` and ``zone``.
    time_formats: dict[str, str] = field(default_factory=dict)
    time_zones: dict[str, str] = field(default_factory=dict)
    #: Per field, ``(canonical value, condition)`` in order: the first that matches a row sets it.
    conditions: dict[str, list[tuple[str, Condition]]] = field(default_factory=dict)
    #: ``(rule id, condition)``: rows matching are excluded, counted under the rule.
    exclusions: list[tuple[str, Condition]] = field(default_factory=list)

    @property
    def required_columns(self) -> list[str]:
        required = REQUIRED_FIELDS if self.kind == "contacts" else REQUIRED_ACTIVITY_FIELDS
        named = [column for f in required if f in self.columns for column in self.sources(f)]
        tested = [
            column
            for condition in [c for entries in self.conditions.values() for _, c in entries]
            + [c for _, c in self.exclusions]
            for column in condition
        ]
        return list(dict.fromkeys([*named, *tested]))

    def sources(self, field_name: str) -> list[str]:
        """The export columns a canonical field is read from (none when it is not mapped)."""
        source = self.columns.get(field_name)
        if source is None:
            return []
        return [source] if isinstance(source, str) else list(source)

    def time_format_of(self, field_name: str) -> str:
        return self.time_formats.get(field_name, self.time_format)

    def zone_of(self, field_name: str, centre_zone: str) -> str:
        zone = self.time_zones.get(field_name, self.zone)
        return centre_zone if zone == "centre" else zone


def _where(name: str, text: str | None, table: str, key: str | None = None) -> str:
    """``mapping <file>, line N ([table] key)``: where in the mapping file to make the fix."""
    line = None
    if text is not None:
        header = f"[{table}]"
        lines = text.splitlines()
        start = next((i for i, x in enumerate(lines) if x.strip() in (header, f"[{header}]")), None)
        if start is not None:
            line = start + 1
            if key is not None:
                for offset, candidate in enumerate(lines[start + 1 :], start=start + 2):
                    if candidate.strip().startswith("["):
                        break
                    if candidate.split("=", 1)[0].strip().strip('"') == key:
                        line = offset
                        break
    place = f"[{table}]" + (f" {key}" if key else "")
    return f"mapping {name}, line {line} ({place})" if line else f"mapping {name} ({place})"


def _condition(value: Any, where: str) -> Condition:
    if not isinstance(value, dict) or not value:
        raise ConfigError(f'{where}: `when` must be a table of column = value, e.g. {{ result = "HANG" }}')
    return {str(k): str(v) for k, v in value.items()}


def parse_mapping(raw: dict[str, Any], name: str = "<memory>", text: str | None = None) -> Mapping:
    """Check a mapping's TOML; each error names the mapping line (when ``text``, the file, is given)."""
    kind = str(raw.get("kind", "contacts"))
    if kind not in ("contacts", "agent_activity"):
        raise ConfigError(f"mapping {name}: kind {kind!r} must be 'contacts' or 'agent_activity'")
    known = CONTACT_FIELDS if kind == "contacts" else ACTIVITY_FIELDS
    required = REQUIRED_FIELDS if kind == "contacts" else REQUIRED_ACTIVITY_FIELDS
    columns: dict[str, str | list[str]] = {}
    for key, value in raw.get("columns", {}).items():
        if isinstance(value, list):
            if not value or not all(isinstance(v, str) for v in value):
                where = _where(name, text, "columns", str(key))
                raise ConfigError(f'{where}: a composed field lists column names, e.g. ["date", "time"]')
            columns[str(key)] = [str(v) for v in value]
        else:
            columns[str(key)] = str(value)
    defaults = {str(k): str(v) for k, v in raw.get("defaults", {}).items()}
    unknown = sorted((set(columns) | set(defaults)) - set(known))
    if unknown:
        section = "columns" if unknown[0] in columns else "defaults"
        raise ConfigError(
            f"{_where(name, text, section, unknown[0])}: unknown fields {unknown}; "
            f"known fields: {sorted(known)} (docs/sources.md, Canonical fields)"
        )
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
            where = _where(name, text, f"values.{target}")
            raise ConfigError(f"{where}: maps to {wrong}; allowed: {list(domain)}")
    conditions: dict[str, list[tuple[str, Condition]]] = {}
    for target, entries in raw.get("conditions", {}).items():
        where = _where(name, text, f"conditions.{target}")
        if target not in known or not isinstance(entries, list):
            raise ConfigError(f"{where}: write [[conditions.<field>]] entries for a known field")
        domain = _VALUE_DOMAINS.get(target)
        for entry in entries:
            value = str(entry.get("set", ""))  # "" blanks the field for the rows that match
            if domain is not None and value and value not in domain:
                raise ConfigError(f'{where}: set = {value!r}; allowed: {list(domain)} or "" (blank)')
            conditions.setdefault(str(target), []).append((value, _condition(entry.get("when"), where)))
    exclusions = []
    for entry in raw.get("exclude", []):
        where = _where(name, text, "exclude")
        rule = str(entry.get("rule", ""))
        if not rule.startswith("excluded.") or len(rule) <= len("excluded."):
            raise ConfigError(f'{where}: rule must name the reason, e.g. rule = "excluded.phantom"')
        exclusions.append((rule, _condition(entry.get("when"), where)))
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
        time_formats={str(k): str(v) for k, v in time_.get("formats", {}).items()},
        time_zones={str(k): str(v) for k, v in time_.get("zones", {}).items()},
        conditions=conditions,
        exclusions=exclusions,
    )


def mapping_digest(mapping: Mapping) -> str:
    """Short hash of what the mapping says (not where it lives): a changed mapping re-processes uploads."""
    content = {k: v for k, v in asdict(mapping).items() if k != "name"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


@cache
def _load_version(path: str, mtime_ns: int, size: int) -> Mapping:
    return parse_mapping(read_toml(path), name=path, text=Path(path).read_text(encoding="utf-8"))


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


_KIND_TEXT = {
    "text": "text",
    "pii": "text, stored only as a keyed hash",
    "timestamp": "date-time",
    "number": "number",
}


def _canonical_column(kind: str, field_name: str) -> str:
    if kind == "pii":
        return "customer_key"
    return f"{field_name}_utc" if kind == "timestamp" and field_name != "started" else field_name


def field_reference() -> str:
    """The Markdown table of every field a mapping may fill (docs/sources.md, "Canonical fields").

    Generated from :data:`CONTACT_FIELDS`, :data:`ACTIVITY_FIELDS` and the schemas' column docs, so the
    reference cannot fall behind the code.
    """
    lines = ["| mapping | field | type | required | stored as | meaning |", "|---|---|---|---|---|---|"]
    for kind_name, fields, required, table in (
        ("contacts", CONTACT_FIELDS, REQUIRED_FIELDS, schema.CONTACTS),
        ("agent_activity", ACTIVITY_FIELDS, REQUIRED_ACTIVITY_FIELDS, schema.AGENT_ACTIVITY),
    ):
        for field_name, kind in fields.items():
            column = _canonical_column(kind, field_name) if kind_name == "contacts" else field_name
            column = {"started": "started_utc", "ended": "ended_utc"}.get(column, column)
            doc = (table.field(column).metadata or {}).get(b"doc", b"").decode()
            domain = _VALUE_DOMAINS.get(field_name)
            if domain:
                doc = f"one of {', '.join(domain)} (or an export code translated by [values.{field_name}])"
            needed = "yes" if field_name in required else ""
            lines.append(
                f"| {kind_name} | `{field_name}` | {_KIND_TEXT[kind]} | {needed} | `{column}` | {doc} |"
            )
    return "\n".join(lines) + "\n"
