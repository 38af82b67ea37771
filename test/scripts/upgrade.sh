#!/usr/bin/env bash
# Upgrade from the released 0.1.0: a database created with 0.1.0 and holding
# data (protected columns, masking rules, a retention policy, registered
# subjects, consent) is updated in place with ALTER EXTENSION privacy UPDATE;
# its data still decrypts, its features still work, and the upgraded
# extension's objects are identical to a fresh install of the new version
# (every member object, every function definition, table, view, trigger,
# index, comment and privilege).  Runs in the make test cluster.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
ROOT=$(cd "$HERE/../.." && pwd)

OLD=privacy_upgrade_old
NEW=privacy_upgrade_new
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$ROOT/privacy.control")

for db in $OLD $NEW; do
    psql -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
done

# ---------------------------------------------------------------- 0.1.0 with data
setup=$(psql -X -q -v ON_ERROR_STOP=1 -d $OLD -f "$ROOT/demo/schema.sql" 2>&1 && psql -X -A -t -q -v ON_ERROR_STOP=1 -d $OLD 2>&1 <<'SQL'
CREATE EXTENSION privacy VERSION '0.1.0';
SELECT privacy.protect_column('subscribers', 'phone');
SELECT privacy.protect_column('subscribers', 'email', deterministic => true);
SECURITY LABEL FOR privacy ON COLUMN clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN clients.name IS 'MASKED WITH FUNCTION privacy.partial(name, 1, ''***'', 0)';
CREATE ROLE upgrade_reader;
SECURITY LABEL FOR privacy ON ROLE upgrade_reader IS 'MASKED';
SELECT privacy.set_retention('messages', '1 year', 'sent_at');
SELECT privacy.register_subject_table('subscribers', 'id', categories => '{contact}', purpose => 'campaigns');
SELECT privacy.record_consent('1', 'newsletter', true, 'web form');
SELECT privacy.place_hold('audit 2026', 'payments');
SELECT privacy.rotate_key('default');
SQL
)
ok "0.1.0 installed with data" test "$(q $OLD "SELECT extversion FROM pg_extension WHERE extname = 'privacy'")" = "0.1.0"
[ "$(q $OLD "SELECT extversion FROM pg_extension WHERE extname = 'privacy'")" = "0.1.0" ] || echo "$setup" | sed 's/^/# /' | head -20

before=$(q $OLD "SELECT string_agg(id || ':' || phone || ':' || email, ',' ORDER BY id) FROM subscribers_decrypted")
keys_before=$(q $OLD "SELECT string_agg(key_id || '/' || version || '/' || status || '/' || encode(sha256(coalesce(wrapped, '')), 'hex'), ',' ORDER BY key_id, version) FROM privacy.keys")
expires_before=$(q $OLD "SELECT md5(string_agg(id || ':' || expires_at, ',' ORDER BY id)) FROM messages")

# ---------------------------------------------------------------- the update
out=$(q $OLD "ALTER EXTENSION privacy UPDATE")
is "ALTER EXTENSION privacy UPDATE succeeds" "$out" ""
is "version after the update" "$(q $OLD "SELECT extversion FROM pg_extension WHERE extname = 'privacy'")" "$current"

# ---------------------------------------------------------------- data and features
is "protected data decrypts as before" "$(q $OLD "SELECT string_agg(id || ':' || phone || ':' || email, ',' ORDER BY id) FROM subscribers_decrypted")" "$before"
is "key ring unchanged" "$(q $OLD "SELECT string_agg(key_id || '/' || version || '/' || status || '/' || encode(sha256(coalesce(wrapped, '')), 'hex'), ',' ORDER BY key_id, version) FROM privacy.keys")" "$keys_before"
is "retention deadlines unchanged" "$(q $OLD "SELECT md5(string_agg(id || ':' || expires_at, ',' ORDER BY id)) FROM messages")" "$expires_before"
is "new rows are encrypted by the trigger" \
   "$(q $OLD "INSERT INTO subscribers (client_id, phone, email) VALUES (1, '+1-555-0100', 'after.upgrade@mail.example');
              SELECT phone FROM subscribers_decrypted WHERE email = 'after.upgrade@mail.example'")" "+1-555-0100"
is "deterministic lookup still finds the row" \
   "$(q $OLD "SELECT count(*) FROM subscribers WHERE email = privacy.protected_value('subscribers', 'email', 'after.upgrade@mail.example')")" "1"
is "reencrypt moves the column to the rotated key" \
   "$(q $OLD "SELECT privacy.reencrypt('subscribers', 'phone') > 0")|$(q $OLD "SELECT count(DISTINCT privacy.key_version(phone)) FROM subscribers")" "t|1"
is "masking rules kept" "$(q $OLD "SELECT count(*) FROM privacy.masking_rules WHERE tbl = 'clients'::regclass")" "2"
is "masked views made by 0.1.0 are security_invoker after the update" \
   "$(q $OLD "SELECT reloptions @> '{security_invoker=true}' FROM pg_class WHERE oid = 'privacy_masked.clients'::regclass")" "t"
like "a masked role no longer reads a table it was never granted through its masked view" \
   "$(q $OLD "SET ROLE upgrade_reader; SELECT email FROM privacy_masked.clients LIMIT 1")" "permission denied"
is "granted the table, the masked role reads masked data" \
   "$(q $OLD "GRANT SELECT ON clients TO upgrade_reader; SET ROLE upgrade_reader; SELECT email LIKE '%*%' FROM privacy_masked.clients ORDER BY id LIMIT 1")" "t"
is "retention policy kept and purge runs" "$(q $OLD "SELECT count(*) FROM privacy.purge(dry_run => true) WHERE tbl = 'messages'::regclass")" "1"
is "hold kept" "$(q $OLD "SELECT count(*) FROM privacy.active_holds WHERE tbl = 'payments'::regclass")" "1"
is "consent kept" "$(q $OLD "SELECT privacy.has_consent('1', 'newsletter')")" "t"
like "export of a registered subject works" "$(q $OLD "SELECT privacy.export_subject('1')->'data' ? 'public.subscribers'")" "^t$"

# ---------------------------------------------------------------- same objects as a fresh install
q $NEW "CREATE EXTENSION privacy" >/dev/null

# One line per member object and per property that matters: definitions,
# volatility/strictness/parallel labels, ACLs, comments, table columns,
# constraints, indexes, triggers (on extension tables), event triggers.
describe() {
    q "$1" "
WITH m AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
     WHERE e.extname = 'privacy' AND d.deptype = 'e')
SELECT line FROM (
    SELECT 'member ' || pg_describe_object(classid, objid, objsubid) AS line FROM m
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure || E'\n' || pg_get_functiondef(p.oid)
           || E'\nacl ' || coalesce(p.proacl::text, '-') || E'\ncomment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
      FROM pg_proc p JOIN m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    UNION ALL
    SELECT 'relation ' || c.oid::regclass || ' ' || c.relkind::text || ' acl ' || coalesce(c.relacl::text, '-')
           || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
           || coalesce(E'\nview ' || pg_get_viewdef(c.oid), '')
           || coalesce(E'\ncolumns ' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                         || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
                         || coalesce(' acl ' || a.attacl::text, ''), ', ' ORDER BY a.attnum)
                 FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
      FROM pg_class c JOIN m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
    UNION ALL
    SELECT 'constraint ' || con.conrelid::regclass || ' ' || pg_get_constraintdef(con.oid)
      FROM pg_constraint con JOIN m ON m.classid = 'pg_class'::regclass AND m.objid = con.conrelid
    UNION ALL
    SELECT 'index ' || regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+', 'CREATE \1INDEX')
      FROM pg_index i JOIN m ON m.classid = 'pg_class'::regclass AND m.objid = i.indrelid
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid)
      FROM pg_trigger t JOIN m ON m.classid = 'pg_class'::regclass AND m.objid = t.tgrelid
     WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'event trigger ' || evtname || ' ' || evtevent || ' ' || evtfoid::regproc || ' '
           || coalesce(evttags::text, '-') || ' ' || evtenabled::text
      FROM pg_event_trigger ev JOIN m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = ev.oid
    UNION ALL
    SELECT 'schema ' || n.nspname || ' acl ' || coalesce(n.nspacl::text, '-')
      FROM pg_namespace n WHERE n.nspname = 'privacy'
    UNION ALL
    SELECT 'config dump ' || cfg::regclass || ' ' || coalesce(cond, '')
      FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(cfg, cond) WHERE e.extname = 'privacy'
) x ORDER BY line"
}
describe $OLD > /tmp/privacy-upgrade-old.$$
describe $NEW > /tmp/privacy-upgrade-new.$$
d=$(diff /tmp/privacy-upgrade-old.$$ /tmp/privacy-upgrade-new.$$)
ok "the installation has member objects" test "$(grep -c '^member ' /tmp/privacy-upgrade-new.$$)" -gt 50
is "upgraded objects are identical to a fresh install (diff: < upgraded, > fresh)" "$d" ""
rm -f /tmp/privacy-upgrade-old.$$ /tmp/privacy-upgrade-new.$$

for db in $OLD $NEW; do psql -X -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; done
psql -X -q -c "DROP ROLE IF EXISTS upgrade_reader" >/dev/null 2>&1
done_testing
