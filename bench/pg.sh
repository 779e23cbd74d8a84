#!/usr/bin/env bash
# PostgreSQL beside SQLite, in one run on the same machine:
#
# 1. The job queue: BENCH_JOBS no-op jobs enqueued (transactions of 1000),
#    then drained by 1 and by 2 processes (build/queue-bench --db URL drain,
#    BENCH_WORKERS threads each) on one database. jobs/s is the jobs over the
#    time from the first job run to the last, across the processes; every job
#    must end done with one attempt.
# 2. GET /api/agents/contact-intelligence on a workspace of BENCH_CONTACTS
#    contacts (bench/seed_leads.py: the same rows on both), and GET /healthz,
#    with wrk against 1 server and against 2 servers on the same database
#    (two wrk at once, one per server, their req/s added).
# 3. `leadflow import` of a generated BENCH_PG_MESSAGES-message mbox
#    (scripts/gen_mailbox.py) into an empty workspace on each: msg/s.
# 4. With a third argument (build/drip-bench): drip step executions on
#    PostgreSQL (bench/drip.sh with BENCH_DB).
# Prints RESULT lines for bench/table.py: import on PostgreSQL (goal >=
# 10,000 msg/s, SQLite beside it), drip steps on PostgreSQL (>= 5,000/s),
# and the rows of 1. and 2. with no goal.
#
# PostgreSQL runs as a throwaway cluster (scripts/pg.sh) set closer to what a
# deployment runs than the tests' cluster: fsync and full_page_writes on,
# synchronous_commit off: a committed transaction survives a crash of any
# process; a crash of the machine may lose the last few hundred milliseconds
# of commits (never corrupts). SQLite runs in WAL with synchronous=NORMAL:
# the same promise. Both on a Unix socket / local file, loopback HTTP.
#
# Usage: bench/pg.sh build/leadflow build/queue-bench [build/drip-bench]
# Environment: BENCH_JOBS (50000), BENCH_WORKERS (2), BENCH_CONTACTS (100000),
# BENCH_SECONDS (8), BENCH_CONNECTIONS (64), BENCH_PG_MESSAGES (10000),
# BENCH_ENROLLMENTS (for drip.sh). BENCH_SMALL=1: 2,000 jobs, contacts, messages
# and enrollments and 2 s runs unless set.
set -euo pipefail

if [ -n "${BENCH_SMALL:-}" ]; then
    : "${BENCH_JOBS:=2000}" "${BENCH_CONTACTS:=2000}" "${BENCH_SECONDS:=2}"
    : "${BENCH_PG_MESSAGES:=2000}" "${BENCH_ENROLLMENTS:=2000}"
    export BENCH_ENROLLMENTS
fi
BIN=${1:?usage: bench/pg.sh PATH-TO-leadflow PATH-TO-queue-bench}
QBENCH=${2:?usage: bench/pg.sh PATH-TO-leadflow PATH-TO-queue-bench}
DBENCH=${3:-}
MESSAGES=${BENCH_PG_MESSAGES:-10000}
JOBS=${BENCH_JOBS:-50000}
WORKERS=${BENCH_WORKERS:-2}
CONTACTS=${BENCH_CONTACTS:-100000}
SECONDS_PER_RUN=${BENCH_SECONDS:-8}
CONNS=${BENCH_CONNECTIONS:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
QBENCH=$(cd "$(dirname "$QBENCH")" && pwd)/$(basename "$QBENCH")
[ -z "$DBENCH" ] || DBENCH=$(cd "$(dirname "$DBENCH")" && pwd)/$(basename "$DBENCH")
PY=/usr/bin/python3

die() { echo "bench: FAIL: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed (scripts/deps.sh --bench)"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-pgbench.XXXXXX")
PIDS=()
stop_servers() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    PIDS=()
}
cleanup() {
    stop_servers
    [ -n "${LEADFLOW_PG_DIR:-}" ] && "$ROOT/scripts/pg.sh" stop
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

eval "$("$ROOT/scripts/pg.sh" start)"
ADMIN=$("$ROOT/scripts/pg.sh" url admin)
psql -X -q -v ON_ERROR_STOP=1 "$ADMIN" -c "ALTER SYSTEM SET fsync = on" \
    -c "ALTER SYSTEM SET full_page_writes = on" -c "ALTER SYSTEM SET synchronous_commit = off" \
    -c "SELECT pg_reload_conf()" >/dev/null
PGVER=$(psql -X -At "$ADMIN" -c "SHOW server_version")
echo "leadflow PostgreSQL bench: $(nproc) cores, PostgreSQL $PGVER, $("$BIN" version | head -n 1)"

# A new database: prints the URL the server uses (sqlite:PATH, or the app
# role's postgres:// URL after `leadflow migrate` as the owner).
# $1: sqlite or postgres, $2: a number naming it (new_db runs in a subshell).
new_db() {
    local n_dbs=$2
    if [ "$1" = sqlite ]; then
        echo "sqlite:$TMP/db$n_dbs.db"
        "$BIN" migrate --db "sqlite:$TMP/db$n_dbs.db" >/dev/null 2>&1 || die "migrate (SQLite) failed"
        return
    fi
    psql -X -q -v ON_ERROR_STOP=1 "$ADMIN" -c "CREATE DATABASE db$n_dbs OWNER leadflow_owner" ||
        die "CREATE DATABASE failed"
    "$BIN" migrate --db "$("$ROOT/scripts/pg.sh" url owner "db$n_dbs")" >/dev/null 2>&1 ||
        die "migrate (PostgreSQL) failed"
    "$ROOT/scripts/pg.sh" url app "db$n_dbs"
}

# SQL for the bench's own checks, as a superuser on PostgreSQL.
query() {
    local url=$1 sql=$2
    if [[ $url == sqlite:* ]]; then
        $PY -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
            "${url#sqlite:}" "$sql"
    else
        psql -X -At "$(seed_target "$url")" -c "$sql"
    fi
}
# What the seed script connects as: the file, or the superuser's URL of the database.
seed_target() {
    if [[ $1 == sqlite:* ]]; then
        echo "${1#sqlite:}"
    else
        "$ROOT/scripts/pg.sh" url admin "$(sed -E 's|^postgres://[^@]*@/([^?]*).*|\1|' <<<"$1")"
    fi
}

calc() { awk "BEGIN { print $* }"; }
label() { if [ "$1" = sqlite ]; then echo SQLite; else echo PostgreSQL; fi; }

# -- 1. the job queue ---------------------------------------------------------
echo
echo "job queue: $JOBS no-op jobs, drained by 1 and by 2 processes of $WORKERS threads"
printf '%-10s %-9s %14s %14s %18s\n' database processes "enqueue/s" "drain jobs/s" "jobs per process"
declare -A DRAIN
RESULTS=()
n_db=0
for backend in sqlite postgres; do
    for procs in 1 2; do
        n_db=$((n_db + 1))
        url=$(new_db "$backend" "$n_db")
        out=$("$QBENCH" --db "$url" enqueue "$JOBS" 1000 2>"$TMP/q.err") ||
            die "enqueue failed: $(tail -n 3 "$TMP/q.err")"
        enq=$(awk '{ print $2 / $5 }' <<<"$out")
        outs=()
        for i in $(seq "$procs"); do
            "$QBENCH" --db "$url" drain "$WORKERS" >"$TMP/drain$i.out" 2>"$TMP/drain$i.err" &
            outs+=($!)
        done
        for p in "${outs[@]}"; do
            wait "$p" || die "a drain process failed: $(cat "$TMP"/drain*.err | tail -n 3)"
        done
        ran=0 first=0 last=0 split=""
        for i in $(seq "$procs"); do
            read -r n f l < <(awk '{ print $2, $5, $7 }' "$TMP/drain$i.out" | tr -d ,)
            ran=$((ran + n))
            split="$split${split:+ + }$n"
            [ "$n" -gt 0 ] || continue
            if [ "$first" -eq 0 ] || [ "$f" -lt "$first" ]; then first=$f; fi
            if [ "$l" -gt "$last" ]; then last=$l; fi
        done
        [ "$ran" -eq "$JOBS" ] || die "$backend, $procs processes: $ran jobs ran, expected $JOBS"
        done_attempts=$(query "$url" "SELECT COUNT(*) || ' ' || SUM(attempts) FROM jobs WHERE status = 'done'")
        [ "$done_attempts" = "$JOBS $JOBS" ] ||
            die "$backend: done jobs and attempts '$done_attempts', expected '$JOBS $JOBS'"
        rate=$(calc "$JOBS * 1000 / ($last - $first)")
        DRAIN[$backend$procs]=$rate
        printf '%-10s %-9s %14.0f %14.0f %18s\n' "$backend" "$procs" "$enq" "$rate" "$split"
        RESULTS+=("$(printf 'RESULT\tjob queue drain, %s, %s process(es) (jobs/s)\t%.0f\t-\thigher' \
            "$(label "$backend")" "$procs" "$rate")")
    done
done
for backend in sqlite postgres; do
    printf '%s: 2 processes / 1 = %.2fx\n' "$backend" \
        "$(calc "${DRAIN[${backend}2]} / ${DRAIN[${backend}1]}")"
done

# -- 2. hot leads ---------------------------------------------------------------
echo
echo "hot leads: $CONTACTS contacts, wrk -c$CONNS -d${SECONDS_PER_RUN}s (two servers: two wrk -c$((CONNS / 2)))"
# Starts a server on url and adds its port to PORTS (not in a subshell: PIDS
# must keep its pid, or the server outlives the bench).
start_server() {
    local url=$1 log=$2 port
    port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (cd "$TMP" && LEADFLOW_LOG_LEVEL=warn LEADFLOW_SECRET_KEY=bench-secret-key-0123456789abcdef \
        LEADFLOW_MAX_CONNECTIONS_PER_IP=0 exec "$BIN" serve --listen "127.0.0.1:$port" --db "$url" \
        2>"$log" >/dev/null) &
    PIDS+=($!)
    for _ in $(seq 100); do
        if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then
            PORTS+=("$port")
            return
        fi
        sleep 0.1
    done
    die "a server did not start: $(tail -n 3 "$log")"
}
# wrk on each port at once (threads and connections split); prints total req/s and the worst p99.
load() {
    local path=$1 hdr=$2 ports=("${@:3}") i=0 pids=() n
    n=${#ports[@]}
    for port in "${ports[@]}"; do
        wrk -t$((2 / n > 0 ? 2 / n : 1)) -c$((CONNS / n)) -d1s ${hdr:+-H "$hdr"} \
            "http://127.0.0.1:$port$path" >/dev/null 2>&1 || die "warm-up failed"
    done
    for port in "${ports[@]}"; do
        i=$((i + 1))
        wrk -t$((2 / n > 0 ? 2 / n : 1)) -c$((CONNS / n)) -d"${SECONDS_PER_RUN}s" --latency \
            ${hdr:+-H "$hdr"} "http://127.0.0.1:$port$path" >"$TMP/wrk$i.out" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || die "wrk failed"; done
    cat "$TMP"/wrk[0-9].out | awk '
        /Non-2xx or 3xx responses:/ { bad += $NF }
        /^Requests\/sec:/ { rps += $2 }
        $1 == "99%" { v = $2; u = v; sub(/^[0-9.]+/, "", u); x = substr(v, 1, length(v) - length(u)) + 0
                      if (u == "us") x /= 1000; else if (u == "s") x *= 1000
                      if (x > p99) p99 = x }
        END { if (bad) { print "BAD", bad } else printf "%.0f %.2f\n", rps, p99 }'
    rm -f "$TMP"/wrk[0-9].out
}
printf '%-10s %-7s %14s %10s %14s %10s %8s\n' database servers "healthz req/s" "p99 ms" \
    "leads req/s" "p99 ms" "leads/hz"
for backend in sqlite postgres; do
    n_db=$((n_db + 1))
    url=$(new_db "$backend" "$n_db")
    "$BIN" user add "leads-$backend@leadflow.test" --db "$url" >/dev/null 2>&1 || die "user add failed"
    ws=$(query "$url" "SELECT w.id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id JOIN user_profiles u ON u.id = m.user_id WHERE u.email = 'leads-$backend@leadflow.test'")
    $PY "$ROOT/bench/seed_leads.py" "$(seed_target "$url")" "$ws" "$CONTACTS" >"$TMP/seed.out" ||
        die "seeding failed"
    token=$("$BIN" token create --workspace "$ws" --name bench --db "$url" 2>/dev/null)
    PORTS=()
    for servers in 1 2; do
        while [ "${#PORTS[@]}" -lt "$servers" ]; do
            start_server "$url" "$TMP/serve${#PORTS[@]}.log"
        done
        ports=("${PORTS[@]}")
        leads="/api/agents/contact-intelligence?workspaceId=$ws"
        code=$(curl -s -o "$TMP/leads.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
            "http://127.0.0.1:${ports[0]}$leads")
        [ "$code" = 200 ] || die "$backend: contact-intelligence answered $code"
        read -r hz hz99 < <(load /healthz "" "${ports[@]}")
        [ "$hz" != BAD ] || die "$backend: /healthz answered errors"
        read -r lr lr99 < <(load "$leads" "Authorization: Bearer $token" "${ports[@]}")
        [ "$lr" != BAD ] || die "$backend: hot leads answered errors"
        printf '%-10s %-7s %14s %10s %14s %10s %7.0f%%\n' "$backend" "$servers" "$hz" "$hz99" \
            "$lr" "$lr99" "$(calc "100 * $lr / $hz")"
        RESULTS+=("$(printf 'RESULT\thot leads / healthz, %s, %s server(s) (req/s ratio)\t%.2f\t-\thigher' \
            "$(label "$backend")" "$servers" "$(calc "$lr / $hz")")")
    done
    stop_servers
done
echo "(2 cores: the servers, wrk and PostgreSQL share them, so a second server adds little here)"

# -- 3. import ------------------------------------------------------------------
echo
MBOX=$TMP/import.mbox
$PY "$ROOT/scripts/gen_mailbox.py" --count "$MESSAGES" --seed 7 --out "$MBOX"
cat "$MBOX" >/dev/null
echo "import: $MESSAGES generated messages, \`leadflow import\` into an empty workspace"
for backend in sqlite postgres; do
    n_db=$((n_db + 1))
    url=$(new_db "$backend" "$n_db")
    "$BIN" user add "import-$backend@leadflow.test" --db "$url" >/dev/null 2>&1 || die "user add failed"
    ws=$(query "$url" "SELECT w.id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id JOIN user_profiles u ON u.id = m.user_id WHERE u.email = 'import-$backend@leadflow.test'")
    t0=$(date +%s.%N)
    LEADFLOW_LOG_LEVEL=warn "$BIN" import --workspace "$ws" --db "$url" "$MBOX" 2>"$TMP/import.err" ||
        die "import ($backend) failed: $(tail -n 3 "$TMP/import.err")"
    t1=$(date +%s.%N)
    line=$(grep '^imported' "$TMP/import.err") || die "no summary: $(tail -n 3 "$TMP/import.err")"
    rate=$(calc "$MESSAGES / ($t1 - $t0)")
    printf '%-10s %8.2f s %10.0f msg/s (%s)\n' "$backend" "$(calc "$t1 - $t0")" "$rate" "$line"
    if [ "$backend" = postgres ]; then
        RESULTS+=("$(printf 'RESULT\timport, PostgreSQL, %d mbox (msg/s)\t%.0f\t10000\thigher' "$MESSAGES" "$rate")")
    else
        RESULTS+=("$(printf 'RESULT\timport, SQLite, %d mbox, same run (msg/s)\t%.0f\t-\thigher' "$MESSAGES" "$rate")")
    fi
done
rm -f "$MBOX"

# -- 4. drip on PostgreSQL ----------------------------------------------------------
if [ -n "$DBENCH" ]; then
    echo
    n_db=$((n_db + 1))
    url=$(new_db postgres "$n_db")
    BENCH_DB=$url "$ROOT/bench/drip.sh" "$DBENCH" >"$TMP/drip.out" || die "drip.sh on PostgreSQL failed"
    grep -v '^RESULT' "$TMP/drip.out" || true
    RESULTS+=("$(grep '^RESULT' "$TMP/drip.out")")
fi
printf '%s\n' "${RESULTS[@]}"
