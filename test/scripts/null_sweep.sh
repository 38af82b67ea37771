#!/usr/bin/env bash
# Every function and procedure of the extension (read from pg_proc, so new
# ones are covered) survives NULL in each argument position and all-NULL, and
# a sweep of bad inputs (empty, 10 MB, not-a-ciphertext text, a dropped
# table's regclass, oid 0, negative numbers), as a superuser and as an
# ordinary role: each call returns or fails with a clear error (a SQLSTATE
# other than XX000), the server stays up, and its log has no "terminated by
# signal" line.  Runs in a database of its own: destructive functions
# (destroy_key, erase_subject, purges) get these arguments too.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
DB=privacy_sweep
LOG="$PGHOST/server.log"
q() { psql -X -A -t -q -d $DB -c "$1" 2>&1; }

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null 2>&1
psql -X -q -d postgres -c "DROP ROLE IF EXISTS sweep_user" -c "CREATE ROLE sweep_user" >/dev/null 2>&1
crashes_before=$(grep -c 'terminated by signal' "$LOG" 2>/dev/null || true)

psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null 2>&1 <<'SQL'
CREATE EXTENSION privacy;
CREATE SCHEMA sweep;
GRANT USAGE, CREATE ON SCHEMA sweep TO PUBLIC;
CREATE TABLE sweep.t (id int PRIMARY KEY, email text, amount int, born date);
INSERT INTO sweep.t VALUES (1, 'a@example.com', 10, '2000-01-01');
CREATE TABLE sweep.gone (id int);
CREATE TABLE sweep.dropped_oid AS SELECT 'sweep.gone'::regclass::oid AS o;
DROP TABLE sweep.gone;

-- A typed SQL literal per argument type: the usual value, and the bad ones.
CREATE FUNCTION sweep.good(t regtype) RETURNS text LANGUAGE sql AS $$
    SELECT CASE t
        WHEN 'text'::regtype THEN '''x'''
        WHEN 'name'::regtype THEN '''email'''
        WHEN 'bytea'::regtype THEN '''\x00''::bytea'
        WHEN 'regclass'::regtype THEN '''sweep.t''::regclass'
        WHEN 'oid'::regtype THEN '''sweep.t''::regclass::oid'
        WHEN 'integer'::regtype THEN '1'
        WHEN 'bigint'::regtype THEN '1::bigint'
        WHEN 'boolean'::regtype THEN 'true'
        WHEN 'interval'::regtype THEN '''1 day''::interval'
        WHEN 'timestamp with time zone'::regtype THEN 'now()'
        WHEN 'jsonb'::regtype THEN '''{}''::jsonb'
        WHEN 'regrole'::regtype THEN '''sweep_user''::regrole'
        WHEN 'text[]'::regtype THEN '''{x}''::text[]'
        WHEN 'name[]'::regtype THEN '''{email}''::name[]'
        WHEN 'oid[]'::regtype THEN 'ARRAY[''sweep.t''::regclass::oid]'
        ELSE 'NULL' END || '::' || t::text
$$;
CREATE FUNCTION sweep.bad(t regtype) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT v || '::' || t::text FROM (VALUES
        ('text', ''''''), ('text', 'repeat(''x'', 10000000)'), ('text', '''$pv1$AAAA'''),
        ('text', '''not a ciphertext'''), ('text', '''-1'''),
        ('name', ''''''), ('name', '''no_such_column'''),
        ('bytea', '''''::bytea'), ('bytea', '''\x0102030405060708090a0b0c0d0e0f10111213141516171819''::bytea'),
        ('bytea', 'convert_to(repeat(''x'', 10000000), ''UTF8'')'),
        ('regclass', '(SELECT o FROM sweep.dropped_oid)::regclass'), ('regclass', '0::regclass'),
        ('regclass', '''pg_class''::regclass'),
        ('oid', '(SELECT o FROM sweep.dropped_oid)'), ('oid', '0::oid'), ('oid', '4294967295::oid'),
        ('integer', '0'), ('integer', '-1'), ('integer', '-2147483648'), ('integer', '2147483647'),
        ('bigint', '-1::bigint'),
        ('interval', '''-1 day''::interval'), ('interval', '''0''::interval'),
        ('jsonb', '''[]''::jsonb'), ('jsonb', '''"x"''::jsonb'),
        ('text[]', '''{}''::text[]'), ('text[]', '''{NULL}''::text[]'), ('text[]', '''{"0:(0,1)"}''::text[]'),
        ('name[]', '''{}''::name[]'), ('name[]', '''{NULL}''::name[]'),
        ('oid[]', '''{}''::oid[]'), ('oid[]', '''{0}''::oid[]')) v(typ, v)
     WHERE v.typ::regtype = t
$$;

-- Every call to make: each argument NULL in turn, all NULL, then each bad
-- value in each position (the other arguments usual values).
CREATE VIEW sweep.calls AS
WITH f AS (
    SELECT p.oid, p.prokind, p.proretset, p.pronargs,
           pg_catalog.format('%I.%I', n.nspname, p.proname) AS fname,
           ARRAY(SELECT x FROM unnest(p.proargtypes) WITH ORDINALITY u(x, i) ORDER BY i) AS types
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'privacy'
     WHERE p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype) AND p.prokind IN ('f', 'p')
), args AS (
    -- (call, position to replace, replacement)
    SELECT f.*, i AS pos, 'NULL' AS v FROM f, generate_series(1, f.pronargs) i
    UNION ALL SELECT f.*, 0, 'NULL' FROM f
    UNION ALL SELECT f.*, i, b FROM f, generate_series(1, f.pronargs) i, sweep.bad(f.types[i]) b
     -- 10 MB values in the first argument of each type only (they take time)
     WHERE b NOT LIKE '%10000000%'
        OR i = (SELECT min(j) FROM generate_series(1, f.pronargs) j WHERE f.types[j] = f.types[i])
)
SELECT a.oid, a.prokind, a.proretset, a.pos, a.v,
       CASE WHEN a.prokind = 'p' THEN 'CALL ' ELSE 'SELECT count(*) FROM ' END || a.fname || '(' ||
       COALESCE((SELECT string_agg(CASE WHEN a.pos = 0 OR a.pos = k THEN
                                            CASE WHEN a.v = 'NULL' THEN 'NULL::' || a.types[k]::regtype::text ELSE a.v END
                                        ELSE sweep.good(a.types[k]) END, ', ' ORDER BY k)
                   FROM generate_series(1, a.pronargs) k), '') || ')' AS call
  FROM args a;

GRANT SELECT ON ALL TABLES IN SCHEMA sweep TO PUBLIC;
SQL

ncalls=$(q "SELECT count(*) FROM sweep.calls")
nfuncs=$(q "SELECT count(DISTINCT oid) FROM sweep.calls")
nall=$(q "SELECT count(*) FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
           AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'privacy')")
echo "# $ncalls calls over $nfuncs of the extension's $nall routines (trigger functions cannot be called)"
like "the sweep covers the extension's routines (from pg_proc)" "$nfuncs" '^[0-9]{2,}$'

# One top-level statement per call (a statement timeout catches a call that
# never returns), errors shown as their SQLSTATE; the calls go first, then
# the failures as "<sqlstate> <call>".
q "SELECT call || ';' FROM sweep.calls ORDER BY oid, pos, v" > "$PGHOST/sweep_calls.sql"
run_sweep() {
    { echo "SET statement_timeout = '60s';"; [ -n "$1" ] && echo "SET ROLE $1;"; cat "$PGHOST/sweep_calls.sql"; } |
        psql -X -q -a -v VERBOSITY=sqlstate -d $DB 2>&1 |
        awk '/^(SELECT|CALL) /{call=$0} /^ERROR: /{print $2, call}' > "$PGHOST/sweep_errors_${1:-super}.txt"
}
run_sweep ""
is "server up after the sweep as a superuser" "$(psql -X -A -t -d postgres -c 'SELECT 1' 2>&1)" "1"
run_sweep sweep_user
is "server up after the sweep as an ordinary role" "$(psql -X -A -t -d postgres -c 'SELECT 1' 2>&1)" "1"
echo "# errors by SQLSTATE (superuser): $(cut -d' ' -f1 "$PGHOST/sweep_errors_super.txt" | sort | uniq -c | tr -s ' \n' ' ')"
echo "# errors by SQLSTATE (ordinary role): $(cut -d' ' -f1 "$PGHOST/sweep_errors_sweep_user.txt" | sort | uniq -c | tr -s ' \n' ' ')"
is "no call is refused as an unknown function (the sweep calls what exists)" \
   "$(grep -h '^42883' "$PGHOST"/sweep_errors_*.txt | head -5)" ""
is "no call ends in an internal error (every error has a clear SQLSTATE)" \
   "$(grep -h -E '^(XX|58)' "$PGHOST"/sweep_errors_*.txt | cut -c1-300 | head -10)" ""
is "no call runs past the statement timeout" "$(grep -h '^57014' "$PGHOST"/sweep_errors_*.txt | cut -c1-200 | head -5)" ""
crashes_after=$(grep -c 'terminated by signal' "$LOG" 2>/dev/null || true)
is "no 'terminated by signal' line in the server log" "$((crashes_after - crashes_before))" "0"

[ "${KEEP_SWEEP:-0}" = 1 ] || psql -X -q -d postgres -c "DROP DATABASE $DB" -c "DROP ROLE sweep_user" >/dev/null 2>&1
done_testing
