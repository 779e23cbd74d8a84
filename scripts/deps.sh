#!/usr/bin/env bash
# Installs the Debian packages leadflow needs to build, test and benchmark.
# Idempotent: packages already present are skipped, and nothing is printed when
# everything is installed. Run as root (or through sudo when it is available).
# With --bench it also installs what only `make bench` uses (BENCH_PKGS).
set -euo pipefail

PKGS=(
    build-essential pkg-config clang-format clang libclang-rt-14-dev
    libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev libssl-dev libsodium-dev
    libinih-dev libcmocka-dev libcurl4-openssl-dev libcjose-dev libgmime-3.0-dev libwslay-dev libcsv-dev
    python3 python3-pytest python3-cryptography python3-yaml python3-jsonschema python3-aiosmtpd
    python3-dkim python3-nacl
    liblinear-tools
    postgresql python3-psycopg2
    dovecot-imapd
    wrk curl
    systemd
    chromium nodejs npm
)

# The job-queue bench's comparison: BullMQ (npm) on Redis.
BENCH_PKGS=(redis-server nodejs npm)

if [ "${1:-}" = "--bench" ]; then
    PKGS+=("${BENCH_PKGS[@]}")
fi

missing=()
for p in "${PKGS[@]}"; do
    # A Node.js from elsewhere (with its own npm) will do for the browser
    # tests and the bench.
    case $p in
        nodejs) command -v node >/dev/null 2>&1 && continue ;;
        npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps: missing packages (${missing[*]}) and not root; install them with apt-get" >&2
        exit 1
    fi
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
