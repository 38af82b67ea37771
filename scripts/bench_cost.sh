#!/usr/bin/env bash
# Bench of a masked point SELECT counted in instructions (a part of `make
# bench`): timings of 10 s pgbench runs on a small shared machine spread by
# several percent, instruction counts do not.  A prepared point SELECT by
# primary key, executed N times in one backend under callgrind, in four forms:
#   owner (superuser) on the base table;
#   an ordinary role granted SELECT, on the base table;
#   that role through an ordinary security_invoker view with the two masks;
#   a masked role through its masked view (privacy_masked).
# Each figure is the backend's user-space instructions per execution: the
# difference between runs of 1200 and 200 executions, divided by 1000.
# The masked view against the ordinary view is the share of privacy; the
# ordinary view against the base table is what PostgreSQL itself costs for a
# view and two function calls.  Needs valgrind (installed when missing).
# Standalone: bash scripts/bench_cost.sh (PRIVACY_PG_ROOT works as for tests).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
ROWS=${BENCH_COST_ROWS:-100000}

ensure_packages
install_missing valgrind
build_install
start_cluster "max_parallel_workers_per_gather = 0"
psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" -f scripts/bench_clients.sql
stop_server

# count <role or -> <relation> <executions>: instructions of a single-user
# backend that prepares the point SELECT and executes it that many times
count() {
    local input=$CLUSTER_DIR/cost.in out=$CLUSTER_DIR/cost.out i
    {
        [ "$1" != - ] && echo "SET ROLE $1;"
        echo "PREPARE q(int) AS SELECT id, email, phone, country FROM $2 WHERE id = \$1;"
        for i in $(seq "$3"); do echo "EXECUTE q($(( i * 7919 % ROWS + 1 )));"; done
    } > "$input"
    chmod 644 "$input"
    as_pg valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$PGBIN/postgres" --single -D "$CLUSTER_DIR/data" postgres < "$input" > "$out" 2> "$out.err" || true
    if grep -q "ERROR" "$out" "$out.err"; then
        echo "the point SELECT failed as $1 on $2:" >&2; grep -h "ERROR" "$out" "$out.err" | head -3 >&2; exit 1
    fi
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out.err"
}

# per_exec <role or -> <relation>: instructions per execution
per_exec() {
    local small large
    small=$(count "$1" "$2" 200)
    large=$(count "$1" "$2" 1200)
    echo $(( (large - small) / 1000 ))
}

owner=$(per_exec - public.bench_clients)
plain=$(per_exec privacy_bench_plain public.bench_clients)
view=$(per_exec privacy_bench_plain public.bench_clients_plain)
masked=$(per_exec privacy_bench_bi privacy_masked.bench_clients)
echo
echo "== prepared point SELECT, instructions per execution (callgrind, single-user backend)"
printf '%-58s %10s\n' "owner (superuser), base table" "$owner"
printf '%-58s %10s\n' "ordinary role, base table" "$plain"
printf '%-58s %10s\n' "ordinary role, ordinary view with the same two masks" "$view"
printf '%-58s %10s\n' "masked role, masked view" "$masked"
printf '%-58s %10s\n' "privacy's share: masked view - ordinary view" "$(( masked - view ))"
printf '%-58s %10s\n' "PostgreSQL's view and two calls: ordinary view - owner" "$(( view - owner ))"
stop_cluster
