#!/usr/bin/env bash
# WebSocket fan-out: BENCH_WS_CLIENTS dashboards connected to GET /ws on
# loopback, all subscribed to one workspace, then one real event: an mbox
# imported through POST /api/emails/import that makes a contact hot. The C
# client (bench/ws_bench.c, one epoll loop) prints p50/p99/max of the time
# from the import request until each client has its email_processed and
# hot_lead events, the server's RSS idle / connected / after, and this
# machine's floor measured in the same run (one thread writing one frame to
# each of as many loopback sockets, no hub). Goal: hot_lead p99 <= 1.5x the
# floor (a RESULT line for bench/table.py); RSS < 200 MB.
#
# Usage: bench/ws.sh build/leadflow build/ws-bench
# Environment: BENCH_WS_CLIENTS (10000; BENCH_SMALL=1: 500),
# BENCH_WS_ALERT_CLIENTS (1000; BENCH_SMALL=1: 100).
set -euo pipefail

BIN=${1:?usage: bench/ws.sh PATH-TO-leadflow PATH-TO-ws-bench}
CLIENT=${2:?usage: bench/ws.sh PATH-TO-leadflow PATH-TO-ws-bench}
if [ -n "${BENCH_SMALL:-}" ]; then
    : "${BENCH_WS_CLIENTS:=500}" "${BENCH_WS_ALERT_CLIENTS:=100}"
fi
CLIENTS=${BENCH_WS_CLIENTS:-10000}
[ -x "$BIN" ] || { echo "bench: $BIN is not an executable (run make first)" >&2; exit 1; }
[ -x "$CLIENT" ] || { echo "bench: $CLIENT is not an executable (make build/ws-bench)" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench: curl is not installed" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
CLIENT=$(cd "$(dirname "$CLIENT")" && pwd)/$(basename "$CLIENT")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-ws.XXXXXX")
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
die() {
    echo "bench: FAIL: $*" >&2
    [ -s "$TMP/server.log" ] && tail -n 5 "$TMP/server.log" >&2
    exit 1
}

# Every client and the server hold one descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$((CLIENTS + 1024 + 256))
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need" ] ||
    die "the open-file limit is $(ulimit -n); $CLIENTS clients need $need (raise ulimit -Hn)"

DB="sqlite:$TMP/ws.db"
cd "$TMP"
"$BIN" user add bench@leadflow.test --db "$DB" >/dev/null 2>&1
WS=$(python3 - "$TMP/ws.db" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(con.execute("SELECT w.id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
                  " JOIN user_profiles u ON u.id = m.user_id WHERE u.email = ?",
                  ("bench@leadflow.test",)).fetchone()[0])
EOF
)
TOKEN=$("$BIN" token create --workspace "$WS" --name bench --db "$DB" 2>/dev/null)
[ -n "$TOKEN" ] || die "no API token"

# Five messages from one person that make them a hot lead.
python3 - "$TMP/hot.mbox" <<'EOF'
import email.utils, sys, time
who = "robin.park@brightwater.example"
sig = "Robin Park\nChief Executive Officer\nBrightwater Logistics"
msgs = [("Demo?", "Can we schedule a demo this week? We are excited.", 0.1),
        ("Pricing", "What is your pricing for 100 seats? Love the product.", 1),
        ("Contract", "Please send the contract terms, thank you, great call.", 2),
        ("Pilot", "We are very happy to start a pilot soon. Thanks!", 3),
        ("Quote", "Could we meet Thursday to finalize the quote?", 4)]
with open(sys.argv[1], "w") as f:
    for i, (subject, body, days) in enumerate(msgs):
        f.write("From robin Thu Nov 19 10:00:00 2026\n")
        f.write(f"From: Robin Park <{who}>\nTo: sales@ourteam.example\nSubject: {subject}\n")
        f.write(f"Date: {email.utils.formatdate(time.time() - days * 86400)}\n")
        f.write(f"Message-ID: <bench-{i}-{time.time()}@brightwater.example>\n")
        f.write(f"Content-Type: text/plain; charset=utf-8\n\n{body}\n\n-- \n{sig}\n\n")
EOF

# The server: warn level, so 10,000 upgrades do not write 10,000 log lines.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LEADFLOW_LOG_LEVEL=warn LEADFLOW_MAX_CONNECTIONS_PER_IP=0 LEADFLOW_PUBLIC_URL="http://127.0.0.1:$PORT" \
    "$BIN" serve --db "$DB" --listen "127.0.0.1:$PORT" 2>"$TMP/server.log" &
PID=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || die "the server did not start"
    sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || die "the server did not answer within 10 s"

# A browser session, as a dashboard has: a one-time link opened once.
LINK=$(LEADFLOW_PUBLIC_URL="http://127.0.0.1:$PORT" "$BIN" user login-link bench@leadflow.test \
    --db "$DB" 2>/dev/null)
COOKIE=$(curl -s -o /dev/null -D - "$LINK" | tr -d '\r' |
    sed -n 's/^[Ss]et-[Cc]ookie: lf_session=\([^;]*\).*/\1/p' | head -n 1)
[ -n "$COOKIE" ] || die "no session from the sign-in link"

echo "leadflow WebSocket bench: $(nproc) cores, $CLIENTS clients, $($BIN version | head -n 1)"
"$CLIENT" "$PORT" "$PID" "$COOKIE" "$WS" "$TOKEN" "$TMP/hot.mbox" "$CLIENTS" ||
    die "the WebSocket client failed"

# Alerts to dashboards: an in-app rule on new hot leads, a new hot lead,
# ALERT_CLIENTS dashboards; the alert goes through the alert processor.
ALERT_CLIENTS=${BENCH_WS_ALERT_CLIENTS:-1000}
code=$(curl -s -o "$TMP/rule.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -X POST "http://127.0.0.1:$PORT/api/alerts/rules" \
    -d "{\"workspaceId\":\"$WS\",\"name\":\"bench\",\"trigger\":\"new_hot_lead\",\"channels\":[{\"type\":\"in_app\"}]}")
[ "$code" = 201 ] || die "creating the alert rule answered $code: $(head -c 300 "$TMP/rule.json")"
sed -i -e 's/robin.park@/dana.ortiz@/' -e 's/Robin Park/Dana Ortiz/g' -e 's/bench-\([0-9]\)-/bench-alert-\1-/' \
    "$TMP/hot.mbox"
echo "alerts to dashboards: $ALERT_CLIENTS clients, one new hot lead with an in-app rule"
WS_BENCH_ALERT=1 "$CLIENT" "$PORT" "$PID" "$COOKIE" "$WS" "$TOKEN" "$TMP/hot.mbox" \
    "$ALERT_CLIENTS" | grep -E '^(alert|hot_lead|import reply)' ||
    die "the WebSocket client failed (alerts)"
echo "alerts target: event -> last of $ALERT_CLIENTS dashboards, as measured above"
