#!/usr/bin/env bash
# The offline analyzer's own cost per email, in CPU time: the word lists
# alone, and the word lists with the learned model's features and prediction
# (what the server runs), over the labelled emails of tests/data/train and
# tests/data/eval (the text each would read), 100 rounds; then over the whole
# bodies of tests/data/train (quoted history and signatures included).
#
# Usage: bench/analyzer.sh build/model-tool
set -euo pipefail
TOOL=${1:?usage: bench/analyzer.sh PATH-TO-model-tool}
cd "$(dirname "$0")/.."
mapfile -t FILES < <(ls tests/data/train/*.jsonl | LC_ALL=C sort)
"$TOOL" bench "${FILES[@]}" tests/data/eval/emails.jsonl
"$TOOL" bench --body "${FILES[@]}"
