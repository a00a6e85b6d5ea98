"""Draft a mapping file from a sample export: columns profiled, likely fields and formats proposed.

``contactlake mapping draft export.csv`` writes a commented TOML the centre then edits: each column with
a few sample values, its guessed canonical field (by name) and value type (date, time of day, date-time
with its strptime pattern, number, code), date and time-of-day columns composed into timestamps, and the
distinct codes of coded columns listed for ``[values]``. Nothing is guessed silently: every proposal is
a line the user can read and change, and anything unsure is left commented out.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

from contactlake.ingest.mapping import CONTACT_FIELDS

__all__ = ["ColumnProfile", "draft_mapping", "profile_columns"]

#: Name fragments (lower case, without punctuation) that suggest a canonical field, most specific first.
_NAME_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("contact_id", ("callid", "contactid", "conversationid", "interactionid", "id")),
    ("caller", ("ani", "caller", "customerid", "phone", "cli", "msisdn")),
    ("queue_seconds", ("qtime", "queuetime", "waittime", "wait", "holdtimequeue", "asa")),
    ("talk_seconds", ("sertime", "talktime", "talk", "servicetime", "duration")),
    ("ivr_seconds", ("vrutime", "ivrtime")),
    ("acw_seconds", ("acw", "wrap", "aftercallwork")),
    ("hold_seconds", ("holdtime", "hold")),
    ("enqueued", ("qstart", "queuestart", "enqueue")),
    ("answered", ("serstart", "answer", "connect")),
    ("initiated", ("vruentry", "start", "begin", "initiat", "arrival", "entered")),
    ("disconnected", ("serexit", "end", "disconnect", "hangup")),
    ("outcome", ("outcome", "result", "status", "disposition")),
    ("queue", ("queue", "skill", "split", "type", "service")),
    ("agent_id", ("agent", "server", "user", "operator")),
    ("channel", ("channel", "media")),
    ("direction", ("direction",)),
)
_DATE_FORMATS = (
    (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"),
    (r"^\d{8}$", "%Y%m%d"),
    (r"^\d{6}$", "%y%m%d"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y"),
)
_TIME = r"^\d{1,2}:\d{2}(:\d{2})?$"
_DATETIME_FORMATS = (
    (r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$", "iso8601"),
    (r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}$", "%d/%m/%Y %H:%M:%S"),
)
_NUMBER = r"^-?\d+(\.\d+)?$"


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    kind: str  # date, time, datetime, number, code, text, empty
    fmt: str | None
    samples: tuple[str, ...]
    distinct: int
    codes: tuple[str, ...]


def _kind(values: list[str]) -> tuple[str, str | None]:
    filled = [v for v in values if v]
    if not filled:
        return "empty", None
    for pattern, fmt in _DATETIME_FORMATS:
        if all(re.match(pattern, v) for v in filled):
            return "datetime", fmt
    for pattern, fmt in _DATE_FORMATS:
        if all(re.match(pattern, v) for v in filled):
            digits_only = fmt in ("%Y%m%d", "%y%m%d")
            if digits_only and not _looks_like_days(filled):
                break  # plain numbers that happen to have six or eight digits
            return "date", fmt
    if all(re.match(_TIME, v) for v in filled):
        return "time", "%H:%M:%S" if all(v.count(":") == 2 for v in filled) else "%H:%M"
    if all(re.match(_NUMBER, v) for v in filled):
        return "number", None
    distinct = len(set(filled))
    return ("code", None) if distinct <= 20 and distinct < len(filled) else ("text", None)


def _looks_like_days(values: list[str]) -> bool:
    """Six or eight digits that read as dates (month 01-12, day 01-31) in every sample."""
    for value in values:
        month, day = (value[2:4], value[4:6]) if len(value) == 6 else (value[4:6], value[6:8])
        if not ("01" <= month <= "12" and "01" <= day <= "31"):
            return False
    return True


def profile_columns(text: str, rows: int = 2000) -> tuple[str, list[ColumnProfile]]:
    """The delimiter and a profile of each column, from the first ``rows`` rows of ``text``."""
    head = "\n".join(text.splitlines()[: rows + 1])
    try:
        delimiter = csv.Sniffer().sniff(head.splitlines()[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(head), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    data = [row for row in reader if len(row) == len(header)]
    profiles = []
    for index, name in enumerate(header):
        values = [row[index].strip() for row in data]
        kind, fmt = _kind(values)
        counts = Counter(v for v in values if v)
        codes = tuple(sorted(counts)) if kind == "code" else ()
        samples = tuple(dict.fromkeys(v for v in values if v))[:3]
        profiles.append(ColumnProfile(name, kind, fmt, samples, len(counts), codes))
    return delimiter, profiles


def _fields_for(name: str) -> list[str]:
    """Canonical fields the column's name suggests, likeliest first."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return [
        field_name
        for field_name, hints in _NAME_HINTS
        if any(hint == key or (len(hint) > 3 and hint in key) for hint in hints)
    ]


def _field_for(name: str) -> str | None:
    found = _fields_for(name)
    return found[0] if found else None


def draft_mapping(text: str, source_name: str = "sample") -> str:
    """A commented mapping TOML for the export ``text`` (its first rows are profiled)."""
    delimiter, profiles = profile_columns(text)
    dates = [p for p in profiles if p.kind == "date"]
    date_column = dates[0] if dates else None
    proposed: dict[str, str | list[str]] = {}
    formats: dict[str, str] = {}
    for profile in profiles:
        field_name = next((f for f in _fields_for(profile.name) if f not in proposed), None)
        if field_name is None or field_name not in CONTACT_FIELDS:
            continue
        kind = CONTACT_FIELDS[field_name]
        if kind == "timestamp":
            if profile.kind == "datetime":
                proposed[field_name] = profile.name
                if profile.fmt != "iso8601":
                    formats[field_name] = str(profile.fmt)
            elif profile.kind == "time" and date_column is not None:
                proposed[field_name] = [date_column.name, profile.name]
                formats[field_name] = f"{date_column.fmt} {profile.fmt}"
        elif kind == "number" and profile.kind != "number":
            continue
        else:
            proposed[field_name] = profile.name
    lines = [
        f"# Mapping drafted by `contactlake mapping draft` from {source_name}: read every line, then edit.",
        '# Fields, types and meanings: docs/sources.md, "Canonical fields"; rules: docs/validation.md.',
        'kind = "contacts"',
        "",
        "[csv]",
        f'delimiter = "{delimiter.encode("unicode_escape").decode()}"',
        "",
        "[time]",
        'format = "iso8601"',
        'zone = "centre"             # times without an offset are the centre\'s wall clock',
        "",
        "# The export's columns, as profiled (type, distinct values, samples):",
    ]
    for profile in profiles:
        detail = f"{profile.kind}" + (f" {profile.fmt}" if profile.fmt else "")
        lines.append(
            f"#   {profile.name}: {detail}; {profile.distinct} distinct; e.g. {', '.join(profile.samples)}"
        )
    lines += ["", "[columns]"]
    for field_name, source in proposed.items():
        value = f'"{source}"' if isinstance(source, str) else "[" + ", ".join(f'"{s}"' for s in source) + "]"
        lines.append(f"{field_name} = {value}")
    missing = [f for f in ("contact_id", "initiated", "outcome") if f not in proposed]
    for field_name in missing:
        lines.append(f'# {field_name} = "?"   # required: name the column that holds it')
    if formats:
        lines += ["", "[time.formats]"]
        lines += [f'{field_name} = "{fmt}"' for field_name, fmt in formats.items()]
    coded = {
        f: p for p in profiles if (f := _field_for(p.name)) in ("outcome", "channel", "direction") and p.codes
    }
    for field_name, profile in coded.items():
        lines += ["", f"# The codes of {profile.name}: map each to a canonical value (docs/sources.md).",
                  f"[values.{field_name}]"]  # fmt: skip
        lines += [f'# {code} = "?"' for code in profile.codes]
    lines += [
        "",
        "# Rows that are not contacts, excluded with a named reason, e.g.:",
        "# [[exclude]]",
        '# rule = "excluded.phantom"',
        '# when = { outcome = "PHANTOM" }',
        "",
        "[defaults]",
        'channel = "voice"',
        'direction = "inbound"',
        "",
    ]
    return "\n".join(lines)
