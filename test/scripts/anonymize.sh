#!/usr/bin/env bash
# Static masking of a copy of the demo schema (demo/schema.sql): refused
# without privacy.allow_static_masking; anonymize_database() in committed
# batches leaves no original value of a labelled column anywhere, keeps
# foreign keys and unique indexes valid, masks every row once with the same
# fakes as the fake_* functions (so joins on masked columns still work), and
# the application's queries return rows.  Fakes are the same in two sessions.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
SRC=privacy_anon_src
COPY=privacy_anon_copy
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $COPY" -c "DROP DATABASE IF EXISTS $SRC" -c "CREATE DATABASE $SRC" >/dev/null 2>&1
q -d $SRC -c "CREATE EXTENSION privacy" -f "$HERE/../../demo/schema.sql" >/dev/null
q -d $SRC >/dev/null <<'SQL'
-- a contact form from a subscriber (the same e-mail in two tables) and a ticket naming a client
INSERT INTO contact_forms (email, message) VALUES ('subscriber7@mail.example', 'Please call me back'),
                                                  ('someone.else@mail.example', 'Hello');
INSERT INTO support_tickets (client_id, subject, body) VALUES (1, 'Invoice', 'Ada Lovelace asks for a copy');
SECURITY LABEL FOR privacy ON COLUMN clients.name    IS 'MASKED WITH FUNCTION privacy.fake_name(name)';
SECURITY LABEL FOR privacy ON COLUMN clients.email   IS 'MASKED WITH FUNCTION privacy.fake_email(email)';
SECURITY LABEL FOR privacy ON COLUMN clients.phone   IS 'MASKED WITH FUNCTION privacy.fake_phone(phone)';
SECURITY LABEL FOR privacy ON COLUMN clients.company IS 'MASKED WITH FUNCTION privacy.fake_company(company)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.phone IS 'MASKED WITH FUNCTION privacy.fake_phone(phone)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.email IS 'MASKED WITH FUNCTION privacy.fake_email(email)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.name  IS 'MASKED WITH FUNCTION privacy.fake_name(name)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.birth_date IS 'MASKED WITH FUNCTION privacy.generalize(birth_date, ''year'')';
SECURITY LABEL FOR privacy ON COLUMN payments.card_number IS 'MASKED WITH FUNCTION privacy.mask_card(card_number)';
SECURITY LABEL FOR privacy ON COLUMN payments.billing_address IS 'MASKED WITH FUNCTION privacy.fake_city(billing_address)';
SECURITY LABEL FOR privacy ON COLUMN contact_forms.email IS 'MASKED WITH FUNCTION privacy.fake_email(email)';
SECURITY LABEL FOR privacy ON COLUMN contact_forms.message IS 'MASKED WITH FUNCTION privacy.redact(message)';
SECURITY LABEL FOR privacy ON COLUMN support_tickets.body IS 'MASKED WITH FUNCTION privacy.redact(body)';
SECURITY LABEL FOR privacy ON COLUMN web_logs.ip IS 'MASKED WITH FUNCTION privacy.truncate_ip(ip)';
SQL

# the original values of the labelled columns, and the fakes the source computes
ORIG=$(q -d $SRC -c "SELECT count(*) FROM privacy.masking_rules")
like "the demo schema has masking rules" "$ORIG" '^1[0-9]$'
q -d $SRC -c "COPY (SELECT DISTINCT v FROM (
      SELECT name FROM clients UNION ALL SELECT email FROM clients UNION ALL SELECT phone FROM clients
      UNION ALL SELECT company FROM clients UNION ALL SELECT phone FROM subscribers UNION ALL SELECT email FROM subscribers
      UNION ALL SELECT name FROM subscribers UNION ALL SELECT birth_date::text FROM subscribers
      UNION ALL SELECT card_number FROM payments UNION ALL SELECT billing_address FROM payments
      UNION ALL SELECT email FROM contact_forms UNION ALL SELECT message FROM contact_forms
      UNION ALL SELECT body FROM support_tickets UNION ALL SELECT host(ip) FROM web_logs) s(v)
    WHERE v IS NOT NULL) TO STDOUT" > /tmp/anon_orig.$$
EXPECT=$(q -d $SRC -c "SELECT md5(string_agg(id || privacy.fake_email(email) || privacy.fake_name(name) || privacy.fake_phone(phone), ',' ORDER BY id)) FROM subscribers")

# refused without the setting: nothing changes
OUT=$(psql -X -q -d $SRC -c "CALL privacy.anonymize_database()" 2>&1)
like "anonymize_database is refused without privacy.allow_static_masking" "$OUT" 'static masking is not allowed in database'
OUT=$(psql -X -q -d $SRC -c "SET privacy.allow_static_masking = on" -c "CALL privacy.anonymize_table('clients')" 2>&1)
like "a session SET is not enough (the database must allow it)" "$OUT" 'not allowed in database'
is "the source is unchanged" "$(q -d $SRC -c "SELECT name FROM clients WHERE id = 1")" "Ada Lovelace"

# the copy, allowed, masked in committed batches of 7 rows
psql -X -q -d postgres -c "CREATE DATABASE $COPY TEMPLATE $SRC" -c "ALTER DATABASE $COPY SET privacy.allow_static_masking = on" >/dev/null
OUT=$(psql -X -q -d $COPY -c "CALL privacy.anonymize_database(7)" 2>&1)
like "anonymize_database runs in the copy and reports each table" "$OUT" 'anonymized public.subscribers: 50 rows masked'
like "... and every table" "$OUT" 'anonymized 6 tables'
is "every subscriber masked exactly once, with the fakes the source computes in another session" \
   "$(q -d $COPY -c "SELECT md5(string_agg(id || email || name || phone, ',' ORDER BY id)) FROM subscribers")" "$EXPECT"

# no original value anywhere: every text, varchar, char, json and jsonb column of every table
SEARCH=$(cat <<'SQL'
CREATE TEMP TABLE orig (v text);
COPY orig FROM PROGRAM 'cat ORIGFILE';
DO $$
DECLARE
    r record;
    n bigint;
    found text := '';
BEGIN
    FOR r IN SELECT c.oid::regclass AS tbl, a.attname
               FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
               JOIN pg_namespace ns ON ns.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'm') AND a.attnum > 0 AND NOT a.attisdropped
                AND ns.nspname NOT IN ('pg_catalog', 'information_schema') AND ns.nspname NOT LIKE 'pg_temp%'
                AND ns.nspname NOT LIKE 'pg_toast%'
                AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'json'::regtype, 'jsonb'::regtype) LOOP
        EXECUTE format('SELECT count(*) FROM %s t JOIN orig o ON t.%I::text = o.v
                                                        OR (length(o.v) >= 6 AND strpos(t.%I::text, o.v) > 0)',
                       r.tbl, r.attname, r.attname) INTO n;
        IF n > 0 THEN
            found := found || format('%s.%s: %s; ', r.tbl, r.attname, n);
        END IF;
    END LOOP;
    RAISE NOTICE 'found: %', coalesce(nullif(found, ''), 'nothing');
END
$$;
SQL
)
OUT=$(printf '%s\n' "${SEARCH//ORIGFILE//tmp/anon_orig.$$}" | psql -X -q -d $COPY 2>&1)
like "no original value of a labelled column remains in any text column of the copy" "$OUT" 'found: nothing'
OUT=$(printf '%s\n' "${SEARCH//ORIGFILE//tmp/anon_orig.$$}" | psql -X -q -d $SRC 2>&1)
like "(the same search finds them in the source: $(wc -l < /tmp/anon_orig.$$) values)" "$OUT" 'found: .*subscribers.email: 50'

# keys and constraints
OUT=$(q -d $COPY -c "REINDEX DATABASE $COPY" 2>&1 && echo reindexed)
like "every unique index (primary keys included) still holds: REINDEX DATABASE succeeds" "$OUT" 'reindexed'
ORPHANS=$(q -d $COPY <<'SQL'
SELECT (SELECT count(*) FROM subscribers s LEFT JOIN clients c ON c.id = s.client_id WHERE c.id IS NULL)
     + (SELECT count(*) FROM messages m LEFT JOIN subscribers s ON s.id = m.subscriber_id WHERE s.id IS NULL)
     + (SELECT count(*) FROM payments p LEFT JOIN clients c ON c.id = p.client_id WHERE c.id IS NULL)
     + (SELECT count(*) FROM consents x LEFT JOIN subscribers s ON s.id = x.subscriber_id WHERE s.id IS NULL);
SQL
)
is "foreign keys hold: no orphan rows" "$ORPHANS" "0"
is "the same e-mail in two tables got the same fake: the contact form still joins its subscriber" \
   "$(q -d $COPY -c "SELECT count(*) FROM contact_forms f JOIN subscribers s ON s.email = f.email")" "1"
APP=$(q -d $COPY <<'SQL'
SELECT (SELECT count(*) FROM (SELECT s.id, count(m.*) FROM subscribers s JOIN messages m ON m.subscriber_id = s.id
                              GROUP BY s.id ORDER BY 2 DESC LIMIT 3) x) > 0
   AND (SELECT count(*) FROM clients c JOIN payments p ON p.client_id = c.id) > 0
   AND (SELECT count(*) FROM subscribers s JOIN consents k ON k.subscriber_id = s.id WHERE k.granted) > 0
   AND (SELECT count(*) FROM subscribers WHERE email LIKE '%@example.___' AND country = 'US') > 0
   AND (SELECT count(*) FROM support_tickets t JOIN clients c ON c.id = t.client_id) > 0;
SQL
)
is "the demo's application queries return rows" "$APP" "t"

# two sessions, same fakes
Q="SELECT md5(string_agg(privacy.fake_email('s' || g) || privacy.fake_name('s' || g) || privacy.fake_phone('+33 6 12 34 ' || lpad(g::text, 4, '0'))
                         || privacy.fake_iban('FR76 3000 6000 01' || lpad(g::text, 11, '0') || ' 189'), ',' ORDER BY g))
   FROM generate_series(1, 1000) g"
A=$(q -d $SRC -c "$Q")
B=$(q -d $SRC -c "$Q")
like "a session computes fakes" "$A" '^[0-9a-f]{32}$'
is "a second session computes the same fakes" "$B" "$A"
is "the copy (same key ring) computes the same fakes" "$(q -d $COPY -c "$Q")" "$A"

rm -f /tmp/anon_orig.$$
psql -X -q -d postgres -c "DROP DATABASE $COPY" -c "DROP DATABASE $SRC" >/dev/null 2>&1
done_testing
