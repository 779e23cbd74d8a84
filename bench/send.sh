#!/usr/bin/env bash
# The real send path on SQLite: POST /api/emails/send -> the send_email job ->
# a worker -> SendGrid's Mail Send API, served by a fast local fake
# (bench/fake_sendgrid.c: keep-alive, answers 202 at once, counts requests).
#
# A fresh database gets BENCH_SEND_MESSAGES contacts (CSV import), then one
# email per contact is queued through the API (curl --parallel, keep-alive)
# with a link in the text and the HTML, so every email is tracked (pixel,
# rewritten links, unsubscribe URL). Measured: messages per second from the
# first queue request to the last request at the fake, and the server's CPU
# seconds (user + system, /proc/PID/stat) over the same window, per message.
#
# Then, for the client alone, bench/send_bench.c: send_chain_send() (request
# body, libcurl with a reused connection per thread, reply handling) to an
# in-process receiver, linked against the library next to the binary.
#
# Usage: bench/send.sh build/leadflow [OTHER-leadflow]
#   With a second binary (e.g. the main branch's build), both are measured
#   in the same run, alternately, and the ratio is printed.
# Environment: BENCH_SEND_MESSAGES (20000), BENCH_SEND_ROUNDS (1; the best
# round of each binary counts), BENCH_SEND_PARALLEL (8 queueing connections),
# BENCH_SEND_PERF (a path: the server is profiled with perf record -g into
# PATH.this and PATH.other), BENCH_SEND_CHAIN_MESSAGES (50000; 0: no client
# figure), BENCH_SEND_THREADS (2, client threads).
set -euo pipefail

BIN=${1:?usage: bench/send.sh PATH-TO-leadflow [OTHER-leadflow]}
OTHER=${2:-}
MESSAGES=${BENCH_SEND_MESSAGES:-20000}
ROUNDS=${BENCH_SEND_ROUNDS:-1}
PARALLEL=${BENCH_SEND_PARALLEL:-8}
GOAL=5000
ROOT=$(cd "$(dirname "$0")/.." && pwd)
abspath() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
BIN=$(abspath "$BIN")
[ -z "$OTHER" ] || OTHER=$(abspath "$OTHER")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-send.XXXXXX")
PID="" FAKE=""
stop() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() {
    stop "$PID"
    stop "$FAKE"
    rm -rf "$TMP"
}
trap cleanup EXIT
die() { echo "bench: FAIL: $*" >&2; exit 1; }
calc() { awk "BEGIN { print $* }"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 "$ROOT/bench/fake_sendgrid.c" -lpthread \
    -o "$TMP/fake_sendgrid"

python3 - "$MESSAGES" >"$TMP/contacts.csv" <<'EOF'
import sys
print("Email,Name")
for i in range(int(sys.argv[1])):
    print(f"lead{i}@bench.example,Lead {i}")
EOF

sqlq() {
    python3 - "$@" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for row in con.execute(sys.argv[2], sys.argv[3:]):
    print("\t".join(str(v) for v in row))
EOF
}

# $1: a name, $2: the binary. Sets MSGS_<name>, CPU_<name> (ms per message).
run() {
    local name=$1 bin=$2 dir=$TMP/$1 db ws token port base key fport
    rm -rf "$dir"
    mkdir -p "$dir"
    db=$dir/bench.db
    key="SG.bench-$RANDOM$RANDOM"
    "$TMP/fake_sendgrid" "$key" "$MESSAGES" "$dir/delivered" >"$dir/fake.port" &
    FAKE=$!
    for _ in $(seq 50); do [ -s "$dir/fake.port" ] && break; sleep 0.1; done
    fport=$(head -n 1 "$dir/fake.port")
    "$bin" user add "send-$name@leadflow.test" --db "sqlite:$db" >/dev/null 2>"$dir/cli.log" ||
        die "$name: user add failed: $(tail -n 3 "$dir/cli.log")"
    ws=$(sqlq "$db" "SELECT w.id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id
                     JOIN user_profiles u ON u.id = m.user_id WHERE u.email = ?" \
        "send-$name@leadflow.test")
    token=$("$bin" token create --workspace "$ws" --name bench --db "sqlite:$db" 2>/dev/null)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (cd "$dir" && LEADFLOW_LOG_LEVEL=warn LEADFLOW_MAIL_FROM="Acme Sales <sales@acme.example>" \
        LEADFLOW_SECRET_KEY="bench-secret-key-0123456789abcdef0123" \
        LEADFLOW_SENDGRID_API_KEY="$key" LEADFLOW_SENDGRID_API_URL="http://127.0.0.1:$fport" \
        LEADFLOW_PUBLIC_URL="https://crm.acme.example" \
        exec "$bin" serve --listen "127.0.0.1:$port" --db "sqlite:$db" 2>"$dir/serve.log" >/dev/null) &
    PID=$!
    base=http://127.0.0.1:$port
    for _ in $(seq 100); do
        kill -0 "$PID" 2>/dev/null || die "$name: the server exited while starting: $(cat "$dir/serve.log")"
        curl -s -o /dev/null "$base/healthz" && break
        sleep 0.1
    done
    curl -sf -o "$dir/import.json" -X POST --data-binary "@$TMP/contacts.csv" -H 'Content-Type: text/csv' \
        -H "Authorization: Bearer $token" "$base/api/contacts/import?workspaceId=$ws" ||
        die "$name: the contact import failed: $(head -c 300 "$dir/import.json")"
    # Waits for an import that went to a job.
    for _ in $(seq 600); do
        [ "$(sqlq "$db" "SELECT COUNT(*) FROM contacts WHERE workspace_id = ?" "$ws")" -ge "$MESSAGES" ] && break
        sleep 0.1
    done
    sqlq "$db" "SELECT id FROM contacts WHERE workspace_id = ? LIMIT ?" "$ws" "$MESSAGES" |
        awk -v base="$base" -v ws="$ws" -v token="$token" '{
            if (NR > 1)
                print "next"
            print "silent"
            print "show-error"
            printf "url = \"%s/api/emails/send?workspaceId=%s\"\n", base, ws
            print "header = \"Content-Type: application/json\""
            printf "header = \"Authorization: Bearer %s\"\n", token
            printf "data = \"{\\\"contactId\\\":\\\"%s\\\",\\\"subject\\\":\\\"Your pricing question\\\",", $1
            printf "\\\"text\\\":\\\"Hello, the prices: https://acme.example/p\\\","
            printf "\\\"html\\\":\\\"<p>Hello, the <a href=\\\\\\\"https://acme.example/p\\\\\\\">prices</a></p>\\\"}\"\n"
            print "output = \"/dev/null\""
            print "write-out = \"%{http_code}\\n\""
        }' >"$dir/queue.cfg"
    [ "$(grep -c '^url' "$dir/queue.cfg")" -eq "$MESSAGES" ] || die "$name: $MESSAGES contacts were not imported"
    local c0 c1 t0 t1 first last n
    local perf=""
    if [ -n "${BENCH_SEND_PERF:-}" ]; then
        perf record -q --call-graph dwarf,16384 -F 499 -o "$BENCH_SEND_PERF.$name" -p "$PID" 2>/dev/null &
        perf=$!
    fi
    c0=$(cpu_ticks "$PID")
    t0=$(date +%s%N)
    curl -s -Z --parallel-max "$PARALLEL" -K "$dir/queue.cfg" >"$dir/codes" 2>"$dir/curl.err" || true
    t1=$(date +%s%N)
    n=$(grep -c '^202$' "$dir/codes" || true)
    [ "$n" -eq "$MESSAGES" ] || die "$name: $n of $MESSAGES queued with 202 ($(sort "$dir/codes" | uniq -c | tr '\n' ' ') $(sort "$dir/curl.err" | uniq -c | head -n 3))"
    for _ in $(seq 1200); do
        [ -s "$dir/delivered" ] && break
        kill -0 "$PID" 2>/dev/null || die "$name: the server died while sending"
        sleep 0.1
    done
    [ -s "$dir/delivered" ] || die "$name: not all delivered in 120 s ($(tail -n 3 "$dir/serve.log"))"
    c1=$(cpu_ticks "$PID")
    if [ -n "$perf" ]; then
        kill -INT "$perf"
        wait "$perf" || true
    fi
    read -r n first last <"$dir/delivered"
    local secs cpu
    secs=$(calc "($last - $t0) / 1e9")
    cpu=$(calc "($c1 - $c0) / $HZ")
    printf '%-6s %8d %10.2f %10.2f %10.0f %10.2f %10.0f\n' "$name" "$MESSAGES" \
        "$(calc "($t1 - $t0) / 1e9")" "$secs" "$(calc "$MESSAGES / $secs")" "$cpu" \
        "$(calc "$cpu * 1e6 / $MESSAGES")"
    local best
    best=$(eval "echo \${MSGS_$name:-0}")
    if awk "BEGIN { exit !($MESSAGES / $secs > $best) }"; then
        eval "MSGS_$name=$(calc "$MESSAGES / $secs")"
        eval "CPU_$name=$(calc "$cpu * 1e6 / $MESSAGES")"
    fi
    stop "$PID"
    PID=""
    local unsent
    unsent=$(sqlq "$db" "SELECT COUNT(*) FROM sent_emails WHERE status <> 'sent'")
    [ "$unsent" -eq 0 ] || die "$name: $unsent emails are not sent"
    stop "$FAKE"
    FAKE=""
}

echo "leadflow send bench: $(nproc) cores, $($BIN version | head -n 1)"
echo "POST /api/emails/send -> worker -> fake SendGrid, SQLite, $PARALLEL queueing connections:"
printf '%-6s %8s %10s %10s %10s %10s %10s\n' binary emails "queued s" "total s" "msg/s" "cpu s" \
    "cpu us/msg"
for _ in $(seq "$ROUNDS"); do
    [ -z "$OTHER" ] || run other "$OTHER"
    run this "$BIN"
done
printf 'send path, SQLite: %.0f msg/s, %.0f us of server CPU per message (goal >= %d msg/s)\n' \
    "$MSGS_this" "$CPU_this" "$GOAL"
if [ -n "$OTHER" ]; then
    printf 'other binary: %.0f msg/s, %.0f us of CPU per message; this / other = %.2f\n' \
        "$MSGS_other" "$CPU_other" "$(calc "$MSGS_this / $MSGS_other")"
fi
printf 'RESULT\tsend path, SQLite (msg/s)\t%.0f\t%d\thigher\n' "$MSGS_this" "$GOAL"

CHAIN=${BENCH_SEND_CHAIN_MESSAGES:-50000}
LIB=$(dirname "$BIN")/libleadflow.a
if [ "$CHAIN" -gt 0 ] && [ -f "$LIB" ]; then
    PKGS="libmicrohttpd jansson sqlite3 libpq libsodium openssl inih libcurl cjose gmime-3.0"
    # shellcheck disable=SC2086
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -I"$ROOT/src" $(pkg-config --cflags $PKGS) \
        "$ROOT/bench/send_bench.c" "$LIB" $(pkg-config --libs $PKGS) -lwslay -lpthread -lm \
        -o "$TMP/send_bench"
    echo "the client alone (send_chain_send to an in-process receiver, no database):"
    "$TMP/send_bench" "$CHAIN" "${BENCH_SEND_THREADS:-2}"
fi
