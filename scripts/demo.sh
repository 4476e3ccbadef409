#!/usr/bin/env bash
# Builds the web client and runs the server with the Baishan demo city on http://127.0.0.1:8080.
# The demo data goes to ./data (delete it to start over). Extra arguments go to `xuncha serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f web/package.json ]; then
    (cd web && npm ci --no-audit --no-fund && npm run build)
fi
exec cargo run --release -- serve --demo "$@"
