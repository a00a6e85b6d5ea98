#!/usr/bin/env bash
# Build the report function's Lambda artifact (API + scheduled reports) and print what it weighs.
#
#   functions/report/package.sh               -> build/report/deployment.zip and build/report/sam.json
#   ARCH=x86_64 functions/report/package.sh   -> for x86_64 (default arm64, as template.yaml declares)
#   OUT=build/other functions/report/package.sh    -> elsewhere
#
# This is the single-zip Chalice artifact; infra/package.sh builds the layered variant template.yaml
# deploys. No AWS account is touched: wheels come from the package index (manylinux, CPython 3.12, binary
# only), the shared `contactlake` package is vendored from this checkout (Chalice drops `../` requirement
# lines), unused parts of the wheels are trimmed, and `chalice package` writes the zip and SAM template.
# The Lambda runtime must be python3.12 or later: pyarrow 25 ships no manylinux2014 wheels for 3.11.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
CHALICE="${CHALICE:-$REPO/.venv/bin/chalice}"
OUT="${OUT:-$REPO/build/report}"
ARCH="${ARCH:-arm64}"
case "$ARCH" in
    arm64) MACHINE=aarch64 ;;
    x86_64) MACHINE=x86_64 ;;
    *) echo "ARCH must be arm64 or x86_64, not $ARCH" >&2; exit 2 ;;
esac
STAGE="$OUT/app"
LIMIT_MB=250

rm -rf "$OUT"
mkdir -p "$STAGE/.chalice"
cp "$HERE/app.py" "$STAGE/"
cp -r "$HERE/chalicelib" "$STAGE/"
cp "$HERE/.chalice/config.json" "$HERE/.chalice/policy.json" "$STAGE/.chalice/"
: > "$STAGE/requirements.txt"  # everything is vendored below, built for the Lambda runtime, not this machine

echo "1/4 wheels for CPython 3.12 manylinux $MACHINE -> vendor/"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-compile \
    --target "$STAGE/vendor" --implementation cp --python-version 3.12 --abi cp312 \
    --platform "manylinux_2_28_$MACHINE" --platform "manylinux_2_17_$MACHINE" --platform "manylinux2014_$MACHINE" \
    --only-binary=:all: -c "$REPO/requirements/constraints.txt" -r "$HERE/requirements.txt" 2>&1 \
    | { grep -v "Location 'file:" || true; }

echo "2/4 vendoring the shared package"
cp -R "$REPO/shared/contactlake" "$STAGE/vendor/"
rm -rf "$STAGE/vendor/contactlake/sample_data/exports"

echo "3/4 trimming what the function never loads"
before=$(du -sm "$STAGE/vendor" | cut -f1)
V="$STAGE/vendor"
rm -rf "$V"/pyarrow/include "$V"/pyarrow/src "$V"/pyarrow/includes "$V"/pyarrow/tests \
       "$V"/pyarrow/libarrow_flight.so* "$V"/pyarrow/_flight*.so "$V"/pyarrow/libarrow_python_flight.so* \
       "$V"/pyarrow/libarrow_python_parquet_encryption.so* "$V"/pyarrow/_parquet_encryption*.so \
       "$V"/pyarrow/libgandiva.so* "$V"/pyarrow/_gandiva*.so "$V"/pyarrow/_pyarrow_cpp_tests*.so \
       "$V"/numpy/_core/tests "$V"/numpy/*/tests "$V"/numpy/tests "$V"/numpy/_pyinstaller "$V"/numpy/f2py \
       "$V"/matplotlib/tests "$V"/matplotlib/mpl-data/sample_data "$V"/matplotlib/mpl-data/images \
       "$V"/fontTools/*/tests "$V"/PIL/tests "$V"/bin
# Keep only the fonts the charts and PDFs use (DejaVu Sans, regular and bold) and matplotlib's last resort.
# (libarrow_substrait stays: pyarrow.lib links it. Checked by importing a trimmed copy of the same release.)
find "$V"/matplotlib/mpl-data/fonts -type f ! -name 'DejaVuSans.ttf' ! -name 'DejaVuSans-Bold.ttf' \
    ! -name 'LastResortHE-Regular.ttf' -delete
# The wheel ships libarrow_python three times under different names; the extension modules link the .2500 one.
for extra in "$V"/pyarrow/libarrow_python.so "$V"/pyarrow/libarrow_python.so.*.*.*; do
    [ -e "$extra" ] && rm -f "$extra"
done
find "$V" -name '__pycache__' -type d -prune -exec rm -rf {} +
find "$V" \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.h' -o -name '*.hpp' -o -name '*.a' \) -delete
after=$(du -sm "$STAGE/vendor" | cut -f1)
echo "  vendor: ${before} MB -> ${after} MB"

echo "4/4 chalice package"
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-west-2}" "$CHALICE" --project-dir "$STAGE" package --stage prod "$OUT/chalice" >/dev/null
mv "$OUT/chalice/deployment.zip" "$OUT/chalice/sam.json" "$OUT/"
rmdir "$OUT/chalice" 2>/dev/null || true
# Chalice names the runtime after the Python running it; the vendored wheels are for 3.12.
"$PYTHON" - "$OUT/sam.json" "$ARCH" <<'PY'
import json, sys
path, arch = sys.argv[1], sys.argv[2]
template = json.load(open(path))
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::Serverless::Function":
        resource["Properties"]["Runtime"] = "python3.12"
        resource["Properties"]["Architectures"] = [arch]
json.dump(template, open(path, "w"), indent=2)
PY

"$PYTHON" - "$OUT/deployment.zip" "$LIMIT_MB" <<'PY'
import sys
import zipfile
from collections import Counter

path, limit = sys.argv[1], int(sys.argv[2])
with zipfile.ZipFile(path) as archive:
    infos = archive.infolist()
unzipped = sum(i.file_size for i in infos)
zipped = sum(i.compress_size for i in infos)
top = Counter()
for info in infos:
    head = info.filename.split("/", 1)[0]
    top[head.split(".libs")[0].split("-")[0]] += info.file_size
print(f"deployment.zip: {zipped / 2**20:.1f} MB zipped, {unzipped / 2**20:.1f} MB unzipped "
      f"(Lambda limit {limit} MB unzipped, function + layers): "
      + ("fits, %.1f MB to spare" % (limit - unzipped / 2**20) if unzipped < limit * 2**20 else "DOES NOT FIT"))
for name, size in top.most_common(12):
    print(f"  {size / 2**20:7.1f} MB  {name}")
sys.exit(0 if unzipped < limit * 2**20 else 1)
PY
echo "artifact ($ARCH): $OUT/deployment.zip (handlers app.app and app.scheduled_report), template: $OUT/sam.json"
