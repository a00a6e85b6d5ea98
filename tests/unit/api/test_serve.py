"""``contactlake serve`` takes the app from the installed package: no checkout folder, no path arithmetic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
