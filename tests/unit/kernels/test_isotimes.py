"""Plain ISO times parsed in numpy: exactly the rows Python's calendar accepts, with its values."""

from __future__ import annotations

import itertools
import random
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from contactlake.kernels.isotimes import plain_iso_ms

EPOCH = datetime(1970, 1, 1)


def expected(value: str | None) -> int | None:
    """Milliseconds since 1970 by Python's datetime, or None when the value is not a plain real time."""
    if value is None or len(value.encode()) != 19 or value[10] != "T":
        return None
    if not all(value[i].isascii() and value[i].isdigit() for i in range(19) if i not in (4, 7, 10, 13, 16)):
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return int((parsed - EPOCH).total_seconds()) * 1000


EDGES = [
    ("2024-02-29T12:00:00", True),  # leap year
    ("2023-02-29T12:00:00", False),
    ("1900-02-29T00:00:00", False),  # divisible by 100, not by 400
    ("2000-02-29T23:59:59", True),  # divisible by 400
    ("2024-04-31T00:00:00", False),
    ("2024-12-31T24:00:00", False),
    ("2024-12-31T23:60:00", False),
    ("2024-12-31T23:59:60", False),  # a leap second is not plain: strptime would roll it over
    ("2024-00-10T00:00:00", False),
    ("2024-13-10T00:00:00", False),
    ("2024-01-00T00:00:00", False),
    ("2024-01-01 00:00:00", False),  # a space for the 'T': the general path's business
    ("2024-01-01T00:00:0", False),
    ("2024-01-01T00:00:000", False),
    ("2024-01-0aT00:00:00", False),
    ("2024/01/01T00:00:00", False),
    ("é024-01-01T00:00:0", False),  # 19 bytes, not 19 characters
    ("", False),
    (None, False),
    ("1969-12-31T23:59:59", True),
    ("1600-03-01T00:00:00", True),
    ("9999-12-31T23:59:59", True),
]


@pytest.mark.parametrize(("value", "plain"), EDGES)
def test_edges(value: str | None, plain: bool) -> None:
    rows, millis = plain_iso_ms(pa.array([value], pa.string()))
    assert bool(rows[0]) is plain
    assert millis[0] == (expected(value) or 0)


def random_times(count: int, seed: int) -> list[str]:
    """Fields drawn a little beyond their ranges, so about half are impossible."""
    rng = random.Random(seed)
    return [
        f"{rng.randint(1, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}T"
        f"{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}:{rng.randint(0, 61):02d}"
        for _ in range(count)
    ]


def test_agrees_with_python_row_by_row_and_with_arrow_on_the_rows_it_accepts() -> None:
    values = random_times(5_000, seed=7)
    array = pa.array(values, pa.string())
    rows, millis = plain_iso_ms(array)
    assert rows.tolist() == [expected(v) is not None for v in values]
    assert millis.tolist() == [expected(v) or 0 for v in values]
    assert 0.2 < rows.mean() < 0.8
    arrow = pc.cast(pc.if_else(pa.array(rows), array, None), pa.timestamp("ms"))
    assert np.array_equal(arrow.cast(pa.int64()).fill_null(0).to_numpy(), millis)


def test_a_slice_with_nulls_reads_its_own_rows() -> None:
    values = [*random_times(40, seed=3), None, "2024-03-01T09:30:00", None]
    array = pa.array(values, pa.string()).slice(35)
    rows, millis = plain_iso_ms(array)
    assert rows.tolist() == [expected(v) is not None for v in values[35:]]
    assert millis.tolist() == [expected(v) or 0 for v in values[35:]]


def test_only_plain_strings() -> None:
    assert [len(part) for part in plain_iso_ms(pa.array([], pa.string()))] == [0, 0]
    assert plain_iso_ms(pa.array([None, None], pa.string()))[0].tolist() == [False, False]
    with pytest.raises(TypeError, match="string array"):
        plain_iso_ms(pa.array([1, 2]))


@pytest.mark.parametrize(
    "values",
    [
        ["2024-03-01T09:30:00", None, "", "2024-02-30T09:30:00", "2024-03-01T09:31:00"],  # back to back
        ["2024-03-01T09:30:00", "2024-03-01 09:30", "2024-02-30T09:30:00", "x", "2024-03-01T09:31:00"],
    ],
    ids=["19-bytes-or-empty", "other-lengths-between"],
)
def test_values_are_read_in_place_or_gathered_alike(values: list[str | None]) -> None:
    rows, millis = plain_iso_ms(pa.array(values, pa.string()))
    assert rows.tolist() == [expected(v) is not None for v in values]
    assert millis.tolist() == [expected(v) or 0 for v in values]


def test_the_month_table_is_pythons_calendar() -> None:
    """Every month of the years 1-9999: its first day (days since 1970) and its length."""
    from contactlake.kernels.isotimes import _calendar

    starts, lengths = _calendar()
    epoch = EPOCH.toordinal()
    expected_starts = [
        datetime(year, month, 1).toordinal() - epoch for year in range(1, 10_000) for month in range(1, 13)
    ]
    assert starts[12:].tolist() == expected_starts
    first_days = [*expected_starts, datetime(9999, 12, 31).toordinal() + 1 - epoch]
    assert lengths[12:].tolist() == [b - a for a, b in itertools.pairwise(first_days)]
    assert starts[11] + 31 == starts[12]  # December of year 0 ends where year 1 begins
