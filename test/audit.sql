-- The audit log: append-only, key changes recorded, decryptions recorded once
-- per statement (privacy.audit_decrypt), refused where they cannot be recorded.
BEGIN;
SELECT plan(16);

CREATE TEMP TABLE audit_mark AS SELECT coalesce(max(id), 0) AS last FROM privacy.audit_log;
CREATE FUNCTION pg_temp.audit_since() RETURNS SETOF privacy.audit_log
LANGUAGE sql AS $$ SELECT * FROM privacy.audit_log WHERE id > (SELECT last FROM audit_mark) ORDER BY id $$;

DO $$ BEGIN PERFORM privacy.create_key('audit_k', 'encrypt'); PERFORM privacy.rotate_key('audit_k'); END $$;
SELECT results_eq(
    $$ SELECT action, object, details->>'version' FROM pg_temp.audit_since() $$,
    $$ VALUES ('create_key', 'audit_k', '1'), ('rotate_key', 'audit_k', '2') $$,
    'create_key and rotate_key are audited with key and version');
SELECT is((SELECT acting_role FROM pg_temp.audit_since() LIMIT 1), current_user::name,
          'the acting role is recorded');

CREATE TEMP TABLE audit_ct AS
SELECT privacy.encrypt('value ' || g, 'audit_k') AS c FROM generate_series(1, 25) g;
UPDATE audit_mark SET last = (SELECT max(id) FROM privacy.audit_log);

SELECT is((SELECT count(privacy.decrypt_text(c)) FROM audit_ct), 25::bigint, 'decrypting 25 values');
SELECT is((SELECT count(*) FROM pg_temp.audit_since() WHERE action = 'decrypt'), 1::bigint,
          'one audit row for the statement, not one per value');
SELECT is((SELECT details->>'values' FROM pg_temp.audit_since() WHERE action = 'decrypt'), '25',
          'the row counts the values decrypted');
SELECT is((SELECT details->'key_ids' FROM pg_temp.audit_since() WHERE action = 'decrypt'),
          jsonb_build_array((SELECT key_id FROM privacy.key_ring WHERE name = 'audit_k' LIMIT 1)),
          'and names the key');

UPDATE audit_mark SET last = (SELECT max(id) FROM privacy.audit_log);
SELECT is((SELECT count(*) FROM audit_ct WHERE privacy.decrypt(c) IS NOT NULL), 25::bigint,
          'privacy.decrypt in a WHERE clause');
SELECT is((SELECT string_agg(action, ',') FROM pg_temp.audit_since()), 'decrypt',
          'is audited too');

UPDATE audit_mark SET last = (SELECT max(id) FROM privacy.audit_log);
SELECT is((SELECT count(*) FROM audit_ct), 25::bigint, 'a statement without decryption');
SELECT is((SELECT count(*) FROM pg_temp.audit_since()), 0::bigint, 'writes no audit row');

-- a statement that fails inside a caught subtransaction leaves no nesting behind:
-- the statements after it still get one row each, and what the failed one
-- decrypted before its error is recorded as a failed statement's row
UPDATE audit_mark SET last = (SELECT max(id) FROM privacy.audit_log);
DO $$
BEGIN
    PERFORM count(privacy.decrypt_text(c)) FROM (SELECT c FROM audit_ct LIMIT 3) s;
    BEGIN
        PERFORM 1 / 0 FROM audit_ct;
    EXCEPTION WHEN division_by_zero THEN NULL;
    END;
    PERFORM count(privacy.decrypt_text(c)) FROM (SELECT c FROM audit_ct LIMIT 5) s;
    BEGIN
        PERFORM CASE WHEN privacy.decrypt_text(c) = 'value 4' THEN 1 / (octet_length(c) * 0) END FROM audit_ct;
    EXCEPTION WHEN division_by_zero THEN NULL;
    END;
    PERFORM count(privacy.decrypt_text(c)) FROM (SELECT c FROM audit_ct LIMIT 7) s;
END $$;
SELECT results_eq(
    $$ SELECT details->>'values', details ? 'failed' FROM pg_temp.audit_since() WHERE action = 'decrypt' $$,
    $$ VALUES ('3', false), ('5', false), ('4', true), ('7', false) $$,
    'a caught error between decrypting statements: one row per statement, before commit');
UPDATE audit_mark SET last = (SELECT max(id) FROM privacy.audit_log);
SELECT is((SELECT count(privacy.decrypt_text(c)) FROM audit_ct), 25::bigint, 'a statement after the DO block');

SAVEPOINT ro;
SET TRANSACTION READ ONLY;
SELECT throws_ok($$ SELECT privacy.decrypt_text(c) FROM audit_ct LIMIT 1 $$, '25006',
    'cannot decrypt in a read-only transaction while privacy.audit_decrypt is on',
    'decryption that cannot be audited is refused');
ROLLBACK TO SAVEPOINT ro;

SELECT throws_ok($$ UPDATE privacy.audit_log SET action = 'x' $$, '42501',
    'privacy.audit_log is append-only', 'UPDATE of the audit log is refused, even for its owner');
SELECT throws_ok($$ DELETE FROM privacy.audit_log $$, '42501',
    'privacy.audit_log is append-only', 'DELETE of the audit log is refused');
SELECT throws_ok($$ TRUNCATE privacy.audit_log $$, '42501',
    'privacy.audit_log is append-only', 'TRUNCATE of the audit log is refused');

SELECT * FROM finish();
ROLLBACK;
