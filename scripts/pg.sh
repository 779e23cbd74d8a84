#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (Debian's postgresql package).
#
#   eval "$(scripts/pg.sh start)"   creates and starts a cluster in a new temporary
#                                   directory; prints `export LEADFLOW_PG_DIR=...`
#   scripts/pg.sh url ROLE [DB]     the URL of DB (default postgres) as ROLE:
#                                   admin (superuser), owner (runs migrations),
#                                   app (what the server connects as)
#   scripts/pg.sh stop              stops the cluster of $LEADFLOW_PG_DIR, removes the directory
#
# The server listens on a Unix socket in the temporary directory only (no TCP;
# the port number only names the socket, so clusters never collide), trusts local
# connections, and runs without fsync. initdb refuses root: as root the cluster
# runs as the system user leadflow-pg (created when missing).
# Roles: leadflow_admin (bootstrap superuser), leadflow_owner (owns the databases
# and runs `leadflow migrate`), leadflow_app (NOSUPERUSER NOBYPASSRLS: the server's).
set -euo pipefail

PG_USER=leadflow-pg
find_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
    echo "pg.sh: initdb not found (install the postgresql package: scripts/deps.sh)" >&2
    return 1
}

# Runs a command as the cluster's user.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PG_USER" -- "$@"
    else
        "$@"
    fi
}

state() {
    : "${LEADFLOW_PG_DIR:?pg.sh: LEADFLOW_PG_DIR is not set (eval \"\$(scripts/pg.sh start)\")}"
    # shellcheck disable=SC1091
    . "$LEADFLOW_PG_DIR/env"
}

url() {
    local role=$1 db=${2:-postgres}
    case $role in
        admin) role=leadflow_admin ;;
        owner) role=leadflow_owner ;;
        app) role=leadflow_app ;;
        *) echo "pg.sh: unknown role $role (admin, owner or app)" >&2; return 2 ;;
    esac
    echo "postgres://$role@/$db?host=$PG_SOCK&port=$PG_PORT"
}

start() {
    local bin dir port
    bin=$(find_bin)
    if [ "$(id -u)" -eq 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            "$PG_USER"
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-pg.XXXXXX")
    mkdir -p "$dir/data" "$dir/sock"
    [ "$(id -u)" -eq 0 ] && chown -R "$PG_USER" "$dir"
    chmod 700 "$dir"
    # A port number that names the socket; nothing listens on TCP.
    port=$(( 20000 + RANDOM % 20000 ))
    cat >"$dir/env" <<EOF
PG_BIN=$bin
PG_DATA=$dir/data
PG_SOCK=$dir/sock
PG_PORT=$port
EOF
    # Stop and remove everything if any later step fails.
    trap 'as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true;
          rm -rf "$dir"' ERR
    as_pg "$bin/initdb" -D "$dir/data" -U leadflow_admin -A trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; false; }
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir/sock'
unix_socket_permissions = 0770
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 64MB
log_min_messages = warning
EOF
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null ||
        { cat "$dir/server.log" >&2; false; }
    "$bin/psql" -X -q -v ON_ERROR_STOP=1 "$(PG_SOCK=$dir/sock PG_PORT=$port url admin)" <<'EOF'
CREATE ROLE leadflow_owner LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS;
CREATE ROLE leadflow_app LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS;
EOF
    trap - ERR
    echo "export LEADFLOW_PG_DIR=$dir"
}

stop() {
    state
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true
    case $LEADFLOW_PG_DIR in
        */leadflow-pg.*) rm -rf "$LEADFLOW_PG_DIR" ;;
        *) echo "pg.sh: not removing $LEADFLOW_PG_DIR (not a pg.sh directory)" >&2 ;;
    esac
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    url) shift; state; url "$@" ;;
    *) echo "usage: scripts/pg.sh start | stop | url admin|owner|app [DB]" >&2; exit 2 ;;
esac
