"""One commit at a time per centre and source: a lease object that can only be created if absent.

Why: uploads of one centre and source read and rewrite each other's state — a re-export replaces the
current upload of its day, a later Amazon Connect file takes older copies of contacts out of an earlier
upload's files and manifest (ADR 0004), and a repeated contact id is checked against what is stored.
Two validate functions doing that at the same moment could each read the state before the other's
write, and the later write would undo the earlier one (a displaced contact stored twice, a displacement
count lost). Taking a lease per centre and source first serialises exactly the commits that can clash;
different centres and sources still run in parallel.

How: the lease is ``manifests/leases/<centre>/<source>.json`` in the lake, written with a conditional
create (S3 ``If-None-Match: *``; locally a hard link, which fails if the name exists). The holder deletes
it when done, only if it is still its own (``If-Match``). While it commits, the holder rewrites the lease's
``heartbeat_epoch`` every :data:`HEARTBEAT_SECONDS` (a background thread), so a lease whose heartbeat is
older than :data:`LEASE_SECONDS` belongs to a run that died (``kill -9``, an out-of-memory kill, a
Lambda timeout) and is taken over within a minute — not after the longest a commit could run. A commit
that cannot get the lease within :data:`WAIT_SECONDS` fails with :class:`CommitBusy`; the function's
retry (or the operator re-running the CLI) picks the upload up again, and the upload's own idempotency
makes that safe. The heartbeat is written only while the lease is still the holder's (read, compare,
write: a holder that lost its lease stops beating and never overwrites its successor's).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from contactlake.ports import ObjectNotFound, ObjectStore

__all__ = ["HEARTBEAT_SECONDS", "LEASE_SECONDS", "WAIT_SECONDS", "CommitBusy", "commit_lease", "lease_key"]

#: How often a holder renews its lease.
HEARTBEAT_SECONDS = 10.0
#: A lease whose last heartbeat is older than this was left by a run that died (six missed beats).
LEASE_SECONDS = 60.0
#: How long a commit waits for another commit of the same centre and source before giving up.
WAIT_SECONDS = 600.0
_log = logging.getLogger(__name__)
_POLL_SECONDS = (0.05, 0.2, 1.0, 2.0)


class CommitBusy(RuntimeError):
    """Another upload of the same centre and source is being committed; retry later (nothing was written)."""


def lease_key(centre_id: str, source: str) -> str:
    return f"manifests/leases/{centre_id}/{source}.json"


@contextmanager
def commit_lease(
    store: ObjectStore,
    centre_id: str,
    source: str,
    upload_id: str,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    wait_seconds: float | None = None,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> Iterator[None]:
    """Hold the centre's and source's commit lease for the duration of the block."""
    key = lease_key(centre_id, source)
    deadline = clock() + (WAIT_SECONDS if wait_seconds is None else wait_seconds)
    attempt = 0
    while True:
        acquired_at = clock()
        if store.create("lake", key, _lease_body(upload_id, acquired_at, acquired_at), "application/json"):
            break
        holder = _holder(store, key)
        if holder is not None:
            etag, held_by, acquired, beat = holder
            if clock() - beat > LEASE_SECONDS:
                store.delete_if("lake", key, etag)  # a dead run's lease; if it changed, loop again
                continue
            if clock() >= deadline:
                raise CommitBusy(
                    f"upload {held_by} of {centre_id}/{source} has been committing for "
                    f"{clock() - acquired:.0f} s; {upload_id} was not committed and will be on retry"
                )
        sleep(_POLL_SECONDS[min(attempt, len(_POLL_SECONDS) - 1)])
        attempt += 1
    stop = threading.Event()
    beating = threading.Thread(
        target=_heartbeat,
        args=(store, key, upload_id, acquired_at, clock, stop, heartbeat_seconds),
        name=f"lease-heartbeat-{centre_id}-{source}",
        daemon=True,
    )
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()
        mine = _holder(store, key)
        if mine is not None and mine[1] == upload_id:
            store.delete_if("lake", key, mine[0])


def _heartbeat(
    store: ObjectStore,
    key: str,
    upload_id: str,
    acquired: float,
    clock: Callable[[], float],
    stop: threading.Event,
    every: float,
) -> None:
    """Renew the lease every ``every`` seconds while it is still this holder's; stop when told or lost."""
    while not stop.wait(every):
        try:
            holder = _holder(store, key)
            if holder is None or holder[1] != upload_id:
                return  # taken over (this run was too slow to beat): never overwrite the successor
            store.put("lake", key, _lease_body(upload_id, acquired, clock()), "application/json")
        except Exception:  # a missed beat is tried again; the commit itself goes on
            _log.warning("commit lease %s: a heartbeat failed; trying again", key, exc_info=True)


def _lease_body(upload_id: str, acquired: float, heartbeat: float) -> bytes:
    """Stamped when the lease is taken (not when waiting began), so its age is the commit's."""
    return json.dumps(
        {"upload_id": upload_id, "acquired_epoch": acquired, "heartbeat_epoch": heartbeat}
    ).encode()


def _holder(store: ObjectStore, key: str) -> tuple[str, str, float, float] | None:
    """(ETag, upload id, acquired epoch, last heartbeat) of the current lease; None if there is none.

    Leases are written whole (S3 and the local hard link are atomic), so one that cannot be read was put
    there by hand: it counts as infinitely old, and is taken over. A lease without a heartbeat (written
    before heartbeats) is as old as its acquisition.
    """
    try:
        data, etag = store.get_versioned("lake", key)
    except ObjectNotFound:
        return None
    try:
        lease = json.loads(data)
        acquired = float(lease["acquired_epoch"])
        return etag, str(lease["upload_id"]), acquired, float(lease.get("heartbeat_epoch", acquired))
    except (ValueError, KeyError, TypeError, AttributeError):
        return etag, "(unreadable lease)", float("-inf"), float("-inf")
