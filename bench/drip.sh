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
# BENCH_SMALL=1: 2,000 enrollments unless set.
# Prints a RESULT line for bench/table.py: steps/s against the goal of the
# backend (SQLite >= 10,000/s, PostgreSQL >= 5,000/s).
set -euo pipefail

if [ -n "${BENCH_SMALL:-}" ]; then
    : "${BENCH_ENROLLMENTS:=2000}"
fi
DBENCH=${1:?usage: bench/drip.sh PATH-TO-drip-bench}
N=${BENCH_ENROLLMENTS:-100000}
WORKERS=${BENCH_WORKERS:-2}

die() { echo "bench: FAIL: $*" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-drip.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

if [ -n "${BENCH_DB:-}" ]; then
    WHERE=(--db "$BENCH_DB") BACKEND=${BENCH_DB%%:*} GOAL=-
    case $BACKEND in
    postgres*) BACKEND=PostgreSQL GOAL=5000 ;;
    sqlite) BACKEND=SQLite GOAL=10000 ;;
    esac
else
    WHERE=("$TMP") BACKEND=SQLite GOAL=10000
fi
echo "leadflow drip bench: $(nproc) cores, $N enrollments x 4 steps, $WORKERS workers ($BACKEND)"
OUT=$("$DBENCH" "${WHERE[@]}" "$N" "$WORKERS") || die "drip-bench failed"
sed 's/^/  /' <<<"$OUT"
rate=$(sed -nE 's|.* ([0-9]+) step executions/s$|\1|p' <<<"$OUT")
[ -n "$rate" ] || die "no step execution figure"
echo "drip: $rate step executions/s"
printf 'RESULT\tdrip steps, %s (steps/s)\t%s\t%s\thigher\n' "$BACKEND" "$rate" "$GOAL"
