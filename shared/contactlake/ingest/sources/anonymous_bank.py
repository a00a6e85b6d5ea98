"""The "Anonymous Bank" call records (Technion Service Engineering lab, 1999), read as a real export.

Tab-separated, one call a line (field list: sample_data/anonymous_bank/README.md). Every stage time is a
local wall-clock ``H:MM:SS`` of the record's ``YYMMDD`` date, in the centre's zone; a stage time more
than 12 hours *before* the VRU entry belongs to the next day (the call crossed midnight). ``0:00:00``
means "did not happen" for the queue and service stages unless the matching duration says otherwise.

Mapping (justified in docs/sources.md):

* ``AGENT`` → answered; ``HANG`` after joining the queue or reaching the service stage → abandoned
  (never answered: a hang-up has no answer time, even with a service stage); ``HANG`` without either →
  ivr_abandoned (the documentation: "q_start is 00:00:00 for customers who have not reached the queue
  (abandoned from the VRU)"); ``PHANTOM`` ("a virtual call to be ignored") → excluded, rule
  ``excluded.phantom``.
* ``type`` is the queue (``TT``, callbacks the bank placed, is channel ``callback``); a type outside the
  documented list is stored as exported with the flag ``queue.unknown_code``; ``server`` the agent
  (``NO_SERVER`` → none); ``customer_id`` the caller's keyed hash (``0`` → none); ``vru+line`` names
  the IVR step of the pathway.
* A recorded duration that disagrees with its two timestamps beyond the canonical tolerance is stored
  with the flag ``time.duration_mismatch`` (the recorded duration is kept); ``AGENT`` without any service
  time is stored with ``outcome.inconsistent``. The adapter rejects only what it cannot read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from contactlake import schema
from contactlake.contract import ParsedBatch, Upload
from contactlake.ingest.canonical import (
    RowChecks,
    build_contacts,
    local_to_utc,
    parse_numbers,
    pathway_table,
)
from contactlake.ingest.delimited import kept_mask, split_rows, structural_checks
from contactlake.ingest.reader import open_decoded
from contactlake.ingest.rules import DURATION_TOLERANCE_SECONDS, check_contacts
from contactlake.ingest.sources.base import AdapterContext
from contactlake.kernels.arrowtext import blank_as_null, trim_whitespace
from contactlake.kernels.csvblocks import CsvBlock, iter_csv_blocks

__all__ = ["COLUMNS", "AnonymousBankAdapter"]

COLUMNS = [
    "vru+line", "call_id", "customer_id", "priority", "type", "date", "vru_entry", "vru_exit", "vru_time",
    "q_start", "q_exit", "q_time", "outcome", "ser_start", "ser_exit", "ser_time", "server",
]  # fmt: skip
_OUTCOMES = {"AGENT", "HANG", "PHANTOM"}
#: The service types the data's documentation lists (README: PS, PE, IN, NE, NW, TT).
_TYPES = ("PS", "PE", "IN", "NE", "NW", "TT")
_TIME_SHAPE = r"^\d{1,2}:\d{2}:\d{2}$"
_EPOCH_1900 = 2_208_988_800  # seconds from 1900-01-01 (strptime's default date) to 1970-01-01
_HALF_DAY = 12 * 3600
_ZERO = "0:00:00"


def _seconds_of_day(text: pa.Array, checks: RowChecks, column: str) -> pa.Array:
    """``H:MM:SS`` to seconds after midnight; anything else is ``timestamp.invalid``."""
    shaped = pc.fill_null(pc.match_substring_regex(text, _TIME_SHAPE), False)
    parsed = pc.strptime(text, format="%H:%M:%S", unit="s", error_is_null=True)
    checks.fail(
        pc.or_(pc.invert(shaped), pc.is_null(parsed)),
        "timestamp.invalid",
        f"{column} is not a time of day H:MM:SS",
    )
    return pc.add(pc.cast(parsed, pa.int64()), _EPOCH_1900)


class AnonymousBankAdapter:
    name = "anonymous_bank"
    version = "2"
    #: Monthly files: a corrected file of the same name (month) replaces the earlier one.
    dataset_grain = "day"

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]:
        decoded, _ = open_decoded(stream, upload.key, upload.size, "utf-8")
        names, blocks = iter_csv_blocks(decoded, "\t", COLUMNS, ctx.block_bytes)
        for block in blocks:
            yield self._convert(block, names, upload, ctx)

    def _convert(self, block: CsvBlock, names: list[str], upload: Upload, ctx: AdapterContext) -> ParsedBatch:
        batch = block.batch
        n = batch.num_rows
        checks = RowChecks(n, upload.centre.reject_flags)
        blank = structural_checks(batch, names, checks)

        def col(name: str) -> pa.Array:
            return trim_whitespace(batch.column(names.index(name)))

        outcome_code = col("outcome")
        phantom = pc.and_(pc.equal(outcome_code, "PHANTOM"), pc.invert(blank))
        unknown_outcome = pc.invert(pc.is_in(outcome_code, pa.array(sorted(_OUTCOMES))))
        if pc.any(unknown_outcome).as_py():
            checks.fail_rows(
                unknown_outcome,
                "outcome.unknown_code",
                pc.binary_join_element_wise(
                    "outcome '", outcome_code, "' is not AGENT, HANG or PHANTOM; export one of them", ""
                ),
            )
        day = pc.strptime(col("date"), format="%y%m%d", unit="s", error_is_null=True)
        checks.fail(pc.is_null(day), "timestamp.invalid", "date is not a YYMMDD date")
        day_seconds = pc.cast(day, pa.int64())

        vru_time = parse_numbers(col("vru_time"), checks, "vru_time", measure=True)
        q_time = parse_numbers(col("q_time"), checks, "q_time", measure=True)
        ser_time = parse_numbers(col("ser_time"), checks, "ser_time", measure=True)
        queued = pc.or_(pc.not_equal(col("q_start"), _ZERO), pc.greater(pc.fill_null(q_time, 0), 0))
        served = pc.or_(
            pc.or_(pc.not_equal(col("ser_start"), _ZERO), pc.not_equal(col("ser_exit"), _ZERO)),
            pc.greater(pc.fill_null(ser_time, 0), 0),
        )

        entry = _seconds_of_day(col("vru_entry"), checks, "vru_entry")
        local: dict[str, pa.Array] = {}
        for name, present in (
            ("vru_entry", None),
            ("vru_exit", None),
            ("q_start", queued),
            ("q_exit", queued),
            ("ser_start", served),
            ("ser_exit", served),
        ):
            seconds = entry if name == "vru_entry" else _seconds_of_day(col(name), checks, name)
            # A stage more than half a day before the VRU entry happened after midnight.
            rolled = pc.if_else(
                pc.less(seconds, pc.subtract(entry, _HALF_DAY)), pc.add(seconds, 86_400), seconds
            )
            stamp = pc.cast(pc.multiply(pc.add(day_seconds, rolled), 1000), pa.timestamp("ms"))
            if present is not None:
                stamp = pc.if_else(present, stamp, pa.scalar(None, pa.timestamp("ms")))
            local[name] = stamp
        zone = upload.centre.timezone
        utc = {name: local_to_utc(stamp, zone, checks, name) for name, stamp in local.items()}

        def mismatch(duration: pa.Array, start: str, end: str, label: str) -> None:
            between = pc.divide(pc.cast(pc.subtract(utc[end], utc[start]), pa.int64()), 1000.0)
            off = pc.greater(pc.abs(pc.subtract(duration, between)), DURATION_TOLERANCE_SECONDS)
            checks.flag(
                off,
                "time.duration_mismatch",
                f"{label} disagrees with {end} - {start} by more than {DURATION_TOLERANCE_SECONDS:g} s",
            )

        mismatch(vru_time, "vru_entry", "vru_exit", "vru_time")
        mismatch(q_time, "q_start", "q_exit", "q_time")
        mismatch(ser_time, "ser_start", "ser_exit", "ser_time")

        agent = pc.equal(outcome_code, "AGENT")
        checks.flag(
            pc.and_(agent, pc.invert(served)),
            "outcome.inconsistent",
            "outcome is AGENT but no service start, end or time is recorded",
        )
        hang = pc.if_else(pc.or_(queued, served), "abandoned", "ivr_abandoned")
        no_outcome = pa.scalar(None, pa.string())
        outcome = pc.if_else(agent, "answered", pc.if_else(pc.equal(outcome_code, "HANG"), hang, no_outcome))
        queue_type = col("type")
        checks.flag(
            pc.and_(pc.invert(pc.is_in(queue_type, pa.array(_TYPES))), pc.invert(blank)),
            "queue.unknown_code",
            f"type is not one of the documented service types {', '.join(_TYPES)}",
        )
        callback = pc.equal(queue_type, "TT")
        answered_call = pc.and_(agent, served)
        server = col("server")
        disconnected = pc.coalesce(utc["ser_exit"], utc["q_exit"], utc["vru_exit"])
        contact_id = pc.binary_join_element_wise(col("date"), col("vru+line"), col("call_id"), "-")
        checks.fail(pc.equal(col("call_id"), ""), "required.missing", "call_id is empty")
        columns = {
            "contact_id": contact_id,
            "channel": pc.if_else(callback, "callback", "voice"),
            "direction": pc.if_else(callback, "outbound", "inbound"),
            "queue": blank_as_null(queue_type),
            "agent_id": pc.if_else(
                pc.is_in(server, pa.array(["NO_SERVER", ""])), pa.scalar(None, pa.string()), server
            ),
            "initiated_utc": utc["vru_entry"],
            "ivr_entered_utc": utc["vru_entry"],
            "enqueued_utc": utc["q_start"],
            "answered_utc": pc.if_else(answered_call, utc["ser_start"], pa.scalar(None, pa.timestamp("ms"))),
            "disconnected_utc": disconnected,
            "ivr_seconds": vru_time,
            "queue_seconds": pc.if_else(
                queued, q_time, pc.if_else(served, 0.0, pa.scalar(None, pa.float64()))
            ),
            "talk_seconds": pc.if_else(answered_call, ser_time, pa.scalar(None, pa.float64())),
            "outcome": outcome,
        }
        table = build_contacts(
            columns,
            n,
            source_system=upload.adapter,
            upload_id=upload.upload_id,
            zone=zone,
            pii_key=ctx.pii_key,
            caller=col("customer_id"),
            source_line=block.lines,
        )
        table = check_contacts(table, checks)
        excluded = {"row.blank_line": blank, "excluded.phantom": phantom}
        parsed = split_rows(block, checks, "\t", excluded, contacts=table)
        keep = kept_mask(checks, excluded)
        stages = [
            ("ivr_menu", col("vru+line"), "vru_entry", "vru_exit", vru_time, None,
             pc.if_else(queued, "queued", pc.if_else(served, "to_agent", "abandoned"))),
            ("queue", queue_type, "q_start", "q_exit", q_time, queued,
             pc.if_else(served, "answered", "abandoned")),
            ("agent", columns["agent_id"], "ser_start", "ser_exit", ser_time, served,
             pc.if_else(agent, "completed", "abandoned")),
        ]  # fmt: skip
        index = pa.array([0] * n, pa.int32())
        steps = []
        for step_type, step_name, start, end, duration, present, step_outcome in stages:
            mask = keep if present is None else pc.and_(keep, present)
            steps.append(
                pathway_table(
                    contact_id=contact_id,
                    step_index=index,
                    step_type=step_type,
                    step_name=step_name,
                    started_utc=utc[start],
                    ended_utc=utc[end],
                    duration_seconds=duration,
                    step_outcome=step_outcome,
                    source_system=upload.adapter,
                    upload_id=upload.upload_id,
                ).filter(mask)
            )
            if present is not None:
                index = pc.add(index, pc.cast(present, pa.int32()))
            else:
                index = pc.add(index, pa.scalar(1, pa.int32()))
        parsed.pathway_steps = pa.concat_tables(steps).cast(schema.PATHWAY_STEPS)
        return parsed
