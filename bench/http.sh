#!/usr/bin/env bash
# HTTP throughput and latency on loopback, measured with wrk: GET /healthz (a
# JSON reply with a database round trip) and GET /no-such-route (the static
# 404 envelope). The server runs once per log level: "info" writes an access
# log line per request, "warn" does not, so the two rows show what logging
# costs. Fails loudly when a reply has the wrong status.
#
# Usage: bench/http.sh build/leadflow
# Environment: BENCH_SECONDS (10, per endpoint and level), BENCH_CONNECTIONS
# (64), BENCH_THREADS (2), BENCH_LEVELS ("info warn"). The defaults finish in
# about 45 seconds. BENCH_SMALL=1: 2 s runs unless set.
# Prints a RESULT line per row for bench/table.py (req/s, no goal: the goal
# compares hot leads with /healthz, in bench/pipeline.sh).
set -euo pipefail

if [ -n "${BENCH_SMALL:-}" ]; then
    : "${BENCH_SECONDS:=2}"
fi
BIN=${1:?usage: bench/http.sh PATH-TO-leadflow}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
LEVELS=${BENCH_LEVELS:-info warn}
WARMUP_SECONDS=1

command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench: curl is not installed" >&2; exit 1; }
[ -x "$BIN" ] || { echo "bench: $BIN is not an executable" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-bench.XXXXXX")
PID=""
LOG=""

stop_server() {
    [ -n "$PID" ] || return 0
    if kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$PID" 2>/dev/null; then
            echo "bench: server $PID ignored SIGTERM for 5 s; sending SIGKILL" >&2
            kill -KILL "$PID" 2>/dev/null || true
        fi
    fi
    local rc=0
    wait "$PID" 2>/dev/null || rc=$?
    [ "$rc" -eq 0 ] || echo "bench: the server exited with status $rc after SIGTERM" >&2
    PID=""
}

cleanup() {
    stop_server
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "bench: FAIL: $*" >&2
    if [ -n "$LOG" ] && [ -s "$LOG" ]; then
        echo "bench: last server log lines:" >&2
        tail -n 5 "$LOG" >&2
    fi
    exit 1
}

# The port of the server's listening TCP socket, from its log line, or (when
# the level hides that line) from the socket inodes in /proc/PID/fd.
find_port() {
    local p
    p=$(grep '"event":"server.listening"' "$LOG" 2>/dev/null | grep -o '"port":[0-9]*' |
        head -n 1 | cut -d: -f2) || true
    if [ -n "$p" ]; then
        echo "$p"
        return
    fi
    local inodes hex
    inodes=$(for fd in /proc/"$PID"/fd/*; do readlink "$fd"; done 2>/dev/null |
        sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ') || true
    [ -n "$inodes" ] || return 0
    # /proc/net/tcp: local_address is HEXIP:HEXPORT, state 0A is LISTEN, field 10 the inode.
    hex=$(awk -v inodes="$inodes" 'BEGIN { n = split(inodes, a, " "); for (i = 1; i <= n; i++) s[a[i]] = 1 }
        $4 == "0A" && ($10 in s) { split($2, l, ":"); print l[2]; exit }' \
        /proc/"$PID"/net/tcp /proc/"$PID"/net/tcp6 2>/dev/null) || true
    [ -n "$hex" ] && echo $((16#$hex))
    return 0
}

start_server() {
    local level=$1
    local dir=$TMP/$level
    mkdir -p "$dir"
    LOG=$dir/server.log
    # cwd is the temp dir, so web_dir ("web") does not exist and unknown
    # paths get the router's JSON 404 rather than a static file.
    # wrk's connections all come from one address: no per-address limit.
    (cd "$dir" && LEADFLOW_LOG_LEVEL=$level LEADFLOW_MAX_CONNECTIONS_PER_IP=0 \
        exec "$BIN" serve --listen 127.0.0.1:0 --db "sqlite:$dir/bench.db" 2>"$LOG" >/dev/null) &
    PID=$!
    PORT=""
    for _ in $(seq 100); do
        kill -0 "$PID" 2>/dev/null || die "the server exited while starting (log level $level)"
        PORT=$(find_port)
        [ -n "$PORT" ] && break
        sleep 0.1
    done
    [ -n "$PORT" ] || die "the server did not start listening within 10 s"
    BASE=http://127.0.0.1:$PORT
}

# Checks one reply by hand before loading the endpoint: status and JSON type.
check_once() {
    local path=$1 want=$2 got
    got=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$BASE$path") ||
        die "curl $BASE$path failed"
    [ "${got%% *}" = "$want" ] || die "GET $path answered ${got%% *}, expected $want"
    case "${got#* }" in
    application/json*) ;;
    *) die "GET $path answered Content-Type '${got#* }', expected application/json" ;;
    esac
}

# After a run: every request the server counted on this route had status
# want (the server's own per-status counters in /metrics).
check_metrics() {
    local route=$1 want=$2 bad
    bad=$(curl -s "$BASE/metrics" | grep "^leadflow_http_requests_total{route=\"$route\"," |
        grep -v "code=\"$want\"}" | awk '$2 != "0"') || true
    [ -z "$bad" ] || die "route $route answered other statuses than $want: $bad"
}

# wrk's latency (e.g. 812.00us, 1.20ms, 1.01s) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        u = v; sub(/^[0-9.]+/, "", u); n = substr(v, 1, length(v) - length(u)) + 0
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

# Runs wrk against path; prints one table row and checks the statuses.
run_row() {
    local level=$1 path=$2 want=$3 out rps p50 p99 total non2xx sockerr
    out=$(timeout $((SECONDS_PER_RUN + 15)) wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_PER_RUN}s" \
        --latency "$BASE$path" 2>&1) || die "wrk failed on $path: $out"
    kill -0 "$PID" 2>/dev/null || die "the server died during the run on $path"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    total=$(awk '/requests in/ { print $1 }' <<<"$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    sockerr=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' <<<"$out")
    non2xx=${non2xx:-0}
    sockerr=${sockerr:-0}
    if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ] || [ -z "$total" ]; then
        die "cannot read wrk's output for $path: $out"
    fi
    [ "$total" -gt 0 ] || die "no request completed on $path"
    if [ "$want" = 200 ]; then
        [ "$non2xx" -eq 0 ] || die "$path: $non2xx of $total replies were not 2xx/3xx"
    else
        [ "$non2xx" -eq "$total" ] || die "$path: only $non2xx of $total replies were errors"
    fi
    local route=$path
    [ "$want" = 404 ] && route=unmatched
    check_metrics "$route" "$want"
    printf '%-6s %-19s %11s %9s %9s %10s %9s %8s  all %s\n' "$level" "GET $path" "$rps" \
        "$(to_ms "$p50")" "$(to_ms "$p99")" "$total" "$non2xx" "$sockerr" "$want"
    RESULTS+=("$(printf 'RESULT\tGET %s, log %s (req/s)\t%s\t-\thigher' "$path" "$level" "$rps")")
}

started=$(date +%s)
echo "leadflow bench: wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s --latency, 127.0.0.1," \
    "$(nproc) cores, $($BIN version 2>/dev/null | head -n 1 || echo "$BIN")"
printf '%-6s %-19s %11s %9s %9s %10s %9s %8s  %s\n' log endpoint req/s p50_ms p99_ms requests \
    non2xx3xx sockerr status
rss_lines=()
RESULTS=()
for level in $LEVELS; do
    start_server "$level"
    check_once /healthz 200
    check_once /no-such-route 404
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP_SECONDS}s" "$BASE/healthz" >/dev/null 2>&1 ||
        die "wrk warm-up failed"
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP_SECONDS}s" "$BASE/no-such-route" >/dev/null 2>&1 ||
        die "wrk warm-up failed"
    run_row "$level" /healthz 200
    run_row "$level" /no-such-route 404
    rss=$(awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } /^Threads:/ { t = $2 }
        END { printf "VmRSS %d kB, VmHWM (peak) %d kB, %d threads", r, h, t }' /proc/"$PID"/status)
    rss_lines+=("rss    log=$level: $rss")
    stop_server
    LOG=""
done
printf '%s\n' "${rss_lines[@]}"
printf '%s\n' "${RESULTS[@]}"
echo "bench: done in $(($(date +%s) - started)) s"
