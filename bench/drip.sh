#!/usr/bin/env bash
# Drip campaign step executions per second on SQLite, no network:
# build/drip-bench (bench/drip_bench.c linked with libleadflow.a: the real
# drip/run.c "drip_step" jobs on jobs/queue.c and the SQLite store) enrolls
# BENCH_ENROLLMENTS contacts into a campaign of tag, score, wait (1 ms) and
# condition steps, then BENCH_WORKERS worker threads execute every step.
# SQLite: WAL, synchronous=NORMAL, as `leadflow serve` runs it.
#
# Usage: bench/drip.sh build/drip-bench
# Environment: BENCH_ENROLLMENTS (100000), BENCH_WORKERS (2), BENCH_DB (a --db URL
# instead of a new SQLite file: an empty or migrated database, e.g. PostgreSQL).
set -euo pipefail

DBENCH=${1:?usage: bench/drip.sh PATH-TO-drip-bench}
N=${BENCH_ENROLLMENTS:-100000}
WORKERS=${BENCH_WORKERS:-2}

die() { echo "bench: FAIL: $*" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-drip.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

if [ -n "${BENCH_DB:-}" ]; then
    WHERE=(--db "$BENCH_DB") BACKEND=${BENCH_DB%%:*}
else
    WHERE=("$TMP") BACKEND=SQLite
fi
echo "leadflow drip bench: $(nproc) cores, $N enrollments x 4 steps, $WORKERS workers ($BACKEND)"
OUT=$("$DBENCH" "${WHERE[@]}" "$N" "$WORKERS") || die "drip-bench failed"
sed 's/^/  /' <<<"$OUT"
rate=$(sed -nE 's|.* ([0-9]+) step executions/s$|\1|p' <<<"$OUT")
[ -n "$rate" ] || die "no step execution figure"
echo "drip: $rate step executions/s"
