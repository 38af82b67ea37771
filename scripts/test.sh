#!/usr/bin/env bash
# make test: install what is missing, build, start a throwaway cluster with
# shared_preload_libraries = 'privacy', run the pg_regress suite, the pgTAP
# suite (test/*.sql) and the script tests (test/scripts/*.sh), print
# "N passed, N failed" and exit non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

ensure_packages
build_install || { echo "0 passed, 1 failed"; exit 1; }
# settings the tests need (e.g. a short purge interval), one per line
extra=()
[ -f test/cluster.conf ] && mapfile -t extra < <(grep -v -E '^\s*(#|$)' test/cluster.conf)
start_cluster "${extra[@]}"

passed=0
failed=0
# Count TAP-style "ok"/"not ok" lines of a file.
count_tap() {
    local p f
    p=$(grep -c -E '^\s*ok [0-9]+' "$1" || true)
    f=$(grep -c -E '^\s*not ok [0-9]+' "$1" || true)
    passed=$((passed + p)); failed=$((failed + f))
}

echo "== pg_regress"
rm -rf results regression.diffs regression.out
make -s installcheck PG_CONFIG=$PGBIN/pg_config > "$CLUSTER_DIR/regress.log" 2>&1
cat "$CLUSTER_DIR/regress.log"
p=$(grep -c -E '^(test| )? *[a-z0-9_]+ +\.\.\. ok' "$CLUSTER_DIR/regress.log" || true)
f=$(grep -c -E '\.\.\. FAILED' "$CLUSTER_DIR/regress.log" || true)
passed=$((passed + p)); failed=$((failed + f))
[ -f regression.diffs ] && head -200 regression.diffs

echo "== pgTAP"
psql -q -X -v ON_ERROR_STOP=1 -c "CREATE DATABASE privacy_tap" &&
psql -q -X -v ON_ERROR_STOP=1 -d privacy_tap -c "CREATE EXTENSION pgtap; CREATE EXTENSION privacy; CREATE EXTENSION pgcrypto;" \
     -f test/setup.sql ||
    { failed=$((failed + 1)); echo "could not set up database privacy_tap"; }
tests=$(ls test/*.sql | grep -v '^test/setup.sql$')
if [ -n "$tests" ]; then
    pg_prove -v -d privacy_tap $tests > "$CLUSTER_DIR/tap.log" 2>&1
    rc=$?
    grep -E '^(test/|not ok|# )|Failed|Result' "$CLUSTER_DIR/tap.log" | grep -v '^ok' | head -100
    count_tap "$CLUSTER_DIR/tap.log"
    # a file that dies before its plan counts as one failure
    if [ $rc -ne 0 ] && ! grep -q -E '^\s*not ok' "$CLUSTER_DIR/tap.log"; then
        failed=$((failed + 1)); tail -30 "$CLUSTER_DIR/tap.log"
    fi
fi

echo "== script tests"
for t in test/scripts/*.sh; do
    [ -e "$t" ] || continue
    out="$CLUSTER_DIR/$(basename "$t").log"
    bash "$t" > "$out" 2>&1
    rc=$?
    grep -E '^(ok|not ok|#)' "$out"
    count_tap "$out"
    if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out"; then
        failed=$((failed + 1)); echo "not ok - $t exited with $rc"; tail -20 "$out"
    fi
done

if [ $failed -ne 0 ]; then
    echo "== server log (last lines)"; tail -40 "$CLUSTER_DIR/server.log"
fi
stop_cluster
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
