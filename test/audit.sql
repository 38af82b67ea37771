-- The audit log: append-only, key changes recorded, decryptions recorded once
-- per statement (privacy.audit_decrypt), refused where they cannot be recorded.
BEGIN;
SELECT plan(31);

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

-- The online re-encryption (privacy.reencrypt_online) is audited when its
-- operation finishes (privacy._bulk_finish): one "reencrypt" row, as the
-- function form writes, with "online": true; once per operation; only for the
-- table's owner, and only a role allowed to call reencrypt_online.
CREATE ROLE aud_owner;
CREATE ROLE aud_member IN ROLE aud_owner;     -- a member of the owner role, not the owner
CREATE ROLE aud_other;                        -- an unrelated role
CREATE ROLE aud_ungranted;                    -- owns a table, may not call reencrypt_online
GRANT EXECUTE ON PROCEDURE privacy.reencrypt_online(regclass, name, int, text, int) TO aud_owner, aud_member, aud_other;
CREATE SCHEMA "aud S" AUTHORIZATION aud_owner;
GRANT USAGE ON SCHEMA "aud S" TO PUBLIC;
CREATE TABLE "aud S"."Msgs" (id int, "Body" bytea, other bytea);
ALTER TABLE "aud S"."Msgs" OWNER TO aud_owner;
CREATE TABLE "aud S".ungranted (id int, c bytea);
ALTER TABLE "aud S".ungranted OWNER TO aud_ungranted;
-- the object as the function form writes it
UPDATE audit_mark SET last = (SELECT max(id) FROM privacy.audit_log);
SELECT is(privacy.reencrypt('"aud S"."Msgs"', 'Body'), 0::bigint, 'the function form on the same (empty) column');
CREATE TEMP TABLE aud_object AS SELECT object FROM pg_temp.audit_since() WHERE action = 'reencrypt';
CREATE TEMP TABLE aud_ops (name text PRIMARY KEY, id bigint);
GRANT SELECT ON aud_ops TO PUBLIC;
INSERT INTO aud_ops SELECT 'first', tap.as_role('aud_owner', $$INSERT INTO privacy.bulk_operations
    (operation, tbl, col, rows_done, rows_total) VALUES ('reencrypt', '"aud S"."Msgs"', 'Body', 7, 5) RETURNING id$$)::bigint;

UPDATE audit_mark SET last = (SELECT max(id) FROM privacy.audit_log);
SELECT is(tap.as_role('aud_owner', $$SELECT privacy._bulk_finish((SELECT id FROM aud_ops WHERE name = 'first'), 50)$$),
          '7', 'the owner finishes its online re-encryption (rows done)');
SELECT results_eq(
    $$ SELECT action, object, acting_role = 'aud_owner', details FROM pg_temp.audit_since() $$,
    $$ SELECT 'reencrypt', (SELECT object FROM aud_object), true, '{"rows": 7, "batch": 50, "online": true}'::jsonb $$,
    'finishing writes one reencrypt row: the function form''s object, the acting role, rows, batch and "online": true');
SELECT is(tap.as_role('aud_owner', $$SELECT coalesce(privacy._bulk_finish((SELECT id FROM aud_ops WHERE name = 'first'), 50)::text, 'null')$$),
          'null', 'finishing a finished operation again does nothing');
SELECT is((SELECT count(*) FROM pg_temp.audit_since()), 1::bigint, 'and writes no second row');

-- an unfinished re-encryption of aud_owner's table
INSERT INTO aud_ops SELECT 'second', tap.as_role('aud_owner', $$INSERT INTO privacy.bulk_operations
    (operation, tbl, col) VALUES ('reencrypt', '"aud S"."Msgs"', 'Body') RETURNING id$$)::bigint;
UPDATE audit_mark SET last = (SELECT max(id) FROM privacy.audit_log);
SELECT is(tap.as_role('aud_other', $$INSERT INTO privacy.bulk_operations (operation, tbl, col)
                                     VALUES ('reencrypt', '"aud S"."Msgs"', 'other') RETURNING id$$),
          'ERROR 42501: new row violates row-level security policy for table "bulk_operations"',
          'a role that does not own the table cannot record an operation on it');
SELECT is(tap.as_role('aud_other', $$SELECT coalesce(privacy._bulk_finish((SELECT id FROM aud_ops WHERE name = 'second'), 50)::text, 'null')$$),
          'null', 'nor finish the owner''s operation');
SELECT is(tap.as_role('aud_member', $$SELECT privacy._bulk_finish((SELECT id FROM aud_ops WHERE name = 'second'), 50)$$),
          'ERROR 42501: only the owner of table "aud S"."Msgs" can finish its online re-encryption',
          'a member of the owner role is refused');
SELECT throws_ok($$SELECT privacy._bulk_finish((SELECT id FROM aud_ops WHERE name = 'second'), 50)$$, '42501',
          'only the owner of table "aud S"."Msgs" can finish its online re-encryption',
          'and so is a superuser who does not own the table');
INSERT INTO aud_ops SELECT 'ungranted', tap.as_role('aud_ungranted', $$INSERT INTO privacy.bulk_operations
    (operation, tbl, col) VALUES ('reencrypt', '"aud S".ungranted', 'c') RETURNING id$$)::bigint;
SELECT is(tap.as_role('aud_ungranted', $$SELECT privacy._bulk_finish((SELECT id FROM aud_ops WHERE name = 'ungranted'), 50)$$),
          'ERROR 42501: permission denied for procedure privacy.reencrypt_online',
          'the owner of a table who may not call reencrypt_online cannot finish a re-encryption of it');
SELECT is(tap.as_role('aud_owner', $$SELECT privacy._bulk_finish((SELECT id FROM aud_ops WHERE name = 'second'), 0)$$),
          'ERROR 22023: batch size must be at least 1', 'a batch size below 1 is refused');
SELECT is((SELECT count(*) FROM pg_temp.audit_since()), 0::bigint, 'none of these wrote an audit row');
SELECT is((SELECT count(*) FROM privacy.bulk_operations WHERE id IN (SELECT id FROM aud_ops WHERE name <> 'first')
            AND finished IS NULL), 2::bigint, 'nor finished the operation');
INSERT INTO aud_ops SELECT 'protect', tap.as_role('aud_owner', $$INSERT INTO privacy.bulk_operations
    (operation, tbl, col, rows_total) VALUES ('protect', '"aud S"."Msgs"', 'other', 3) RETURNING id$$)::bigint;
SELECT is(tap.as_role('aud_owner', $$SELECT privacy._bulk_finish((SELECT id FROM aud_ops WHERE name = 'protect'), 50)$$),
          '3', 'other online operations finish as before');
SELECT is((SELECT count(*) FROM pg_temp.audit_since()), 0::bigint, 'without a reencrypt row');

SELECT throws_ok($$ UPDATE privacy.audit_log SET action = 'x' $$, '42501',
    'privacy.audit_log is append-only', 'UPDATE of the audit log is refused, even for its owner');
SELECT throws_ok($$ DELETE FROM privacy.audit_log $$, '42501',
    'privacy.audit_log is append-only', 'DELETE of the audit log is refused');
SELECT throws_ok($$ TRUNCATE privacy.audit_log $$, '42501',
    'privacy.audit_log is append-only', 'TRUNCATE of the audit log is refused');

SELECT * FROM finish();
ROLLBACK;
