#!/usr/bin/env bash
# A purge never waits long on rows locked by other transactions: it skips
# them (they are left for the next run) and removes everything else.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
DB=privacy_locked
q() { psql -X -A -t -q -d $DB -c "$1" 2>&1; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null 2>&1
psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<'SQL'
CREATE EXTENSION privacy;
CREATE TABLE rl (id int PRIMARY KEY, since timestamptz NOT NULL);
SELECT privacy.set_retention('rl', '30 days', 'since');
INSERT INTO rl SELECT g, now() - interval '60 days' FROM generate_series(1, 1000) g;
INSERT INTO rl SELECT g, now() FROM generate_series(1001, 1100) g;
SQL

# another session holds a row lock on expired row 5 until told to stop
psql -X -q -d $DB -c "BEGIN" -c "SELECT id FROM rl WHERE id = 5 FOR UPDATE" \
     -c "SELECT pg_sleep(30)" -c "COMMIT" >/dev/null 2>&1 &
LOCKER=$!
for i in $(seq 1 100); do
    [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
             WHERE a.query LIKE '%pg_sleep(30)%' AND l.locktype = 'transactionid'")" -ge 1 ] && break
    sleep 0.1
done
is "another session holds a lock on an expired row" \
   "$(q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()")" "1"

is "the purge completes while the row is locked" "$(q "CALL privacy.run_purge(batch_size => 100)" ; echo done)" "done"
is "the locked row is left for the next run" "$(q "SELECT string_agg(id::text, ',') FROM rl WHERE id <= 1000")" "5"
is "every other expired row is gone" "$(q "SELECT count(*) FROM rl")" "101"
is "no unexpired row was touched" "$(q "SELECT count(*) FROM rl WHERE id > 1000")" "100"

q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
wait $LOCKER
q "CALL privacy.run_purge(batch_size => 100)" >/dev/null
is "once the lock is gone, the next purge removes it" "$(q "SELECT count(*) FROM rl WHERE id <= 1000")" "0"
is "the deletion log counts all 1000" "$(q "SELECT sum(rows) FROM privacy.deletion_log WHERE table_name = 'public.rl'")" "1000"

psql -X -q -d postgres -c "DROP DATABASE $DB" >/dev/null 2>&1
done_testing
