"""A new centre onboarded by a mapping file alone: the bank's layout, date and time in separate columns.

The real October 1999 "Anonymous Bank" file has a ``YYMMDD`` date column and ``H:MM:SS`` stage times, an
id unique only per VRU line, ``HANG`` meaning a queue or an IVR abandon, and ``PHANTOM`` rows to leave
out. The mapping below composes fields from several columns, reads them with a per-field format, sets
values from conditions on other columns and excludes PHANTOM rows by value — and the outcome counts
equal the purpose-written adapter's on the same days.
"""

from __future__ import annotations

import gzip
import tomllib
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest

from contactlake.config import ConfigError, parse_app_config
from contactlake.ingest.mapping import parse_mapping
from tests.fixtures.lakes import SAMPLE_DATA, LocalLake, centres

BANK_MAPPING = """
kind = "contacts"

[csv]
delimiter = "\\t"

[time]
format = "%y%m%d %H:%M:%S"

[columns]
contact_id = ["date", "vru+line", "call_id"]
initiated = ["date", "vru_entry"]
ivr_entered = ["date", "vru_entry"]
enqueued = ["date", "q_start"]
answered = ["date", "ser_start"]
ivr_seconds = "vru_time"
queue_seconds = "q_time"
talk_seconds = "ser_time"
queue = "type"
agent_id = "server"
caller = "customer_id"
outcome = "outcome"

[values.outcome]
AGENT = "answered"

[[conditions.outcome]]
set = "ivr_abandoned"
when = { outcome = "HANG", q_start = "0:00:00", ser_start = "0:00:00", q_time = "0" }

[[conditions.outcome]]
set = "abandoned"
when = { outcome = "HANG" }

[[conditions.enqueued]]
set = ""
when = { q_start = "0:00:00" }

[[conditions.answered]]
set = ""
when = { outcome = "!AGENT" }

[[conditions.talk_seconds]]
set = ""
when = { outcome = "!AGENT" }

[[conditions.agent_id]]
set = ""
when = { server = "NO_SERVER" }

[[conditions.caller]]
set = ""
when = { customer_id = "0" }

[[conditions.channel]]
set = "callback"
when = { type = "TT" }

[[exclude]]
rule = "excluded.phantom"
when = { outcome = "PHANTOM" }

[defaults]
channel = "voice"
direction = "inbound"
"""


def _first_days(days: int) -> bytes:
    lines = gzip.decompress((SAMPLE_DATA / "anonymous_bank" / "october.txt.gz").read_bytes()).decode()
    rows = lines.splitlines(keepends=True)
    wanted = {f"9910{d:02d}" for d in range(1, days + 1)}
    return "".join(
        [rows[0], *(r for r in rows[1:] if len(r.split("\t")) > 5 and r.split("\t")[5] in wanted)]
    ).encode()


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    raw = centres()
    raw["centres"]["anonbank"]["sources"]["mapped"] = {"adapter": "generic_csv", "mapping": "bank.toml"}
    lake = LocalLake.create(tmp_path)
    lake.config = parse_app_config(raw, source_path=str(tmp_path / "config" / "contactlake.toml"))
    lake.write_mapping("bank.toml", BANK_MAPPING)
    return lake


def test_the_bank_layout_onboarded_by_a_mapping_alone_matches_the_adapter(lake: LocalLake) -> None:
    data = _first_days(3)
    adapter = lake.ingest("anonbank/calls/calls-1999-10-03.txt", data)
    by_adapter = Counter(lake.contacts().column("outcome").to_pylist())
    mapped = lake.ingest("anonbank/mapped/calls-1999-10-03.txt", data)
    contacts = lake.contacts()
    mine = contacts.filter(pc.equal(contacts.column("source_system"), "generic_csv"))
    by_mapping = Counter(mine.column("outcome").to_pylist())

    assert mapped.status == "stored"
    assert mapped.rows_read == adapter.rows_read
    assert (
        mapped.excluded_by_rule
        == adapter.excluded_by_rule
        == {"excluded.phantom": mapped.excluded_by_rule["excluded.phantom"]}
    )
    assert mapped.excluded_by_rule["excluded.phantom"] > 0
    assert mapped.rows_quarantined == 0
    assert by_mapping == by_adapter
    assert mapped.rows_stored == adapter.rows_stored
    assert set(mine.column("channel").to_pylist()) == {"voice", "callback"}
    assert mine.column("customer_key").null_count > 0  # customer_id 0: unidentified, no hash


def test_mapping_errors_name_the_line_to_fix() -> None:
    text = 'kind = "contacts"\n\n[columns]\ncontact_id = "id"\ninitiated = "t"\noutcome = "o"\nstrat = "s"\n'
    with pytest.raises(
        ConfigError, match=r"mapping m.toml, line 7 \(\[columns\] strat\): unknown fields \['strat'\]"
    ):
        parse_mapping(tomllib.loads(text), name="m.toml", text=text)
    bad_rule = text.replace('strat = "s"\n', "") + '\n[[exclude]]\nrule = "phantom"\nwhen = { o = "P" }\n'
    with pytest.raises(ConfigError, match=r"line 8 \(\[exclude\]\): rule must name the reason"):
        parse_mapping(tomllib.loads(bad_rule), name="m.toml", text=bad_rule)


def test_a_drafted_then_edited_mapping_onboards_the_bank_layout(lake: LocalLake, tmp_path: Path) -> None:
    """``contactlake mapping draft`` proposes the composed date + time fields and lists the codes; the
    centre edits the codes, the conditions and the PHANTOM exclusion in — no code."""
    from contactlake.cli import main

    data = _first_days(2)
    sample = tmp_path / "bank-sample.txt"
    sample.write_bytes(data)
    drafted = tmp_path / "config" / "drafted.toml"
    assert main(["mapping", "draft", str(sample), "--out", str(drafted)]) == 0
    text = drafted.read_text()
    assert 'initiated = ["date", "vru_entry"]' in text
    assert 'initiated = "%y%m%d %H:%M:%S"' in text
    assert "# PHANTOM = " in text
    # The edits a person makes after reading the draft:
    edited = text.replace('contact_id = "call_id"', 'contact_id = ["date", "vru+line", "call_id"]')
    edited = edited.replace('# AGENT = "?"', 'AGENT = "answered"').replace('# HANG = "?"\n', "")
    edited = edited.replace('# PHANTOM = "?"\n', "")
    edited = edited.replace(
        '# [[exclude]]\n# rule = "excluded.phantom"\n# when = { outcome = "PHANTOM" }',
        BANK_MAPPING.split('[values.outcome]\nAGENT = "answered"\n', 1)[1].split("[defaults]", 1)[0],
    )
    drafted.write_text(edited)
    raw = centres()
    raw["centres"]["anonbank"]["sources"]["drafted"] = {"adapter": "generic_csv", "mapping": "drafted.toml"}
    lake.config = parse_app_config(raw, source_path=str(lake.root / "config" / "contactlake.toml"))
    adapter = lake.ingest("anonbank/calls/calls-1999-10-02.txt", data)
    mapped = lake.ingest("anonbank/drafted/calls-1999-10-02.txt", data)
    assert mapped.status == "stored", mapped.message
    assert mapped.rows_quarantined == 0
    assert mapped.excluded_by_rule == adapter.excluded_by_rule
    assert mapped.rows_stored == adapter.rows_stored
