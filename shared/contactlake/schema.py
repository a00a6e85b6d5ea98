"""The canonical records every source is mapped to, as versioned Arrow schemas.

One schema per table of the curated lake. Every source adapter produces exactly these columns, so the
SQL, the reports and the BI views never need to know which ACD a contact came from.

Conventions (see docs/adr/0002-timestamps.md):

* ``*_utc`` columns are UTC instants stored as zone-less ``timestamp[ms]``; ``*_local`` columns are the
  centre's wall-clock time of the same instant. Storing both keeps interval/day grains in the centre's
  zone a plain ``date_trunc`` in every engine, with no time-zone functions that differ between Athena
  and DuckDB.
* Durations are seconds as ``float64``.
* Partition columns (``centre_id`` and a date) are *not* stored inside the Parquet files: they are in the
  Hive path (``centre_id=…/contact_date=…``), which is where Athena and DuckDB read them from.
* No personal data: the caller is represented only by ``customer_key``, a keyed hash (see ``pii``).
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "AGENT_ACTIVITY",
    "AGENT_STATES",
    "CHANNELS",
    "CONTACTS",
    "DIRECTIONS",
    "INGEST_LOG",
    "OUTCOMES",
    "PATHWAY_STEPS",
    "QUARANTINE",
    "SCHEMA_VERSION",
    "STEP_TYPES",
]

#: Bumped when a column is added, removed or changes meaning; written into every Parquet file's metadata
#: and every manifest, so a reader can tell which contract a file was written under.
SCHEMA_VERSION = 2

TS = pa.timestamp("ms")

#: What happened to a contact, from the customer's point of view.
OUTCOMES = (
    "answered",  # an agent answered it
    "abandoned",  # the customer hung up while queued for an agent
    "self_served",  # ended in the IVR having been served there (IVR containment)
    "ivr_abandoned",  # the customer hung up in the IVR without being served
    "callback_requested",  # left the queue with a callback booked (the callback is its own contact)
    "failed",  # never reached the IVR or a queue (busy, overflow, technical failure)
)
CHANNELS = ("voice", "callback", "chat", "email", "web", "sms", "social")
DIRECTIONS = ("inbound", "outbound", "transfer", "internal")
STEP_TYPES = ("ivr_menu", "queue", "agent", "hold", "transfer", "escalation", "callback", "web", "end")
AGENT_STATES = ("staffed", "available", "on_contact", "after_call_work", "break", "training", "other")

CONTACTS = pa.schema(
    [
        pa.field("contact_id", pa.string(), nullable=False, metadata={"doc": "Source system's contact id."}),
        pa.field("source_system", pa.string(), nullable=False, metadata={"doc": "Adapter that produced it."}),
        pa.field("upload_id", pa.string(), nullable=False, metadata={"doc": "Upload the row came from."}),
        pa.field("source_line", pa.int64(), metadata={"doc": "Line (or record) number in the raw upload."}),
        pa.field("channel", pa.string(), metadata={"doc": "One of CHANNELS."}),
        pa.field("direction", pa.string(), metadata={"doc": "One of DIRECTIONS."}),
        pa.field("queue", pa.string(), metadata={"doc": "Queue / skill / split the contact waited in."}),
        pa.field("agent_id", pa.string(), metadata={"doc": "Agent who handled it (last agent leg)."}),
        pa.field("initiated_utc", TS, metadata={"doc": "Contact started (entered the system)."}),
        pa.field("initiated_local", TS, metadata={"doc": "initiated_utc in the centre's time zone."}),
        pa.field("ivr_entered_utc", TS, metadata={"doc": "Entered the IVR / VRU."}),
        pa.field("enqueued_utc", TS, metadata={"doc": "Joined the agent queue."}),
        pa.field("answered_utc", TS, metadata={"doc": "Answered by an agent."}),
        pa.field("disconnected_utc", TS, metadata={"doc": "Contact ended."}),
        pa.field("ivr_seconds", pa.float64(), metadata={"doc": "Time in the IVR."}),
        pa.field("queue_seconds", pa.float64(), metadata={"doc": "Time waiting in queue (answered or not)."}),
        pa.field("talk_seconds", pa.float64(), metadata={"doc": "Agent talk time, excluding hold."}),
        pa.field("hold_seconds", pa.float64(), metadata={"doc": "Customer on hold by the agent."}),
        pa.field("acw_seconds", pa.float64(), metadata={"doc": "After-call work (wrap-up)."}),
        pa.field("outcome", pa.string(), nullable=False, metadata={"doc": "One of OUTCOMES."}),
        pa.field("transfer_count", pa.int32(), metadata={"doc": "Transfers during the contact."}),
        pa.field("escalation_count", pa.int32(), metadata={"doc": "Escalations (to supervisor/tier 2)."}),
        pa.field("hold_count", pa.int32(), metadata={"doc": "Times put on hold."}),
        pa.field("disposition", pa.string(), metadata={"doc": "Wrap-up / disposition code."}),
        pa.field(
            "customer_key", pa.string(), metadata={"doc": "Keyed hash of the caller; never the number."}
        ),
        pa.field("initial_contact_id", pa.string(), metadata={"doc": "First contact of a transfer chain."}),
        pa.field("previous_contact_id", pa.string(), metadata={"doc": "Contact this one continues."}),
        pa.field("test_case_id", pa.string(), metadata={"doc": "Set on synthetic test contacts only."}),
        pa.field(
            "source_updated_utc",
            TS,
            metadata={
                "doc": "Source's last change to the record (Connect LastUpdateTimestamp); latest kept."
            },
        ),
    ],
    metadata={"contactlake.table": "contacts", "contactlake.schema_version": str(SCHEMA_VERSION)},
)

PATHWAY_STEPS = pa.schema(
    [
        pa.field("contact_id", pa.string(), nullable=False),
        pa.field("source_system", pa.string(), nullable=False),
        pa.field("upload_id", pa.string(), nullable=False),
        pa.field("step_index", pa.int32(), nullable=False, metadata={"doc": "0-based order in the path."}),
        pa.field("step_type", pa.string(), nullable=False, metadata={"doc": "One of STEP_TYPES."}),
        pa.field("step_name", pa.string(), metadata={"doc": "IVR menu, queue or agent name."}),
        pa.field("started_utc", TS),
        pa.field("ended_utc", TS),
        pa.field("duration_seconds", pa.float64()),
        pa.field("step_outcome", pa.string(), metadata={"doc": "How the step ended (next, abandoned…)."}),
    ],
    metadata={"contactlake.table": "pathway_steps", "contactlake.schema_version": str(SCHEMA_VERSION)},
)

AGENT_ACTIVITY = pa.schema(
    [
        pa.field("agent_id", pa.string(), nullable=False),
        pa.field("team", pa.string()),
        pa.field("state", pa.string(), nullable=False, metadata={"doc": "One of AGENT_STATES."}),
        pa.field("started_utc", TS, nullable=False),
        pa.field("ended_utc", TS, nullable=False),
        pa.field("started_local", TS, nullable=False),
        pa.field("duration_seconds", pa.float64(), nullable=False),
        pa.field("source_system", pa.string(), nullable=False),
        pa.field("upload_id", pa.string(), nullable=False),
        pa.field("source_line", pa.int64()),
    ],
    metadata={"contactlake.table": "agent_activity", "contactlake.schema_version": str(SCHEMA_VERSION)},
)

QUARANTINE = pa.schema(
    [
        pa.field("upload_id", pa.string(), nullable=False),
        pa.field("source_key", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), metadata={"doc": "Line in the raw upload; null = whole file."}),
        pa.field("raw_text", pa.string(), metadata={"doc": "The rejected record as it was read."}),
        pa.field("rule_id", pa.string(), nullable=False, metadata={"doc": "Validation rule that failed."}),
        pa.field("message", pa.string(), nullable=False),
        pa.field("quarantined_utc", TS, nullable=False),
    ],
    metadata={"contactlake.table": "quarantine", "contactlake.schema_version": str(SCHEMA_VERSION)},
)

INGEST_LOG = pa.schema(
    [
        pa.field("upload_id", pa.string(), nullable=False),
        pa.field("source_system", pa.string(), nullable=False),
        pa.field("source_key", pa.string(), nullable=False),
        pa.field("source_version", pa.string()),
        pa.field("checksum_sha256", pa.string()),
        pa.field(
            "dataset_key",
            pa.string(),
            metadata={
                "doc": "What a later upload replaces: centre/source/<day>[/<key>@<content>] (ADR 0012)."
            },
        ),
        pa.field("status", pa.string(), nullable=False, metadata={"doc": "stored | superseded | rejected."}),
        pa.field("rows_read", pa.int64(), nullable=False),
        pa.field("rows_stored", pa.int64(), nullable=False),
        pa.field("rows_quarantined", pa.int64(), nullable=False),
        pa.field("rows_excluded", pa.int64(), nullable=False),
        pa.field("quarantined_by_rule", pa.string(), metadata={"doc": "JSON object rule_id -> rows."}),
        pa.field("excluded_by_rule", pa.string(), metadata={"doc": "JSON object rule_id -> rows."}),
        pa.field("files_written", pa.int32()),
        pa.field("started_utc", TS),
        pa.field("finished_utc", TS),
        pa.field("schema_version", pa.int32()),
    ],
    metadata={"contactlake.table": "ingest_log", "contactlake.schema_version": str(SCHEMA_VERSION)},
)
