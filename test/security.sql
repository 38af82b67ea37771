-- Privileges, SECURITY DEFINER hygiene, hostile objects in the caller's
-- search_path, and attacks by roles without grants.
BEGIN;
SELECT plan(48);
SET LOCAL client_min_messages = warning;



CREATE ROLE security_nobody NOLOGIN;
CREATE ROLE security_granted NOLOGIN;
CREATE ROLE security_owner NOLOGIN;
CREATE TABLE security_t (id int PRIMARY KEY, c bytea);
INSERT INTO security_t VALUES (1, privacy.encrypt('x'));
GRANT ALL ON security_t TO security_nobody;
CREATE TEMP TABLE sample AS
SELECT privacy.encrypt('top secret') AS ct, privacy.encrypt('app secret', 'default', 'security.app.phone') AS app_ct;
GRANT SELECT ON sample TO PUBLIC;

-- ---------------------------------------------------------------------------
-- A role with no grants
-- ---------------------------------------------------------------------------
SELECT is(tap.as_role('security_nobody', 'SELECT privacy.decrypt(ct) FROM sample'),
          'ERROR 42501: permission denied for function decrypt', 'decrypt: 42501');
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.decrypt(app_ct, 'security.app.phone') FROM sample$$),
          'ERROR 42501: permission denied for function decrypt', 'decrypt with a context: 42501');
SELECT is(tap.as_role('security_nobody', 'SELECT privacy.decrypt_text(ct) FROM sample'),
          'ERROR 42501: permission denied for function decrypt_text', 'decrypt_text: 42501');
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.create_key('security_k')$$),
          'ERROR 42501: permission denied for function create_key', 'create_key: 42501');
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.rotate_key('default')$$),
          'ERROR 42501: permission denied for function rotate_key', 'rotate_key: 42501');
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.destroy_key('default')$$),
          'ERROR 42501: permission denied for function destroy_key', 'destroy_key: 42501');
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.reencrypt('security_t', 'c')$$),
          'ERROR 42501: permission denied for function reencrypt', 'reencrypt: 42501 (even on a table it may update)');
SELECT is(tap.as_role('security_nobody', 'SELECT privacy.rewrap_keys()'),
          'ERROR 42501: permission denied for function rewrap_keys', 'rewrap_keys: 42501');
SELECT is(tap.as_role('security_nobody', 'SELECT privacy.master_key_id()'),
          'ERROR 42501: permission denied for function master_key_id', 'master_key_id: 42501');
SELECT is(tap.as_role('security_nobody', 'SELECT privacy._siv_selftest(1)'),
          'ERROR 42501: permission denied for function _siv_selftest', '_siv_selftest: 42501');
SELECT is(tap.as_role('security_nobody', 'SELECT count(*) FROM privacy.keys'),
          'ERROR 42501: permission denied for table keys', 'SELECT from privacy.keys: 42501');
SELECT is(tap.as_role('security_nobody', 'SELECT count(*) FROM privacy.key_ring'),
          'ERROR 42501: permission denied for view key_ring', 'SELECT from privacy.key_ring: 42501');
SELECT is(tap.as_role('security_nobody', 'SELECT count(*) FROM privacy.audit_log'),
          'ERROR 42501: permission denied for table audit_log', 'SELECT from privacy.audit_log: 42501');
SELECT is(tap.as_role_do('security_nobody', $$UPDATE privacy.keys SET status = 'destroyed'$$),
          'ERROR 42501: permission denied for table keys', 'UPDATE privacy.keys: 42501');
SELECT is(tap.as_role_do('security_nobody', $$INSERT INTO privacy.audit_log (session_role, acting_role, action) VALUES ('x', 'x', 'x')$$),
          'ERROR 42501: permission denied for table audit_log', 'writing to the audit log: 42501');
SELECT is(tap.as_role_do('security_nobody', $$DELETE FROM privacy.protected_columns$$),
          'ERROR 42501: permission denied for table protected_columns', 'writing to the protected-column registry: 42501');
SELECT is(tap.as_role_do('security_nobody', 'CREATE TABLE privacy.security_intruder (x int)'),
          'ERROR 42501: permission denied for schema privacy', 'creating objects in schema privacy: 42501');
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.detokenize(privacy.tokenize('6503338337'))$$),
          'ERROR 42501: permission denied for function detokenize', 'detokenize: 42501');

-- What PUBLIC may do
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.key_version(privacy.encrypt('x'))$$), '1',
          'PUBLIC may execute encrypt(text)');
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.key_version(privacy.encrypt('\x01'::bytea, 'default', 'c'))$$), '1',
          'PUBLIC may execute encrypt(bytea) with a context');
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.encrypt_deterministic('x') = privacy.encrypt_deterministic('x')$$),
          'true', 'PUBLIC may execute encrypt_deterministic');
SELECT is(tap.as_role('security_nobody', $$SELECT octet_length(privacy.blind_index('x'))$$), '8',
          'PUBLIC may execute blind_index');
SELECT is(tap.as_role('security_nobody', $$SELECT privacy.is_ciphertext(ct) FROM sample$$), 'true',
          'PUBLIC may execute is_ciphertext');
SELECT is(tap.as_role('security_nobody', $$SELECT count(*) FROM privacy.protected_columns$$), '0',
          'PUBLIC may read the protected-column registry (no secrets in it)');
SELECT is((SELECT count(*) FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
           WHERE p.pronamespace = 'privacy'::regnamespace AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'
             AND p.proname IN ('decrypt', 'decrypt_text', 'create_key', 'rotate_key', 'destroy_key', 'reencrypt',
                               'rewrap_keys', 'master_key_id', '_siv_selftest', 'detokenize',
                               '_on_sql_drop', '_on_ddl_end', '_keys_changed', '_keys_restore')),
          0::bigint, 'no decrypting or key-managing function is executable by PUBLIC');
SELECT is((SELECT count(*) FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
           WHERE c.relnamespace = 'privacy'::regnamespace AND a.grantee = 0
             AND c.relname IN ('keys', 'key_ring', 'audit_log', 'keys_key_id_seq')),
          0::bigint, 'PUBLIC has no privilege on keys, key_ring, audit_log or the key id sequence');

-- A DBA grants decryption
GRANT EXECUTE ON FUNCTION privacy.decrypt_text(bytea, text) TO security_granted;
SELECT is(tap.as_role('security_granted', 'SELECT privacy.decrypt_text(ct) FROM sample'), 'top secret',
          'a role granted EXECUTE on decrypt_text decrypts');
SELECT is(tap.as_role('security_granted', 'SELECT count(*) FROM privacy.keys'),
          'ERROR 42501: permission denied for table keys', 'and still cannot read the key table');
SELECT is(tap.as_role('security_granted', 'SELECT privacy.decrypt(ct) FROM sample'),
          'ERROR 42501: permission denied for function decrypt', 'nor call the functions it was not granted');

-- ---------------------------------------------------------------------------
-- SECURITY DEFINER functions pin search_path
-- ---------------------------------------------------------------------------
CREATE TEMP VIEW ext_functions AS
SELECT p.oid, p.proname, p.prosecdef, p.proconfig, l.lanname, p.prokind
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass AND e.extname = 'privacy'
JOIN pg_language l ON l.oid = p.prolang;
SELECT cmp_ok((SELECT count(*) FROM ext_functions WHERE prosecdef), '>=', 1::bigint,
              'the extension has SECURITY DEFINER functions (the next test is not vacuous)');
SELECT is((SELECT array_agg(proname::text ORDER BY proname) FROM ext_functions
           WHERE prosecdef AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (proconfig), false)),
          NULL, 'every SECURITY DEFINER function of the extension has SET search_path = pg_catalog, pg_temp');
SELECT is((SELECT array_agg(proname::text ORDER BY proname) FROM ext_functions
           WHERE lanname IN ('sql', 'plpgsql') AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (proconfig), false)
             -- procedures that COMMIT cannot have a SET clause: every name in them is qualified
             AND NOT (prokind = 'p' AND proname LIKE '%online')),
          NULL, 'every SQL and PL/pgSQL function of the extension pins search_path too');

-- ---------------------------------------------------------------------------
-- Attacks by roles without grants through the protected-column registry
-- ---------------------------------------------------------------------------
-- 1. A role cannot claim the context of someone else's ciphertexts: contexts
--    are generated by the extension, and temporary tables cannot be protected.
CREATE TEMP TABLE hijack_result (step text, result text);
INSERT INTO hijack_result VALUES
    ('table', tap.as_role_do('security_nobody', 'CREATE TEMP TABLE security_hijack (c bytea)')),
    ('register', tap.as_role('security_nobody',
        $$SELECT privacy._registry_write('security_hijack', 'c', 'default', false)$$)),
    ('decrypt', tap.as_role('security_nobody',
        $$SELECT convert_from(privacy._decrypt_column(app_ct, 'security.app.phone'), 'UTF8') FROM sample$$));
SELECT is((SELECT result FROM hijack_result WHERE step = 'register'),
          'ERROR 0A000: cannot protect a column of temporary table "security_hijack"',
          'temporary tables cannot be registered as protected');
SELECT is((SELECT result FROM hijack_result WHERE step = 'decrypt'),
          'ERROR 42704: no protected column has context "security.app.phone"',
          'a role without grants cannot decrypt a privacy.encrypt(..., context) value through _decrypt_column');

-- 2. The registry takes no SQL text from the caller: the type of a protected
--    column is read from the catalog, the context is generated.
SELECT is(to_regprocedure('privacy._registry_write(regclass,name,text,boolean,text,text,integer)'), NULL,
          'no registry function accepts a type name or a context from the caller');
CREATE SCHEMA security_s AUTHORIZATION security_owner;
GRANT USAGE ON SCHEMA security_s TO security_granted;
CREATE TABLE security_canary (who text);
SELECT is(tap.as_role('security_owner', $$SELECT privacy._registry_write('security_s.security_reg', 'v', 'default', false)$$),
          'ERROR 42P01: relation "security_s.security_reg" does not exist', 'registering a missing table fails');
SELECT is(tap.as_role_do('security_owner', 'CREATE TABLE security_s.security_own (id int, a varchar(12), b text)'),
          'done', 'a non-superuser creates a table in its schema');
SELECT is(tap.as_role('security_owner', $$INSERT INTO security_s.security_own VALUES (1, 'a1', 'b1') RETURNING a$$), 'a1',
          'with a row');
SELECT is(tap.as_role('security_owner', $$SELECT privacy.protect_column('security_s.security_own', 'a')
                                                  + privacy.protect_column('security_s.security_own', 'b')$$), '2',
          'and protects two of its columns');
SELECT is((SELECT original_type || ' ' || (context ~ '^privacy:[0-9a-f-]{36}$')::text FROM privacy.protected_columns
            WHERE tbl = 'security_s.security_own'::regclass AND col = 'a'),
          'character varying(12) true', 'the registry holds the catalog type and a generated context');

-- 3. Dropping a protected column is refused (unprotect first): nothing is
--    rebuilt by the extension owner, the view keeps its owner and grants.
SELECT is(tap.as_role_do('security_owner', 'GRANT SELECT ON security_s.security_own_decrypted TO security_granted'), 'done',
          'the owner grants its _decrypted view');
SELECT is(tap.as_role_do('security_owner', 'ALTER TABLE security_s.security_own DROP COLUMN a CASCADE'),
          'ERROR 55006: cannot drop protected column "a" of table "security_s.security_own"',
          'dropping a protected column is refused');
SELECT is((SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'security_s.security_own_decrypted'::regclass),
          'security_owner', 'the view still belongs to the table owner');
SELECT is(tap.as_role('security_granted', 'SELECT a || b FROM security_s.security_own_decrypted'), 'a1b1',
          'and keeps its grants');
SELECT is((SELECT string_agg(who, ',') FROM security_canary), NULL, 'nothing ran as the extension owner');

-- ---------------------------------------------------------------------------
-- Hostile objects in the caller's search_path
-- ---------------------------------------------------------------------------
-- Reinstall the extension with functions and operators in schema public that
-- shadow pg_catalog's for any unqualified use, public first in search_path,
-- then use every feature.  Nothing of ours may be called.
SET LOCAL privacy.allow_drop_with_keys = on;  -- the keys of this test database may go
DROP EXTENSION privacy CASCADE;
CREATE TABLE hostile_log (fn text);
GRANT INSERT ON hostile_log TO PUBLIC;
CREATE FUNCTION public.format(text, VARIADIC text[]) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('format'); RETURN pg_catalog.format($1, VARIADIC $2); END $$;
CREATE FUNCTION public.length(text) RETURNS int LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('length(text)'); RETURN pg_catalog.length($1); END $$;
CREATE FUNCTION public.length(bytea) RETURNS int LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('length(bytea)'); RETURN pg_catalog.length($1); END $$;
CREATE FUNCTION public.quote_ident(text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('quote_ident'); RETURN pg_catalog.quote_ident($1); END $$;
CREATE FUNCTION public.quote_literal(text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('quote_literal'); RETURN pg_catalog.quote_literal($1); END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('now'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION public.encode(bytea, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('encode'); RETURN pg_catalog.encode($1, $2); END $$;
CREATE FUNCTION public.cardinality(anyarray) RETURNS int LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('cardinality'); RETURN pg_catalog.cardinality($1); END $$;
CREATE FUNCTION public.pg_get_userbyid(oid) RETURNS name LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('pg_get_userbyid'); RETURN pg_catalog.pg_get_userbyid($1); END $$;
CREATE FUNCTION public.hostile_eq(text, text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('=(text,text)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE FUNCTION public.hostile_eq(int, int) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('=(int,int)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE FUNCTION public.hostile_eq(name, name) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('=(name,name)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE FUNCTION public.hostile_eq(oid, oid) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('=(oid,oid)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE FUNCTION public.hostile_gt(int, int) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('>(int,int)'); RETURN $1 OPERATOR(pg_catalog.>) $2; END $$;
CREATE FUNCTION public.hostile_ge(int, int) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('>=(int,int)'); RETURN $1 OPERATOR(pg_catalog.>=) $2; END $$;
CREATE FUNCTION public.hostile_ne(oid, oid) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('<>(oid,oid)'); RETURN $1 OPERATOR(pg_catalog.<>) $2; END $$;
CREATE FUNCTION public.hostile_cat(text, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('||(text,text)'); RETURN $1 OPERATOR(pg_catalog.||) $2; END $$;
CREATE FUNCTION public.hostile_plus(bigint, bigint) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN INSERT INTO public.hostile_log VALUES ('+(bigint,bigint)'); RETURN $1 OPERATOR(pg_catalog.+) $2; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hostile_eq);
CREATE OPERATOR public.= (LEFTARG = int, RIGHTARG = int, FUNCTION = public.hostile_eq);
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.hostile_eq);
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = public.hostile_eq);
CREATE OPERATOR public.> (LEFTARG = int, RIGHTARG = int, FUNCTION = public.hostile_gt);
CREATE OPERATOR public.>= (LEFTARG = int, RIGHTARG = int, FUNCTION = public.hostile_ge);
CREATE OPERATOR public.<> (LEFTARG = oid, RIGHTARG = oid, FUNCTION = public.hostile_ne);
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hostile_cat);
CREATE OPERATOR public.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.hostile_plus);

SET LOCAL search_path = public, pg_catalog;
-- controls: the hostile objects do catch unqualified uses (statements below
-- use no unqualified operator or shadowed function of their own)
CREATE TEMP TABLE hostile_results (step text, v text);
INSERT INTO hostile_results SELECT 'control length', length('abc')::text;
INSERT INTO hostile_results SELECT 'control =', ('a'::text = 'a'::text)::text;
INSERT INTO hostile_results SELECT 'control log', pg_catalog.count(*)::text FROM hostile_log;
TRUNCATE hostile_log;

CREATE EXTENSION privacy;
INSERT INTO hostile_results SELECT 'create_key', (privacy.create_key('hostile_k') IS NOT NULL)::text;
INSERT INTO hostile_results SELECT 'create_key det', (privacy.create_key('hostile_det', 'deterministic') IS NOT NULL)::text;
INSERT INTO hostile_results SELECT 'encrypt/decrypt',
    privacy.decrypt_text(privacy.encrypt('hostile secret', 'hostile_k', 'hctx'), 'hctx');
INSERT INTO hostile_results SELECT 'deterministic',
    privacy.decrypt_text(privacy.encrypt_deterministic('det secret', 'hostile_det', 'hctx'), 'hctx');
INSERT INTO hostile_results SELECT 'blind_index', pg_catalog.octet_length(privacy.blind_index('x'))::text;
CREATE TABLE hostile_t (id int PRIMARY KEY, phone varchar(20), email text UNIQUE, note bytea);
INSERT INTO hostile_t VALUES (1, '555-0001', 'h1@example.com', '\x01'), (2, '555-0002', 'h2@example.com', NULL);
INSERT INTO hostile_results SELECT 'protect phone', privacy.protect_column('hostile_t', 'phone')::text;
INSERT INTO hostile_results SELECT 'protect email', privacy.protect_column('hostile_t', 'email', deterministic => true)::text;
INSERT INTO hostile_results SELECT 'protect note', privacy.protect_column('hostile_t', 'note', 'hostile_k')::text;
INSERT INTO hostile_t VALUES (3, '555-0003', 'h3@example.com', '\x03');
UPDATE hostile_t SET note = '\x02' WHERE id OPERATOR(pg_catalog.=) 2;
INSERT INTO hostile_t VALUES (1, '555-0111', 'x@example.com', NULL) ON CONFLICT (id) DO UPDATE SET phone = EXCLUDED.phone;
INSERT INTO hostile_results SELECT 'lookup', id::text FROM hostile_t
 WHERE email OPERATOR(pg_catalog.=) privacy.protected_value('hostile_t', 'email', 'h3@example.com');
INSERT INTO hostile_results SELECT 'view',
    pg_catalog.string_agg(pg_catalog.concat_ws(' ', id, phone, email, note), ',' ORDER BY id) FROM hostile_t_decrypted;
INSERT INTO hostile_results SELECT 'rotate', privacy.rotate_key('hostile_k')::text;
INSERT INTO hostile_results SELECT 'rotate default', privacy.rotate_key('default')::text;
INSERT INTO hostile_results SELECT 'reencrypt protected', privacy.reencrypt('hostile_t', 'phone', 2)::text;
INSERT INTO hostile_results SELECT 'reencrypt note', privacy.reencrypt('hostile_t', 'note', 1)::text;
CREATE TABLE hostile_msgs (id int PRIMARY KEY, body bytea);
INSERT INTO hostile_msgs SELECT g, privacy.encrypt('m', 'hostile_k', 'mctx') FROM pg_catalog.generate_series(1, 5) g;
INSERT INTO hostile_results SELECT 'rotate again', privacy.rotate_key('hostile_k')::text;
INSERT INTO hostile_results SELECT 'reencrypt msgs', privacy.reencrypt('hostile_msgs', 'body', 2, 'mctx')::text;
DO $$
BEGIN
    ALTER TABLE hostile_t RENAME COLUMN phone TO phone2;
EXCEPTION WHEN object_in_use THEN
    INSERT INTO hostile_results VALUES ('rename column refused', SQLSTATE);
END
$$;
ALTER TABLE hostile_t RENAME TO hostile_t2;
INSERT INTO hostile_results SELECT 'unprotect', privacy.unprotect_column('hostile_t2', 'phone')::text;
INSERT INTO hostile_results SELECT 'view after',
    pg_catalog.string_agg(pg_catalog.concat_ws(' ', id, phone, email, note), ',' ORDER BY id) FROM hostile_t2_decrypted;
INSERT INTO hostile_results SELECT 'unprotect note', privacy.unprotect_column('hostile_t2', 'note')::text;
ALTER TABLE hostile_t2 DROP COLUMN note CASCADE;
INSERT INTO hostile_results SELECT 'destroy', privacy.destroy_key('hostile_det')::text;
DROP TABLE hostile_t2 CASCADE;
INSERT INTO hostile_results SELECT 'registry after drop', pg_catalog.count(*)::text FROM privacy.protected_columns;

-- back to a normal search_path, hostile objects gone, then check
RESET search_path;
CREATE TEMP TABLE hostile_calls AS SELECT * FROM hostile_log;
DROP OPERATOR public.= (text, text), public.= (int, int), public.= (name, name), public.= (oid, oid),
              public.> (int, int), public.>= (int, int), public.<> (oid, oid), public.|| (text, text),
              public.+ (bigint, bigint);
DROP FUNCTION public.format(text, text[]), public.length(text), public.length(bytea), public.quote_ident(text),
              public.quote_literal(text), public.now(), public.encode(bytea, text),
              public.cardinality(anyarray), public.pg_get_userbyid(oid);

SELECT is((SELECT v FROM hostile_results WHERE step = 'control log'), '2',
          'control: the hostile function and operator catch unqualified calls');
SELECT is((SELECT string_agg(DISTINCT fn, ', ') FROM hostile_calls), NULL,
          'the extension called none of the hostile functions or operators (create, encrypt, protect, rotate, reencrypt, unprotect, destroy, DDL)');
SELECT results_eq($$SELECT step, v FROM hostile_results WHERE step NOT LIKE 'control%' ORDER BY step$$,
                  $$VALUES ('blind_index', '8'), ('create_key', 'true'), ('create_key det', 'true'),
                           ('destroy', ''), ('deterministic', 'det secret'), ('encrypt/decrypt', 'hostile secret'),
                           ('lookup', '3'), ('protect email', '2'), ('protect note', '1'), ('protect phone', '2'),
                           ('reencrypt msgs', '5'), ('reencrypt note', '3'), ('reencrypt protected', '3'),
                           ('registry after drop', '0'), ('rename column refused', '55006'), ('rotate', '2'),
                           ('rotate again', '3'), ('rotate default', '2'), ('unprotect', '3'), ('unprotect note', '3'),
                           ('view', '1 555-0111 h1@example.com \x01,2 555-0002 h2@example.com \x02,3 555-0003 h3@example.com \x03'),
                           ('view after', '1 555-0111 h1@example.com \x01,2 555-0002 h2@example.com \x02,3 555-0003 h3@example.com \x03')$$,
                  'and everything worked under the hostile search_path');

SELECT * FROM finish();
ROLLBACK;
