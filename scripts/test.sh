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
run_pgtap "$CLUSTER_DIR/tap.log" privacy_tap $(ls test/*.sql | grep -v '^test/setup.sql$')

echo "== script tests"
run_script_tests test/scripts "$CLUSTER_DIR"

if [ $failed -ne 0 ]; then
    echo "== server log (last lines)"; tail -40 "$CLUSTER_DIR/server.log"
fi
stop_cluster
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
