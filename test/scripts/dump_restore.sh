#!/usr/bin/env bash
# pg_dump of a database using privacy restores into a new database of the same
# cluster: the key ring comes along as extension configuration, protected
# columns are not encrypted twice, and everything still decrypts.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
q() { psql -X -A -t -q -d "$1" -c "$2" 2>&1; }
SRC=privacy_dump_src
DST=privacy_dump_dst
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $SRC" -c "DROP DATABASE IF EXISTS $DST" \
     -c "CREATE DATABASE $SRC" -c "CREATE DATABASE $DST" >/dev/null 2>&1

psql -X -q -v ON_ERROR_STOP=1 -d $SRC >/dev/null <<'SQL'
CREATE EXTENSION privacy;
SELECT privacy.create_key('billing', 'encrypt');
CREATE TABLE subscribers (id int PRIMARY KEY, phone varchar(20), email text UNIQUE, blob bytea);
INSERT INTO subscribers SELECT g, '+1-650-555-' || lpad(g::text, 4, '0'), 'user' || g || '@example.com',
                               privacy.encrypt('blob ' || g, 'billing', 'subscribers.blob')
FROM generate_series(1, 100) g;
SELECT privacy.protect_column('subscribers', 'phone');
SELECT privacy.protect_column('subscribers', 'email', deterministic => true);
SELECT privacy.rotate_key('billing');
INSERT INTO subscribers VALUES (101, '+1-650-555-9999', 'late@example.com', privacy.encrypt('blob 101', 'billing', 'subscribers.blob'));
CREATE ROLE privacy_dump_reader;
GRANT SELECT ON subscribers_decrypted TO privacy_dump_reader;
SQL

pg_dump -d $SRC > /tmp/privacy_dump_$$.sql 2>/tmp/privacy_dump_$$.err
ok "pg_dump succeeds" test -s /tmp/privacy_dump_$$.sql
ok "dump holds no plaintext phone number" bash -c "! grep -q '+1-650-555-0042' /tmp/privacy_dump_$$.sql"
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d $DST -f /tmp/privacy_dump_$$.sql > /tmp/privacy_restore_$$.log 2>&1
rc=$?
ok "restore into a new database succeeds" test $rc -eq 0
[ $rc -ne 0 ] && sed 's/^/# /' /tmp/privacy_restore_$$.log | head -20

is "same stored ciphertexts (nothing encrypted twice)" \
   "$(q $DST "SELECT md5(string_agg(phone || email || blob::text, ',' ORDER BY id)) FROM subscribers")" \
   "$(q $SRC "SELECT md5(string_agg(phone || email || blob::text, ',' ORDER BY id)) FROM subscribers")"
is "protected columns decrypt after restore" \
   "$(q $DST "SELECT phone || ' ' || email FROM subscribers_decrypted WHERE id = 42")" "+1-650-555-0042 user42@example.com"
is "both versions of a rotated key decrypt after restore" \
   "$(q $DST "SELECT string_agg(privacy.decrypt_text(blob, 'subscribers.blob'), ',' ORDER BY id) FROM subscribers WHERE id IN (1, 101)")" \
   "blob 1,blob 101"
is "key ring restored (4 default keys + billing v1, v2)" \
   "$(q $DST "SELECT count(*) FROM privacy.keys")" "6"
is "new writes after restore are encrypted once" \
   "$(q $DST "INSERT INTO subscribers VALUES (200, '+1-650-555-2000', 'new@example.com') RETURNING privacy.is_ciphertext(phone)")" "t"
is "and decrypt" "$(q $DST "SELECT phone FROM subscribers_decrypted WHERE id = 200")" "+1-650-555-2000"
is "deterministic column keeps its unique index across the restore" \
   "$(q $DST "INSERT INTO subscribers VALUES (201, '1', 'user42@example.com')" | grep -c -E "duplicate key")" "1"
is "grant on the _decrypted view survives" \
   "$(q $DST "SELECT has_table_privilege('privacy_dump_reader', 'subscribers_decrypted', 'SELECT')")" "t"
is "a reload of the same data keeps ciphertexts as they are" \
   "$(q $DST "CREATE TEMP TABLE c AS SELECT * FROM subscribers WHERE id = 7; DELETE FROM subscribers WHERE id = 7; INSERT INTO subscribers SELECT * FROM c; SELECT phone FROM subscribers_decrypted WHERE id = 7")" \
   "+1-650-555-0007"

psql -X -q -d postgres -c "DROP DATABASE $SRC" -c "DROP DATABASE $DST" -c "DROP ROLE privacy_dump_reader" >/dev/null 2>&1
rm -f /tmp/privacy_dump_$$.* /tmp/privacy_restore_$$.log
done_testing
