#!/usr/bin/env bash
# The email pipeline and the hot-leads API, on SQLite with the offline analyzer.
#
# 1. Throughput: `leadflow import` of a generated 100,000-message mbox
#    (scripts/gen_mailbox.py) into an empty workspace, pinned to one core
#    (taskset -c 0): parse, analyze, link, store, score. Prints emails/s and
#    emails per CPU-second (user + system time of the import process).
# 2. GET /api/agents/contact-intelligence (authenticated with an API token) on a
#    workspace with 100,000 contacts, against GET /healthz in the same run:
#    req/s, p50, p99 and the ratio.
# Prints RESULT lines for bench/table.py: import emails per CPU-second (goal
# >= 20,000), hot leads / healthz (>= 0.80) and hot-leads p99 (< 5 ms).
#
# Usage: bench/pipeline.sh build/leadflow
# Environment: BENCH_MESSAGES (100000), BENCH_CONTACTS (100000), BENCH_SECONDS (10),
# BENCH_CONNECTIONS (64), BENCH_THREADS (2). BENCH_SMALL=1 (a quick check that it
# runs): 2,000 messages, 2,000 contacts, 2 s runs unless set.
set -euo pipefail

if [ -n "${BENCH_SMALL:-}" ]; then
    : "${BENCH_MESSAGES:=2000}" "${BENCH_CONTACTS:=2000}" "${BENCH_SECONDS:=2}"
fi
BIN=${1:?usage: bench/pipeline.sh PATH-TO-leadflow}
MESSAGES=${BENCH_MESSAGES:-100000}
CONTACTS=${BENCH_CONTACTS:-100000}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

command -v wrk >/dev/null || { echo "bench: wrk is not installed" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-pipeline.XXXXXX")
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
die() { echo "bench: FAIL: $*" >&2; exit 1; }

# The first workspace id of a user, read from the database file.
workspace_of() {
    python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(con.execute("SELECT w.id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
                  " JOIN user_profiles u ON u.id = m.user_id WHERE u.email = ?",
                  (sys.argv[2],)).fetchone()[0])
EOF
}

echo "leadflow pipeline bench: $(nproc) cores, $($BIN version | head -n 1)"

# -- 1. import throughput -----------------------------------------------------
MBOX=$TMP/bench.mbox
t0=$(date +%s.%N)
python3 "$ROOT/scripts/gen_mailbox.py" --count "$MESSAGES" --seed 7 --out "$MBOX"
t1=$(date +%s.%N)
size=$(stat -c %s "$MBOX")
calc() { awk "BEGIN { print $* }"; }
printf 'mbox: %d messages, %.1f MB, generated in %.1f s\n' "$MESSAGES" \
    "$(calc "$size / 1048576")" "$(calc "$t1 - $t0")"

# The file is read once first so that the page cache holds it for the timed runs.
cat "$MBOX" >/dev/null
# $1: a short name, $2: the label, then the command prefix (taskset or env).
import_run() {
    local name=$1 label=$2 db=$TMP/import-$1.db ws t0 t1 line secs cpu
    shift 2
    "$BIN" user add "bench-$name@leadflow.test" --db "sqlite:$db" >/dev/null
    ws=$(workspace_of "$db" "bench-$name@leadflow.test")
    t0=$(date +%s.%N)
    # bash's time keyword: user + system seconds of the import, into import.cpu.
    { TIMEFORMAT='%U %S'; time LEADFLOW_LOG_LEVEL=warn "$@" "$BIN" import --workspace "$ws" \
        --db "sqlite:$db" "$MBOX" 2>"$TMP/import.err"; } 2>"$TMP/import.cpu" ||
        die "import failed: $(tail -n 3 "$TMP/import.err")"
    t1=$(date +%s.%N)
    line=$(grep '^imported' "$TMP/import.err") || die "no summary: $(tail -n 3 "$TMP/import.err")"
    [ "$(sed -E 's/^imported ([0-9]+).*/\1/' <<<"$line")" -gt 0 ] || die "nothing imported: $line"
    secs=$(calc "$t1 - $t0")
    cpu=$(awk '{ print $1 + $2 }' "$TMP/import.cpu")
    printf 'import, %s: %d messages in %.2f s = %.0f emails/s, %.2f CPU-s = %.0f emails per CPU-second (%s)\n' \
        "$label" "$MESSAGES" "$secs" "$(calc "$MESSAGES / $secs")" "$cpu" "$(calc "$MESSAGES / $cpu")" "$line"
    [ "$name" != one ] || printf 'RESULT\timport, SQLite (emails per CPU-second)\t%.0f\t20000\thigher\n' \
        "$(calc "$MESSAGES / $cpu")"
    rm -f "$db" "$db-wal" "$db-shm"
}
import_run one "1 core (taskset -c 0)" taskset -c 0
import_run all "$(nproc) cores" env
echo "import: target >= 20000 emails per CPU-second"
rm -f "$MBOX"

# -- 2. hot leads on 100k contacts --------------------------------------------
DB=$TMP/leads.db
"$BIN" user add leads@leadflow.test --db "sqlite:$DB" >/dev/null
WS=$(workspace_of "$DB" leads@leadflow.test)
python3 "$ROOT/bench/seed_leads.py" "$DB" "$WS" "$CONTACTS"
TOKEN=$("$BIN" token create --workspace "$WS" --name bench --db "sqlite:$DB" 2>/dev/null)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$TMP" && LEADFLOW_LOG_LEVEL=warn LEADFLOW_MAX_CONNECTIONS_PER_IP=0 \
    exec "$BIN" serve --listen "127.0.0.1:$PORT" --db "sqlite:$DB" 2>"$TMP/serve.log" >/dev/null) &
PID=$!
BASE=http://127.0.0.1:$PORT
for _ in $(seq 100); do
    kill -0 "$PID" 2>/dev/null || die "the server exited while starting: $(cat "$TMP/serve.log")"
    curl -s -o /dev/null "$BASE/healthz" && break
    sleep 0.1
done
LEADS="/api/agents/contact-intelligence?workspaceId=$WS"
code=$(curl -s -o "$TMP/leads.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE$LEADS")
[ "$code" = 200 ] || die "contact-intelligence answered $code: $(head -c 300 "$TMP/leads.json")"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['data'])==20 and d['meta']['total']>0, d['meta']" "$TMP/leads.json" ||
    die "contact-intelligence returned no leads"

row() {
    local name=$1 path=$2 out rps p50 p99 non2xx
    shift 2
    wrk -t"$THREADS" -c"$CONNS" -d1s "$@" "$BASE$path" >/dev/null 2>&1 || die "warm-up failed"
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$BASE$path" 2>&1) ||
        die "wrk failed: $out"
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    [ -z "$non2xx" ] || die "$name: $non2xx replies were not 2xx"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    printf '%-32s %11s %9s %9s\n' "$name" "$rps" "$p50" "$p99"
    eval "RPS_$name=$rps P99_$name=$(to_ms "$p99")"
}
# wrk's latency (e.g. 812.00us, 1.20ms, 1.01s) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        u = v; sub(/^[0-9.]+/, "", u); n = substr(v, 1, length(v) - length(u)) + 0
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}
echo "wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s --latency, log level warn:"
printf '%-32s %11s %9s %9s\n' endpoint req/s p50 p99
row healthz /healthz
row leads "$LEADS" -H "Authorization: Bearer $TOKEN"
printf 'hot leads / healthz = %.0f%% (target >= 80%%, p99 < 5 ms)\n' \
    "$(calc "100 * $RPS_leads / $RPS_healthz")"
printf 'RESULT\thot leads / healthz, SQLite (req/s ratio)\t%.2f\t0.80\thigher\n' \
    "$(calc "$RPS_leads / $RPS_healthz")"
printf 'RESULT\thot leads p99, SQLite (ms)\t%.2f\t5\tlower\n' "$P99_leads"
awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { printf "rss: VmRSS %d kB, VmHWM %d kB\n", r, h }' \
    /proc/"$PID"/status
