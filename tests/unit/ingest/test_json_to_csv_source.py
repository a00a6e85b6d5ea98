"""An Amazon Connect JSON Lines export uploaded under a CSV source (the key names the source, as on AWS)
is rejected with what it is, not with a header column made of JSON (`Type:"TELEPHONE_NUMBER"}`)."""

from __future__ import annotations

from pathlib import Path

from contactlake.adapters.local import build_local_ports
from contactlake.config import Settings, load_app_config
from contactlake.pipeline import process_upload

CONNECT = Path(__file__).resolve().parents[2] / "fixtures" / "amazon_connect" / "ctr-2024-03-05.jsonl"


def test_json_records_under_a_csv_source_are_named_plainly(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    ports = build_local_ports(settings)
    key = "north/acd/ctr-2024-03-05.jsonl"
    ports.store.put("raw", key, CONNECT.read_bytes())
    manifest = process_upload(ports, load_app_config(), settings, key)
    assert manifest.status == "rejected"
    assert manifest.quarantined_by_rule == {"file.not_delimited": 1}
    assert "the file is JSON records, not delimited text" in manifest.message
    assert "amazon_connect" in manifest.message
    assert "Type:" not in manifest.message
