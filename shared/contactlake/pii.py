"""Pseudonymisation: caller numbers and customer ids become a keyed hash before anything is written.

HMAC-SHA-256 with a key from configuration (``CONTACTLAKE_PII_KEY``, on AWS an SSM SecureString), so the
same caller gets the same key across uploads (first-contact resolution needs that) while nobody without
the key can reverse it by hashing the whole phone-number space. Numbers are normalised first (digits and
a leading '+'), so "+44 20 7946 0000" and "+442079460000" match.
"""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["pseudonymise", "pseudonymise_array"]

_ANONYMOUS = {"", "0", "anonymous", "unknown", "withheld", "private", "restricted"}


def pseudonymise(value: str | None, key: bytes) -> str | None:
    """Keyed hash of one identifier; empty, zero and 'anonymous' callers have no key (None)."""
    if value is None:
        return None
    text = value.strip()
    if text.lower() in _ANONYMOUS:
        return None
    normalised = ("+" if text.startswith("+") else "") + "".join(ch for ch in text if ch.isalnum())
    if not normalised.strip("+"):
        return None
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()[:32]


def pseudonymise_array(values: pa.Array | pa.ChunkedArray, key: bytes) -> pa.Array:
    """Vectorised over distinct values: a night's export repeats callers, so hash each once."""
    values = pc.cast(values, pa.string())
    unique = pc.unique(values)
    hashed = pa.array([pseudonymise(v, key) for v in unique.to_pylist()], pa.string())
    return pc.take(hashed, pc.index_in(values, unique))
