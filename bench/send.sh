#!/usr/bin/env bash
# Send-chain throughput: messages/s through send_chain_send() (SendGrid
# request body, libcurl with a reused connection per thread, reply handling)
# to an in-process C receiver that answers 202 at once. Links bench/send_bench.c
# against the library next to the given binary.
#
# Usage: bench/send.sh build/leadflow
# Environment: BENCH_SEND_MESSAGES (50000), BENCH_SEND_THREADS (2).
set -euo pipefail

BIN=${1:?usage: bench/send.sh PATH-TO-leadflow}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIB=$(cd "$(dirname "$BIN")" && pwd)/libleadflow.a
MESSAGES=${BENCH_SEND_MESSAGES:-50000}
THREADS=${BENCH_SEND_THREADS:-2}
PKGS="libmicrohttpd jansson sqlite3 libsodium openssl inih libcurl cjose gmime-3.0"
[ -f "$LIB" ] || { echo "bench: $LIB not found (run make first)" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-send.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# shellcheck disable=SC2086
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -I"$ROOT/src" $(pkg-config --cflags $PKGS) \
    "$ROOT/bench/send_bench.c" "$LIB" $(pkg-config --libs $PKGS) -lpthread -lm \
    -o "$TMP/send_bench"
echo "leadflow send bench: $(nproc) cores"
"$TMP/send_bench" "$MESSAGES" "$THREADS"
