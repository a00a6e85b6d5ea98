"""Pseudonymisation: normalisation, anonymous callers, the key matters, the array form agrees, SipHash-128."""

from __future__ import annotations

import re

import pyarrow as pa

from contactlake.kernels.keyedhash import derive_key, siphash128
from contactlake.pii import pseudonymise, pseudonymise_array

KEY = b"unit-test-key"


def test_same_number_written_differently_gets_the_same_key() -> None:
    forms = ["+44 20 7946 0000", "+442079460000", " +44 (20) 7946-0000 "]
    keys = {pseudonymise(f, KEY) for f in forms}
    assert len(keys) == 1
    (key,) = keys
    assert key is not None
    assert len(key) == 32
    assert int(key, 16) >= 0
    assert pseudonymise("02079460000", KEY) != key  # a national form is another identifier


def test_anonymous_callers_have_no_key() -> None:
    for value in (None, "", "0", "Anonymous", " WITHHELD ", "private", "restricted", "unknown", "+", "-"):
        assert pseudonymise(value, KEY) is None, value


def test_the_key_changes_every_hash_and_long_keys_work() -> None:
    assert pseudonymise("+447700900123", KEY) != pseudonymise("+447700900123", b"another-key")
    assert pseudonymise("+447700900123", b"k" * 200) is not None


def test_array_form_agrees_with_the_scalar_form() -> None:
    values = ["+44 7700 900123", "07700900123", None, "0", "tel:+14155550100", "٣٤٥ ١٢", "+447700900123"]
    hashed = pseudonymise_array(pa.array(values), KEY).to_pylist()
    assert hashed == [pseudonymise(v, KEY) for v in values]
    assert hashed[0] == hashed[6]
    assert hashed[2] is None
    assert hashed[3] is None
    chunked = pseudonymise_array(pa.chunked_array([values[:3], values[3:]]), KEY).to_pylist()
    assert chunked == hashed


def test_the_key_is_siphash128_of_the_normalised_value_in_lower_case_hex() -> None:
    digest = siphash128(pa.array(["+447700900123"]), derive_key(KEY, "contactlake-pii"))
    expected = digest.astype("<u8").view("u1").tobytes().hex()
    assert pseudonymise("+44 7700 900123", KEY) == expected
    assert re.fullmatch(r"[0-9a-f]{32}", expected)


def test_array_form_keeps_nulls_and_handles_any_arrow_layout() -> None:
    values = ["+44 7700 900123", None, "withheld", "jane.doe@example.com", "٣٤٥ ١٢", "x" * 1000, ""]
    expected = [pseudonymise(v, KEY) for v in values]
    assert [e is None for e in expected] == [False, True, True, False, False, False, True]
    hashed = pseudonymise_array(pa.array(values), KEY)
    assert hashed.type == pa.string()
    assert hashed.to_pylist() == expected
    assert pseudonymise_array(pa.array(values, pa.large_string()), KEY).to_pylist() == expected
    assert pseudonymise_array(pa.array(values).slice(1, 5), KEY).to_pylist() == expected[1:6]
    assert pseudonymise_array(pa.array([], pa.string()), KEY).to_pylist() == []
    assert pseudonymise_array(pa.array([None, "anonymous"]), KEY).to_pylist() == [None, None]


def test_many_rows_with_repeats() -> None:
    distinct = [f"+4477009{i:05d}" for i in range(3000)]
    rows = [distinct[(i * 7919) % len(distinct)] for i in range(70_000)]
    hashed = pseudonymise_array(pa.array(rows), KEY).to_pylist()
    by_value = dict(zip(rows, hashed, strict=True))
    assert len(set(by_value.values())) == len(distinct)
    assert all(h == by_value[r] for r, h in zip(rows, hashed, strict=True))
    assert by_value[distinct[5]] == pseudonymise(distinct[5], KEY)
