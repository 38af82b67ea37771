#!/usr/bin/env bash
# Masked dumps (issue 15): a role labelled MASKED runs plain pg_dump on the
# demo schema and gets the real schema with masked data, in every format;
# the dump restores into an empty database where no original value of a
# labelled column is left, foreign keys hold and the application's queries
# return rows.  The dump path opens nothing else: the same role still cannot
# read a base table, and every other way to get plaintext through COPY is
# refused.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
SRC=privacy_mdump_src
ROLE=privacy_mdump
TMP=$(mktemp -d /tmp/privacy_mdump.XXXXXX)
chmod 755 "$TMP"
q() { psql -X -A -t -q -d "$1" -c "$2" 2>&1; }
as_dumper() { psql -X -A -t -q -U $ROLE -d $SRC "$@" 2>&1; }
cleanup() {
    local drops=(-c "DROP DATABASE IF EXISTS $SRC") f
    for f in p c d; do drops+=(-c "DROP DATABASE IF EXISTS ${SRC}_$f"); done
    psql -X -q -d postgres "${drops[@]}" -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1
}
cleanup
psql -X -q -d postgres -c "CREATE DATABASE $SRC" >/dev/null

psql -X -q -v ON_ERROR_STOP=1 -d $SRC >/dev/null <<SQL
CREATE EXTENSION privacy;
\i $HERE/../../demo/schema.sql
INSERT INTO contact_forms (email, message) VALUES ('zoe.contact@mail.example', 'Call me on +33 6 12 34 56 78');
INSERT INTO support_tickets (client_id, subject, body) VALUES (1, 'Invoice', 'Please resend to ada@analytical.example');
SECURITY LABEL FOR privacy ON COLUMN clients.name  IS 'MASKED WITH FUNCTION privacy.partial(name, 1, ''***'', 0)';
SECURITY LABEL FOR privacy ON COLUMN clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN clients.phone IS 'MASKED WITH FUNCTION privacy.mask_phone(phone)';
SECURITY LABEL FOR privacy ON COLUMN clients.company IS 'NOT MASKED';
SECURITY LABEL FOR privacy ON COLUMN subscribers.phone IS 'MASKED WITH FUNCTION privacy.mask_phone(phone)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.email IS 'MASKED WITH FUNCTION privacy.pseudonymize(email)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.name IS 'MASKED WITH FUNCTION privacy.partial(name, 1, ''***'', 0)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.birth_date IS 'MASKED WITH VALUE ''1970-01-01''';
SECURITY LABEL FOR privacy ON COLUMN payments.card_number IS 'MASKED WITH FUNCTION privacy.mask_card(card_number)';
SECURITY LABEL FOR privacy ON COLUMN payments.billing_address IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON COLUMN contact_forms.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN contact_forms.message IS 'MASKED WITH FUNCTION privacy.redact(message)';
SECURITY LABEL FOR privacy ON COLUMN support_tickets.body IS 'MASKED WITH FUNCTION privacy.redact(body)';
SECURITY LABEL FOR privacy ON COLUMN web_logs.ip IS 'MASKED WITH FUNCTION privacy.truncate_ip(ip, 24, 48)';
-- a view over a labelled table, readable by everyone (attack below)
CREATE VIEW client_emails AS SELECT id, email FROM clients;
GRANT SELECT ON client_emails TO PUBLIC;
-- a protected (encrypted) column without a masking rule: its ciphertext is dumped
ALTER TABLE clients ADD COLUMN tax_id text;
UPDATE clients SET tax_id = 'TAX-' || id || '-SECRET';
SELECT privacy.protect_column('clients', 'tax_id');
-- the dumping role: masked, granted what pg_dump reads (tables and sequences)
CREATE ROLE $ROLE LOGIN;
SECURITY LABEL FOR privacy ON ROLE $ROLE IS 'MASKED';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO $ROLE;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, privacy TO $ROLE;
SELECT privacy.create_key('billing', 'encrypt');
-- row-level security: the role may read client 1's tickets only
INSERT INTO support_tickets (client_id, subject, body) VALUES (2, 'Refund', 'Grace wants a refund');
ALTER TABLE support_tickets ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_client ON support_tickets FOR SELECT TO $ROLE USING (client_id = 1);
SQL

# Every original value of a labelled column (as text), one per line.
q $SRC "SELECT DISTINCT v FROM (
          SELECT name FROM clients UNION ALL SELECT email FROM clients UNION ALL SELECT phone FROM clients
          UNION ALL SELECT phone FROM subscribers UNION ALL SELECT email FROM subscribers
          UNION ALL SELECT name FROM subscribers UNION ALL SELECT birth_date::text FROM subscribers
          UNION ALL SELECT card_number FROM payments UNION ALL SELECT billing_address FROM payments
          UNION ALL SELECT email FROM contact_forms UNION ALL SELECT message FROM contact_forms
          UNION ALL SELECT body FROM support_tickets UNION ALL SELECT host(ip) FROM web_logs
          UNION ALL SELECT tax_id FROM clients_decrypted) o(v)
        WHERE v IS NOT NULL ORDER BY 1" > "$TMP/originals"
ok "originals collected" test "$(wc -l < "$TMP/originals")" -gt 200
# How many (row, column, original value) matches hold database $1: every
# column of every table, as text, searched for every original value.
hits_in() {
    psql -X -q -d $1 -c "CREATE TABLE public.originals_probe (v text)" \
         -c "\copy public.originals_probe FROM '$TMP/originals'" >/dev/null
    q $1 "DO \$\$
        DECLARE r record; n bigint; total bigint := 0;
        BEGIN
            FOR r IN SELECT c.oid::regclass AS t, a.attname
                       FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                       JOIN pg_attribute a ON a.attrelid = c.oid
                      WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
                        AND s.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                        AND c.relname <> 'originals_probe' LOOP
                EXECUTE format('SELECT count(*) FROM %s x JOIN public.originals_probe o
                                 ON strpos(x.%I::text, o.v) > 0', r.t, r.attname) INTO n;
                total := total + n;
            END LOOP;
            RAISE NOTICE 'hits=%', total;
        END \$\$" | sed -n 's/.*hits=//p'
    q $1 "DROP TABLE public.originals_probe" >/dev/null
}
# How many lines of a file hold an original value.
originals_in() { grep -c -F -f "$TMP/originals" "$1"; }
ok "the search finds the originals in the source database" test "$(hits_in $SRC)" -gt 250

# ---- attacks: the dumping role trying to get plaintext through the dump path
like "SELECT from a base table: refused" \
     "$(as_dumper -c "SELECT email FROM public.clients")" "permission denied for relation clients"
like "COPY (SELECT * FROM base) TO STDOUT: refused" \
     "$(as_dumper -c "COPY (SELECT * FROM public.clients) TO STDOUT")" "permission denied for relation clients"
like "COPY (SELECT ... FROM base JOIN masked view) TO STDOUT: refused" \
     "$(as_dumper -c "COPY (SELECT b.email FROM public.clients b JOIN privacy_masked.clients m USING (id)) TO STDOUT")" \
     "permission denied for relation clients"
out=$(as_dumper -c "COPY public.clients (email, name, phone) TO STDOUT")
is "COPY base (column list) TO STDOUT: the masked view's values" "$out" \
   "$(as_dumper -c "COPY (SELECT email, name, phone FROM privacy_masked.clients) TO STDOUT")"
like "... which are masked" "$out" '^a\*+@analytical\.example'
is "... and hold no original value" "$(printf '%s\n' "$out" | grep -c -F -f "$TMP/originals")" "0"
as_dumper -c "COPY public.clients TO STDOUT (FORMAT binary)" > "$TMP/binary"
ok "COPY base TO STDOUT (FORMAT binary): masked values" grep -a -q -F 'a****@analytical.example' "$TMP/binary"
is "... and no original value" "$(grep -a -c -F -f "$TMP/originals" "$TMP/binary")" "0"
like "COPY of a view over the base table: refused" \
     "$(as_dumper -c "COPY (SELECT * FROM public.client_emails) TO STDOUT")" "permission denied for relation client_emails"
like "COPY of the session's own temporary view over the base table: refused" \
     "$(as_dumper -c "CREATE TEMP VIEW mine AS SELECT * FROM public.clients" -c "COPY (SELECT * FROM mine) TO STDOUT")" \
     "permission denied for relation (clients|mine)"
like "COPY base TO STDOUT with WHERE: refused" \
     "$(as_dumper -c "COPY public.clients TO STDOUT WHERE id = 1")" "WHERE clause not allowed with COPY TO"
like "COPY base (ctid) TO STDOUT: refused" \
     "$(as_dumper -c "COPY public.clients (ctid) TO STDOUT")" "ERROR"
like "COPY base TO a file: refused" \
     "$(as_dumper -c "COPY public.clients TO '$TMP/out.txt'")" "pg_write_server_files"
like "COPY base TO PROGRAM: refused" \
     "$(as_dumper -c "COPY public.clients TO PROGRAM 'cat > $TMP/out2.txt'")" "pg_execute_server_program"
ok "no file written" test ! -e "$TMP/out.txt" -a ! -e "$TMP/out2.txt"
like "COPY base FROM STDIN (a write): refused" \
     "$(printf '9\tx\tx\tx\tx\t2020-01-01\t\\N\n\\.\n' | as_dumper -c "COPY public.clients FROM STDIN")" "permission denied"
like "DECLARE CURSOR over the base table (pg_dump --inserts): refused" \
     "$(as_dumper -c "BEGIN" -c "DECLARE c CURSOR FOR SELECT * FROM ONLY public.clients" -c "FETCH 1 FROM c")" \
     "permission denied for relation clients"
is "COPY of the key ring (extension configuration): no rows" \
   "$(as_dumper -c "COPY privacy.keys (key_id, wrapped) TO STDOUT" | wc -l)" "0"
is "COPY of the audit log: no rows" "$(as_dumper -c "COPY privacy.audit_log TO STDOUT" | wc -l)" "0"
is "LOCK of the key ring IN ACCESS SHARE MODE NOWAIT (pg_dump -j workers): taken, no row read" \
   "$(as_dumper -c "BEGIN" -c "LOCK TABLE privacy.keys IN ACCESS SHARE MODE NOWAIT" \
                -c "SELECT mode FROM pg_locks WHERE relation = 'privacy.keys'::regclass AND pid = pg_backend_pid()")" \
   "AccessShareLock"
like "LOCK of the key ring in a stronger mode: refused" \
     "$(as_dumper -c "BEGIN" -c "LOCK TABLE privacy.keys IN ROW EXCLUSIVE MODE")" "permission denied for table keys"
like "LOCK of the key ring outside a transaction block: refused" \
     "$(as_dumper -c "LOCK TABLE privacy.keys IN ACCESS SHARE MODE")" "can only be used in transaction blocks"
like "SELECT from the key ring: refused" "$(as_dumper -c "SELECT wrapped FROM privacy.keys")" "permission denied"
psql -X -q -v ON_ERROR_STOP=1 -d $SRC >/dev/null <<SQL
CREATE TABLE people (id int, email text);
CREATE TABLE staff () INHERITS (people);
INSERT INTO people VALUES (1, 'parent@mail.example');
INSERT INTO staff VALUES (2, 'child@mail.example');
CREATE TABLE visits (id int, email text, at date) PARTITION BY RANGE (at);
CREATE TABLE visits_2024 PARTITION OF visits FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO visits VALUES (1, 'visitor@mail.example', '2024-05-01');
SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN visits.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
GRANT SELECT ON people, staff, visits, visits_2024 TO $ROLE;
SQL
like "COPY of a labelled table with inheritance children: refused (its masked view reads them too)" \
     "$(as_dumper -c "COPY public.people TO STDOUT")" "cannot copy table \"people\" in a masked session"
like "COPY of a child of a labelled table: refused" \
     "$(as_dumper -c "COPY public.staff TO STDOUT")" "permission denied for relation staff"
like "COPY of a partition of a labelled table: refused" \
     "$(as_dumper -c "COPY public.visits_2024 TO STDOUT")" "permission denied for relation visits_2024"
q $SRC "DROP TABLE people, staff, visits" >/dev/null
is "a superuser's COPY of the base table is untouched" \
   "$(q $SRC "COPY public.clients (email) TO STDOUT" | head -1)" "ada@analytical.example"

# ---- masked dumps in every format, restored into empty databases
bad=$(pg_dump -U $ROLE -d $SRC --enable-row-security --column-inserts 2>&1 >/dev/null)
like "pg_dump --column-inserts (SELECT of base tables): refused" "$bad" "permission denied for (relation|table)"
bad=$(pg_dump -U $ROLE -d $SRC 2>&1 >/dev/null)
like "pg_dump without --enable-row-security of a table with a policy for the role: refused" \
     "$bad" "row-level security policy for table \"support_tickets\""

for f in p c d; do
    dump="$TMP/dump.$f"
    jobs=""; [ $f = d ] && jobs="-j 2"
    err=$(pg_dump -U $ROLE -d $SRC --enable-row-security -F$f $jobs -f "$dump" 2>&1)
    ok "masked pg_dump -F$f succeeds" test $? -eq 0 -a -z "$err"
    [ -n "$err" ] && printf '%s\n' "$err" | sed 's/^/# /' | head -5
    if [ $f = p ]; then cp "$dump" "$TMP/text.$f"; else pg_restore -f "$TMP/text.$f" "$dump"; fi
    is "-F$f: no original value in the dump" "$(originals_in "$TMP/text.$f")" "0"
    ok "-F$f: the dump holds the real tables' DDL" grep -q -E '^CREATE TABLE public\.subscribers' "$TMP/text.$f"
    is "-F$f: the dump holds no row of the key ring or the audit log" \
       "$(awk '/^COPY privacy\.(keys|audit_log) /{f=1; next} /^\\\.$/{f=0} f' "$TMP/text.$f" | wc -l)" "0"

    dst=${SRC}_$f
    psql -X -q -d postgres -c "CREATE DATABASE $dst" >/dev/null
    if [ $f = p ]; then
        psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d $dst -f "$dump" > "$TMP/restore.$f" 2>&1
    else
        pg_restore --exit-on-error -d $dst "$dump" > "$TMP/restore.$f" 2>&1
    fi
    rc=$?
    ok "-F$f: restores into an empty database" test $rc -eq 0
    [ $rc -ne 0 ] && sed 's/^/# /' "$TMP/restore.$f" | head -10

    is "-F$f: no original value of a labelled column in any column of the restored database" \
       "$(hits_in $dst)" "0"
    is "-F$f: every row restored (of support_tickets, the one row-level security gives the role)" \
       "$(q $dst "SELECT (SELECT count(*) FROM clients) || ' ' || (SELECT count(*) FROM subscribers) || ' ' || (SELECT count(*) FROM messages) || ' ' || (SELECT count(*) FROM payments) || ' ' || (SELECT count(*) FROM consents) || ' ' || (SELECT count(*) FROM support_tickets)")" \
       "3 50 200 2 50 1"
    is "-F$f: foreign keys restored and valid" \
       "$(q $dst "SELECT count(*) FILTER (WHERE convalidated) FROM pg_constraint WHERE contype = 'f'")" \
       "$(q $SRC "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")"
    is "-F$f: unique e-mails kept unique" \
       "$(q $dst "SELECT count(DISTINCT email) FROM subscribers")" "50"
    is "-F$f: application query: messages per client company" \
       "$(q $dst "SELECT string_agg(company || ':' || n, ',' ORDER BY company) FROM (
                    SELECT c.company, count(*) AS n FROM clients c JOIN subscribers s ON s.client_id = c.id
                      JOIN messages m ON m.subscriber_id = s.id GROUP BY c.company) x")" \
       "$(q $SRC "SELECT string_agg(company || ':' || n, ',' ORDER BY company) FROM (
                    SELECT c.company, count(*) AS n FROM clients c JOIN subscribers s ON s.client_id = c.id
                      JOIN messages m ON m.subscriber_id = s.id GROUP BY c.company) x")"
    like "-F$f: application query: a subscriber's consents by e-mail" \
       "$(q $dst "SELECT s.name, k.purpose FROM subscribers s JOIN consents k ON k.subscriber_id = s.id
                   WHERE s.email = (SELECT email FROM subscribers WHERE id = 7)")" '^[A-Z].*\|marketing$'
    is "-F$f: application writes work (sequences restored)" \
       "$(q $dst "INSERT INTO clients (name, email) VALUES ('New', 'new@example.com') RETURNING id")" "4"
    is "-F$f: masking rules and masked views come back with the schema" \
       "$(q $dst "SELECT count(*) FROM privacy.masking_rules")/$(q $dst "SELECT count(*) FROM pg_views WHERE schemaname = 'privacy_masked'")" \
       "$(q $SRC "SELECT count(*) FROM privacy.masking_rules")/$(q $SRC "SELECT count(*) FROM pg_views WHERE schemaname = 'privacy_masked'")"
    is "-F$f: the protected column without a rule holds its ciphertext" \
       "$(q $dst "SELECT count(*) FROM clients WHERE privacy.is_ciphertext(tax_id)")" "3"
    like "-F$f: which the copy cannot decrypt (its key ring is its own)" \
       "$(q $dst "SELECT tax_id FROM clients_decrypted WHERE id = 1")" "ERROR"
    is "-F$f: the restored key ring is the new database's own (no billing key)" \
       "$(q $dst "SELECT count(*) FROM privacy.keys WHERE name = 'billing'")" "0"
done

like "after the dumps the role still cannot SELECT from a base table" \
     "$(as_dumper -c "SELECT count(*) FROM public.subscribers")" "permission denied for relation subscribers"

cleanup
rm -rf "$TMP"
done_testing
