#!/usr/bin/env bash
# Alert processor throughput through a real product path: `leadflow import`
# of an mbox of BENCH_ALERT_EVENTS complaint emails from BENCH_ALERT_SENDERS
# senders into a workspace with one complaint rule (every email is an event
# for the processor: one alert per sender, the rest suppressed within the
# window), against the same import with no rule. Prints events/s and the
# processor's share of the time.
#
# Event -> last WebSocket client latency with 1,000 dashboards is measured
# by bench/ws.sh (its "alerts to dashboards" part), which has the clients.
#
# Usage: bench/alerts.sh build/leadflow
# Environment: BENCH_ALERT_EVENTS (50000), BENCH_ALERT_SENDERS (100); BENCH_SMALL=1:
# 2,000 events unless set. Prints a RESULT line (end-to-end events/s, no goal).
set -euo pipefail

if [ -n "${BENCH_SMALL:-}" ]; then
    : "${BENCH_ALERT_EVENTS:=2000}"
fi
BIN=${1:?usage: bench/alerts.sh PATH-TO-leadflow}
EVENTS=${BENCH_ALERT_EVENTS:-50000}
SENDERS=${BENCH_ALERT_SENDERS:-100}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-alerts.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
die() { echo "bench: FAIL: $*" >&2; exit 1; }
calc() { awk "BEGIN { print $* }"; }

echo "leadflow alerts bench: $(nproc) cores, $($BIN version | head -n 1)"
python3 - "$TMP/events.mbox" "$EVENTS" "$SENDERS" <<'PY'
import sys
path, n, senders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = ("This is unacceptable. I want to file a complaint: your product is broken "
        "and I am very disappointed.")
with open(path, "w") as f:
    for i in range(n):
        f.write(f"From bench@example.test Thu Jan  1 00:00:00 2026\n"
                f"From: buyer{i % senders}@customer.example\nTo: sales@ourteam.example\n"
                f"Subject: Broken {i}\nMessage-ID: <bench-{i}@customer.example>\n"
                f"Date: Thu, 1 Jan 2026 00:00:00 +0000\n\n{body}\n\n")
PY

# $1: name, $2: "rule" to add a complaint rule first.
run() {
    local db=$TMP/$1.db ws t0 t1 secs
    "$BIN" user add "bench-$1@leadflow.test" --db "sqlite:$db" >/dev/null 2>&1
    ws=$(python3 - "$db" "$2" <<'PY'
import sqlite3, sys, time, uuid
con = sqlite3.connect(sys.argv[1])
ws = con.execute("SELECT id FROM workspaces").fetchone()[0]
if sys.argv[2] == "rule":
    now = int(time.time() * 1000)
    con.execute("INSERT INTO alert_rules (id, workspace_id, name, trigger, channels, created_at,"
                " updated_at) VALUES (?, ?, 'bench', 'complaint', '[{\"type\":\"in_app\"}]', ?, ?)",
                (str(uuid.uuid4()), ws, now, now))
    con.commit()
print(ws)
PY
)
    t0=$(date +%s.%N)
    LEADFLOW_LOG_LEVEL=warn "$BIN" import --workspace "$ws" --db "sqlite:$db" "$TMP/events.mbox" \
        2>"$TMP/import.err" || die "import failed: $(tail -n 3 "$TMP/import.err")"
    t1=$(date +%s.%N)
    secs=$(calc "$t1 - $t0")
    echo "$secs" >"$TMP/$1.secs"
    python3 - "$db" <<'PY' >"$TMP/$1.alerts"
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(*con.execute("SELECT COUNT(*), COALESCE(SUM(suppressed), 0) FROM alerts").fetchone())
PY
}
run plain none
run rule rule
read -r alerts suppressed <"$TMP/rule.alerts"
[ "$alerts" -eq "$SENDERS" ] || die "expected $SENDERS alerts, got $alerts"
[ "$((alerts + suppressed))" -eq "$EVENTS" ] || die "alerts + suppressed = $((alerts + suppressed))"
plain=$(cat "$TMP/plain.secs")
rule=$(cat "$TMP/rule.secs")
printf 'import without a rule: %d emails in %.2f s\n' "$EVENTS" "$plain"
printf 'import with a complaint rule: %d events in %.2f s = %.0f events/s end to end;' \
    "$EVENTS" "$rule" "$(calc "$EVENTS / $rule")"
printf ' %d alerts, %d suppressed\n' "$alerts" "$suppressed"
printf 'RESULT\talerts, import with a complaint rule (events/s)\t%.0f\t-\thigher\n' \
    "$(calc "$EVENTS / $rule")"
extra=$(calc "$rule - $plain")
if awk "BEGIN { exit !($extra > 0.001) }"; then
    printf 'processor: +%.2f s = %.1f us per event (%.0f events/s through the processor)\n' \
        "$extra" "$(calc "$extra * 1e6 / $EVENTS")" "$(calc "$EVENTS / $extra")"
else
    echo "processor: no measurable cost over the import"
fi
