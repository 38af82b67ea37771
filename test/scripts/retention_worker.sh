#!/usr/bin/env bash
# The purge worker in the make test cluster (test/cluster.conf: every second in
# privacy_tap): expired rows disappear within 10 seconds, purge_status shows
# the runs, a broken table and a table dropped mid-run are logged while the
# worker carries on, a legal hold keeps a subject's rows across foreign keys,
# and a configuration reload is obeyed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
DB=privacy_tap
LOG="$PGHOST/server.log"          # the make test cluster's directory is its socket directory
LOG_START=$(($(wc -l < "$LOG") + 1))
# the server log since this test started
new_log() { tail -n +$LOG_START "$LOG"; }
q() { psql -X -A -t -q -d $DB -c "$1" 2>&1; }
# wait_for <seconds> <query>: until the query returns t
wait_for() {
    local i
    for i in $(seq 1 $(($1 * 5))); do
        [ "$(q "$2")" = "t" ] && return 0
        sleep 0.2
    done
    return 1
}
# wait_log <seconds> <pattern>: until the server log matches
wait_log() {
    local i
    for i in $(seq 1 $(($1 * 5))); do
        new_log | grep -q -E -- "$2" && return 0
        sleep 0.2
    done
    return 1
}

psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS rw_broken, rw_slow, rw_items, rw_victim;
-- a broken table first: its purge fails every time
CREATE TABLE rw_broken (id int PRIMARY KEY, at timestamptz);
CREATE FUNCTION public.rw_refuse() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'broken on purpose'; END $$;
CREATE TRIGGER refuse BEFORE DELETE ON rw_broken FOR EACH ROW EXECUTE FUNCTION public.rw_refuse();
SELECT privacy.set_retention('rw_broken', '1 day', 'at');
INSERT INTO rw_broken VALUES (1, now() - interval '2 days');
CREATE TABLE rw_items (id int PRIMARY KEY, at timestamptz);
SELECT privacy.set_retention('rw_items', '1 day', 'at');
SQL

ok "the launcher runs" test "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'privacy purge launcher'")" = 1
q "INSERT INTO rw_items SELECT g, now() - CASE WHEN g % 2 = 0 THEN interval '3 days' ELSE interval '1 hour' END
   FROM generate_series(1, 100) g" >/dev/null
ok "expired rows disappear within 10 seconds" \
   wait_for 10 "SELECT count(*) = 0 FROM rw_items WHERE expires_at < now()"
is "unexpired rows stay" "$(q "SELECT count(*) FROM rw_items")" "50"
is "purge_status shows the rows purged" "$(q "SELECT rows_purged FROM privacy.purge_status WHERE tbl = 'rw_items'::regclass")" "50"
ok "and a recent run" test "$(q "SELECT last_run_at > now() - interval '10 seconds' AND last_error IS NULL
                                 FROM privacy.purge_status WHERE tbl = 'rw_items'::regclass")" = t
is "the run is in the deletion log" \
   "$(q "SELECT sum(rows) FROM privacy.deletion_log WHERE relid = 'rw_items'::regclass AND role = current_user")" "50"

ok "the broken table's error shows in purge_status" \
   wait_for 10 "SELECT last_error LIKE '%broken on purpose%' AND errors > 0 FROM privacy.purge_status WHERE tbl = 'rw_broken'::regclass"
like "and in the server log" "$(new_log | grep -c 'could not purge table public.rw_broken')" '^[1-9]'
is "the broken table lost nothing" "$(q "SELECT count(*) FROM rw_broken")" "1"

# a table dropped while the worker is busy with another one
psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<'SQL'
CREATE TABLE rw_slow (id int PRIMARY KEY, at timestamptz);
CREATE FUNCTION public.rw_wait() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN PERFORM pg_catalog.pg_sleep(3); RETURN OLD; END $$;
CREATE TRIGGER wait BEFORE DELETE ON rw_slow FOR EACH ROW EXECUTE FUNCTION public.rw_wait();
SELECT privacy.set_retention('rw_slow', '1 day', 'at');
CREATE TABLE rw_victim (id int PRIMARY KEY, at timestamptz);
SELECT privacy.set_retention('rw_victim', '1 day', 'at');
INSERT INTO rw_victim VALUES (1, now() - interval '2 days');
INSERT INTO rw_slow VALUES (1, now() - interval '2 days');
SQL
VICTIM=$(q "SELECT 'rw_victim'::regclass::oid")
ok "the worker reaches the slow table" \
   wait_for 10 "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'privacy purge worker' AND query LIKE '%rw_slow%'"
q "DROP TABLE rw_victim" >/dev/null
ok "the table dropped mid-run is logged" \
   wait_log 10 "could not purge table $VICTIM"
q "INSERT INTO rw_items VALUES (1000, now() - interval '5 days')" >/dev/null
ok "and the worker carries on" wait_for 10 "SELECT count(*) = 0 FROM rw_items WHERE id = 1000"
is "the slow table was purged too" "$(q "SELECT count(*) FROM rw_slow")" "0"
is "no worker crashed" "$(new_log | grep -c -E 'privacy purge (worker|launcher).*(terminated by signal|exited with exit code [^0])')" "0"

# a legal hold stops the worker, two foreign keys away from the subject
psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<'SQL'
CREATE TABLE rw_subscribers (id int PRIMARY KEY, phone text NOT NULL);
CREATE INDEX ON rw_subscribers (phone);
CREATE TABLE rw_messages (id int PRIMARY KEY, subscriber_id int NOT NULL REFERENCES rw_subscribers, sent_at timestamptz);
CREATE INDEX ON rw_messages (subscriber_id);
CREATE TABLE rw_events (id int PRIMARY KEY, message_id int NOT NULL REFERENCES rw_messages, at timestamptz);
CREATE INDEX ON rw_events (message_id);
SELECT privacy.register_subject_table('rw_subscribers', 'phone');
SELECT privacy.place_hold('worker test', subject => 'held');
INSERT INTO rw_subscribers VALUES (1, 'held'), (2, 'free');
INSERT INTO rw_messages VALUES (10, 1, now() - interval '2 days'), (20, 2, now() - interval '2 days');
INSERT INTO rw_events VALUES (100, 10, now() - interval '2 days'), (200, 20, now() - interval '2 days');
SELECT privacy.set_retention('rw_events', '1 day', 'at');
SELECT privacy.set_retention('rw_messages', '1 day', 'sent_at');
SQL
ok "the worker purges the expired rows of the subject not held" \
   wait_for 10 "SELECT NOT EXISTS (SELECT 1 FROM rw_messages WHERE id = 20) AND NOT EXISTS (SELECT 1 FROM rw_events WHERE id = 200)"
sleep 2
is "and keeps the held subject's message and event" \
   "$(q "SELECT (SELECT count(*) FROM rw_messages WHERE id = 10) + (SELECT count(*) FROM rw_events WHERE id = 100)")" "2"
is "with no failure logged" \
   "$(q "SELECT count(*) FROM privacy.deletion_log WHERE table_name IN ('public.rw_messages', 'public.rw_events') AND error IS NOT NULL")" "0"
q "SELECT privacy.release_hold(id) FROM privacy.legal_holds WHERE reason = 'worker test' AND released_at IS NULL" >/dev/null
ok "released, the worker purges them too" \
   wait_for 10 "SELECT NOT EXISTS (SELECT 1 FROM rw_messages) AND NOT EXISTS (SELECT 1 FROM rw_events)"
q "DROP TABLE rw_events, rw_messages, rw_subscribers" >/dev/null

# configuration reload: with no database to purge, nothing is purged
q "ALTER SYSTEM SET privacy.purge_databases = ''" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
sleep 2
q "INSERT INTO rw_items VALUES (1001, now() - interval '5 days')" >/dev/null
sleep 3
is "after a reload without the database, rows wait" "$(q "SELECT count(*) FROM rw_items WHERE id = 1001")" "1"
q "ALTER SYSTEM SET privacy.purge_databases = '$DB'" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
ok "with it back, they go" wait_for 10 "SELECT count(*) = 0 FROM rw_items WHERE id = 1001"

q "DROP TABLE rw_broken, rw_slow, rw_items; DROP FUNCTION public.rw_refuse(), public.rw_wait()" >/dev/null
done_testing
