#!/usr/bin/env bash
# A worker whose key ring is not the coordinator's refuses keyed functions;
# privacy.sync_key_ring() on the coordinator repairs it; a worker refuses
# local key management.  Run by scripts/test_citus.sh (CITUS_* variables).
set -u
. "$(dirname "$0")/../scripts/tap.sh"
c() { psql -X -q -At -h 127.0.0.1 -p "$CITUS_COORD_PORT" -U postgres -d "$CITUS_DB" -c "$1" 2>&1; }
w() { psql -X -q -At -h 127.0.0.1 -p "${CITUS_WORKER_PORTS%% *}" -U postgres -d "$CITUS_DB" -c "$1" 2>&1; }

like "a worker refuses create_key" "$(w "SELECT privacy.create_key('w_local')")" \
     'written by the coordinator only'
like "a worker refuses direct writes to its ring" "$(w "DELETE FROM privacy.keys WHERE name = 'token'")" \
     'written by the coordinator only'
is "the worker ring is in step" "$(c "SELECT bool_and(in_step) FROM privacy.key_ring_status()")" "t"

# a node that lost (or never got) the cluster's ring
w "DELETE FROM privacy.ring_sync" >/dev/null
like "out of step: keyed functions refuse on the worker" "$(w "SELECT privacy.pseudonymize('x')")" \
     'out of step with the coordinator'
like "out of step: the hint names the call" "$(w "SELECT privacy.encrypt('x')")" 'out of step'
is "key_ring_status shows the worker out of step" \
   "$(c "SELECT count(*) FILTER (WHERE NOT in_step) FROM privacy.key_ring_status()")" "1"
is "sync_key_ring copies the ring to the 2 workers" "$(c "SELECT privacy.sync_key_ring()")" "2"
is "in step again" "$(c "SELECT bool_and(in_step) FROM privacy.key_ring_status()")" "t"
is "keyed functions run again on the worker" "$(w "SELECT privacy.pseudonymize('x')")" \
   "$(c "SELECT privacy.pseudonymize('x')")"

# the ring copy is transactional: a rolled-back create_key leaves no key anywhere
c "BEGIN; SELECT privacy.create_key('rolled_back'); ROLLBACK;" >/dev/null
is "a rolled-back create_key reaches no worker" \
   "$(w "SELECT count(*) FROM privacy.keys WHERE name = 'rolled_back'")" "0"
like "sync_key_ring refuses on a worker" "$(w "SELECT privacy.sync_key_ring()")" 'coordinator only'
echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
