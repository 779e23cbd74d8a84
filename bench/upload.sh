#!/usr/bin/env bash
# An email upload through the API: the peak resident memory of `leadflow serve`
# while it takes and imports a generated 100,000-message mbox
# (scripts/gen_mailbox.py) sent to POST /api/emails/import, and /healthz and a
# contact write answered meanwhile.
#
# The upload is streamed by curl (-T), so the client holds none of it. The
# import is an import_emails job: the script follows GET /api/jobs/{id} to
# its end (a server that answers the upload with 200 imported it in the
# request). Peak memory is the server's VmHWM (/proc/PID/status) at the end;
# the peaks of its parts, anonymous (RssAnon: heap, stacks) and file-backed
# (RssFile: SQLite's memory-mapped database, the mapped upload, the binary),
# are sampled every 100 ms.
#
# Usage: bench/upload.sh build/leadflow [OTHER-leadflow]
#   With a second binary, both are measured in the same run on the same mbox,
#   side by side (e.g. the main branch's build against this one).
# Environment: BENCH_MESSAGES (100000; BENCH_SMALL=1: 2,000).
# Prints a RESULT line for bench/table.py: this binary's peak RSS (goal < 150 MB).
set -euo pipefail

if [ -n "${BENCH_SMALL:-}" ]; then
    : "${BENCH_MESSAGES:=2000}"
fi
BIN=${1:?usage: bench/upload.sh PATH-TO-leadflow [OTHER-leadflow]}
OTHER=${2:-}
MESSAGES=${BENCH_MESSAGES:-100000}
GOAL_MB=150
ROOT=$(cd "$(dirname "$0")/.." && pwd)
abspath() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
BIN=$(abspath "$BIN")
[ -z "$OTHER" ] || OTHER=$(abspath "$OTHER")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-upload.XXXXXX")
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
calc() { awk "BEGIN { print $* }"; }

MBOX=$TMP/upload.mbox
python3 "$ROOT/scripts/gen_mailbox.py" --count "$MESSAGES" --seed 7 --out "$MBOX"
SIZE=$(stat -c %s "$MBOX")
printf 'mbox: %d messages, %.1f MB\n' "$MESSAGES" "$(calc "$SIZE / 1048576")"

workspace_of() {
    python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(con.execute("SELECT w.id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
                  " JOIN user_profiles u ON u.id = m.user_id WHERE u.email = ?",
                  (sys.argv[2],)).fetchone()[0])
EOF
}

# $1: a name, $2: the binary. Prints one line: name, peak kB, seconds, imported,
# /healthz answers and contact writes made meanwhile and how many were not 2xx.
run() {
    local name=$1 bin=$2 dir=$TMP/$1 db ws token port base code t0 t1 job status hwm
    mkdir -p "$dir"
    db=$dir/bench.db
    "$bin" user add "upload-$name@leadflow.test" --db "sqlite:$db" >/dev/null 2>"$dir/cli.log" ||
        die "$name: user add failed: $(tail -n 3 "$dir/cli.log")"
    ws=$(workspace_of "$db" "upload-$name@leadflow.test")
    token=$("$bin" token create --workspace "$ws" --name bench --db "sqlite:$db" 2>/dev/null)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (cd "$dir" && LEADFLOW_LOG_LEVEL=warn LEADFLOW_MAX_UPLOAD_BYTES=1073741824 \
        exec "$bin" serve --listen "127.0.0.1:$port" --db "sqlite:$db" 2>"$dir/serve.log" >/dev/null) &
    PID=$!
    base=http://127.0.0.1:$port
    for _ in $(seq 100); do
        kill -0 "$PID" 2>/dev/null || die "$name: the server exited while starting: $(cat "$dir/serve.log")"
        curl -s -o /dev/null "$base/healthz" && break
        sleep 0.1
    done
    # Meanwhile: /healthz and a contact write, one after the other, until told to stop.
    (
        i=0
        while [ ! -e "$dir/stop" ]; do
            curl -s -o /dev/null -w '%{http_code}\n' -m 30 "$base/healthz" >>"$dir/health"
            curl -s -o /dev/null -w '%{http_code}\n' -m 30 -H "Authorization: Bearer $token" \
                -H 'Content-Type: application/json' \
                -d "{\"email\":\"w$i@writer.example\"}" "$base/api/contacts?workspaceId=$ws" \
                >>"$dir/writes"
            i=$((i + 1))
            sleep 0.05
        done
    ) &
    local probe=$!
    (
        ma=0 mf=0
        while kill -0 "$PID" 2>/dev/null && [ ! -e "$dir/stop" ]; do
            read -r a f < <(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { print a + 0, f + 0 }' \
                /proc/"$PID"/status 2>/dev/null || echo "0 0")
            [ "$a" -gt "$ma" ] && ma=$a
            [ "$f" -gt "$mf" ] && mf=$f
            echo "$ma $mf" >"$dir/peaks"
            sleep 0.1
        done
    ) &
    local sampler=$!
    t0=$(date +%s.%N)
    code=$(curl -s -o "$dir/reply.json" -w '%{http_code}' -X POST -T "$MBOX" \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/mbox' \
        "$base/api/emails/import?workspaceId=$ws")
    case $code in
    200) status=done ;;
    202)
        job=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["id"])' "$dir/reply.json")
        while :; do
            curl -s -o "$dir/job.json" -H "Authorization: Bearer $token" "$base/api/jobs/$job?workspaceId=$ws"
            status=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["status"])' "$dir/job.json")
            [ "$status" = done ] || [ "$status" = dead ] && break
            kill -0 "$PID" 2>/dev/null || die "$name: the server died during the import"
            sleep 0.2
        done
        ;;
    *) die "$name: the upload answered $code: $(head -c 300 "$dir/reply.json")" ;;
    esac
    t1=$(date +%s.%N)
    touch "$dir/stop"
    wait "$probe" "$sampler"
    [ "$status" = done ] || die "$name: the import job ended $status: $(head -c 300 "$dir/job.json")"
    hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$PID"/status)
    kill -TERM "$PID"
    wait "$PID" || true
    PID=""
    local stored
    stored=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM emails").fetchone()[0])' "$db")
    local anon file
    read -r anon file <"$dir/peaks"
    printf '%-8s %9.1f %9.1f %9.1f %8.1f %8d %8d/%-6d %8d/%-6d\n' "$name" "$(calc "$hwm / 1024")" \
        "$(calc "$anon / 1024")" "$(calc "$file / 1024")" "$(calc "$t1 - $t0")" "$stored" \
        "$(grep -vc '^200$' "$dir/health" || true)" "$(wc -l <"$dir/health")" \
        "$(grep -vc '^201$' "$dir/writes" || true)" "$(wc -l <"$dir/writes")"
    eval "HWM_$name=$hwm"
}

echo "POST /api/emails/import of the mbox, SQLite, log level warn:"
printf '%-8s %9s %9s %9s %8s %8s %15s %15s\n' binary "peak MB" "anon MB" "file MB" seconds stored \
    "healthz non-200" "writes non-201"
[ -z "$OTHER" ] || run other "$OTHER"
run this "$BIN"
printf 'peak RSS while importing %d emails through the API: %.1f MB (goal < %d MB)\n' \
    "$MESSAGES" "$(calc "$HWM_this / 1024")" "$GOAL_MB"
printf 'RESULT\tpeak RSS, importing %d emails through the API (MB)\t%.1f\t%d\tlower\n' \
    "$MESSAGES" "$(calc "$HWM_this / 1024")" "$GOAL_MB"
if [ -n "$OTHER" ]; then
    printf 'peak RSS, this / other = %.2f\n' "$(calc "$HWM_this / $HWM_other")"
fi
