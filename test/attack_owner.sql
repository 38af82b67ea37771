-- Attacks by an ordinary table owner and by a role with DELETE only (issue 10,
-- items 1, 3, 6, 7, 10).  Each test is the attack; it shows the effect does
-- not happen: code the attacker wrote runs only as the attacker (in a
-- security-restricted operation), never as the DPO, a superuser or the
-- extension owner, and no internal entry point acts on what the attacker asks.
BEGIN;
SELECT plan(39);

CREATE ROLE atk_owner;
CREATE ROLE atk_dpo;
CREATE ROLE atk_deleter;
SELECT privacy.grant_subject_rights('atk_dpo');
CREATE TABLE public.atk_pwn (who name, sess name, restricted boolean);
GRANT INSERT, SELECT ON public.atk_pwn TO PUBLIC;
CREATE SCHEMA atk AUTHORIZATION atk_owner;

-- ---------------------------------------------------------------------------
-- Item 1: a domain on the subject column whose CHECK calls the owner's
-- function; a foreign-key child; a trigger and a policy of the owner.
-- ---------------------------------------------------------------------------
SELECT is(tap.as_role_do('atk_owner', $$
    CREATE FUNCTION atk.spy(v text) RETURNS boolean LANGUAGE plpgsql AS $f$
    BEGIN
        INSERT INTO public.atk_pwn VALUES (current_user, session_user,
            (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user));
        RETURN true;
    END $f$;
    CREATE DOMAIN atk.subj AS text CHECK (atk.spy(VALUE));
    CREATE TABLE atk.people (id atk.subj PRIMARY KEY, name text);
    CREATE TABLE atk.orders (id int PRIMARY KEY, person atk.subj REFERENCES atk.people, note text);
    CREATE INDEX ON atk.orders (person);
    INSERT INTO atk.people VALUES ('s1', 'Sam'), ('s2', 'Kim');
    INSERT INTO atk.orders VALUES (1, 's1', 'o1'), (2, 's2', 'o2');
    CREATE FUNCTION atk.trg() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN PERFORM atk.spy('t'); RETURN OLD; END $f$;
    CREATE TRIGGER spy BEFORE DELETE ON atk.orders FOR EACH ROW EXECUTE FUNCTION atk.trg();
    SELECT privacy.register_subject_table('atk.people', 'id');
    GRANT USAGE ON SCHEMA atk TO atk_dpo, atk_deleter;
    GRANT SELECT, UPDATE, DELETE ON atk.people, atk.orders TO atk_dpo;
    GRANT DELETE ON atk.people, atk.orders TO atk_deleter$$), 'done',
    'an ordinary owner registers a table whose subject column has a domain calling its own function');
DELETE FROM public.atk_pwn;

SELECT is(jsonb_array_length(privacy.export_subject('s1') -> 'data' -> 'atk.orders'), 1,
          'a superuser exports the subject: the foreign-key child is found');
SELECT is(tap.as_role('atk_dpo', $$SELECT jsonb_array_length(privacy.export_subject('s1') -> 'data' -> 'atk.people')::text$$),
          '1', 'a DPO exports the subject');
SELECT is((SELECT string_agg(DISTINCT who::text, ',') FROM public.atk_pwn), 'atk_owner',
          'export: the domain check ran only as the table owner, never as the superuser or the DPO');
SELECT is((SELECT bool_or(restricted) FROM public.atk_pwn), false,
          'export: the owner''s code never had superuser rights');
DELETE FROM public.atk_pwn;

SELECT is(tap.as_role('atk_dpo', $$SELECT (privacy.erase_subject('s1', 'attack test') ->> 'status')$$),
          'complete', 'a DPO erases the subject');
SELECT is((SELECT count(*) FROM atk.people WHERE id = 's1'), 0::bigint, 'the subject''s row is gone');
SELECT is((SELECT count(*) FROM atk.orders WHERE id = 1), 0::bigint, 'and its child row');
SELECT is((SELECT count(*) FROM atk.people), 1::bigint, 'and nothing else');
SELECT is((SELECT string_agg(DISTINCT who::text, ',') FROM public.atk_pwn), 'atk_owner',
          'erasure: domain checks and triggers ran only as the table owner');
DELETE FROM public.atk_pwn;
SELECT lives_ok($$SELECT privacy.erase_subject('s2', 'attack test')$$, 'a superuser erases another subject');
SELECT is((SELECT string_agg(DISTINCT who::text, ',') FROM public.atk_pwn), 'atk_owner',
          'erasure by a superuser: the owner''s code still runs only as the owner');
SELECT is((SELECT bool_or(restricted) FROM public.atk_pwn), false, 'and never with superuser rights');

-- a policy of the owner: never evaluated with the DPO's rights
SELECT is(tap.as_role_do('atk_owner', $$
    INSERT INTO atk.people VALUES ('s3', 'Lee');
    CREATE POLICY p ON atk.people USING (atk.spy(id));
    ALTER TABLE atk.people ENABLE ROW LEVEL SECURITY$$), 'done', 'the owner adds a row-level security policy');
DELETE FROM public.atk_pwn;
SELECT alike(tap.as_role('atk_dpo', $$SELECT privacy.export_subject('s3')::text$$),
            'ERROR 42501: row-level security of table "people" applies to role "atk_dpo"%',
            'a DPO subject to the policy is refused: the policy would run with its rights');
SELECT is((SELECT count(*) FROM public.atk_pwn), 0::bigint, 'and the policy did not run');
SELECT is(tap.as_role_do('atk_owner', 'ALTER TABLE atk.people FORCE ROW LEVEL SECURITY'), 'done',
          'the owner forces the policy on itself');
SELECT is(jsonb_array_length(privacy.export_subject('s3') -> 'data' -> 'atk.people'), 1,
          'a superuser exports: the table is read as its owner, through the forced policy');
SELECT is((SELECT string_agg(DISTINCT who::text, ',') FROM public.atk_pwn), 'atk_owner',
          'the forced policy ran as the owner only');

-- ---------------------------------------------------------------------------
-- Item 7: the internal row lookups and erasure refuse direct calls; the
-- 0.1.0 entry point on caller-supplied row addresses is gone.
-- ---------------------------------------------------------------------------
SELECT is(to_regprocedure('privacy._erase_rows(oid, text, text[], text)'), NULL,
          'privacy._erase_rows (row addresses from the caller) no longer exists');
SELECT is(tap.as_role('atk_deleter', $$SELECT privacy._erase_subject_rows('atk.orders'::regclass, 'delete', NULL)::text$$),
          'ERROR 42501: privacy._erase_subject_rows can only be called by privacy.erase_subject',
          'a role with DELETE only cannot reach the erasure statement');
SELECT is(tap.as_role('atk_owner', $$SELECT privacy._subject_keys('atk.people'::regclass, 'id', 's3')::text$$),
          'ERROR 42501: privacy._subject_keys can only be called by privacy.export_subject or privacy.erase_subject',
          'the row lookups refuse direct calls');
SELECT is(tap.as_role('atk_owner', $$SELECT privacy._export_rows('atk.people'::regclass, '{}', '{}')::text$$),
          'ERROR 42501: privacy._export_rows can only be called by privacy.export_subject or privacy.erase_subject',
          'and so do the export reads');

-- Every internal function executable by PUBLIC is on the documented list
-- (README, "Internal functions open to PUBLIC"), with its reason next to the GRANT.
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'privacy'::regnamespace AND p.proname LIKE '\_%'
                   AND has_function_privilege('public', p.oid, 'EXECUTE') ORDER BY 1),
          ARRAY(SELECT f FROM unnest(ARRAY['privacy._batch_update(regclass,text,text,integer)', 'privacy._bulk_finish(bigint,integer)',
                'privacy._bulk_operation(text,regclass,name)', 'privacy._bulk_total(bigint,text)',
                'privacy._citus_kind(regclass)', 'privacy._citus_convert_rows(regclass,name,text)',
                'privacy._citus_refuse(regclass,text,text,text[])',
                'privacy._convert_online(bigint,text,text,integer,integer,boolean)',
                'privacy._decrypt_column(bytea,text)', 'privacy._decrypt_column(text,text)',
                'privacy._decrypt_shard_column(bytea,text)', 'privacy._decrypt_shard_column(text,text)',
                'privacy._drop_decrypted_view(regclass)', 'privacy._drop_protect_trigger(regclass)',
                'privacy._drop_retention_trigger(regclass)',
                'privacy._erase_subject_rows(oid,privacy.erasure_action,text[],text)', 'privacy._export_columns(oid,name[])',
                'privacy._export_rows(oid,text[],name[])', 'privacy._has_leading_index(oid,name[])',
                'privacy._keep_expiry(anyelement)',
                'privacy._key_values(oid,name[],text[])', 'privacy._keys_of(jsonb,oid)',
                'privacy._masking_assignments(regclass)', 'privacy._needs_reencrypt(bytea)',
                'privacy._needs_reencrypt(text)', 'privacy._needs_reencrypt_shard(bytea)',
                'privacy._needs_reencrypt_shard(text)', 'privacy._policy_remove(regclass)',
                'privacy._policy_text(interval,name,text)',
                'privacy._policy_write(regclass,interval,name,text,name)',
                'privacy._protect_column_setup(regclass,name,text,boolean)', 'privacy._protect_trigger()',
                'privacy._protect_value(bytea,text)', 'privacy._protect_value(text,text)',
                'privacy._rebuild_protection(regclass,aclitem[])', 'privacy._reencrypt_shard_value(bytea,text)',
                'privacy._reencrypt_shard_value(text,text)', 'privacy._reencrypt_value(bytea,text)',
                'privacy._reencrypt_value(text,text)', 'privacy._registry_remove(regclass,name)',
                'privacy._registry_set_view(regclass,regclass)',
                'privacy._registry_write(regclass,name,text,boolean)',
                'privacy._related_keys(oid,name[],text[],oid,name[],text[])',
                'privacy._retention_create_trigger(regclass,interval,name,name)',
                'privacy._retention_keep_expiry(boolean)',
                'privacy._retention_setup(regclass,interval,name,text,name)', 'privacy._retention_trigger()',
                'privacy._row_identity(oid)',
                'privacy._subject_edges(oid[])', 'privacy._subject_graph()',
                'privacy._subject_hold_condition(regclass,text,jsonb)', 'privacy._subject_index_warnings(oid)',
                'privacy._subject_keys(oid,name,text)', 'privacy._subject_masked(oid,name)',
                'privacy._subject_processing(oid,text,oid)', 'privacy._subject_retention(oid)',
                'privacy._subject_rules()', 'privacy._unprotecting(regclass,name)',
                'privacy._subject_origins()', 'privacy._subject_retention_policy(oid)',
                'privacy._subject_rights(text)', 'privacy._erasure_defaults(oid)']) f ORDER BY 1),
          'internal functions executable by PUBLIC are exactly the documented ones');

-- ---------------------------------------------------------------------------
-- Item 3: the registry accepts only the view the extension made; the DDL
-- trigger renames only that view, as the table's owner.
-- ---------------------------------------------------------------------------
SELECT is(tap.as_role_do('atk_owner', $$
    CREATE TABLE atk.secrets (id int, s text);
    SELECT privacy.protect_column('atk.secrets', 's')$$), 'done', 'the owner protects a column of its table');
SELECT alike(tap.as_role_do('atk_owner', $$SELECT privacy._registry_set_view('atk.secrets', 'privacy.key_ring')$$),
            'ERROR 42501: "key_ring" is not the _decrypted view privacy made for table "secrets"%',
            'the owner cannot point the registry at the extension''s key_ring view');
SELECT alike(tap.as_role_do('atk_owner', $$CREATE VIEW atk.lookalike AS SELECT 1 AS x;
                                        SELECT privacy._registry_set_view('atk.secrets', 'atk.lookalike')$$),
            'ERROR 42501:%', 'nor at a look-alike view of its own');
SELECT is(tap.as_role_do('atk_owner', 'ALTER TABLE atk.secrets RENAME TO secrets2'), 'done',
          'the owner renames its table (the event trigger runs)');
SELECT is(to_regclass('privacy.key_ring') IS NOT NULL AND to_regclass('atk.secrets2_decrypted') IS NOT NULL, true,
          'key_ring keeps its name; the table''s own _decrypted view follows the table');
SELECT is((SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'atk.secrets2_decrypted'::regclass),
          'atk_owner', 'the view still belongs to the table owner');

-- reencrypt by a superuser: the owner's trigger runs as the owner
SELECT is(tap.as_role_do('atk_owner', $$
    INSERT INTO atk.secrets2 VALUES (1, 'top secret');
    CREATE FUNCTION atk.trg2() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN PERFORM atk.spy('u'); RETURN NEW; END $f$;
    CREATE TRIGGER spy BEFORE UPDATE ON atk.secrets2 FOR EACH ROW EXECUTE FUNCTION atk.trg2()$$), 'done',
    'the owner puts a trigger on its protected table');
DELETE FROM public.atk_pwn;
SELECT lives_ok($$SELECT privacy.rotate_key('default')$$, 'a superuser rotates the default key');
SELECT is(privacy.reencrypt('atk.secrets2', 's'), 1::bigint, 'and re-encrypts the owner''s column');
SELECT is((SELECT string_agg(DISTINCT who::text, ',') FROM public.atk_pwn), 'atk_owner',
          'reencrypt: the owner''s trigger ran as the owner, not as the superuser');

-- ---------------------------------------------------------------------------
-- Item 10: rights on restriction status and masking assignments; DROP TABLE
-- of a protected table; DROP EXTENSION with live keys.
-- ---------------------------------------------------------------------------
SELECT is(tap.as_role('atk_owner', $$SELECT privacy.is_restricted('s3')::text$$),
          'ERROR 42501: permission denied for function is_restricted',
          'restriction status (personal data) is not answered to an ordinary role');
SELECT alike(tap.as_role('atk_deleter', $$SELECT privacy._masking_assignments('atk.people')$$),
            'ERROR 42501: permission denied for table people%',
            'masking assignments only for the table''s owner or a role that may UPDATE it');
SELECT is(tap.as_role_do('atk_owner', 'DROP TABLE atk.secrets2'), 'done',
          'a protected table drops without CASCADE');
SELECT is(to_regclass('atk.secrets2_decrypted'), NULL, 'its _decrypted view went with it');
SELECT throws_ok('DROP EXTENSION privacy CASCADE', '2BP01', NULL,
                 'DROP EXTENSION privacy CASCADE is refused while live keys exist');

SELECT * FROM finish();
ROLLBACK;
