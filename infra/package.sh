#!/usr/bin/env bash
# Build the Lambda artifacts into build/ (layers, function zips, build/template.yaml) and print each
# function's unzipped size against Lambda's 250 MB limit. Offline apart from PyPI; no Docker, no sam build.
# Usage: infra/package.sh [--no-layers]      (PYTHON=... picks the interpreter, default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
exec "$PYTHON" infra/package.py "$@"
