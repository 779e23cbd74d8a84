#!/usr/bin/env bash
# Runs one bench script for `make bench`: its output (stdout and stderr) is
# shown and kept in OUTDIR/NAME.out, where bench/table.py collects the RESULT
# lines. A script that fails is named in OUTDIR/failed and the next one still
# runs, so the summary table shows every figure that was measured.
#
# Usage: bench/run.sh OUTDIR SCRIPT [ARG...]   (SCRIPT: a file in bench/, e.g. http.sh)
set -uo pipefail

OUT=${1:?usage: bench/run.sh OUTDIR SCRIPT [ARG...]}
SCRIPT=${2:?usage: bench/run.sh OUTDIR SCRIPT [ARG...]}
shift 2
mkdir -p "$OUT"
name=${SCRIPT%.sh}
"$(dirname "$0")/$SCRIPT" "$@" 2>&1 | tee "$OUT/$name.out"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
    echo "bench: $SCRIPT exited with status $rc" >&2
    echo "$SCRIPT" >>"$OUT/failed"
fi
exit 0
