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
    "QUALITY_FLAGS",
    "QUARANTINE",
    "REPORT_ISSUES",
    "SCHEMA_VERSION",
    "STEP_TYPES",
]

#: Bumped when a column is added, removed or changes meaning; written into every Parquet file's metadata
#: and every manifest, so a reader can tell which contract a file was written under.
SCHEMA_VERSION = 4

TS = pa.timestamp("ms")

#: What happened to a contact, from the customer's point of view.
OUTCOMES = (
    "answered",  # an agent answered it
    "abandoned",  # the customer hung up while queued for an agent
    "self_served",  # ended in the IVR having been served there (IVR containment)
    "ivr_abandoned",  # the customer hung up in the IVR without being served
    "callback_requested",  # left the queue with a callback booked (the callback is its own contact)
    "transferred",  # left the queue by a transfer (another queue, number or system) before an agent answered
    "failed",  # never reached the IVR or a queue (busy, overflow, technical failure)
)
CHANNELS = ("voice", "callback", "chat", "email", "web", "sms", "social")
DIRECTIONS = ("inbound", "outbound", "transfer", "internal")
#: Rules whose failure is stored with a flag instead of rejecting the row: each names a disagreement real
#: ACD clocks and exports produce, and how the measure it makes untrustworthy is handled (docs/validation.md
#: "Flags" has the same table; a test keeps them equal). A centre may raise any of them to a rejection
#: (``reject_flags`` in its configuration). Rejections are kept for rows that cannot be identified, placed
#: in time or told apart from another (missing id or start, unreadable or impossible start, duplicates).
QUALITY_FLAGS: dict[str, str] = {
    "time.duration_mismatch": "kept: the durations the export recorded are used as they are",
    "time.end_before_start": "kept: the timestamps are stored as exported; durations are the export's",
    "duration.negative": "nulled: the negative duration is stored as null (unknown)",
    "count.negative": "nulled: the negative count is stored as null (unknown)",
    "outcome.inconsistent": (
        "outcome kept; an answer time on a contact whose outcome says no agent answered is nulled"
    ),
    "queue.unknown_code": "kept: the code is stored as the queue name, as exported",
    "number.invalid": "nulled: a duration or count that is not a number is stored as null (unknown)",
    "timestamp.invalid": (
        "nulled: a time other than the start that is not a time is stored as null (unknown)"
    ),
}
STEP_TYPES = ("ivr_menu", "queue", "agent", "hold", "transfer", "escalation", "callback", "web", "end")
AGENT_STATES = ("staffed", "available", "on_contact", "after_call_work", "break", "training", "other")


def _one_of(what: str, values: tuple[str, ...]) -> dict[str, str]:
    """A column's doc naming its allowed values (read by people in Glue, Athena and `contactlake tables`)."""
    return {"doc": f"{what}: {', '.join(values[:-1])} or {values[-1]}."}


CONTACTS = pa.schema(
    [
        pa.field("contact_id", pa.string(), nullable=False, metadata={"doc": "Source system's contact id."}),
        pa.field("source_system", pa.string(), nullable=False, metadata={"doc": "Adapter that produced it."}),
        pa.field("upload_id", pa.string(), nullable=False, metadata={"doc": "Upload the row came from."}),
        pa.field("source_line", pa.int64(), metadata={"doc": "Line (or record) number in the raw upload."}),
        pa.field("channel", pa.string(), metadata=_one_of("How the customer came", CHANNELS)),
        pa.field("direction", pa.string(), metadata=_one_of("Direction", DIRECTIONS)),
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
        pa.field(
            "outcome", pa.string(), nullable=False, metadata=_one_of("What happened to the contact", OUTCOMES)
        ),
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
        pa.field(
            "quality_flags",
            pa.string(),
            metadata={"doc": "Comma-separated quality flag rule ids the row was stored with; null if none."},
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
        pa.field("step_type", pa.string(), nullable=False, metadata=_one_of("Kind of step", STEP_TYPES)),
        pa.field("step_name", pa.string(), metadata={"doc": "IVR menu, queue or agent name."}),
        pa.field("started_utc", TS),
        pa.field("ended_utc", TS),
        pa.field("duration_seconds", pa.float64()),
        pa.field("step_outcome", pa.string(), metadata={"doc": "How the step ended (next, abandoned…)."}),
        pa.field(
            "quality_flags",
            pa.string(),
            metadata={"doc": "Comma-separated quality flag rule ids the step was stored with; null if none."},
        ),
    ],
    metadata={"contactlake.table": "pathway_steps", "contactlake.schema_version": str(SCHEMA_VERSION)},
)

AGENT_ACTIVITY = pa.schema(
    [
        pa.field("agent_id", pa.string(), nullable=False),
        pa.field("team", pa.string()),
        pa.field("state", pa.string(), nullable=False, metadata=_one_of("Agent state", AGENT_STATES)),
        pa.field("started_utc", TS, nullable=False),
        pa.field("ended_utc", TS, nullable=False),
        pa.field("started_local", TS, nullable=False),
        pa.field("duration_seconds", pa.float64(), nullable=False),
        pa.field("source_system", pa.string(), nullable=False),
        pa.field("upload_id", pa.string(), nullable=False),
        pa.field("source_line", pa.int64()),
        pa.field(
            "quality_flags",
            pa.string(),
            metadata={"doc": "Comma-separated quality flag rule ids the span was stored with; null if none."},
        ),
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
                "doc": "What a later upload replaces: centre/source/<day>[/<key>@<content>] (ADR 0014)."
            },
        ),
        pa.field("status", pa.string(), nullable=False, metadata={"doc": "stored | superseded | rejected."}),
        pa.field("rows_read", pa.int64(), nullable=False),
        pa.field("rows_stored", pa.int64(), nullable=False),
        pa.field("rows_quarantined", pa.int64(), nullable=False),
        pa.field("rows_excluded", pa.int64(), nullable=False),
        pa.field(
            "quarantined_by_rule",
            pa.string(),
            metadata={"doc": 'Rows per rule, as JSON text: {"rule_id": rows}.'},
        ),
        pa.field(
            "excluded_by_rule",
            pa.string(),
            metadata={"doc": 'Rows per rule, as JSON text: {"rule_id": rows}.'},
        ),
        pa.field(
            "rows_flagged",
            pa.int64(),
            metadata={"doc": "Stored rows (contacts, agent activity) with a quality flag."},
        ),
        pa.field(
            "flagged_by_rule",
            pa.string(),
            metadata={"doc": 'Stored rows per flag rule, as JSON text: {"rule_id": rows}.'},
        ),
        pa.field(
            "coverage",
            pa.string(),
            metadata={"doc": "JSON object business date (centre-local) -> curated rows stored on it."},
        ),
        pa.field(
            "rows_carried",
            pa.int64(),
            metadata={"doc": "Records left open at the upload's end, carried to the next upload (ADR 0018)."},
        ),
        pa.field(
            "rows_carried_in",
            pa.int64(),
            metadata={"doc": "Records an earlier upload carried that this one took in (ADR 0018)."},
        ),
        pa.field(
            "arrived_utc",
            TS,
            metadata={"doc": "When the upload's bytes first arrived (lateness is judged on it), UTC."},
        ),
        pa.field("files_written", pa.int32()),
        pa.field("started_utc", TS),
        pa.field("finished_utc", TS),
        pa.field("schema_version", pa.int32()),
    ],
    metadata={"contactlake.table": "ingest_log", "contactlake.schema_version": str(SCHEMA_VERSION)},
)


REPORT_ISSUES = pa.schema(
    [
        pa.field(
            "report_key",
            pa.string(),
            nullable=False,
            metadata={
                "doc": "The report's key in the reports area, without the format (scope/audience/period/day)."
            },
        ),
        pa.field(
            "stakeholder", pa.string(), nullable=False, metadata={"doc": "Who the report was issued to."}
        ),
        pa.field(
            "audience", pa.string(), nullable=False, metadata={"doc": "operations, executive, vendor ..."}
        ),
        pa.field(
            "period", pa.string(), nullable=False, metadata={"doc": "daily, weekly, monthly or quarterly."}
        ),
        pa.field("period_end", pa.date32(), nullable=False, metadata={"doc": "Last day the report covers."}),
        pa.field(
            "version",
            pa.int32(),
            nullable=False,
            metadata={"doc": "1 when first issued, one more per restatement (each version keeps its rows)."},
        ),
        pa.field("generated_utc", TS, nullable=False, metadata={"doc": "When this version was built, UTC."}),
        pa.field(
            "upload_id",
            pa.string(),
            metadata={"doc": "An upload this version's figures rest on (NULL: the report used no upload)."},
        ),
        pa.field("source", pa.string(), metadata={"doc": "The upload's source (acd, agents ...)."}),
        pa.field(
            "business_date", pa.date32(), metadata={"doc": "The centre-local day the upload delivered."}
        ),
        pa.field("schema_version", pa.int32()),
    ],
    metadata={"contactlake.table": "report_issues", "contactlake.schema_version": str(SCHEMA_VERSION)},
)

#: Docs of the columns several curated tables share, and of each table (Glue comments, `contactlake tables`).
_SHARED_DOCS = {
    "contact_id": "Source system's contact id.",
    "source_system": "Adapter that produced the row.",
    "upload_id": "Upload the row came from (its manifest has the details).",
    "source_key": "Raw object key of the upload.",
    "source_line": "Line (or record) number in the raw upload.",
    "started_utc": "Start, UTC.",
    "ended_utc": "End, UTC.",
    "duration_seconds": "ended_utc - started_utc, in seconds.",
    "agent_id": "Agent.",
    "team": "Agent's team, if the export has one.",
    "started_local": "Start in the centre's local time (what interval cuts use).",
    "message": "Why the row was refused, in words.",
    "quarantined_utc": "When it was quarantined, UTC.",
    "source_version": "Object version (S3 version id) of the upload, if versioned.",
    "checksum_sha256": "SHA-256 of the raw upload's bytes.",
    "rows_read": "Rows read from the upload (+ carried in = stored + quarantined + excluded + carried).",
    "rows_stored": "Rows stored in the curated tables.",
    "rows_quarantined": "Rows refused by a rule, kept in quarantine with the reason.",
    "rows_excluded": "Rows left out on purpose (e.g. outside the centre's scope).",
    "files_written": "Parquet files written.",
    "finished_utc": "When processing ended, UTC.",
    "schema_version": "Lake schema version the rows were written with.",
}
TABLE_DOCS = {
    "contacts": "One row per contact (call, chat, e-mail ...), from every source, in the canonical form.",
    "pathway_steps": "The steps of each contact's path: IVR menus, queues, agents, transfers, in order.",
    "agent_activity": "Agents' state spans (staffed, available, on contact, break ...) from agent exports.",
    "quarantine": "Rows refused by a validation rule, with the rule and the reason (caller numbers removed).",
    "ingest_log": "One row per processed upload: rows read, stored, quarantined, excluded; its status.",
    "report_issues": "Which report version used which upload versions: one row per issued version and upload "
    "(restatements add versions, earlier ones stay). Partitioned by the upload's centre and the report's "
    "first day.",
}


def _documented(table: pa.Schema) -> pa.Schema:
    """The schema with the shared docs on columns that have none."""
    fields = [
        f if f.metadata or f.name not in _SHARED_DOCS else f.with_metadata({"doc": _SHARED_DOCS[f.name]})
        for f in table
    ]
    return pa.schema(fields, metadata=table.metadata)


PATHWAY_STEPS, AGENT_ACTIVITY, QUARANTINE, INGEST_LOG, REPORT_ISSUES = (
    _documented(t) for t in (PATHWAY_STEPS, AGENT_ACTIVITY, QUARANTINE, INGEST_LOG, REPORT_ISSUES)
)
