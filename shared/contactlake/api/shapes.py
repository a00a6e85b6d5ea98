"""Analysis results as plain JSON values (what every route returns)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

__all__ = ["JSON_COLUMNS", "as_object", "jsonable", "rows"]

#: Columns the lake stores as JSON text (a map in one Parquet column) that the API answers as objects.
JSON_COLUMNS = ("quarantined_by_rule", "excluded_by_rule")


def jsonable(value: Any) -> Any:
    """Arrow tables, dataclasses, dates and NaN turned into plain JSON values."""
    if isinstance(value, pa.Table):
        return [jsonable(row) for row in value.to_pylist()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, str | bytes):
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if isinstance(value, Iterable):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item") and callable(value.item):
        return jsonable(value.item())
    return value


def as_object(value: Any) -> dict[str, Any]:
    """``jsonable(value)`` as a JSON object (a list becomes ``{"items": [...]}``)."""
    data = jsonable(value)
    return data if isinstance(data, dict) else {"items": data}


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """A table's rows as JSON objects, with the :data:`JSON_COLUMNS` decoded (typed JSON, no JSON in
    strings): ``{"quarantined_by_rule": {"timestamp.invalid": 2}}``, not a string holding that text."""
    decoded = []
    for row in jsonable(table):
        for name in JSON_COLUMNS:
            if isinstance(row.get(name), str):
                row[name] = json.loads(row[name] or "{}")
        decoded.append(row)
    return decoded
