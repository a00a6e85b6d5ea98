"""Vectorised conversions: timestamps (zones, offsets, DST), numbers, and first-failure bookkeeping."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from contactlake.ingest.canonical import (
    RowChecks,
    local_to_utc,
    parse_numbers,
    parse_timestamps,
    utc_to_local,
)


def test_iso_timestamps_with_and_without_offsets() -> None:
    values = pa.array([
        "2024-07-01T10:00:00", "2024-07-01 10:00", "2024-07-01T10:00:00Z", "2024-07-01T10:00:00+02:00",
        "2024-07-01T10:00:00.250-0500", "", None, "01/07/2024 10:00", "2024-02-30T10:00:00",
    ])  # fmt: skip
    checks = RowChecks(len(values))
    result = parse_timestamps(values, checks, "start", "Europe/London").to_pylist()
    assert result == [
        datetime(2024, 7, 1, 9), datetime(2024, 7, 1, 9), datetime(2024, 7, 1, 10), datetime(2024, 7, 1, 8),
        datetime(2024, 7, 1, 15, 0, 0, 250_000), None, None, None, None,
    ]  # fmt: skip
    assert checks.rule.to_pylist() == [None] * 7 + ["timestamp.invalid"] * 2
    assert checks.message.to_pylist()[7] == (
        "start is not a timestamp in the format ISO 8601 (2024-03-01T09:30:00, optional offset)"
    )


def test_strptime_formats_are_wall_clock_in_the_zone() -> None:
    checks = RowChecks(2)
    result = parse_timestamps(pa.array(["15/01/2024 09:30:00", "15/07/2024 09:30:00"]), checks, "t", "Europe/Paris",
                              "%d/%m/%Y %H:%M:%S")  # fmt: skip
    assert result.to_pylist() == [datetime(2024, 1, 15, 8, 30), datetime(2024, 7, 15, 7, 30)]


def test_dst_gaps_and_overlaps_are_rejected_not_shifted() -> None:
    values = pa.array(["2024-03-10T02:30:00", "2024-11-03T01:30:00", "2024-11-03T01:30:00-04:00"])
    checks = RowChecks(3)
    parse_timestamps(values, checks, "start", "America/New_York")
    assert checks.rule.to_pylist() == ["timestamp.dst_nonexistent", "timestamp.dst_ambiguous", None]


def test_utc_to_local() -> None:
    utc = pa.array([datetime(2024, 3, 31, 0, 30), datetime(2024, 3, 31, 1, 30)], pa.timestamp("ms"))
    assert utc_to_local(utc, "Europe/London").to_pylist() == [
        datetime(2024, 3, 31, 0, 30),
        datetime(2024, 3, 31, 2, 30),
    ]


def test_numbers() -> None:
    values = pa.array(["12", " 3.5 ", "1e3", "2.5E-1", "-4", "", None, "1,234", "12abc", ".5"])
    checks = RowChecks(len(values))
    assert parse_numbers(values, checks, "talk").to_pylist() == [
        12.0, 3.5, 1000.0, 0.25, -4.0, None, None, None, None, 0.5,
    ]  # fmt: skip
    assert checks.rule.to_pylist() == [None] * 7 + ["number.invalid", "number.invalid", None]
    checks = RowChecks(2)
    assert parse_numbers(pa.array(["1,234", "1,234,567.5"]), checks, "talk", ",").to_pylist() == [
        1234.0,
        1234567.5,
    ]
    assert checks.ok.to_pylist() == [True, True]


def test_row_checks_keep_the_first_failure_and_its_own_message() -> None:
    checks = RowChecks(3)
    checks.fail(pa.array([True, False, None]), "a.rule", "first reason")
    checks.fail(pa.array([True, True, False]), "b.rule", "second reason")
    checks.fail(pa.array([False, True, False]), "b.rule", "another b reason")
    assert checks.rule.to_pylist() == ["a.rule", "b.rule", None]
    assert checks.message.to_pylist() == ["first reason", "second reason", None]
    assert checks.ok.to_pylist() == [False, False, True]


def _hourly(start: datetime, hours: int) -> pa.Array:
    return pa.array([start + timedelta(hours=h, minutes=7) for h in range(hours)], pa.timestamp("ms"))


def test_fixed_offset_fast_path_agrees_with_the_zone_database_all_year() -> None:
    """Batches of a few days, slid across a year: the one-subtraction path must equal a per-value lookup."""
    for zone in ("Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"):
        for day in range(0, 366, 3):
            naive = _hourly(datetime(2024, 1, 1) + timedelta(days=day), 72)
            checks = RowChecks(len(naive))
            got = local_to_utc(naive, zone, checks)
            early = pc.assume_timezone(naive, timezone=zone, ambiguous="earliest", nonexistent="earliest")
            assert (
                got.to_pylist()
                == pc.cast(pc.cast(early, pa.timestamp("ms", tz="UTC")), pa.timestamp("ms")).to_pylist()
            )
            back = utc_to_local(got, zone)
            local = pc.cast(
                pc.local_timestamp(
                    pc.cast(pc.assume_timezone(got, timezone="UTC"), pa.timestamp("ms", tz=zone))
                ),
                pa.timestamp("ms"),
            )
            assert back.to_pylist() == local.to_pylist()


def test_mixed_column_parses_plain_rows_together_and_each_odd_row_by_its_rule() -> None:
    values = pa.array([
        "2024-07-01T10:00:00", "2024-02-30T10:00:00", "2024-07-01T10:00:60", "2024-07-01 11:00:00",
        "2024-07-01T10:00:00Z", "2024-07-01T25:61:00", "", None, "not a time", "2024-07-01T12:00:00",
        "2024-03-31T01:30:00",
    ])  # fmt: skip
    checks = RowChecks(len(values))
    result = parse_timestamps(values, checks, "start", "Europe/London").to_pylist()
    assert result[0] == datetime(2024, 7, 1, 9)
    assert result[3] == datetime(2024, 7, 1, 10)
    assert result[4] == datetime(2024, 7, 1, 10)
    assert result[9] == datetime(2024, 7, 1, 11)
    assert [result[i] for i in (1, 2, 5, 6, 7, 8)] == [None] * 6
    assert checks.rule.to_pylist() == [
        None, "timestamp.invalid", "timestamp.invalid", None, None, "timestamp.invalid", None, None,
        "timestamp.invalid", None, "timestamp.dst_nonexistent",
    ]  # fmt: skip


def _parsed(values: list[str | None], zone: str = "UTC") -> tuple[list[object], list[object]]:
    checks = RowChecks(len(values))
    result = parse_timestamps(pa.array(values, pa.string()), checks, "initiated", zone)
    return result.to_pylist(), checks.rule.to_pylist()


def test_microsecond_and_nanosecond_fractions_are_valid_iso_8601() -> None:
    """Issue 15 item 5: 6-9 fractional digits were quarantined as "not ISO 8601" (a whole export)."""
    values, rules = _parsed(["2024-01-15T09:00:00.123456", "2024-01-15T09:00:01.123456789", None])
    assert rules == [None, None, None]
    assert values[:2] == [datetime(2024, 1, 15, 9, 0, 0, 123000), datetime(2024, 1, 15, 9, 0, 1, 123000)]
    values, rules = _parsed(["2024-01-15T09:00:00.1234567+01:00"])
    assert (values, rules) == ([datetime(2024, 1, 15, 8, 0, 0, 123000)], [None])


def test_minutes_with_an_offset_do_not_depend_on_their_neighbours() -> None:
    alone, _ = _parsed(["2024-01-15T09:00+05:30"])
    assert alone == [datetime(2024, 1, 15, 3, 30)]
    for neighbour in ("2024-02-30T09:00:00+01:00", "2024-01-15T25:00:00+01:00"):  # impossible, offset too
        values, rules = _parsed(["2024-01-15T09:00+05:30", neighbour])
        assert (values, rules) == ([datetime(2024, 1, 15, 3, 30), None], [None, "timestamp.invalid"]), (
            neighbour
        )
