"""Helpers shared by the infrastructure tests and their conftest (background tool runs)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "template.yaml"
CHECKOV_HINT = (
    "checkov not found at .venv-tools/bin/checkov (create it with "
    "`python -m venv .venv-tools && .venv-tools/bin/pip install -r requirements/tools-constraints.txt`) "
    "or set CONTACTLAKE_CHECKOV"
)


@dataclass
class Background:
    """A tool started after collection; ``result()`` waits for it once."""

    process: subprocess.Popen[str]
    _output: tuple[int, str, str] | None = None

    def result(self, timeout: float = 180) -> tuple[int, str, str]:
        if self._output is None:
            out, err = self.process.communicate(timeout=timeout)
            self._output = (self.process.returncode, out, err)
        return self._output


def checkov_executable() -> Path | None:
    configured = os.environ.get("CONTACTLAKE_CHECKOV")
    candidate = Path(configured) if configured else REPO / ".venv-tools" / "bin" / "checkov"
    return candidate if candidate.is_file() else None
