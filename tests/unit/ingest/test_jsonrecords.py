"""JSON layouts and every way a JSON export goes wrong, each with its rule; one bad record loses nothing else."""

from __future__ import annotations

import io
import json

import pytest

from contactlake.contract import IngestError
from contactlake.ingest.jsonrecords import MAX_DEPTH, iter_json_records


def records(data: bytes, **kwargs: object) -> list[tuple[int, int, object, str | None]]:
    stream = io.BufferedReader(io.BytesIO(data))
    return [
        (r.number, r.line, r.value, r.reject.rule_id if r.reject else None)
        for r in iter_json_records(stream, **kwargs)  # type: ignore[arg-type]
    ]


def test_json_lines_and_concatenated_objects() -> None:
    assert records(b'{"a":1}\n{"a":2}\n') == [(1, 1, {"a": 1}, None), (2, 2, {"a": 2}, None)]
    assert records(b'{"a":1}{"a":2} {"a":3}') == [
        (1, 1, {"a": 1}, None),
        (2, 1, {"a": 2}, None),
        (3, 1, {"a": 3}, None),
    ]


def test_top_level_array_and_page_objects() -> None:
    assert records(b'[{"a":1},\n{"a":2}]') == [(1, 1, {"a": 1}, None), (2, 2, {"a": 2}, None)]
    pages = b'{"cursor":"c","items":[{"a":1},{"a":2}],"total":2}\n{"items":[{"a":3}]}'
    assert [r[2] for r in records(pages, array_key="items", wrapper_keys=frozenset({"cursor"}))] == [
        {"a": 1},
        {"a": 2},
        {"a": 3},
    ]


def test_a_record_larger_than_one_read_chunk() -> None:
    big = b'{"a":"' + b"x" * 3_000_000 + b'"}\n{"b":1}\n'
    assert [(r[0], r[3]) for r in records(big)] == [(1, None), (2, None)]


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        (b'{"a":NaN}', "json.nan"),
        (b'{"a":Infinity}', "json.nan"),
        (b'{"a":1,"a":2}', "json.duplicate_key"),
        (b'{"a":' + b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5) + b"}", "json.too_deep"),
        (b"[" * 200_000, "json.too_deep"),
        (b'{"a": 1, "b": }', "json.invalid"),
        (b"not json at all", "json.invalid"),  # starts like null
        (b"xyz garbage", "json.trailing_garbage"),
        (b'"just a string"', "json.not_object"),
    ],
)
def test_bad_record_is_rejected_alone(bad: bytes, rule: str) -> None:
    result = records(b'{"ok":1}\n' + bad + b'\n{"ok":3}\n')
    assert [(r[0], r[3]) for r in result] == [(1, None), (2, rule), (3, None)]
    assert result[2][2] == {"ok": 3}


def test_trailing_garbage_after_a_record() -> None:
    assert [(r[0], r[3]) for r in records(b'{"a":1} }garbage\n{"a":2}')] == [
        (1, None),
        (2, "json.trailing_garbage"),
        (3, None),
    ]


def test_truncated_array_rejects_the_file() -> None:
    with pytest.raises(IngestError) as error:
        records(b'[{"a":1},{"a":2}')
    assert error.value.rule_id == "json.truncated"


def test_invalid_utf8_rejects_the_file() -> None:
    with pytest.raises(IngestError) as error:
        records(b'{"a":"\xff\xfe"}')
    assert error.value.rule_id == "file.encoding"


@pytest.mark.parametrize("literal", ["null", "true", "false", "-12.5e3"])
@pytest.mark.parametrize("cut", [1, 2, 3])
def test_a_literal_cut_by_the_read_boundary_is_read_whole(literal: str, cut: int) -> None:
    """Issue 15 item 3: a value split by the 1 MiB read boundary was quarantined as "Expecting value"."""
    head = '{"a": "'
    middle = '", "b": '
    padding = 1024 * 1024 - len(head) - len(middle) - cut  # the boundary falls ``cut`` chars into the literal
    first = f"{head}{'x' * padding}{middle}{literal}}}"
    data = f'{first}\n{{"a": "second", "b": {literal}}}\n'.encode()
    assert data[1024 * 1024 - cut : 1024 * 1024 - cut + len(literal)] == literal.encode()
    records = list(iter_json_records(io.BytesIO(data)))
    assert [r.reject for r in records] == [None, None]
    assert [r.value["b"] for r in records if r.value] == [json.loads(literal)] * 2
