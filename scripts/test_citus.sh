#!/usr/bin/env bash
# make test-citus: build Citus from the source archive $CITUS_SRC (cached
# outside the clone, see scripts/citus_build.sh), build and install privacy,
# start a coordinator and two workers on 127.0.0.1 with
# shared_preload_libraries = 'citus,privacy' and one shared master key,
# register the workers, create the extensions on the coordinator, run the
# pgTAP files test/citus/*.sql against the coordinator, stop the nodes and
# print "N passed, N failed".  Not part of `make test`.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/citus_build.sh"
cd "$ROOT_DIR"


DB=privacy_citus
NODES=()          # "dir port" of every node, coordinator first

ensure_packages
build_install || { echo "0 passed, 1 failed"; exit 1; }
citus_build_install "$PG_CONFIG" || { echo "0 passed, 1 failed"; exit 1; }

# Stop every node we started.
stop_nodes() {
    local n
    for n in "${NODES[@]}"; do
        CLUSTER_DIR=${n% *}
        stop_cluster
    done
    NODES=()
}

KEY_DIR=$(mktemp -d /tmp/privacy-citus-key-XXXXXX)
chmod 700 "$KEY_DIR"
# one master key for the whole cluster (64 hex characters, mode 0600)
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$KEY_DIR/master.key"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$KEY_DIR"
chmod 600 "$KEY_DIR/master.key"
trap 'stop_nodes; rm -rf "$KEY_DIR"' EXIT

settings=(
    "listen_addresses = '127.0.0.1'"
    "shared_preload_libraries = 'citus,privacy'"
    "privacy.master_key_file = '$KEY_DIR/master.key'"
    "citus.node_conninfo = 'sslmode=disable'"
    "max_prepared_transactions = 20"
    "privacy.purge_interval = '1s'"
    "privacy.purge_databases = '$DB'"
)
for name in coordinator worker1 worker2; do
    # a port can be taken between the check and the start (others test here too): retry
    for attempt in 1 2 3 4 5; do
        start_cluster "${settings[@]}"
        as_pg $PGBIN/pg_ctl -D "$CLUSTER_DIR/data" status >/dev/null 2>&1 && break
        echo "== $name did not start on port $PGPORT, retrying"; tail -3 "$CLUSTER_DIR/server.log"
        stop_cluster
    done
    trap 'stop_nodes; rm -rf "$KEY_DIR"' EXIT
    [ -n "${CLUSTER_DIR:-}" ] || { echo "0 passed, 1 failed"; exit 1; }
    NODES+=("$CLUSTER_DIR $PGPORT")
    echo "== $name: port $PGPORT"
done
COORD_DIR=${NODES[0]% *}; COORD_PORT=${NODES[0]#* }
W1_PORT=${NODES[1]#* }; W2_PORT=${NODES[2]#* }

# psql on one node (by port) over TCP, as postgres
node_psql() {
    local port=$1; shift
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}

for n in "${NODES[@]}"; do
    port=${n#* }
    node_psql "$port" -d postgres -c "CREATE DATABASE $DB" &&
    node_psql "$port" -d $DB -c "CREATE EXTENSION citus" ||
        { echo "0 passed, 1 failed"; exit 1; }
done
node_psql "$COORD_PORT" -d $DB -v w1="$W1_PORT" -v w2="$W2_PORT" -v c="$COORD_PORT" <<'SQL' ||
SELECT citus_set_coordinator_host('127.0.0.1', :c);
SELECT citus_add_node('127.0.0.1', :w1);
SELECT citus_add_node('127.0.0.1', :w2);
CREATE EXTENSION pgtap;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION privacy;
SQL
    { echo "0 passed, 1 failed"; echo "could not set up the Citus cluster"; tail -30 "$COORD_DIR/server.log"; exit 1; }
[ -f test/citus/setup.sql ] && { node_psql "$COORD_PORT" -d $DB -f test/citus/setup.sql >/dev/null ||
    { echo "0 passed, 1 failed"; exit 1; }; }

# CITUS_HOLD=<file>: keep the nodes up (for manual checks) while that file exists
if [ -n "${CITUS_HOLD:-}" ]; then
    echo "== holding: coordinator 127.0.0.1:$COORD_PORT, workers $W1_PORT $W2_PORT, database $DB; rm $CITUS_HOLD to stop"
    touch "$CITUS_HOLD"
    while [ -e "$CITUS_HOLD" ]; do sleep 1; done
fi

# CITUS_RUN=bench (make bench-citus): the figures instead of the tests
if [ "${CITUS_RUN:-test}" = bench ]; then
    node_psql "$COORD_PORT" -d $DB -f scripts/bench_citus.sql
    stop_nodes
    exit 0
fi

passed=0
failed=0

echo "== pgTAP on Citus (coordinator port $COORD_PORT, workers $W1_PORT $W2_PORT)"
export PGHOST=127.0.0.1 PGPORT=$COORD_PORT PGUSER=postgres
run_pgtap "$COORD_DIR/tap.log" $DB $(ls test/citus/*.sql | grep -v '^test/citus/setup.sql$')
# script tests get the nodes in the environment
export CITUS_DB=$DB CITUS_COORD_PORT=$COORD_PORT CITUS_WORKER_PORTS="$W1_PORT $W2_PORT"
run_script_tests test/citus "$COORD_DIR"

if [ $failed -ne 0 ]; then
    for n in "${NODES[@]}"; do
        echo "== server log ${n#* } (last lines)"; tail -25 "${n% *}/server.log"
    done
fi
stop_nodes
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
