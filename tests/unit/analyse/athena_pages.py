"""Athena GetQueryResults pages as the API returns them: ColumnInfo entries and rows of VarCharValues.

Shared by the Athena engine's tests (the boto3 path and the awswrangler path type the same pages).
"""

from __future__ import annotations

from typing import Any


def column(name: str, type_: str) -> dict[str, Any]:
    """One ``ResultSetMetadata.ColumnInfo`` entry."""
    return {"Name": name, "Label": name, "Type": type_, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN"}


def row(*values: str | None) -> dict[str, Any]:
    """One ``ResultSet.Rows`` entry; None is a NULL (Athena leaves the datum empty)."""
    return {"Data": [{"VarCharValue": v} if v is not None else {} for v in values]}
