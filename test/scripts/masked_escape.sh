#!/usr/bin/env bash
# A masked login for real, member of an unmasked group (issue 10, item 4):
# SET ROLE to the group, a SECURITY DEFINER function made in pg_temp, RESET
# ROLE, call it: no plaintext.  Through its masked view it reads exactly the
# rows row-level security gives it, masked; a table never granted to it stays
# closed through its masked view (item 5).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
DB=privacy_masked_escape
as_login() { psql -X -A -t -q -U esc_login -d $DB "$@" 2>&1; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "DROP ROLE IF EXISTS esc_login" \
     -c "DROP ROLE IF EXISTS esc_group" -c "CREATE DATABASE $DB" >/dev/null 2>&1

psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<'SQL'
CREATE EXTENSION privacy;
CREATE ROLE esc_group NOLOGIN;
CREATE ROLE esc_login LOGIN IN ROLE esc_group;
CREATE TABLE clients (id int PRIMARY KEY, email text, region text);
INSERT INTO clients VALUES (1, 'ada@example.com', 'EU'), (2, 'bob@example.com', 'US');
CREATE TABLE secret (id int, email text);
INSERT INTO secret VALUES (1, 'never@example.com');
ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
CREATE POLICY eu ON clients FOR SELECT TO esc_group USING (region = 'EU');
GRANT SELECT ON clients TO esc_group;
SECURITY LABEL FOR privacy ON COLUMN clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN secret.email IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON ROLE esc_login IS 'MASKED';
SQL

like "the masked login cannot read the base table granted to its group" \
   "$(as_login -c "SELECT email FROM public.clients")" "permission denied for relation clients"
out=$(as_login -c "SET ROLE esc_group" \
      -c "CREATE FUNCTION pg_temp.steal() RETURNS text LANGUAGE sql SECURITY DEFINER AS 'SELECT string_agg(email, '','') FROM public.clients'" \
      -c "RESET ROLE" -c "SELECT current_user, pg_temp.steal()")
like "SET ROLE group, SECURITY DEFINER function in pg_temp, RESET ROLE, call: refused" "$out" "permission denied for relation clients"
is "no plaintext in that session's output" "$(printf '%s' "$out" | grep -c '@example.com')" "0"
is "through the masked view: the rows RLS gives it, masked" \
   "$(as_login -c "SELECT string_agg(id || ' ' || email, ',' ORDER BY id) FROM clients")" "1 a****@example.com"
like "a table never granted stays closed through its masked view" \
   "$(as_login -c "SELECT * FROM privacy_masked.secret")" "permission denied"
like "set_config('role') then a read: refused" \
   "$(as_login -c "SELECT set_config('role', 'esc_group', false)" -c "SELECT email FROM public.clients")" \
   "permission denied for relation clients"

psql -X -q -d postgres -c "DROP DATABASE $DB" -c "DROP ROLE esc_login" -c "DROP ROLE esc_group" >/dev/null 2>&1
done_testing
