#!/usr/bin/env bash
# Concurrency: pgbench (4 clients, 20 seconds) inserts and updates rows of two
# retained tables while the worker purges every second.  No client error, no
# deadlock, and no row is deleted before it expired: every deletion is
# recorded by a trigger with the row's expiry, and checked against a ledger of
# what was inserted.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
. "$HERE/../../scripts/lib.sh"
DB=privacy_tap
LOG="$PGHOST/server.log"
LOG_START=$(($(wc -l < "$LOG") + 1))
q() { psql -X -A -t -q -d $DB -c "$1" 2>&1; }
WORK=$(mktemp -d /tmp/privacy-pgbench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS rb_events, rb_sessions, rb_ledger, rb_deleted;
-- since mode: events dated up to 2 hours back, kept 1 hour
CREATE TABLE rb_events (id bigserial PRIMARY KEY, since timestamptz, hits int NOT NULL DEFAULT 0);
SELECT privacy.set_retention('rb_events', '1 hour', 'since');
-- latest-write mode: sessions kept 2 seconds after their latest update
CREATE TABLE rb_sessions (id bigserial PRIMARY KEY, hits int NOT NULL DEFAULT 0);
INSERT INTO rb_sessions (hits) SELECT 0 FROM generate_series(1, 200);
SELECT privacy.set_retention('rb_sessions', '2 seconds');
CREATE TABLE rb_ledger (tbl text, id bigint, PRIMARY KEY (tbl, id));
INSERT INTO rb_ledger SELECT 'rb_sessions', id FROM rb_sessions;
CREATE TABLE rb_deleted (tbl text, id bigint, expires_at timestamptz, deleted_at timestamptz);
CREATE FUNCTION public.rb_record_delete() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_catalog AS $$
BEGIN
    INSERT INTO rb_deleted VALUES (TG_TABLE_NAME, OLD.id, OLD.expires_at, clock_timestamp());
    RETURN OLD;
END $$;
CREATE TRIGGER record AFTER DELETE ON rb_events FOR EACH ROW EXECUTE FUNCTION public.rb_record_delete();
CREATE TRIGGER record AFTER DELETE ON rb_sessions FOR EACH ROW EXECUTE FUNCTION public.rb_record_delete();
SQL

cat > "$WORK/script.sql" <<'SQL'
\set back random(0, 7200)
\set sid random(1, 400)
\set eid random(1, 2000)
BEGIN;
WITH i AS (INSERT INTO rb_events (since) VALUES (now() - make_interval(secs => :back)) RETURNING id)
INSERT INTO rb_ledger SELECT 'rb_events', id FROM i;
UPDATE rb_events SET hits = hits + 1 WHERE id = :eid;
UPDATE rb_sessions SET hits = hits + 1 WHERE id = :sid;
END;
BEGIN;
WITH i AS (INSERT INTO rb_sessions DEFAULT VALUES RETURNING id)
INSERT INTO rb_ledger SELECT 'rb_sessions', id FROM i;
END;
SQL

$PGBIN/pgbench -n -c 4 -j 2 -T 20 -f "$WORK/script.sql" $DB > "$WORK/pgbench.out" 2>&1
rc=$?
ok "pgbench ran without error" test $rc -eq 0
[ $rc -ne 0 ] && sed 's/^/# /' "$WORK/pgbench.out" | tail -10
like "no failed transaction" "$(grep -E 'number of (failed|transactions actually processed)' "$WORK/pgbench.out" | tr '\n' ' ')" \
     'processed: [1-9][0-9]*.*failed transactions: 0 '
is "no client error" "$(grep -c -i -E 'error|deadlock' "$WORK/pgbench.out")" "0"
is "no deadlock in the server log" "$(tail -n +$LOG_START "$LOG" | grep -c 'deadlock detected')" "0"
like "the worker purged events meanwhile" "$(q "SELECT count(*) FROM rb_deleted WHERE tbl = 'rb_events'")" '^[1-9]'
like "and idle sessions" "$(q "SELECT count(*) FROM rb_deleted WHERE tbl = 'rb_sessions'")" '^[1-9]'
is "no row was deleted before it expired" \
   "$(q "SELECT count(*) FROM rb_deleted WHERE expires_at IS NULL OR expires_at >= deleted_at")" "0"
is "every inserted row is still there or was deleted once expired" \
   "$(q "SELECT count(*) FROM rb_ledger l
          WHERE NOT EXISTS (SELECT 1 FROM rb_events e WHERE l.tbl = 'rb_events' AND e.id = l.id)
            AND NOT EXISTS (SELECT 1 FROM rb_sessions s WHERE l.tbl = 'rb_sessions' AND s.id = l.id)
            AND NOT EXISTS (SELECT 1 FROM rb_deleted d WHERE d.tbl = l.tbl AND d.id = l.id)")" "0"
is "no unexpired row of the ledger is missing" \
   "$(q "SELECT count(*) FROM rb_ledger l JOIN rb_deleted d USING (tbl, id) WHERE d.expires_at > now()")" "0"
# one statement, one snapshot: the worker goes on purging expiring sessions
is "the deletion log counts what was deleted" \
   "$(q "SELECT (SELECT sum(rows) FROM privacy.deletion_log
                  WHERE relid IN ('rb_events'::regclass, 'rb_sessions'::regclass))
                OPERATOR(pg_catalog.-) (SELECT count(*) FROM rb_deleted)")" "0"

q "DROP TABLE rb_events, rb_sessions, rb_ledger, rb_deleted; DROP FUNCTION public.rb_record_delete()" >/dev/null
done_testing
