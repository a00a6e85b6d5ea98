"""No raw caller number or customer id reaches the curated lake, the manifests, the events or the logs."""

from __future__ import annotations

import gzip
import logging
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.lakes import FIXTURES, SAMPLE_DATA, LocalLake

GENERIC = (
    b"call_id,start_time,queue_start,answer_time,end_time,ivr_secs,wait_secs,talk_secs,hold_secs,hold_count,"
    b"wrap_secs,result,queue,agent,caller_number,channel,transfers,escalations,disposition,test_case\n"
    b"P-1,2024-01-15T09:00:00,2024-01-15T09:00:40,2024-01-15T09:01:00,2024-01-15T09:06:00,40,20,280,20,1,30,"
    b"ANS,billing,NOR001,+44 7700 900111,voice,0,0,resolved,\n"
    b"P-2,2024-01-15T09:10:00,,,2024-01-15T09:11:00,60,,,,,,IVR,,,07700 900222,voice,0,0,,\n"
    b"P-3,2024-01-15T09:20:00,,,2024-01-15T09:21:00,60,,,,,,BAD,,,+44 (0)7700-900333,voice,0,0,,\n"
)
_PHONE = re.compile(rb"(?<![\w-])\+?\d[\d ()\-]{6,}\d")
_DIGITS = re.compile(r"\d{7,}")


def numbers_in(*raw: bytes) -> set[str]:
    """Every phone-number-like value in the raw uploads, as digits only (≥ 8 digits)."""
    found = set()
    for data in raw:
        for match in _PHONE.findall(data):
            digits = re.sub(rb"\D", b"", match).decode()
            if len(digits) >= 8:
                found.add(digits)
    return found


def strings_of(table: pa.Table) -> list[str]:
    values: list[str] = []
    for column in table.columns:
        if pa.types.is_string(column.type):
            values.extend(v for v in column.to_pylist() if v)
    return values


@pytest.mark.slow
def test_no_raw_number_in_curated_data_or_logs(
    lake: LocalLake, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    uploads = {
        "north/acd/calls-2024-01-15.csv": GENERIC,
        "leeds/ctr/2024/03/05/ctr.jsonl": (FIXTURES / "amazon_connect" / "ctr-2024-03-05.jsonl").read_bytes(),
        "leeds/genesys/2024-03-05/page.json": (
            FIXTURES / "genesys_cloud" / "details-job-2024-03-05.json"
        ).read_bytes(),
        "leeds/tcd/tcd-2024-03-05.csv": (FIXTURES / "cisco_ucce" / "tcd-2024-03-05.csv").read_bytes(),
        "anonbank/calls/october.txt.gz": (SAMPLE_DATA / "anonymous_bank" / "october.txt.gz").read_bytes(),
    }
    raw_text = [gzip.decompress(d) if k.endswith(".gz") else d for k, d in uploads.items()]
    secrets = numbers_in(*raw_text[:4])
    # The bank's customer ids (column 3) are personal data too.
    secrets |= {
        line.split(b"\t")[2].decode() for line in raw_text[4].splitlines()[1:] if line.count(b"\t") > 3
    }
    secrets.discard("0")
    assert len(secrets) > 3000
    assert "447700900111" in secrets
    assert "14155550100" in secrets
    caplog.set_level(logging.DEBUG)
    for key, data in uploads.items():
        lake.ingest(key, data)

    stored: list[str] = []
    for path in sorted((lake.home / "lake").rglob("*.parquet")):
        stored.extend(strings_of(pq.read_table(path)))
    stored.extend(p.read_text() for p in (lake.home / "lake" / "manifests").rglob("*.json"))
    stored.append((lake.home / "events.jsonl").read_text())
    out, err = capsys.readouterr()
    stored.extend([caplog.text, out, err])
    assert len(stored) > 100_000
    leaked = {run for value in stored for run in _DIGITS.findall(value) if run in secrets}
    assert leaked == set()
    # Callers are there, as keyed hashes: the Connect caller on both legs of the transfer has one key.
    contacts = lake.contacts()
    keys = [k for k in contacts.column("customer_key").to_pylist() if k]
    assert len(keys) > 8000
    assert all(re.fullmatch(r"[0-9a-f]{32}", k) for k in keys)
