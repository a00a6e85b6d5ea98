"""The local engine gives a statement that keeps one centre's rows a view of that centre's folder only,
and the results are those of the whole lake."""

from __future__ import annotations

import shutil
from pathlib import Path

from contactlake.adapters.local import build_local_ports
from contactlake.adapters.local.engine import DuckDBEngine
from contactlake.config import Settings
from tests.functional.analyse.conftest import SampleLake

ONE = "SELECT count(*) AS n FROM contacts WHERE centre_id = :centre_id"


def test_one_centre_statements_read_that_centre_and_others_read_all(
    sample_lake: SampleLake, tmp_path: Path
) -> None:
    home = tmp_path / "lake"
    shutil.copytree(sample_lake.settings.home, home)
    curated = home / "lake" / "curated" / "contacts"
    shutil.copytree(curated / "centre_id=north", curated / "centre_id=south")
    shutil.rmtree(
        curated / "centre_id=south" / sorted(p.name for p in (curated / "centre_id=south").iterdir())[0]
    )
    engine = build_local_ports(Settings(home=home)).engine
    assert isinstance(engine, DuckDBEngine)

    def count(sql: str, **params: str) -> int:
        return int(engine.query(sql, params).column("n")[0].as_py())

    north = count(ONE, centre_id="north")
    assert "centre_id=north/contact_date=*" in engine._views["contacts"]
    south = count(ONE, centre_id="south")
    assert 0 < south < north
    assert count("SELECT count(*) AS n FROM contacts") == north + south
    assert "centre_id=*/contact_date=*" in engine._views["contacts"]
    assert count(
        "SELECT count(*) AS n FROM contacts WHERE centre_id = :centre_id OR true", centre_id="north"
    ) == (north + south)
    # The centre id names a folder: a value that is not a centre id is never made into a path.
    assert count(ONE, centre_id="../north") == 0
    assert "centre_id=*/contact_date=*" in engine._views["contacts"]
    # A centre without files is a typed empty view, not an error.
    assert count(ONE, centre_id="west") == 0
    assert (
        engine.query(
            "SELECT centre_id, contact_date FROM contacts WHERE centre_id = :centre_id LIMIT 1",
            {"centre_id": "south"},
        ).to_pylist()[0]["centre_id"]
        == "south"
    )
