#!/usr/bin/env bash
# A masked role logging in for real: its search_path reads the masked views,
# COPY and cursors give masked values (a COPY of a base table reads its
# masked view), base tables stay closed otherwise; a pg_dump of a
# database with masking rules restores, rebuilding the masked views.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
DB=privacy_views_src
DST=privacy_views_dst
as_bi() { psql -X -A -t -q -U privacy_views_bi -d "$1" -c "$2" 2>&1; }
q() { psql -X -A -t -q -d "$1" -c "$2" 2>&1; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "DROP DATABASE IF EXISTS $DST" \
     -c "DROP ROLE IF EXISTS privacy_views_bi" -c "CREATE DATABASE $DB" -c "CREATE DATABASE $DST" >/dev/null 2>&1

psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<'SQL'
CREATE EXTENSION privacy;
CREATE TABLE clients (id int PRIMARY KEY, name text, email text, phone varchar(20));
INSERT INTO clients VALUES (1, 'Ada Lovelace', 'ada@analytical.example', '+44 20 7946 0018'),
                           (2, 'Grace Hopper', 'grace@cobol.example', '+1-202-555-0143');
GRANT SELECT ON clients TO PUBLIC;
SECURITY LABEL FOR privacy ON COLUMN clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN clients.phone IS 'MASKED WITH FUNCTION privacy.mask_phone(phone)';
SECURITY LABEL FOR privacy ON COLUMN clients.name IS 'MASKED WITH VALUE ''(hidden)''';
CREATE ROLE privacy_views_bi LOGIN;
SECURITY LABEL FOR privacy ON ROLE privacy_views_bi IS 'MASKED';
SQL

is "search_path of the masked login starts with the masked schema" \
   "$(as_bi $DB "SHOW search_path")" 'privacy_masked, "$user", public'
is "an unqualified table name reads the masked view" \
   "$(as_bi $DB "SELECT email FROM clients ORDER BY id LIMIT 1")" "a****@analytical.example"
is "COPY (SELECT ...) gives masked values" \
   "$(psql -X -q -U privacy_views_bi -d $DB -c "COPY (SELECT name, email, phone FROM clients ORDER BY id) TO STDOUT WITH (FORMAT csv)" 2>&1)" \
   "$(printf '(hidden),a****@analytical.example,+XX XX XXXX 0018\n(hidden),g****@cobol.example,+X-XXX-XXX-0143')"
is "COPY of the base table (granted to PUBLIC) reads its masked view (masked dumps)" \
   "$(as_bi $DB "COPY public.clients TO STDOUT" | sort)" \
   "$(printf '1\t(hidden)\ta****@analytical.example\t+XX XX XXXX 0018\n2\t(hidden)\tg****@cobol.example\t+X-XXX-XXX-0143')"
like "COPY (SELECT ... FROM base table) is refused" \
   "$(as_bi $DB "COPY (SELECT email FROM public.clients) TO STDOUT")" "permission denied for relation clients"
is "a cursor over the masked view gives masked values" \
   "$(psql -X -A -t -q -U privacy_views_bi -d $DB -c "BEGIN" -c "DECLARE c CURSOR FOR SELECT email FROM clients ORDER BY id" -c "FETCH 2 FROM c" -c "COMMIT" 2>&1)" \
   "$(printf 'a****@analytical.example\ng****@cobol.example')"
like "a cursor over the base table is refused" \
   "$(psql -X -A -t -q -U privacy_views_bi -d $DB -c "BEGIN" -c "DECLARE c CURSOR FOR SELECT email FROM public.clients" -c "FETCH 1 FROM c" 2>&1)" \
   "permission denied for relation clients"
like "SET ROLE to a role not granted is refused" \
   "$(as_bi $DB "SET ROLE postgres")" "permission denied to set role"
like "creating a table in the masked schema is refused" \
   "$(as_bi $DB "CREATE TABLE privacy_masked.t (i int)")" "permission denied for schema privacy_masked"

pg_dump -d $DB > /tmp/privacy_views_$$.sql 2>/tmp/privacy_views_$$.err
ok "pg_dump succeeds" test -s /tmp/privacy_views_$$.sql
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d $DST -f /tmp/privacy_views_$$.sql > /tmp/privacy_views_restore_$$.log 2>&1
rc=$?
ok "restore into a new database succeeds" test $rc -eq 0
[ $rc -ne 0 ] && sed 's/^/# /' /tmp/privacy_views_restore_$$.log | head -20
is "the restored masking labels rebuilt privacy.masking_rules" \
   "$(q $DST "SELECT string_agg(col || '=' || expr, ' ' ORDER BY col) FROM privacy.masking_rules")" \
   "email=privacy.mask_email(email) name='(hidden)'::text phone=privacy.mask_phone((phone)::text)"
is "the masked login reads the restored masked view" \
   "$(as_bi $DST "SELECT phone FROM privacy_masked.clients WHERE id = 2")" "+X-XXX-XXX-0143"
like "and not the restored base table" \
   "$(as_bi $DST "SELECT * FROM public.clients")" "permission denied for relation clients"

psql -X -q -d postgres -c "DROP DATABASE $DB" -c "DROP DATABASE $DST" -c "DROP ROLE privacy_views_bi" >/dev/null 2>&1
rm -f /tmp/privacy_views_$$.* /tmp/privacy_views_restore_$$.log
done_testing
