#!/usr/bin/env bash
# Starts a throw-away PostgreSQL 15 + PostGIS cluster in a temporary folder, as the unprivileged
# `postgres` user, listening on 127.0.0.1:$PGPORT (default 55432) with trust authentication.
# Prints two lines on stdout: the URL of its `postgres` database and its folder;
# `scripts/pg-temp.sh stop DIR` stops it and removes the folder; `pause DIR` stops the server at
# once (as a crash would) and `resume DIR` starts it again, for outage tests.
# Installs Debian's postgresql-15-postgis-3 when missing.
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
start() { # DIR PORT; on failure shows the end of the server's log
    if ! runuser -u postgres -- "$bin/pg_ctl" -D "$1/data" -l "$1/server.log" -w \
        -o "-p $2 -k $1 -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300" start >&2; then
        echo "--- end of $1/server.log:" >&2
        tail -n 20 "$1/server.log" >&2 || true
        return 1
    fi
}
case "${1:-}" in
stop)
    runuser -u postgres -- "$bin/pg_ctl" -D "$2/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$2"
    exit 0 ;;
pause)
    runuser -u postgres -- "$bin/pg_ctl" -D "$2/data" -m immediate stop >&2
    exit 0 ;;
resume)
    start "$2" "$(cat "$2/port")"
    exit 0 ;;
esac
if [ ! -x "$bin/initdb" ] || [ ! -e /usr/share/postgresql/15/extension/postgis.control ]; then
    echo "installing Debian packages: postgresql-15 postgresql-15-postgis-3" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-15-postgis-3 >/dev/null
fi
port=${PGPORT:-55432}
dir=$(mktemp -d /tmp/xuncha-pg.XXXXXX)
chown postgres "$dir"
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
echo "$port" >"$dir/port"
if ! start "$dir" "$port"; then
    rm -rf "$dir"
    exit 1
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
echo "$dir"
