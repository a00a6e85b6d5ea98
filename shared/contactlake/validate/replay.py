"""Replay: re-validate an upload after its mapping (or its adapter) was fixed, without duplicating anything.

The upload id already includes the processing — adapter version and mapping digest — (see
:mod:`contactlake.ingest.routing`), so a replay is simply processing the same raw object again:

* with the mapping unchanged, it gets the same upload id, whose manifest exists: nothing happens;
* with a fixed mapping, it gets a new upload id and is committed like a corrected re-export of the same
  dataset: the new files are written, then the earlier processing is retired (its curated files and its
  quarantined rows removed, its manifest and ingest_log row kept with status ``replaced``).

Rows quarantined before the fix therefore drop out of the quarantine, the rows they were are stored
once, and running the replay again changes nothing. docs/adr/0004-idempotent-uploads.md has the design.
"""

from __future__ import annotations

from contactlake.config import AppConfig, Settings
from contactlake.ingest.model import IngestError
from contactlake.ingest.pipeline import process_upload
from contactlake.ingest.routing import route_upload
from contactlake.ports import ObjectNotFound, Ports
from contactlake.validate.commit import Manifest, load_manifest, retire_upload

__all__ = ["ReplayError", "replay_upload"]


class ReplayError(ValueError):
    """The upload cannot be replayed; the message says why and what to do instead."""


def replay_upload(ports: Ports, config: AppConfig, settings: Settings, upload_id: str) -> Manifest:
    """Process an upload's raw object again with the current mapping; returns the resulting manifest."""
    old = load_manifest(ports, upload_id)
    if old is None:
        raise ReplayError(f"no manifest for upload {upload_id!r}; check the id in the ingest_log")
    if old.status == "replaced":
        raise ReplayError(f"upload {upload_id} was replaced by {old.replaced_by}; replay that upload instead")
    if old.status == "superseded":
        raise ReplayError(f"upload {upload_id} was superseded by a newer export of {old.dataset_key}")
    try:
        current = route_upload(old.source_key, config, ports.store)
    except ObjectNotFound:
        raise ReplayError(f"the raw object {old.source_key} no longer exists; nothing to replay") from None
    except IngestError as error:
        raise ReplayError(f"the raw object {old.source_key} no longer routes: {error}") from None
    if current.fingerprint != old.fingerprint:
        raise ReplayError(
            f"the raw object {old.source_key} changed since upload {upload_id} (ETag {old.fingerprint} → "
            f"{current.fingerprint}); its current version is processed as a new upload from its own event"
        )
    if current.upload_id == upload_id:
        return old  # same bytes, same adapter version, same mapping: nothing would change
    manifest = process_upload(ports, config, settings, old.source_key)
    if manifest.upload_id != upload_id and manifest.status in ("stored", "rejected"):
        # A stored upload was retired by the commit already (it was the dataset's current upload); a
        # rejected one (unreadable with the old mapping) never was, so it is retired here.
        earlier = load_manifest(ports, upload_id)
        if earlier is not None:
            retire_upload(ports, earlier, manifest.upload_id)
    return manifest
