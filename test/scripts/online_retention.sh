#!/usr/bin/env bash
# The online (batch-committing) forms of protect, reencrypt and unprotect keep
# each row's retention expiry, like their one-transaction forms
# (test/retention_rewrite.sql): a key rotation must not restart retention.
# Procedures that commit cannot run inside the pgTAP transaction, hence a
# script.  Runs in the make test cluster.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
DB=privacy_online_retention
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d $DB -c "$1" 2>&1; }
psql -X -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null 2>&1
q "CREATE EXTENSION privacy;
   CREATE TABLE forms (id int PRIMARY KEY, email text, note text);
   INSERT INTO forms SELECT g, 'user' || g || '@example.org', 'x' FROM generate_series(1, 500) g;
   SELECT privacy.set_retention('forms', '6 months');
   ALTER TABLE forms DISABLE TRIGGER zz_privacy_retention;
   UPDATE forms SET expires_at = timestamptz '2026-01-01 00:00+00' + id * interval '1 hour';
   ALTER TABLE forms ENABLE TRIGGER zz_privacy_retention;
   CREATE TABLE before AS SELECT id, expires_at FROM forms;
   SELECT privacy.create_key('online_rr');" >/dev/null
same() { q "SELECT count(*) FROM forms f JOIN before b USING (id) WHERE f.expires_at = b.expires_at"; }

q "CALL privacy.protect_column_online('forms', 'email', 'online_rr', batch => 100, notice_every => 0)" >/dev/null
is "protect_column_online encrypted every row" "$(q "SELECT count(*) FROM forms WHERE email LIKE '\$pv1\$%'")" "500"
is "protect_column_online keeps every expiry" "$(same)" "500"
q "SELECT privacy.rotate_key('online_rr')" >/dev/null
q "CALL privacy.reencrypt_online('forms', 'email', batch => 100, notice_every => 0)" >/dev/null
is "reencrypt_online moved every row to the new key version" \
   "$(q "SELECT count(*) FROM forms WHERE privacy.key_version(email) = 2")" "500"
is "rotate_key + reencrypt_online keep every expiry" "$(same)" "500"
q "CALL privacy.unprotect_column_online('forms', 'email', batch => 100, notice_every => 0)" >/dev/null
is "unprotect_column_online decrypted every row" "$(q "SELECT count(*) FROM forms WHERE email LIKE 'user%@example.org'")" "500"
is "unprotect_column_online keeps every expiry" "$(same)" "500"
q "UPDATE forms SET note = 'touched' WHERE id = 1" >/dev/null
is "an ordinary UPDATE afterwards is still the latest write" \
   "$(q "SELECT expires_at > now() + interval '5 months' FROM forms WHERE id = 1")" "t"

psql -X -q -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
done_testing
