"""Uploads of one dataset ordered by the export time their source gives (docs/adr/0017), under moto.

The upload front-end sets the export's creation time as S3 object metadata (``x-amz-meta-export-time``);
a source that names that key in ``export_time_metadata`` is ordered by it, so the arrival order of two
exports of one day no longer decides which one the lake keeps.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from contactlake.commit.committer import load_manifest
from contactlake.config import Settings, parse_app_config
from contactlake.pipeline import commit_staged, stage_upload
from contactlake.ports import Ports
from tests.fixtures.lakes import centres
from tests.functional.ingest.test_faults import BUCKETS, EXPORT, moto_lake

pytestmark = pytest.mark.slow

ORIGINAL_KEY = "north/acd/calls-2024-01-15.csv.gz"
CORRECTED_KEY = "north/acd/calls-2024-01-15-corrected.csv.gz"
#: The correction: F-2 was answered after all (the original export had it abandoned).
CORRECTED = gzip.compress(
    gzip.decompress(EXPORT).replace(
        b"F-2,2024-01-15T09:10:00,2024-01-15T09:10:30,,2024-01-15T09:12:00,30,90,,,,,ABN,",
        b"F-2,2024-01-15T09:10:00,2024-01-15T09:10:30,2024-01-15T09:12:00,2024-01-15T09:14:00,30,90,120,,,,ANS,",
    ),
    mtime=0,
)


@pytest.fixture
def cloud(aws_credentials: None, tmp_path: Path) -> Iterator[tuple[Any, Ports, Any, Settings]]:
    with mock_aws():
        s3, _, ports = moto_lake(tmp_path / "outbox")
        document = centres(acd_replaces="day")
        document["centres"]["north"]["sources"]["acd"]["export_time_metadata"] = "export-time"
        yield s3, ports, parse_app_config(document), Settings(mode="aws", pii_key=b"export-time-test-key")


def _upload(cloud: tuple[Any, Ports, Any, Settings], key: str, body: bytes, exported: str | None) -> Any:
    s3, ports, config, settings = cloud
    metadata = {"export-time": exported} if exported else {}
    s3.put_object(Bucket=BUCKETS["raw"], Key=key, Body=body, Metadata=metadata)
    staged = stage_upload(ports, config, settings, key)
    if not isinstance(staged, str):
        return staged
    return commit_staged(ports, config, f"staging/{staged}/_ready.json").manifest


def _outcomes(cloud: tuple[Any, Ports, Any, Settings]) -> dict[str, str]:
    """The stored contacts' outcome by contact id (what the reports would count)."""
    import io

    import pyarrow.parquet as pq

    s3 = cloud[0]
    found: dict[str, str] = {}
    listing = s3.list_objects_v2(Bucket=BUCKETS["lake"], Prefix="curated/contacts/").get("Contents", [])
    for item in listing:
        body = s3.get_object(Bucket=BUCKETS["lake"], Key=item["Key"])["Body"].read()
        for row in pq.read_table(io.BytesIO(body), columns=["contact_id", "outcome"]).to_pylist():
            found[row["contact_id"]] = row["outcome"]
    return found


def test_a_correction_exported_later_wins_even_when_the_original_arrives_after_it(
    cloud: tuple[Any, Ports, Any, Settings],
) -> None:
    """By first arrival (ADR 0014) the original, arriving second, would replace the correction."""
    corrected = _upload(cloud, CORRECTED_KEY, CORRECTED, "2024-01-16T05:00:00Z")
    assert (corrected.status, corrected.ordered_by) == ("stored", "export_time")
    assert corrected.ordered_by_utc == "2024-01-16T05:00:00+00:00"
    original = _upload(cloud, ORIGINAL_KEY, EXPORT, "2024-01-16T03:00:00+00:00")
    assert original.status == "superseded"
    assert original.ordered_by_utc == "2024-01-16T03:00:00+00:00"
    assert corrected.upload_id in original.message
    assert _outcomes(cloud)["F-2"] == "answered"
    assert load_manifest(cloud[1], corrected.upload_id).status == "stored"  # type: ignore[union-attr]
    # …and the original delivered again later still changes nothing.
    again = _upload(cloud, ORIGINAL_KEY, EXPORT, "2024-01-16T03:00:00Z")
    assert again.status == "superseded"
    assert _outcomes(cloud)["F-2"] == "answered"


def test_a_correction_exported_later_replaces_the_original_that_arrived_first(
    cloud: tuple[Any, Ports, Any, Settings],
) -> None:
    original = _upload(cloud, ORIGINAL_KEY, EXPORT, "2024-01-16T03:00:00Z")
    assert _outcomes(cloud)["F-2"] == "abandoned"
    corrected = _upload(cloud, CORRECTED_KEY, CORRECTED, "2024-01-16T05:00:00Z")
    assert (corrected.status, corrected.replaced_upload_id) == ("stored", original.upload_id)
    assert _outcomes(cloud)["F-2"] == "answered"


def test_without_an_export_time_on_both_uploads_the_first_arrival_orders_them(
    cloud: tuple[Any, Ports, Any, Settings],
) -> None:
    """An upload the front-end did not stamp is ordered by its first arrival, like one without the setting."""
    corrected = _upload(cloud, CORRECTED_KEY, CORRECTED, "2024-01-16T05:00:00Z")
    original = _upload(cloud, ORIGINAL_KEY, EXPORT, None)
    assert original.ordered_by == "first_arrival"
    assert (original.status, original.replaced_upload_id) == ("stored", corrected.upload_id)


def test_an_export_time_that_is_not_a_time_is_refused_with_what_to_do(
    cloud: tuple[Any, Ports, Any, Settings],
) -> None:
    refused = _upload(cloud, ORIGINAL_KEY, EXPORT, "yesterday")
    assert refused.status == "unroutable"
    assert "route.export_time_invalid" in refused.message
    assert "e.g. 2024-01-16T03:00:00Z" in refused.message
    assert json.loads(json.dumps(_outcomes(cloud))) == {}
