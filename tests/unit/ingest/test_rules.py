"""Each canonical rule on hand-made contacts; the 2-second tolerance lets 1 second of clock skew pass.

A rejection shows as its rule id; a row stored with flags shows as ``flag:`` and its ``quality_flags``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from contactlake import schema
from contactlake.ingest.canonical import RowChecks
from contactlake.ingest.rules import DURATION_TOLERANCE_SECONDS, check_contacts

NOW = datetime(2024, 6, 1, 12, 0)
T0 = datetime(2024, 6, 1, 9, 0)


def contact(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {f.name: None for f in schema.CONTACTS}
    base.update(contact_id="x", source_system="s", upload_id="u", outcome="self_served", initiated_utc=T0)
    base.update(values)
    return base


def checked(*rows: dict[str, Any], rejecting: frozenset[str] = frozenset()) -> tuple[pa.Table, RowChecks]:
    table = pa.Table.from_pylist(list(rows), schema=schema.CONTACTS.remove_metadata())
    checks = RowChecks(table.num_rows, rejecting)
    return check_contacts(table, checks, now=NOW), checks


def rules_of(*rows: dict[str, Any], rejecting: frozenset[str] = frozenset()) -> list[str | None]:
    table, checks = checked(*rows, rejecting=rejecting)
    flags = table.column("quality_flags").to_pylist()
    return [
        rule if rule else (f"flag:{flag}" if flag else None)
        for rule, flag in zip(checks.rule.to_pylist(), flags, strict=True)
    ]


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_clean_answered_contact_passes() -> None:
    assert rules_of(
        contact(outcome="answered", enqueued_utc=s(10), answered_utc=s(30), disconnected_utc=s(330),
                queue_seconds=20.0, talk_seconds=290.0, hold_seconds=10.0)
    ) == [None]  # fmt: skip


def test_time_window() -> None:
    assert rules_of(
        contact(initiated_utc=datetime(1970, 1, 1)),
        contact(initiated_utc=datetime(1989, 12, 31)),
        contact(initiated_utc=datetime(1999, 10, 1)),
        contact(initiated_utc=NOW + timedelta(days=2)),
        contact(initiated_utc=NOW + timedelta(hours=20)),
    ) == ["time.too_old", "time.too_old", None, "time.future", None]


def test_negative_values() -> None:
    assert rules_of(contact(ivr_seconds=-1.0), contact(acw_seconds=-0.5), contact(hold_count=-1)) == [
        "flag:duration.negative", "flag:duration.negative", "flag:count.negative",
    ]  # fmt: skip


def test_a_negative_measure_is_stored_null_with_its_flag() -> None:
    table, _ = checked(contact(ivr_seconds=-1.0, queue_seconds=4.0), contact(hold_count=-2, hold_seconds=3.0))
    assert table.column("ivr_seconds").to_pylist() == [None, None]
    assert table.column("queue_seconds").to_pylist() == [4.0, None]
    assert table.column("hold_count").to_pylist() == [None, None]
    assert table.column("hold_seconds").to_pylist() == [None, 3.0]


def test_a_centre_may_raise_a_flag_to_a_rejection() -> None:
    rows = (contact(ivr_seconds=-1.0), contact(hold_count=-1))
    assert rules_of(*rows, rejecting=frozenset({"duration.negative"})) == [
        "duration.negative", "flag:count.negative",
    ]  # fmt: skip


def test_several_flags_are_listed_in_the_declared_order() -> None:
    row = contact(outcome="abandoned", answered_utc=s(5), disconnected_utc=s(-10), ivr_seconds=-3.0)
    assert rules_of(row) == [
        "flag:time.duration_mismatch,time.end_before_start,duration.negative,outcome.inconsistent"
    ]


def test_a_flag_that_is_not_declared_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="not a flag rule"):
        RowChecks(1).flag(pa.array([True]), "time.too_old", "x")


def test_order_of_events() -> None:
    assert rules_of(
        contact(disconnected_utc=s(-10)),
        contact(disconnected_utc=s(-1)),  # 1 s of skew: tolerated
        contact(outcome="answered", answered_utc=s(60), disconnected_utc=s(50), talk_seconds=0.0),
        contact(
            outcome="answered",
            enqueued_utc=s(30),
            answered_utc=s(20),
            disconnected_utc=s(90),
            talk_seconds=60.0,
        ),
    ) == [
        "flag:time.end_before_start",
        None,
        "flag:time.duration_mismatch,time.end_before_start",  # talk 0 s is longer than -10 s connected
        "flag:time.end_before_start",
    ]


def test_durations_against_timestamps() -> None:
    waited = {"enqueued_utc": s(10), "answered_utc": s(40), "disconnected_utc": s(400), "outcome": "answered"}
    tol = DURATION_TOLERANCE_SECONDS
    assert rules_of(
        contact(**waited, queue_seconds=30.0, talk_seconds=300.0),
        contact(**waited, queue_seconds=31.0, talk_seconds=300.0),  # 1 s skew passes
        contact(**waited, queue_seconds=30.0 + tol + 0.5, talk_seconds=300.0),
        contact(**waited, queue_seconds=30.0, talk_seconds=350.0, hold_seconds=20.0),  # 370 > 360 + 2
        contact(**waited, queue_seconds=30.0, talk_seconds=361.0),  # 361 <= 360 + 2
    ) == [None, None, "flag:time.duration_mismatch", "flag:time.duration_mismatch", None]


def test_coded_values_and_outcome_consistency() -> None:
    assert rules_of(
        contact(outcome="maybe"),
        contact(channel="fax"),
        contact(direction="sideways"),
        contact(outcome="answered"),  # no answer time, no talk time
        contact(outcome="abandoned", answered_utc=s(5)),
        contact(outcome="ivr_abandoned", answered_utc=s(5)),
        contact(outcome="answered", talk_seconds=10.0),
    ) == [
        "outcome.invalid", "channel.invalid", "direction.invalid", "flag:outcome.inconsistent",
        "flag:outcome.inconsistent", "flag:outcome.inconsistent", None,
    ]  # fmt: skip


def test_an_answer_time_on_an_unanswered_contact_is_nulled_and_the_outcome_kept() -> None:
    table, _ = checked(
        contact(outcome="abandoned", answered_utc=s(5)),
        contact(outcome="answered", answered_utc=s(5), talk_seconds=1.0),
    )
    assert table.column("answered_utc").to_pylist() == [None, s(5)]
    assert table.column("outcome").to_pylist() == ["abandoned", "answered"]
