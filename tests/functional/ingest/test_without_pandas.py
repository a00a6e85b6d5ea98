"""The ingest path needs no pandas: the Lambda layer does not ship it (infra/layers/deps.txt).

pandas is only a dev extra here (the benchmark's baseline, awswrangler in tests), and pyarrow imports it
lazily whenever it is installed. So a stray pandas use on the ingest path would pass every other test
and fail only in AWS. This test ingests one export of every source in a process where ``import pandas``
fails, as it does in the deployed functions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.fixtures.lakes import REPO

PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    class NoPandas:  # `import pandas` fails as if it were not installed, as in the Lambda layer
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "pandas":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, NoPandas())
    from tests.fixtures.lakes import FIXTURES, SAMPLE_DATA, LocalLake
    from tests.functional.ingest.test_idempotency import ROWS, export
    fixtures = FIXTURES
    uploads = {
        "north/acd/calls-2024-01-15.csv": export(*ROWS, ROWS[0]),
        "leeds/ctr/ctr-2024-03-05.jsonl": (fixtures / "amazon_connect" / "ctr-2024-03-05.jsonl").read_bytes(),
        "leeds/genesys/details-2024-03-05.json": (
            fixtures / "genesys_cloud" / "details-job-2024-03-05.json"
        ).read_bytes(),
        "leeds/tcd/tcd-2024-03-05.csv": (fixtures / "cisco_ucce" / "tcd-2024-03-05.csv").read_bytes(),
        "anonbank/calls/october.txt.gz": (SAMPLE_DATA / "anonymous_bank" / "october.txt.gz").read_bytes(),
    }
    lake = LocalLake.create(Path(sys.argv[1]))
    result = {}
    for key, data in uploads.items():
        manifest = lake.ingest(key, data)
        result[key] = [manifest.status, manifest.rows_stored, manifest.rows_quarantined, manifest.reconciles]
    result["pandas"] = "pandas" in sys.modules
    print(json.dumps(result))
    """
)


def test_every_source_ingests_where_pandas_cannot_be_imported(tmp_path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout)
    assert result.pop("pandas") is False
    for key, (status, stored, _quarantined, reconciles) in result.items():
        assert status == "stored", key
        assert stored > 0, key
        assert reconciles, key
    # The generic export's impossible time and repeated id are quarantined as in any other run.
    assert result["north/acd/calls-2024-01-15.csv"][1:3] == [4, 2]
