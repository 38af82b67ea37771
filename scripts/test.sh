#!/usr/bin/env bash
# make test: install what is missing, build, start a throwaway cluster with
# shared_preload_libraries = 'privacy', run the pg_regress suite, the pgTAP
# suite (test/*.sql) and the script tests (test/scripts/*.sh), print
# "N passed, N failed" and exit non-zero on any failure.
# PostgreSQL: PG_CONFIG=/path/to/pg_config (default Debian's 15); see lib.sh.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

ensure_packages || { echo "0 passed, 1 failed"; exit 1; }
build_install || { echo "0 passed, 1 failed"; exit 1; }
# settings the tests need (e.g. a short purge interval), one per line
extra=()
[ -f test/cluster.conf ] && mapfile -t extra < <(grep -v -E '^\s*(#|$)' test/cluster.conf)
start_cluster "${extra[@]}"

passed=0
failed=0
# The pg_regress results in log $1 when $2 tests ran, as "passed failed".
# Both output styles: up to 15 "test crypto ... ok" / "... FAILED" (and
# "     crypto ... ok" in a parallel group), from 16 on "ok 1 - crypto" /
# "not ok 2 - mask" ("+" in a parallel group).  A result missing (or one
# too many) counts as one more failure.
regress_results() {
    local p f
    p=$(grep -c -E '^(test +| +)?[[:alnum:]_.-]+ +\.\.\. ok( |$)|^ok +[0-9]+ +[-+] ' "$1")
    f=$(grep -c -E '^(test +| +)?[[:alnum:]_.-]+ +\.\.\. FAILED|^not ok +[0-9]+ +[-+] ' "$1")
    [ $((p + f)) -ne "$2" ] && f=$((f + 1))
    echo "$p $f"
}

# Harness self-test: pg_regress on a passing and a deliberately failing test
# in a scratch folder; the counting must see one of each, and a missing
# result must count as a failure.
regress_selftest() {
    local dir=$CLUSTER_DIR/selftest p f
    mkdir -p "$dir/sql" "$dir/expected"
    echo "SELECT 1 AS one;" > "$dir/sql/selftest_pass.sql"
    printf '%s\n' "SELECT 1 AS one;" " one " "-----" "   1" "(1 row)" "" > "$dir/expected/selftest_pass.out"
    echo "SELECT 2 AS two;" > "$dir/sql/selftest_fail.sql"
    printf '%s\n' "SELECT 2 AS two;" " two " "-----" "   3" "(1 row)" "" > "$dir/expected/selftest_fail.out"
    "$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress" --inputdir="$dir" --outputdir="$dir" \
        --bindir="$PGBIN" --dbname=privacy_selftest selftest_pass selftest_fail > "$dir/regress.log" 2>&1
    read -r p f < <(regress_results "$dir/regress.log" 2)
    if [ "$p $f" = "1 1" ]; then
        echo "ok - harness self-test: pg_regress pass and deliberate failure both counted"
        passed=$((passed + 1))
    else
        echo "not ok - harness self-test: counted $p passed, $f failed of 1 and 1"; sed 's/^/# /' "$dir/regress.log"
        failed=$((failed + 1))
    fi
    read -r p f < <(regress_results "$dir/regress.log" 3)
    if [ "$f" = 2 ]; then
        echo "ok - harness self-test: a missing pg_regress result counts as a failure"
        passed=$((passed + 1))
    else
        echo "not ok - harness self-test: a missing pg_regress result went unnoticed"
        failed=$((failed + 1))
    fi
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS privacy_selftest" >/dev/null 2>&1
}

echo "== harness self-test"
regress_selftest

echo "== pg_regress"
rm -rf results regression.diffs regression.out
make -s installcheck PG_CONFIG=$PGBIN/pg_config > "$CLUSTER_DIR/regress.log" 2>&1
cat "$CLUSTER_DIR/regress.log"
read -r p f < <(regress_results "$CLUSTER_DIR/regress.log" "$(make -s --no-print-directory regress-count)")
passed=$((passed + p)); failed=$((failed + f))
[ -f regression.diffs ] && head -200 regression.diffs

echo "== pgTAP"
psql -q -X -v ON_ERROR_STOP=1 -c "CREATE DATABASE privacy_tap" &&
psql -q -X -v ON_ERROR_STOP=1 -d privacy_tap -c "CREATE EXTENSION pgtap; CREATE EXTENSION privacy; CREATE EXTENSION pgcrypto;" \
     -f test/setup.sql ||
    { failed=$((failed + 1)); echo "could not set up database privacy_tap"; }
tests=$(ls test/*.sql | grep -v '^test/setup.sql$')
# shellcheck disable=SC2086 # one argument per file
run_pgtap "$CLUSTER_DIR/tap.log" privacy_tap $tests

echo "== script tests"
run_script_tests test/scripts "$CLUSTER_DIR"

if [ $failed -ne 0 ]; then
    echo "== server log (last lines)"; tail -40 "$CLUSTER_DIR/server.log"
fi
stop_cluster
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
