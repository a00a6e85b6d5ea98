"""Faults under moto, through botocore's real retry path: S3 5xx on read and write, a crash between the
data and the manifest, Glue throttling. After each, the lake is byte-identical to a clean run.

Faults are injected with ``before-send`` hooks that answer instead of moto (a stubbed error would skip
botocore's retry logic); the retry back-off sleeps are skipped so the tests stay fast.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from contactlake.adapters.aws import EventBridgePublisher, GlueCatalog, S3ObjectStore, boto_config
from contactlake.adapters.local import OutboxMailer
from contactlake.commit import lease as validate_lease
from contactlake.commit.lease import CommitBusy, lease_key
from contactlake.config import Settings, parse_app_config
from contactlake.pipeline import commit_staged, stage_upload
from contactlake.ports import Ports
from contactlake.tables import all_tables
from tests.fixtures.lakes import centres

pytestmark = pytest.mark.slow  # moto and botocore retries: a few seconds per test

REGION = "eu-west-2"
BUCKETS = {
    "raw": "fault-raw",
    "lake": "fault-lake",
    "quarantine": "fault-quarantine",
    "reports": "fault-reports",
}
KEY = "north/acd/calls-2024-01-15.csv.gz"
EXPORT = gzip.compress(
    (
        b"call_id,start_time,queue_start,answer_time,end_time,ivr_secs,wait_secs,talk_secs,hold_secs,hold_count,"
        b"wrap_secs,result,queue,agent,caller_number,channel,transfers,escalations,disposition,test_case\n"
        b"F-1,2024-01-15T09:00:00,2024-01-15T09:00:40,2024-01-15T09:01:00,2024-01-15T09:06:00,40,20,280,20,1,30,"
        b"ANS,billing,NOR001,+44 7700 900111,voice,0,0,resolved,\n"
        b"F-2,2024-01-15T09:10:00,2024-01-15T09:10:30,,2024-01-15T09:12:00,30,90,,,,,ABN,sales,,+44 7700 900222,"
        b"voice,0,0,,\n"
        b"F-3,2024-01-16T00:30:00,,,2024-01-16T00:32:00,120,,,,,,IVR,,,,voice,0,0,,\n"
        b"F-4,not-a-time,,,,,,,,,,ANS,billing,,,voice,0,0,,\n"
    ),
    mtime=0,
)


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


@dataclass
class Fault:
    """Answers the first ``times`` matching requests with ``status``/``body`` instead of sending them."""

    status: int
    body: bytes
    times: int
    matches: Callable[[Any], bool] = lambda request: True
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.hits < self.times and self.matches(request):
            self.hits += 1
            headers: Any = self.headers  # botocore wraps a plain mapping itself
            return AWSResponse(request.url, self.status, headers, _Body(self.body))
        return None


SLOW_DOWN = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
GLUE_THROTTLED = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()


@dataclass
class Cloud:
    s3: Any
    glue: Any
    ports: Ports
    config: Any
    settings: Settings

    def run(self) -> dict[str, Any]:
        """The two Lambdas' domain calls, in order: stage (ingest), then commit (validate)."""
        staged = stage_upload(self.ports, self.config, self.settings, KEY)
        assert isinstance(staged, str), staged
        committed = commit_staged(self.ports, self.config, f"staging/{staged}/_ready.json")
        return committed.manifest.__dict__

    def data_etags(self) -> dict[str, str]:
        found = {}
        for area in ("lake", "quarantine"):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKETS[area]):
                for item in page.get("Contents", []):
                    if item["Key"].startswith(("curated/contacts", "curated/pathway_steps", "rows/")):
                        found[f"{area}/{item['Key']}"] = item["ETag"]
        return found

    def wipe_outputs(self) -> None:
        for area in ("lake", "quarantine"):
            keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKETS[area]).get("Contents", [])]
            self.ports.store.delete(area, keys)

    def partitions(self) -> list[list[str]]:
        found = self.glue.get_partitions(DatabaseName="contactlake", TableName="contacts")["Partitions"]
        return sorted(p["Values"] for p in found)


def moto_lake(outbox: Path) -> tuple[Any, Any, Ports]:
    """Inside ``mock_aws``: the four buckets, the Glue tables and the ingest/validate ports on them."""
    s3 = boto3.client("s3", region_name=REGION, config=boto_config())
    for bucket in BUCKETS.values():
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    glue = boto3.client("glue", region_name=REGION, config=boto_config())
    glue.create_database(DatabaseInput={"Name": "contactlake"})
    for table in all_tables().values():
        glue.create_table(
            DatabaseName="contactlake",
            TableInput={
                "Name": table.name,
                "PartitionKeys": [{"Name": n, "Type": "string"} for n, _ in table.partitions],
                "StorageDescriptor": {
                    "Columns": [{"Name": f.name, "Type": "string"} for f in table.schema],
                    "Location": f"s3://{BUCKETS[table.area]}/{table.prefix}/",
                },
            },
        )
    ports = Ports(
        store=S3ObjectStore(s3, BUCKETS),
        engine=None,  # type: ignore[arg-type]  # ingest and validate never query
        mailer=OutboxMailer(outbox),
        catalog=GlueCatalog(glue, "contactlake", BUCKETS),
        events=EventBridgePublisher(boto3.client("events", region_name=REGION), "default"),
    )
    return s3, glue, ports


@pytest.fixture
def cloud(aws_credentials: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)
    with mock_aws():
        s3, glue, ports = moto_lake(tmp_path / "outbox")
        s3.put_object(Bucket=BUCKETS["raw"], Key=KEY, Body=EXPORT)
        settings = Settings(mode="aws", pii_key=b"fault-test-key")
        yield Cloud(s3, glue, ports, parse_app_config(centres()), settings)


@pytest.fixture
def clean_run(cloud: Cloud) -> tuple[dict[str, Any], dict[str, str]]:
    """What the lake holds after a run without faults; the outputs are then wiped for the faulty run."""
    manifest = cloud.run()
    etags = cloud.data_etags()
    assert manifest["status"] == "stored"
    assert (manifest["rows_stored"], manifest["rows_quarantined"]) == (
        3,
        1,
    )
    assert len(etags) == 3  # two contact partitions and the quarantine file
    cloud.wipe_outputs()
    return manifest, etags


def _same_as(clean: dict[str, Any], manifest: dict[str, Any]) -> None:
    timings = {"started_utc", "finished_utc", "duration_ms"}
    assert {k: v for k, v in manifest.items() if k not in timings} == {
        k: v for k, v in clean.items() if k not in timings
    }


def test_s3_503_on_read_is_retried(cloud: Cloud, clean_run: tuple[dict[str, Any], dict[str, str]]) -> None:
    fault = Fault(503, SLOW_DOWN, times=3, headers={"Content-Type": "application/xml"})
    cloud.s3.meta.events.register("before-send.s3.GetObject", fault)
    manifest = cloud.run()
    assert fault.hits == 3
    _same_as(clean_run[0], manifest)
    assert cloud.data_etags() == clean_run[1]


def test_s3_503_on_write_is_retried(cloud: Cloud, clean_run: tuple[dict[str, Any], dict[str, str]]) -> None:
    fault = Fault(503, SLOW_DOWN, times=4, headers={"Content-Type": "application/xml"})
    cloud.s3.meta.events.register("before-send.s3.PutObject", fault)
    manifest = cloud.run()
    assert fault.hits == 4
    _same_as(clean_run[0], manifest)
    assert cloud.data_etags() == clean_run[1]


def test_s3_503_past_the_retries_fails_the_invocation_and_the_retry_completes(
    cloud: Cloud, clean_run: tuple[dict[str, Any], dict[str, str]]
) -> None:
    fault = Fault(503, SLOW_DOWN, times=1000, headers={"Content-Type": "application/xml"})  # an outage
    cloud.s3.meta.events.register("before-send.s3.PutObject", fault)
    with pytest.raises(Exception, match=r"SlowDown.*reached max retries"):
        cloud.run()
    assert fault.hits == 9  # the first attempt and botocore's 8 retries
    cloud.s3.meta.events.unregister("before-send.s3.PutObject", fault)
    _same_as(clean_run[0], cloud.run())
    assert cloud.data_etags() == clean_run[1]


class Killed(BaseException):
    """The Lambda is killed (timeout): nothing after this point runs, no cleanup either."""


def test_crash_between_data_and_manifest_then_the_retry_completes(
    cloud: Cloud, clean_run: tuple[dict[str, Any], dict[str, str]]
) -> None:
    staged = stage_upload(cloud.ports, cloud.config, cloud.settings, KEY)
    assert isinstance(staged, str)

    def kill_at_manifest(request: Any, **_: Any) -> None:
        if f"/manifests/{staged}.json" in request.url:
            raise Killed("validate Lambda killed before writing the manifest")

    cloud.s3.meta.events.register("before-send.s3.PutObject", kill_at_manifest)
    ready = f"staging/{staged}/_ready.json"
    with pytest.raises(Killed):
        commit_staged(cloud.ports, cloud.config, ready)
    assert cloud.data_etags() == clean_run[1]  # the data is all there, but not committed
    assert "Contents" not in cloud.s3.list_objects_v2(Bucket=BUCKETS["lake"], Prefix=f"manifests/{staged}")
    cloud.s3.meta.events.unregister("before-send.s3.PutObject", kill_at_manifest)
    manifest = commit_staged(cloud.ports, cloud.config, ready).manifest  # the event is delivered again
    _same_as(clean_run[0], manifest.__dict__)
    assert cloud.data_etags() == clean_run[1]
    assert "Contents" not in cloud.s3.list_objects_v2(Bucket=BUCKETS["lake"], Prefix="staging/")


def test_glue_throttling_is_retried(cloud: Cloud, clean_run: tuple[dict[str, Any], dict[str, str]]) -> None:
    fault = Fault(400, GLUE_THROTTLED, times=3, headers={"Content-Type": "application/x-amz-json-1.1"})
    cloud.glue.meta.events.register("before-send.glue.BatchCreatePartition", fault)
    manifest = cloud.run()
    assert fault.hits == 3
    _same_as(clean_run[0], manifest)
    assert cloud.partitions() == [["north", "2024-01-15"], ["north", "2024-01-16"]]


def test_object_overwritten_between_head_and_get_is_skipped_by_s3_itself(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The raw object is read with IfMatch: S3 answers 412 for any other version, nothing is stored."""
    store = cloud.ports.store
    real_open = store.open

    def reupload_then_open(area: str, key: str, if_match: str | None = None) -> Any:
        cloud.s3.put_object(Bucket=BUCKETS["raw"], Key=key, Body=gzip.compress(b"call_id\nX-1\n", mtime=0))
        return real_open(area, key, if_match)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "open", reupload_then_open)
    staged = stage_upload(cloud.ports, cloud.config, cloud.settings, KEY)
    assert not isinstance(staged, str)
    assert staged.status == "skipped"
    assert "overwritten before or while being read" in staged.message
    assert cloud.data_etags() == {}


def test_s3_conditional_writes_and_deletes_answer_as_the_lease_expects(cloud: Cloud) -> None:
    store = cloud.ports.store
    assert store.create("lake", "manifests/leases/north/acd.json", b'{"upload_id": "a"}')
    assert not store.create("lake", "manifests/leases/north/acd.json", b'{"upload_id": "b"}')  # S3: 412
    data, etag = store.get_versioned("lake", "manifests/leases/north/acd.json")
    assert data == b'{"upload_id": "a"}'
    assert not store.delete_if("lake", "manifests/leases/north/acd.json", "0" * 32)  # another version
    assert store.delete_if("lake", "manifests/leases/north/acd.json", etag)
    assert not store.delete_if("lake", "manifests/leases/north/acd.json", etag)  # gone: 404


def test_a_commit_waits_out_another_commit_of_the_same_centre_and_source(
    cloud: Cloud, clean_run: tuple[dict[str, Any], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held past the wait: CommitBusy and nothing written; the invocation's retry then commits as usual."""
    clean, etags = clean_run
    lease = json.dumps({"upload_id": "north-acd-other", "acquired_epoch": time.time()}).encode()
    assert cloud.ports.store.create("lake", lease_key("north", "acd"), lease)
    monkeypatch.setattr(validate_lease, "WAIT_SECONDS", 0.3)
    with pytest.raises(CommitBusy, match="north-acd-other of north/acd has been committing"):
        cloud.run()
    assert cloud.data_etags() == {}
    cloud.ports.store.delete("lake", [lease_key("north", "acd")])  # the other commit finishes
    _same_as(clean, cloud.run())
    assert cloud.data_etags() == etags
    assert not cloud.ports.store.exists("lake", lease_key("north", "acd"))


# Issue 15, the faults catalogue: each assertion is "nothing lost, nothing duplicated, the right manifest".


def _deliver(cloud: Cloud) -> dict[str, Any]:
    """The ingest event, then the validate event its marker raises; a redelivery of an upload already
    committed finds its manifest at the first stage and stops there."""
    staged = stage_upload(cloud.ports, cloud.config, cloud.settings, KEY)
    if not isinstance(staged, str):
        return staged.__dict__
    return commit_staged(cloud.ports, cloud.config, f"staging/{staged}/_ready.json").manifest.__dict__


def test_a_kill_at_every_write_then_the_redelivered_events_equal_a_clean_run(
    cloud: Cloud, clean_run: tuple[dict[str, Any], dict[str, str]]
) -> None:
    """Kill the function at its 1st, 2nd, … S3 write, up to the manifest (the commit record), in either
    Lambda; then deliver both events again. Every time the lake and the manifest are the clean run's."""
    kills = 0
    for kill_at in range(1, 40):
        cloud.wipe_outputs()
        writes = {"n": 0, "manifest_written": False}

        def kill(request: Any, kill_at: int = kill_at, writes: dict[str, Any] = writes, **_: Any) -> None:
            if writes["manifest_written"]:
                return
            writes["n"] += 1
            if writes["n"] == kill_at:
                raise Killed(f"killed at write {kill_at}: {request.url}")
            if (
                "/manifests/" in request.url
                and "/manifests/leases/" not in request.url
                and ("/manifests/arrivals/" not in request.url)
            ):
                writes["manifest_written"] = True

        cloud.s3.meta.events.register("before-send.s3.PutObject", kill)
        try:
            _deliver(cloud)
            killed = False
        except Killed:
            killed = True
        finally:
            cloud.s3.meta.events.unregister("before-send.s3.PutObject", kill)
        if not killed:
            break
        kills += 1
        # A killed run's lease dies with it: its heartbeat stops, so it is taken over (here: at once).
        cloud.ports.store.delete("lake", [lease_key("north", "acd")])
        manifest = _deliver(cloud)
        _same_as(clean_run[0], manifest)
        assert cloud.data_etags() == clean_run[1], f"kill at write {kill_at}"
        assert _deliver(cloud)["upload_id"] == manifest["upload_id"]  # and once more: a no-op
        assert cloud.data_etags() == clean_run[1]
    assert kills >= 6  # staging files, marker, data files, quarantine, log: each step was killed once


@pytest.mark.parametrize(
    "operation", ["HeadObject", "GetObject", "PutObject", "ListObjectsV2", "DeleteObjects"]
)
def test_s3_throttling_on_each_call_is_retried(
    cloud: Cloud, clean_run: tuple[dict[str, Any], dict[str, str]], operation: str
) -> None:
    fault = Fault(503, SLOW_DOWN, times=2, headers={"Content-Type": "application/xml"})
    cloud.s3.meta.events.register(f"before-send.s3.{operation}", fault)
    manifest = cloud.run()
    assert fault.hits == 2, f"{operation} was not called"
    _same_as(clean_run[0], manifest)
    assert cloud.data_etags() == clean_run[1]


@pytest.mark.parametrize("kill_at", ["event", "pointer"])
def test_a_kill_after_the_manifest_is_finished_by_the_redelivery_and_announced_once(
    cloud: Cloud, clean_run: tuple[dict[str, Any], dict[str, str]], kill_at: str
) -> None:
    """Killed after the manifest (the commit record) but before the ``UploadValidated`` event or the
    dataset's ``manifests/current`` pointer: a redelivery used to stop at the manifest, so the analysis
    of those days was never triggered. It finishes the announcement now, and a further duplicate
    neither announces nor counts again."""
    published: list[str] = []

    def record_event(params: dict[str, Any], **_: Any) -> None:
        if kill_at == "event" and not published:
            published.append("killed")
            raise Killed("validate Lambda killed while publishing UploadValidated")
        published.extend(entry["DetailType"] for entry in params["Entries"])

    def kill_at_write(request: Any, **_: Any) -> None:
        if kill_at == "pointer" and "/manifests/current/" in request.url:
            raise Killed("validate Lambda killed after the event, before moving the dataset's pointer")

    events = cloud.ports.events.client  # type: ignore[attr-defined]
    events.meta.events.register("provide-client-params.events.PutEvents", record_event)
    cloud.s3.meta.events.register("before-send.s3.PutObject", kill_at_write)
    staged = stage_upload(cloud.ports, cloud.config, cloud.settings, KEY)
    assert isinstance(staged, str)
    ready = f"staging/{staged}/_ready.json"
    with pytest.raises(Killed):
        commit_staged(cloud.ports, cloud.config, ready)
    cloud.s3.meta.events.unregister("before-send.s3.PutObject", kill_at_write)
    cloud.ports.store.delete("lake", [lease_key("north", "acd")])  # the killed run's lease
    assert cloud.ports.store.exists("lake", f"manifests/{staged}.json")
    delivered = [event for event in published if event != "killed"]
    assert delivered == (["UploadValidated"] if kill_at == "pointer" else [])

    again = commit_staged(cloud.ports, cloud.config, ready)  # the event is delivered again
    assert again.fresh
    _same_as(clean_run[0], again.manifest.__dict__)
    assert cloud.data_etags() == clean_run[1]
    pointer = json.loads(
        cloud.ports.store.get("lake", "manifests/current/" + again.manifest.dataset_key + ".json")
    )
    assert pointer == {"upload_id": staged}
    # Published exactly once, except when killed after publishing and before the pointer (at least once).
    expected = ["UploadValidated"] * (2 if kill_at == "pointer" else 1)
    assert [event for event in published if event != "killed"] == expected

    duplicate = commit_staged(cloud.ports, cloud.config, ready)
    assert not duplicate.fresh
    assert duplicate.manifest == again.manifest
    assert [event for event in published if event != "killed"] == expected
