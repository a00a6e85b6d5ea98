"""``contactlake serve`` takes the app from the installed package: no checkout folder, no path arithmetic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
from contactlake.api.serve import make_server
server = make_server("127.0.0.1", 0)
try:
    print(json.dumps({
        "routes": sorted(server.app_object.routes),
        "port": server.server.server_address[1],
        "checkout_app": "app" in sys.modules or "chalicelib" in sys.modules,
    }))
finally:
    server.server.server_close()
"""


def test_serve_finds_the_app_from_any_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "", "CONTACTLAKE_MODE": "local", "CONTACTLAKE_HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert "/centres/{centre_id}/kpis" in found["routes"]
    assert found["port"] > 0
    assert found["checkout_app"] is False


def test_the_banner_names_the_lake_folder_it_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contactlake.api.serve import banner

    monkeypatch.setenv("CONTACTLAKE_HOME", str(tmp_path / "my-lake"))
    first = banner("127.0.0.1", 8123).splitlines()[0]
    assert (
        first == f"contactlake API on http://127.0.0.1:8123, reading the lake folder {tmp_path / 'my-lake'}"
    )
    monkeypatch.delenv("CONTACTLAKE_HOME")
    monkeypatch.chdir(tmp_path)
    # The default is the folder every other command uses (./data), not the word "lake".
    assert banner("127.0.0.1", 8123).splitlines()[0].endswith(f"lake folder {tmp_path / 'data'}")
