#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, benchmarks and trying several coordinators on one
# database: Debian's server binaries, a new cluster in DIR, listening on 127.0.0.1 only, with a
# random password (scram-sha-256) kept in a 0600 libpq passfile. Runs as the `postgres` user when
# called as root (initdb refuses root; CI runs as root).
#
#   scripts/postgres.sh start DIR   # prints the database URL (postgres://flotilla@127.0.0.1:PORT/flotilla?passfile=...)
#   scripts/postgres.sh stop DIR
set -euo pipefail

command="${1:-}"
dir="${2:-}"
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    "$(dirname "${BASH_SOURCE[0]}")/install-deps.sh" --with-postgres >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

as_server() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -f "$dir/url" ] && as_server "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        cat "$dir/url"
        exit 0
    fi
    rm -rf "$dir/data" "$dir/socket"
    mkdir -p "$dir/data" "$dir/socket"
    chmod 0700 "$dir/data"
    password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    pwfile=$(mktemp)
    printf '%s\n' "$password" > "$pwfile"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$pwfile"
        chown -R postgres "$dir/data" "$dir/socket"
    fi
    as_server "$bin/initdb" -D "$dir/data" --username=flotilla --pwfile="$pwfile" --auth=scram-sha-256 \
        --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -f "$pwfile"; exit 1; }
    rm -f "$pwfile"
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/socket'
max_connections = 400
shared_buffers = 128MB
CONF
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w start >/dev/null
    umask 077
    printf '127.0.0.1:%s:*:flotilla:%s\n' "$port" "$password" > "$dir/pgpass"
    PGPASSFILE="$dir/pgpass" "$bin/createdb" -h 127.0.0.1 -p "$port" -U flotilla flotilla
    url="postgres://flotilla@127.0.0.1:$port/flotilla?passfile=$dir/pgpass"
    printf '%s\n' "$url" > "$dir/url"
    echo "$url"
    ;;
stop)
    [ -d "$dir/data" ] || exit 0
    as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
