"""Open records an upload carries to the next upload of the same centre and source (ADR 0018).

An event log cut into files (Asterisk's ``queue_log`` rotates at midnight, or by size) ends with calls
still talking and agents still logged in: their end is in the next file. Such a record is neither stored
nor dropped: its events are *carried* — kept in the lake's manifests area, keyed by centre × source — and
read back by the next upload of that source, which joins them with its own lines.

State, in the ``lake`` area:

* ``manifests/carried/<centre>/<source>/<upload_id>.json`` — what that upload left open: its events (parsed
  fields; the caller's number replaced by its keyed hash, the raw text with numbers masked), the upload
  whose carried events it read (``carried_from``) and its raw object's key;
* ``manifests/carried/<centre>/<source>/latest.json`` — the upload whose carried events the next one reads;
* ``manifests/carried/<centre>/<source>/read-by/<hash of the raw key>.json`` — the state the first
  processing of that raw object read (written once).

The commit stage writes both (the upload's state first, then the pointer, then the manifest), under the
centre × source commit lease. Re-processing is idempotent: an upload whose manifest exists is not read
again, and a retry after a crash (or a replay with a fixed mapping or a new adapter version) reads what
the object's first processing read (``read-by``), so it joins exactly what that processing joined.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from contactlake.ports import ObjectNotFound, ObjectStore

__all__ = ["CARRY_PREFIX", "Carried", "load_carried", "save_carried"]

CARRY_PREFIX = "manifests/carried"


@dataclass(frozen=True)
class Carried:
    """The open records an upload reads: ``upload_id`` is the upload that carried them (None: none did)."""

    upload_id: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)


def _key(centre_id: str, source: str, name: str) -> str:
    return f"{CARRY_PREFIX}/{centre_id}/{source}/{name}.json"


def _state(store: ObjectStore, centre_id: str, source: str, upload_id: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(store.get("lake", _key(centre_id, source, upload_id)))
    return state


def _latest(store: ObjectStore, centre_id: str, source: str) -> str | None:
    try:
        return str(json.loads(store.get("lake", _key(centre_id, source, "latest")))["upload_id"])
    except ObjectNotFound:
        return None


def _read_by(key: str) -> str:
    """The name under which the state an object's first processing read is remembered."""
    return "read-by/" + hashlib.sha256(key.encode()).hexdigest()[:32]


def load_carried(store: ObjectStore, centre_id: str, source: str, key: str) -> Carried:
    """The records carried to the upload of raw object ``key``: the latest state — or, when this object
    was processed before (a retry, a replay), the state that processing read, whatever came since."""
    try:
        earlier = json.loads(store.get("lake", _key(centre_id, source, _read_by(key))))
        upload_id = earlier["carried_from"]
    except ObjectNotFound:
        upload_id = _latest(store, centre_id, source)
    if upload_id is None:
        return Carried()
    return Carried(upload_id, list(_state(store, centre_id, source, upload_id)["records"]))


def save_carried(
    store: ObjectStore,
    centre_id: str,
    source: str,
    *,
    upload_id: str,
    key: str,
    carried_from: str | None,
    records: list[dict[str, Any]],
) -> None:
    """Record what ``upload_id`` left open, and make it what the next upload reads.

    The pointer moves only along the chain: when it still names the state this upload read, or an
    earlier processing of the same object (a replay, a retry). Otherwise another upload of the source
    was committed since this one was parsed; the pointer stays on it so its open records are not lost.
    """
    body = {"upload_id": upload_id, "source_key": key, "carried_from": carried_from, "records": records}
    store.put("lake", _key(centre_id, source, upload_id), json.dumps(body, sort_keys=True).encode())
    read = json.dumps({"carried_from": carried_from, "upload_id": upload_id}).encode()
    store.create("lake", _key(centre_id, source, _read_by(key)), read, "application/json")  # first only
    latest = _latest(store, centre_id, source)
    moved_on = latest is not None and latest not in (carried_from, upload_id)
    if moved_on and _state(store, centre_id, source, str(latest))["source_key"] != key:
        return
    pointer = json.dumps({"upload_id": upload_id}).encode()
    store.put("lake", _key(centre_id, source, "latest"), pointer, "application/json")
