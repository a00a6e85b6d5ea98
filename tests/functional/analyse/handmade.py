"""Hand-made lakes for the analyse tests: canonical rows written straight into the lake's Parquet layout.

Writing canonical rows (rather than going through an adapter) lets a test set every field a KPI depends
on — direction, customer key, chained legs, callbacks — and compute the expected numbers by hand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from contactlake.config import AppConfig, parse_app_config
from contactlake.lake import parquet_bytes, partition_prefix
from contactlake.ports import Ports
from contactlake.tables import LAKE_TABLES

CENTRE = "hand"


def hand_config(**centre: Any) -> AppConfig:
    """A one-centre configuration in UTC (local time = UTC), overridable per test."""
    body: dict[str, Any] = {
        "timezone": "UTC",
        "short_abandon_seconds": 5,
        "fcr_window_hours": 72,
        "service_level": {"threshold_seconds": 20, "target": 0.8, "variant": "abandons_ignored"},
        "cost_per_agent_hour": 20.0,
        "sources": {"acd": {"adapter": "generic_csv", "mapping": "acd_calls.toml"}},
    }
    body.update(centre)
    return parse_app_config({"centres": {CENTRE: body}})


def contact(contact_id: str, start: str, outcome: str, **values: Any) -> dict[str, Any]:
    """A canonical contact; ``start`` is local (= UTC here) 'YYYY-MM-DD HH:MM:SS'."""
    initiated = datetime.fromisoformat(start)
    row: dict[str, Any] = {
        "contact_id": contact_id,
        "source_system": "hand",
        "upload_id": "hand-upload",
        "channel": "voice",
        "direction": "inbound",
        "queue": "billing",
        "initiated_utc": initiated,
        "initiated_local": initiated,
        "ivr_seconds": 30.0,
        "outcome": outcome,
        "transfer_count": 0,
        "escalation_count": 0,
        "hold_count": 0,
    }
    if outcome in ("self_served", "ivr_abandoned"):
        row["queue"] = None
    row.update(values)
    return row


def write_table(
    ports: Ports, table: str, rows: list[dict[str, Any]], day_of: str, centre_id: str = CENTRE
) -> None:
    """Write rows of a curated table, one Parquet file per partition day (taken from ``day_of``)."""
    spec = LAKE_TABLES[table]
    by_day: dict[date, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(row.pop("_day", None) or row[day_of].date(), []).append(row)
    for day, part in by_day.items():
        data = pa.Table.from_pylist(part, schema=spec.schema)
        key = f"{partition_prefix(spec, {'centre_id': centre_id, spec.partition_names[1]: day})}/hand.parquet"
        ports.store.put("lake", key, parquet_bytes(data))


def write_contacts(ports: Ports, rows: list[dict[str, Any]], centre_id: str = CENTRE) -> None:
    write_table(ports, "contacts", rows, "initiated_local", centre_id)


def activity(agent: str, state: str, start: str, minutes: float, team: str = "t1") -> dict[str, Any]:
    began = datetime.fromisoformat(start)
    return {
        "agent_id": agent,
        "team": team,
        "state": state,
        "started_utc": began,
        "ended_utc": began + timedelta(minutes=minutes),
        "started_local": began,
        "duration_seconds": minutes * 60.0,
        "source_system": "hand",
        "upload_id": "hand-agents",
    }


def write_activity(ports: Ports, rows: list[dict[str, Any]], centre_id: str = CENTRE) -> None:
    write_table(ports, "agent_activity", rows, "started_local", centre_id)


def step(contact_id: str, index: int, step_type: str, name: str | None = None, day: date | None = None,
         outcome: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "contact_id": contact_id,
        "source_system": "hand",
        "upload_id": "hand-upload",
        "step_index": index,
        "step_type": step_type,
        "step_name": name,
        "step_outcome": outcome,
        "_day": day,
    }


def write_steps(ports: Ports, rows: list[dict[str, Any]], centre_id: str = CENTRE) -> None:
    write_table(ports, "pathway_steps", rows, "started_utc", centre_id)
