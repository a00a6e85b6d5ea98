#!/usr/bin/env bash
# Deploy build/template.yaml (made by `make package`) to one environment with SAM CLI.
# Usage: infra/deploy.sh <dev|prod> [extra sam deploy arguments, e.g. --profile x --region eu-west-2]
# Parameters come from infra/params/<env>.json; prod refuses example values (example.com).
set -euo pipefail
cd "$(dirname "$0")/.."
ENV="${1:-${ENV:-}}"
shift || true
case "$ENV" in
  dev|prod) ;;
  *) echo "usage: infra/deploy.sh <dev|prod> [sam deploy options]" >&2; exit 2 ;;
esac
PYTHON="${PYTHON:-python3}"
[ -f build/template.yaml ] || { echo "build/template.yaml is missing: run 'make package' first" >&2; exit 1; }
command -v sam >/dev/null || { echo "SAM CLI not found: pip install aws-sam-cli (see infra/README.md)" >&2; exit 1; }

strict=()
[ "$ENV" = prod ] && strict=(--strict)
"$PYTHON" infra/params.py check "$ENV" ${strict[@]+"${strict[@]}"}

overrides=()
while IFS= read -r -d '' arg; do overrides+=("$arg"); done < <("$PYTHON" infra/params.py sam-args "$ENV")

# SAM CLI expands Fn::ForEach (AWS::LanguageExtensions) while packaging only when asked to; without it,
# packaging fails on the per-centre resources. (The env var, unlike the --language-extensions flag, is
# accepted by every SAM CLI version.)
export SAM_CLI_ENABLE_LANGUAGE_EXTENSIONS=1
# Absolute config path: SAM resolves a relative --config-file against the template's folder (build/).
exec sam deploy \
  --template-file build/template.yaml \
  --config-file "$PWD/infra/samconfig.toml" \
  --config-env "$ENV" \
  "${overrides[@]}" \
  "$@"
