#!/usr/bin/env bash
# The durable job queue against BullMQ, in one run, on the same machine:
# 100,000 no-op jobs enqueued, claimed, run and acknowledged.
#
# 1. leadflow: build/queue-bench (bench/queue_bench.c linked with
#    libleadflow.a: the real jobs/queue.c on the SQLite store) with
#    BENCH_WORKERS threads. SQLite: WAL, synchronous=NORMAL: a committed job
#    survives a crash of the process; a power loss may undo the last commits.
# 2. BullMQ (bench/bullmq, npm) on Debian's redis-server started on a free
#    port in a temporary directory with appendonly yes, appendfsync everysec
#    (the closest durable setting: a crash of Redis loses nothing written to
#    the kernel, a power loss up to a second).
# Each side runs enqueue-then-drain and concurrent produce/consume; the ratios
# leadflow / BullMQ are printed last (target >= 2x).
#
# Usage: bench/queue.sh build/queue-bench
# Environment: BENCH_JOBS (100000), BENCH_WORKERS (2), BENCH_BULLMQ_CONCURRENCY (16),
# BENCH_BATCH (1000, jobs per enqueue transaction / addBulk), BENCH_CBATCH (100, the same
# while consuming). BENCH_SMALL=1: 5,000 jobs unless set.
# Prints RESULT lines for bench/table.py: leadflow / BullMQ for each mode (goal >= 2).
set -euo pipefail

if [ -n "${BENCH_SMALL:-}" ]; then
    : "${BENCH_JOBS:=5000}"
fi
QBENCH=${1:?usage: bench/queue.sh PATH-TO-queue-bench}
JOBS=${BENCH_JOBS:-100000}
WORKERS=${BENCH_WORKERS:-2}
CONCURRENCY=${BENCH_BULLMQ_CONCURRENCY:-16}
BATCH=${BENCH_BATCH:-1000}
CBATCH=${BENCH_CBATCH:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QBENCH=$(cd "$(dirname "$QBENCH")" && pwd)/$(basename "$QBENCH")

die() { echo "bench: FAIL: $*" >&2; exit 1; }
command -v redis-server >/dev/null || die "redis-server is not installed (scripts/deps.sh --bench)"
command -v node >/dev/null && command -v npm >/dev/null ||
    die "node and npm are not installed (scripts/deps.sh --bench)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-queue.XXXXXX")
RPID=""
cleanup() {
    if [ -n "$RPID" ] && kill -0 "$RPID" 2>/dev/null; then
        kill -TERM "$RPID" 2>/dev/null || true
        wait "$RPID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

if [ ! -d "$ROOT/bench/bullmq/node_modules/bullmq" ]; then
    echo "bench: installing BullMQ (npm ci in bench/bullmq)" >&2
    (cd "$ROOT/bench/bullmq" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        die "npm ci failed in bench/bullmq"
fi

echo "leadflow queue bench: $(nproc) cores, $JOBS no-op jobs per run"

# -- 1. leadflow ----------------------------------------------------------------
echo "leadflow (SQLite WAL, synchronous=NORMAL; $WORKERS worker threads):"
mkdir -p "$TMP/leadflow"
LF=$("$QBENCH" "$TMP/leadflow" "$JOBS" "$WORKERS" "$BATCH" "$CBATCH") || die "queue-bench failed"
sed 's/^/  /' <<<"$LF"
rm -rf "$TMP/leadflow"

# -- 2. BullMQ ------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$TMP/redis"
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$TMP/redis" --appendonly yes \
    --appendfsync everysec --save "" --daemonize no --logfile "$TMP/redis/redis.log" &
RPID=$!
for _ in $(seq 100); do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
    kill -0 "$RPID" 2>/dev/null || die "redis-server exited: $(tail -n 5 "$TMP/redis/redis.log")"
    sleep 0.1
done
echo "BullMQ $(node -p 'require(process.argv[1]).version' "$ROOT/bench/bullmq/node_modules/bullmq/package.json")" \
    "on redis-server $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/')" \
    "(appendonly yes, appendfsync everysec; 1 Worker, concurrency $CONCURRENCY):"
BQ=$(cd "$ROOT/bench/bullmq" && node bench.js "$PORT" "$JOBS" "$CONCURRENCY" "$BATCH" "$CBATCH") ||
    die "the BullMQ bench failed"
sed 's/^/  /' <<<"$BQ"

# -- the ratios -----------------------------------------------------------------
rate() { sed -nE "s|^$1.* ([0-9]+) jobs/s$|\1|p" <<<"$2" | head -n 1; }
for what in enqueue-then-drain "concurrent produce/consume"; do
    a=$(rate "$what" "$LF")
    b=$(rate "$what" "$BQ")
    [ -n "$a" ] && [ -n "$b" ] || die "no $what figure"
    awk -v w="$what" -v a="$a" -v b="$b" \
        'BEGIN { printf "%s: leadflow %d jobs/s, BullMQ %d jobs/s = %.1fx (target >= 2x)\n", w, a, b, a / b
                 printf "RESULT\tjob queue / BullMQ, %s (x)\t%.2f\t2\thigher\n", w, a / b }'
done
