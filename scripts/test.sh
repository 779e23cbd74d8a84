#!/usr/bin/env bash
# Runs every test suite against the binaries in build directory $1 and ends
# with one line "N passed, N failed". Exits non-zero when anything failed or a
# suite could not run. Suites: unit (cmocka, each test in its own process),
# api (pytest against the real binary), postgres (the API files ready for
# PostgreSQL, on a throwaway cluster: scripts/pg.sh), browser (the dashboard in
# headless chromium through playwright-core; tests/browser/run.mjs), browser-oidc
# (sign-in through the certified oidc-provider package; tests/browser/oidc.mjs),
# openapi (docs/openapi.yaml through @apidevtools/swagger-parser;
# tests/openapi/validate.mjs). The API suites also check every reply they get
# against docs/openapi.yaml (tests/api/openapicheck.py).
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
total_pass=0
total_fail=0
status=0

# Adds the counts of a suite from its "N passed, N failed" style summary.
count() {
    local name=$1 out=$2 p f e
    p=$(grep -Eo '[0-9]+ passed' <<<"$out" | tail -n 1 | grep -Eo '[0-9]+' || true)
    f=$(grep -Eo '[0-9]+ failed' <<<"$out" | tail -n 1 | grep -Eo '[0-9]+' || true)
    e=$(grep -Eo '[0-9]+ errors?' <<<"$out" | tail -n 1 | grep -Eo '[0-9]+' || true)
    p=${p:-0}
    f=$(( ${f:-0} + ${e:-0} ))
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        echo "$name: the suite ran no test (counted as one failure)"
        f=1
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
}

echo "== unit tests"
out=$("$build/unit-tests" 2>&1)
rc=$?
printf '%s\n' "$out"
count unit "$(tail -n 1 <<<"$out")"
[ $rc -eq 0 ] || status=1

echo "== OpenAPI description"
# validate.mjs installs @apidevtools/swagger-parser (npm ci) when tests/openapi/node_modules lacks it.
out=$(node tests/openapi/validate.mjs 2>&1)
rc=$?
printf '%s\n' "$out"
count openapi "$(tail -n 1 <<<"$out")"
[ $rc -eq 0 ] || status=1

echo "== API tests"
out=$(LEADFLOW_BIN="$root/$build/leadflow" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
      -o console_output_style=classic tests/api 2>&1)
rc=$?
printf '%s\n' "$out"
count api "$(tail -n 1 <<<"$out")"
[ $rc -eq 0 ] || status=1

echo "== PostgreSQL API tests"
# The API files ready for PostgreSQL (PG_READY in tests/api/conftest.py; the
# others are deselected and listed as not yet run there) against a throwaway
# cluster (scripts/pg.sh), removed on any exit.
pg_start=$SECONDS
if pg_env=$(scripts/pg.sh start); then
    eval "$pg_env"
    trap 'scripts/pg.sh stop' EXIT
    trap 'exit 130' INT TERM
    out=$(LEADFLOW_TEST_PG=1 LEADFLOW_BIN="$root/$build/leadflow" /usr/bin/python3 -m pytest -q \
          -p no:cacheprovider -o console_output_style=classic tests/api 2>&1)
    rc=$?
    scripts/pg.sh stop
    trap - EXIT INT TERM
    unset LEADFLOW_PG_DIR
    printf '%s\n' "$out"
    echo "(PostgreSQL suite: $((SECONDS - pg_start)) s with the cluster)"
    count postgres "$(tail -n 1 <<<"$out")"
    [ $rc -eq 0 ] || status=1
else
    echo "postgres: cannot start a PostgreSQL cluster (scripts/pg.sh start)"
    count postgres ""
    status=1
fi

echo "== browser tests"
# run.mjs installs playwright-core (npm ci) when tests/browser/node_modules lacks it.
out=$(LEADFLOW_BIN="$root/$build/leadflow" node tests/browser/run.mjs "$build" 2>&1)
rc=$?
printf '%s\n' "$out"
count browser "$(tail -n 1 <<<"$out")"
[ $rc -eq 0 ] || status=1

echo "== browser sign-in with oidc-provider"
# A certified OpenID provider (npm oidc-provider) run by tests/browser/oidc.mjs.
out=$(LEADFLOW_BIN="$root/$build/leadflow" node tests/browser/oidc.mjs "$build" 2>&1)
rc=$?
printf '%s\n' "$out"
count browser-oidc "$(tail -n 1 <<<"$out")"
[ $rc -eq 0 ] || status=1

echo "$total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ] || status=1
exit $status
