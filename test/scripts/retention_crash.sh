#!/usr/bin/env bash
# Crash safety: the server is stopped with pg_ctl stop -m immediate during a
# large purge (CALL privacy.run_purge()).  After recovery no unexpired row is
# lost, the deletion log counts exactly the rows that are gone, and the next
# purge finishes the job.  Also: the purge launcher exits cleanly on a fast
# shutdown.  Runs its own cluster.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
. "$HERE/../../scripts/lib.sh"
q() { psql -X -A -t -q -d postgres -c "$1" 2>&1; }
EXPIRED=300000
KEPT=100000

start_cluster "privacy.purge_interval = '1s'" "privacy.purge_databases = 'no_such_database'"
psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
CREATE EXTENSION privacy;
CREATE TABLE rc_data (id bigint PRIMARY KEY, since timestamptz NOT NULL, payload text);
SELECT privacy.set_retention('rc_data', '30 days', 'since');
INSERT INTO rc_data SELECT g, now() - interval '60 days', md5(g::text) FROM generate_series(1, $EXPIRED) g;
INSERT INTO rc_data SELECT g, now(), md5(g::text) FROM generate_series($EXPIRED + 1, $EXPIRED + $KEPT) g;
-- slow deletes down (0.2 ms a row), so that the stop lands mid-purge
CREATE FUNCTION rc_slow() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN PERFORM pg_sleep(0.0002); RETURN OLD; END \$\$;
CREATE TRIGGER rc_slow BEFORE DELETE ON rc_data FOR EACH ROW EXECUTE FUNCTION rc_slow();
SQL
is "rows loaded" "$(q "SELECT count(*) FROM rc_data")" "$((EXPIRED + KEPT))"

psql -X -q -d postgres -c "CALL privacy.run_purge(batch_size => 1000)" > "$CLUSTER_DIR/purge.out" 2>&1 &
PURGE=$!
for i in $(seq 1 200); do
    n=$(q "SELECT coalesce(sum(rows), 0) FROM privacy.deletion_log WHERE table_name = 'public.rc_data'")
    [ "${n:-0}" -ge 20000 ] 2>/dev/null && break
    sleep 0.05
done
stop_server immediate
wait $PURGE
like "the purge session was cut off" "$(cat "$CLUSTER_DIR/purge.out")" 'terminat|server closed|connection'
start_server

REMAINING=$(q "SELECT count(*) FROM rc_data WHERE id <= $EXPIRED")
like "the server was stopped mid-purge (expired rows remain)" "$REMAINING" '^[1-9]'
ok "some batches were committed before" test "$REMAINING" -lt "$EXPIRED"
is "no unexpired row was lost" "$(q "SELECT count(*) FROM rc_data WHERE id > $EXPIRED")" "$KEPT"
is "the deletion log counts exactly the rows gone" \
   "$(q "SELECT sum(rows) FROM privacy.deletion_log WHERE table_name = 'public.rc_data'")" "$((EXPIRED - REMAINING))"
is "the interrupted run shows as unfinished" \
   "$(q "SELECT count(*) FROM privacy.deletion_log WHERE table_name = 'public.rc_data' AND finished_at IS NULL")" "1"

q "DROP TRIGGER rc_slow ON rc_data" >/dev/null
q "CALL privacy.run_purge(batch_size => 10000)" >/dev/null
is "the next purge removes the rest" "$(q "SELECT count(*) FROM rc_data WHERE id <= $EXPIRED")" "0"
is "and the log then counts every expired row" \
   "$(q "SELECT sum(rows) FROM privacy.deletion_log WHERE table_name = 'public.rc_data'")" "$EXPIRED"
is "unexpired rows are all there" "$(q "SELECT count(*) FROM rc_data")" "$KEPT"
like "run_purge refuses a transaction block" \
   "$(psql -X -q -d postgres -c "BEGIN" -c "CALL privacy.run_purge()" 2>&1)" 'cannot run inside a transaction block'

stop_server
like "the purge launcher exits cleanly on shutdown" "$(grep -c 'privacy purge launcher shutting down' "$CLUSTER_DIR/server.log")" '^[1-9]'
is "and never died of an error" "$(grep -c -E 'privacy purge launcher.*exited with exit code [^0]' "$CLUSTER_DIR/server.log")" "0"
done_testing
