#!/usr/bin/env bash
# export_subject output validates against doc/export.schema.json (for a caller
# who may decrypt and for one who may not), the validator rejects broken
# documents, and register_subject_table warns with the CREATE INDEX to run.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/tap.sh"
DB=privacy_subject_export
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
q() { psql -X -A -t -q -d $DB -c "$1" 2>&1; }
validate() { python3 "$HERE/subject_schema.py" "$ROOT/doc/export.schema.json" "$@"; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null 2>&1

psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null 2>"$TMP/setup.err" <<'SQL'
CREATE EXTENSION privacy;
CREATE TABLE subscribers (id int PRIMARY KEY, phone varchar(20), email text, name text, prefs jsonb, tags text[],
                          token text, birth date);
CREATE TABLE messages (id int PRIMARY KEY, subscriber_id int NOT NULL REFERENCES subscribers, body text, sent_at timestamptz);
CREATE TABLE invoices (id int PRIMARY KEY, subscriber_id int NOT NULL REFERENCES subscribers, amount numeric);
CREATE INDEX ON invoices (subscriber_id);
INSERT INTO subscribers VALUES (1, '+1-650-555-0101', 'one@example.com', 'Zoë <One>', '{"lang": "fr"}', '{a,b}',
                                privacy.tokenize('+1-650-555-0101'), '1990-05-01');
INSERT INTO messages VALUES (10, 1, 'hello "one"', now()), (11, 1, 'again', now());
INSERT INTO invoices VALUES (1, 1, 9.90);
SELECT privacy.protect_column('subscribers', 'phone');
SELECT privacy.register_subject_table('subscribers', 'id', '{contact}', 'marketing', provided => true,
                                      tokenized_columns => '{token}');
SELECT privacy.register_subject_table('invoices', 'subscriber_id', '{billing}', 'billing', 'retain', retention => '7 years');
SELECT privacy.register_recipient('SMS gateway', 'delivery', 'US', 'SCC');
SELECT privacy.record_consent('1', 'marketing', true, 'web form');
SELECT privacy.open_request('1', 'access');
SET privacy.controller = 'Example SMS Ltd';
CREATE ROLE subj_export_dpo;
SELECT privacy.grant_subject_rights('subj_export_dpo');
GRANT SELECT ON subscribers, messages, invoices TO subj_export_dpo;
SQL
like "register_subject_table warns about the unindexed foreign key" "$(cat "$TMP/setup.err")" \
     'WARNING:  no index on public.messages\(subscriber_id\)'
is "the warning is not repeated when another table is registered" "$(grep -c 'no index on public.messages' "$TMP/setup.err")" "1"
like "and gives the CREATE INDEX to run" "$(cat "$TMP/setup.err")" 'HINT:  Run: CREATE INDEX ON public.messages \(subscriber_id\);'

q "SET privacy.controller = 'Example SMS Ltd'; SELECT privacy.export_subject('1')" > "$TMP/owner.json"
psql -X -A -t -q -d $DB -c "SET ROLE subj_export_dpo; SELECT privacy.export_subject('1')" > "$TMP/dpo.json" 2> "$TMP/dpo.err"
q "SELECT privacy.export_subject('nobody')" > "$TMP/empty.json"
like "the owner's export has the phone in clear" "$(cat "$TMP/owner.json")" '"phone": "\+1-650-555-0101"'
like "the DPO's export has it marked" "$(cat "$TMP/dpo.json")" '"phone": \{"encrypted": true, "ciphertext": "\$pv1\$'
like "the DPO's export has the token marked" "$(cat "$TMP/dpo.json")" '"token": \{"token": '
like "the DPO's export is marked incomplete" "$(cat "$TMP/dpo.json")" '"complete": false'
like "and the DPO is warned" "$(cat "$TMP/dpo.err")" 'WARNING:  the export of this data subject is incomplete'
like "the owner's export is complete" "$(cat "$TMP/owner.json")" '"complete": true'
like "an unknown subject: data_found false" "$(cat "$TMP/empty.json")" '"data_found": false'
like "the export states the rights" "$(cat "$TMP/owner.json")" '"rights": \{.*"complaint": "You may lodge a complaint'

ok "the owner's export validates against doc/export.schema.json" validate "$TMP/owner.json"
ok "the DPO's export validates" validate "$TMP/dpo.json"
ok "an empty export validates" validate "$TMP/empty.json"

python3 - "$TMP" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/owner.json"))
bad1 = dict(d); del bad1["meta"]
bad2 = json.loads(json.dumps(d)); bad2["processing"]["public.invoices"]["on_erasure"] = "shred"
bad3 = json.loads(json.dumps(d)); bad3["data"]["public.subscribers"][0] = "not a row"
for i, b in enumerate([bad1, bad2, bad3], 1):
    json.dump(b, open(f"{sys.argv[1]}/bad{i}.json", "w"))
PY
for i in 1 2 3; do
    ok "the validator rejects broken document $i" bash -c "! python3 '$HERE/subject_schema.py' '$ROOT/doc/export.schema.json' '$TMP/bad$i.json'"
done
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "DROP ROLE IF EXISTS subj_export_dpo" >/dev/null 2>&1
done_testing
