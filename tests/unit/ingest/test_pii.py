"""Pseudonymisation: normalisation, anonymous callers, the key matters, and the array form agrees."""

from __future__ import annotations

import pyarrow as pa

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
