"""Routing: allow-listed centres and sources, keys decoded exactly once, dataset keys and upload ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from contactlake.adapters.local import LocalObjectStore
from contactlake.config import parse_app_config
from contactlake.contract import IngestError
from contactlake.ingest.routing import (
    dataset_key_for,
    decode_event_key,
    route_upload,
    upload_from_identity,
    upload_identity,
)
from contactlake.ports import ObjectNotFound

CONFIG = parse_app_config(
    {
        "centres": {
            "north": {
                "timezone": "Europe/London",
                "sources": {
                    "acd": {
                        "adapter": "generic_csv",
                        "mapping": "mappings/acd_calls.toml",
                        "replaces": "day",
                    },
                    "adds": {"adapter": "generic_csv", "mapping": "mappings/acd_calls.toml"},
                    "ctr": {"adapter": "amazon_connect", "replaces": "day"},
                },
            }
        }
    }
)


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path)


def test_event_keys_are_decoded_once() -> None:
    assert decode_event_key("north/acd/calls+2024-01-15%281%29.csv") == "north/acd/calls 2024-01-15(1).csv"
    assert decode_event_key("north%2Facd%2Fcalls.csv") == "north/acd/calls.csv"
    # A literal "%2F" in a name arrives as "%252F": decoded once it stays "%2F", never becomes a slash.
    assert decode_event_key("north/acd/a%252Fb.csv") == "north/acd/a%2Fb.csv"


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("north/acd", "route.bad_key"),
        ("north//calls.csv", "route.bad_key"),
        ("north/acd/../../etc/passwd", "route.bad_key"),
        ("../north/acd/calls.csv", "route.bad_key"),
        ("north/acd/./calls.csv", "route.bad_key"),
        ("north/acd/calls\x00.csv", "route.bad_key"),
        ("north%2Facd/x/calls.csv", "route.unknown"),  # an encoded slash left in the key is not a path
        ("south/acd/calls.csv", "route.unknown"),  # not on the allow-list
        ("North/acd/calls.csv", "route.unknown"),  # not a valid centre id at all
        ("north/agents/agents.csv", "route.unknown"),  # a source the centre does not have
    ],
)
def test_keys_that_do_not_route(store: LocalObjectStore, key: str, rule: str) -> None:
    with pytest.raises(IngestError) as error:
        route_upload(key, CONFIG, store)
    assert error.value.rule_id == rule


def test_unknown_centre_is_checked_before_any_storage_access(store: LocalObjectStore) -> None:
    with pytest.raises(IngestError, match="unknown centre 'south'"):
        route_upload("south/acd/calls.csv", CONFIG, store)
    assert not (store.root / "raw").exists()


def test_missing_object_raises_object_not_found(store: LocalObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        route_upload("north/acd/calls-2024-01-15.csv", CONFIG, store)


def test_route_and_identity(store: LocalObjectStore) -> None:
    store.put("raw", "north/acd/2024/01/calls-2024-01-15.csv", b"call_id\n")
    upload = route_upload("north/acd/2024/01/calls-2024-01-15.csv", CONFIG, store)
    assert (upload.centre_id, upload.source, upload.adapter, upload.dataset_key) == (
        "north", "acd", "generic_csv", "north/acd/2024-01-15",
    )  # fmt: skip
    assert upload.upload_id.startswith("north-acd-")
    assert len(upload.upload_id) == len("north-acd-") + 16
    assert upload.processing.startswith("generic_csv@2|mapping:")
    assert upload_from_identity(upload_identity(upload), CONFIG) == upload
    # The same bytes under another name of the same day: the same dataset, the same content, the same id.
    store.put("raw", "north/acd/calls_20240115.csv", b"call_id\n")
    again = route_upload("north/acd/calls_20240115.csv", CONFIG, store)
    assert (again.dataset_key, again.upload_id) == (upload.dataset_key, upload.upload_id)
    store.put("raw", "north/acd/calls_20240115.csv", b"call_id\nX\n")
    assert route_upload("north/acd/calls_20240115.csv", CONFIG, store).upload_id != upload.upload_id


def test_uploads_add_unless_the_source_says_they_replace(store: LocalObjectStore) -> None:
    """Identity is the object (key + content), never the day or stem its name suggests."""
    store.put("raw", "north/adds/calls-2024-01-15.csv", b"call_id\n")
    first = route_upload("north/adds/calls-2024-01-15.csv", CONFIG, store)
    store.put("raw", "north/adds/calls-2024-01-15-corrected.csv", b"call_id\nX\n")
    other_name = route_upload("north/adds/calls-2024-01-15-corrected.csv", CONFIG, store)
    store.put("raw", "north/adds/calls-2024-01-15.csv", b"call_id\nY\n")
    same_name = route_upload("north/adds/calls-2024-01-15.csv", CONFIG, store)
    assert len({first.dataset_key, other_name.dataset_key, same_name.dataset_key}) == 3
    assert first.replaces == "nothing"
    # A streamed source configured to replace days still adds its many files of a day.
    store.put("raw", "north/ctr/2024/01/15/ctr-1.gz", b"x")
    assert (
        route_upload("north/ctr/2024/01/15/ctr-1.gz", CONFIG, store).dataset_key
        == "north/ctr/2024/01/15/ctr-1.gz"
    )


def test_dataset_keys() -> None:
    assert dataset_key_for("north", "acd", "calls-2024-01-15.csv", "day") == "north/acd/2024-01-15"
    assert dataset_key_for("north", "acd", "2024/01/15/calls.csv", "day") == "north/acd/2024-01-15"
    assert dataset_key_for("north", "acd", "export_20240115_v2.csv", "day") == "north/acd/2024-01-15"
    # No day in the name: never the stem (export.csv would replace every night), the object key.
    assert dataset_key_for("anonbank", "calls", "october.txt.gz", "day") == "anonbank/calls/october.txt.gz"
    streamed = "2024/03/05/09/ctr-stream-1-2024-03-05-09-15-00-abc.gz"
    assert dataset_key_for("north", "ctr", streamed, "object") == f"north/ctr/{streamed}"
    adds = dataset_key_for("north", "acd", "export.csv", "nothing", '"etag-1"')
    assert adds.startswith("north/acd/export.csv@")
    assert adds != dataset_key_for("north", "acd", "export.csv", "nothing", '"etag-2"')


def test_upload_identity_round_trip_keeps_times() -> None:
    store_time = datetime(2024, 1, 15, 6, 0, tzinfo=UTC)
    identity = {
        "upload_id": "north-acd-0123456789abcdef", "centre_id": "north", "source": "acd",
        "adapter": "generic_csv", "mapping": None, "key": "north/acd/x.csv", "dataset_key": "north/acd/x",
        "fingerprint": "e", "version": "v", "size": 3, "last_modified": store_time.isoformat(), "processing": "p",
        "replaces": "nothing", "export_time": "2024-01-15T05:30:00+00:00",
    }  # fmt: skip
    upload = upload_from_identity(identity, CONFIG)
    assert upload.last_modified == store_time
    assert upload.export_time == datetime(2024, 1, 15, 5, 30, tzinfo=UTC)
    assert upload_identity(upload) == identity
    with pytest.raises(Exception, match="unknown centre"):
        upload_from_identity({**identity, "centre_id": "south"}, CONFIG)
