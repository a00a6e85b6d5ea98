"""What a person querying the lake can find: every table and BI view, its columns, types and meaning.

One listing for ``contactlake tables``, ``SHOW TABLES`` / ``DESCRIBE`` in ``contactlake sql``, the SQL
error hints and their "did you mean" suggestions (drawn from these names only, never from the engine's
own catalogue). Tables come from the one registry (:mod:`contactlake.tables`), with the column docs the
Glue catalogue also carries; views are the files of ``sql/views``, described by their header comment,
with columns and Athena types derived from their SQL (:func:`contactlake.analyse.ddl.view_columns`) and
described by the registry, the measures (:mod:`contactlake.metrics`) or :data:`VIEW_COLUMN_DOCS`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from contactlake.analyse.ddl import VIEWS, hive_type, view_columns
from contactlake.metrics import KPI_RATES, MEASURES
from contactlake.schema import TABLE_DOCS
from contactlake.sqlfiles import load_sql
from contactlake.tables import LakeTable, all_tables

__all__ = ["VIEW_COLUMN_DOCS", "Column", "Relation", "catalogue", "relation", "relation_names", "suggest"]

#: Partition columns: in the key, not in the files; filtering on them is what keeps a query cheap.
_PARTITION_DOCS = {
    "centre_id": "Centre id, as in the configuration (partition: filter on it).",
    "contact_date": "Local business day of the centre (partition: filter on it).",
    "activity_date": "Local day of the agent activity (partition: filter on it).",
    "ingest_date": "UTC day the upload was processed (partition: filter on it).",
}
#: Columns only the BI views have (every other view column is described by a table or a measure).
VIEW_COLUMN_DOCS = {
    "centre_name": "Centre name, as in the configuration.",
    "target_service_level": "Planned service level, else the centre's service-level target.",
    "service_level_met": "service_level >= target_service_level.",
    "abandon_rate_met": "abandon_rate <= plan_abandon_rate.",
    "offered_vs_plan": "offered - plan_offered_per_day (positive = busier than planned).",
    "staffed_hours": "Agents' logged-in hours that day.",
    "staff_cost": "staffed_hours x the centre's cost per agent hour.",
    "budget_per_contact": "Budget: cost per answered contact.",
    "variance": "cost_per_contact - budget_per_contact (positive = over budget).",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as Athena names it
    description: str


@dataclass(frozen=True)
class Relation:
    """A table or BI view the query engines can read."""

    name: str
    kind: Literal["table", "view"]
    description: str
    columns: tuple[Column, ...]


def _doc(metadata: dict[bytes, bytes] | None) -> str:
    return (metadata or {}).get(b"doc", b"").decode()


def _table(table: LakeTable) -> Relation:
    columns = [Column(f.name, hive_type(f.type), _doc(f.metadata)) for f in table.schema]
    columns += [
        Column(name, sql_type.lower().replace("varchar", "string"), _PARTITION_DOCS.get(name, "Partition."))
        for name, sql_type in table.partitions
    ]
    description = _doc(table.schema.metadata) or TABLE_DOCS.get(table.name, "")
    return Relation(table.name, "table", description, tuple(columns))


def _known_column_docs() -> dict[str, str]:
    known: dict[str, str] = {}
    for table in all_tables().values():
        for field in table.schema:
            known.setdefault(field.name, _doc(field.metadata))
    known.update({m.name: m.doc for m in MEASURES if not m.variant})
    known.update(dict(KPI_RATES))
    return {**known, **_PARTITION_DOCS, **VIEW_COLUMN_DOCS}


def _view_description(name: str) -> str:
    """The view file's header comment, without its name and the "Parameters" line."""
    header = []
    for line in load_sql(name).splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    text = " ".join(header)
    text = re.sub(rf"^{name} \(a BI view\):\s*", "", text)
    text = re.sub(r"\s*Parameters: none\.?\s*$", "", text)
    return text[:1].upper() + text[1:]


def _view(name: str) -> Relation:
    docs = _known_column_docs()
    columns = tuple(Column(c, t, docs.get(c, "")) for c, t in view_columns(name))
    return Relation(name, "view", _view_description(name), columns)


@cache
def relation(name: str) -> Relation | None:
    """One table or view by name (``None`` if the project has none of that name)."""
    name = name.lower()
    if name in all_tables():
        return _table(all_tables()[name])
    return _view(name) if name in VIEWS else None


def catalogue() -> tuple[Relation, ...]:
    """Every table (curated, then aggregates) and then every BI view."""
    return tuple(r for r in map(relation, relation_names()) if r is not None)


def relation_names() -> list[str]:
    """The names alone: cheap (no view SQL is analysed), for hints and suggestions."""
    return [*all_tables(), *VIEWS]


def suggest(name: str) -> list[str]:
    """The project's table and view names closest to ``name`` (best first)."""
    names = relation_names()
    close = difflib.get_close_matches(name.lower(), names, n=3, cutoff=0.5)
    return close or [n for n in names if name.lower().split("_")[0] in n][:3]
