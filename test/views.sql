-- Masking rules and masked views: what a masked role reads, what it cannot
-- read whatever was granted, attacks that fail, labels refused when set, and
-- the masked schema following DDL without a manual refresh.
BEGIN;
SELECT plan(75);

-- ---------------------------------------------------------------- set-up
CREATE TABLE clients (id int PRIMARY KEY, name text, email text, phone varchar(20), company text);
INSERT INTO clients VALUES
  (1, 'Ada Lovelace', 'ada@analytical.example', '+44 20 7946 0018', 'Analytical Engines'),
  (2, 'Grace Hopper', 'grace@cobol.example', '+1-202-555-0143', 'Compilers Inc');
CREATE TABLE subscribers (id int PRIMARY KEY, phone text, email text, country text);
INSERT INTO subscribers VALUES (1, '+1-650-333-8337', 'zoe@mail.example', 'US');
SELECT privacy.protect_column('subscribers', 'phone');
CREATE TABLE events (id int, email text, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events VALUES (1, 'ada@analytical.example', '2024-03-01'), (2, 'grace@cobol.example', '2025-03-01');
CREATE TABLE x (id int);
CREATE TABLE side_effects (v text);
GRANT SELECT, INSERT ON side_effects TO PUBLIC;
CREATE FUNCTION public.shout(v text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.side_effects VALUES ('shout ' || v); RETURN upper(v); END $$;

CREATE ROLE privacy_readers NOLOGIN;
CREATE ROLE privacy_bi LOGIN IN ROLE privacy_readers;
CREATE ROLE privacy_analysts NOLOGIN;
CREATE ROLE privacy_alice LOGIN IN ROLE privacy_analysts;
CREATE ROLE privacy_other NOLOGIN;
GRANT SELECT ON clients, subscribers_decrypted TO privacy_readers;
GRANT SELECT ON subscribers, events_2024 TO PUBLIC;
-- masked views are security_invoker: masked roles read through them what they were granted
GRANT SELECT ON clients, events TO privacy_readers, privacy_analysts;
GRANT EXECUTE ON FUNCTION privacy.decrypt(bytea, text), privacy.decrypt_text(bytea, text),
      privacy.detokenize(text, text) TO privacy_readers;

SECURITY LABEL FOR privacy ON COLUMN clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SELECT privacy.mask_column('clients', 'phone', 'privacy.mask_phone(phone)');
SECURITY LABEL FOR privacy ON COLUMN clients.name IS 'MASKED WITH FUNCTION privacy.partial(name, 1, ''***'', 0)';
SECURITY LABEL FOR privacy ON COLUMN clients.company IS 'NOT MASKED';
SECURITY LABEL FOR privacy ON COLUMN subscribers.phone IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON COLUMN subscribers.email IS 'MASKED WITH FUNCTION privacy.pseudonymize(email)';
SECURITY LABEL FOR privacy ON COLUMN events.email IS 'masked with function privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON ROLE privacy_bi IS 'MASKED';
SECURITY LABEL FOR privacy ON ROLE privacy_analysts IS 'MASKED';

-- ---------------------------------------------------------------- the views
SELECT set_eq($$ SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'privacy_masked' AND c.relkind = 'v' $$,
              ARRAY['clients', 'subscribers', 'events'], 'one masked view per labelled table');
SELECT results_eq($$ SELECT col::text COLLATE "default", expr FROM privacy.masking_rules WHERE tbl = 'clients'::regclass ORDER BY col $$,
                  $$ VALUES ('email', 'privacy.mask_email(email)'), ('name', 'privacy.partial(name, 1, ''***''::text, 0)'),
                            ('phone', 'privacy.mask_phone((phone)::text)') $$,
                  'privacy.masking_rules holds one row per masked column, over bare column names');
SELECT is((SELECT expr FROM privacy.masking_rules WHERE tbl = 'subscribers'::regclass AND col = 'phone'),
          'NULL::text', 'MASKED WITH VALUE NULL: a NULL of the column''s type');
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'privacy_masked.clients'::regclass AND attnum > 0),
          ARRAY['id', 'name', 'email', 'phone', 'company'], 'same columns in the same order');
SELECT ok((SELECT reloptions @> ARRAY['security_barrier=true'] FROM pg_class
            WHERE oid = 'privacy_masked.clients'::regclass), 'the view is a security_barrier');
SELECT is((SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'privacy_masked.clients'::regclass),
          (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'privacy'),
          'owned by the extension owner');
SELECT ok((SELECT setconfig @> ARRAY['search_path=privacy_masked, "$user", public']
             FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
            WHERE r.rolname = 'privacy_bi' AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())),
          'a masked role''s search_path starts with the masked schema');
SELECT ok(has_schema_privilege('privacy_bi', 'privacy_masked', 'USAGE')
          AND has_table_privilege('privacy_bi', 'privacy_masked.clients', 'SELECT'),
          'masked roles get USAGE on the schema and SELECT on its views');
SELECT ok(NOT has_schema_privilege('privacy_other', 'privacy_masked', 'USAGE'), 'others do not');

-- ---------------------------------------------------------------- as the masked role
SET ROLE privacy_bi;
SELECT results_eq($$ SELECT name, email, phone, company FROM privacy_masked.clients ORDER BY id $$,
                  $$ VALUES ('A***', 'a****@analytical.example', '+XX XX XXXX 0018', 'Analytical Engines'),
                            ('G***', 'g****@cobol.example', '+X-XXX-XXX-0143', 'Compilers Inc') $$,
                  'privacy_masked.clients gives masked values, unmasked columns as they are');
SET LOCAL search_path = privacy_masked, "$user", public;
SELECT is((SELECT email FROM clients WHERE id = 1), 'a****@analytical.example',
          'with its search_path an unqualified "clients" reads the masked view');
RESET search_path;
SELECT results_eq($$ SELECT phone, email = privacy.pseudonymize('zoe@mail.example') FROM privacy_masked.subscribers $$,
                  $$ VALUES (NULL::text, true) $$,
                  'a protected column masked with VALUE NULL; a pseudonym joins without revealing');
SELECT results_eq($$ SELECT email FROM privacy_masked.events ORDER BY id $$,
                  ARRAY['a****@analytical.example', 'g****@cobol.example'],
                  'a rule on a partitioned table covers every partition, read through the parent');

SELECT throws_ok('SELECT * FROM public.clients', '42501', NULL, 'base table granted to a group: 42501');
SELECT throws_ok('SELECT * FROM public.subscribers', '42501', NULL, 'base table granted to PUBLIC: 42501');
SELECT throws_ok('SELECT * FROM public.events', '42501', NULL, 'partitioned base table: 42501');
SELECT throws_ok('SELECT * FROM public.events_2024', '42501', NULL, 'partition granted to PUBLIC: 42501');
SELECT throws_ok('SELECT * FROM public.subscribers_decrypted', '42501', NULL, '_decrypted view granted to a group: 42501');
SELECT throws_ok('SELECT * FROM privacy.keys', '42501', NULL, 'privacy.keys: 42501');
SELECT throws_ok('SELECT * FROM privacy.protected_columns', '42501', NULL, 'privacy.protected_columns (granted to PUBLIC): 42501');
SELECT throws_ok('SELECT * FROM privacy.masking_rules', '42501', NULL, 'privacy.masking_rules: 42501');
SELECT throws_ok($$ SELECT privacy.decrypt('\x00'::bytea) $$, '42501', NULL, 'privacy.decrypt, granted to a group: 42501');
SELECT throws_ok($$ SELECT privacy.decrypt_text('\x00'::bytea) $$, '42501', NULL, 'privacy.decrypt_text: 42501');
SELECT throws_ok($$ SELECT privacy.detokenize('+1-650-333-8337') $$, '42501', NULL, 'privacy.detokenize: 42501');
SELECT throws_ok($$ SELECT privacy._decrypt_column('x'::text, 'x') $$, '42501', NULL,
                 'privacy._decrypt_column: 42501');
SELECT throws_ok('SELECT * FROM pg_catalog.pg_stats', '42501', NULL, 'planner statistics (most common values): 42501');
SELECT throws_ok($$ SELECT * FROM privacy.k_anonymity('public.clients', ARRAY['email']) $$, '42501', NULL,
                 'functions running as the caller cannot read base tables either');
SELECT throws_ok('UPDATE public.clients SET company = company RETURNING email', '42501', NULL, 'UPDATE ... RETURNING: 42501');
SELECT throws_ok('TABLE public.clients', '42501', NULL, 'TABLE clients: 42501');

-- filters and leaky functions see only masked values
SELECT is((SELECT count(*) FROM privacy_masked.clients WHERE email = 'ada@analytical.example'), 0::bigint,
          'a filter on a masked column does not match the original value');
SELECT is((SELECT count(*) FROM privacy_masked.clients WHERE email LIKE 'a%@analytical.example'), 1::bigint,
          'it matches the masked value');
CREATE FUNCTION pg_temp.leak(v text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS
  $$ BEGIN RAISE NOTICE 'leak: %', v; INSERT INTO public.side_effects VALUES (v); RETURN true; END $$;
SELECT is((SELECT count(*) FROM privacy_masked.clients WHERE pg_temp.leak(email) AND pg_temp.leak(phone)
                                                           AND pg_temp.leak(name) AND id > 0), 2::bigint,
          'a leaky function in WHERE runs');
SELECT is((SELECT count(*) FROM public.side_effects
            WHERE v IN ('ada@analytical.example', 'grace@cobol.example', '+44 20 7946 0018',
                        '+1-202-555-0143', 'Ada Lovelace', 'Grace Hopper')), 0::bigint,
          'and sees only masked values');
SELECT is((SELECT count(*) FROM public.side_effects WHERE v LIKE '%****@%'), 2::bigint, 'the masked ones');
SELECT throws_ok('ALTER FUNCTION pg_temp.leak(text) LEAKPROOF', '42501', NULL, 'a masked role cannot mark a function LEAKPROOF');
SELECT throws_ok('CREATE VIEW privacy_masked.mine AS SELECT 1', '42501', NULL, 'creating a view in the masked schema: 42501');
SELECT throws_ok('CREATE FUNCTION privacy_masked.f() RETURNS int LANGUAGE sql AS $f$ SELECT 1 $f$', '42501', NULL,
                 'creating a function in the masked schema: 42501');
CREATE TEMP VIEW around AS SELECT * FROM public.clients;
SELECT throws_ok('SELECT * FROM around', '42501', NULL, 'its own view over a base table: 42501');
DROP VIEW around;

-- EXPLAIN, cursors
CREATE FUNCTION pg_temp.explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS
  $$ BEGIN RETURN QUERY EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q; END $$;
SELECT is((SELECT count(*) FROM pg_temp.explain('SELECT * FROM privacy_masked.clients WHERE id = 1') e
            WHERE e ~ '(ada@|Lovelace|7946|grace@|Hopper)'), 0::bigint, 'EXPLAIN (VERBOSE) reveals no original value');
SELECT throws_ok($$ SELECT * FROM pg_temp.explain('SELECT * FROM public.clients') $$, '42501', NULL,
                 'EXPLAIN of a base table: 42501');
DECLARE masked_cur CURSOR FOR SELECT email FROM privacy_masked.clients ORDER BY id;
SELECT results_eq('masked_cur'::refcursor, ARRAY['a****@analytical.example', 'g****@cobol.example'],
                  'a cursor over the masked view gives masked values');
CLOSE masked_cur;
RESET ROLE;

-- shadowing: names in public and search_path tricks never reach the view
CREATE FUNCTION public.mask_email(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'shadow mask_email called'; END $$;
CREATE FUNCTION public.mask_email(varchar) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'shadow mask_email(varchar) called'; END $$;
CREATE FUNCTION public.shadow_concat(text, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'shadow || called'; END $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.shadow_concat);
SECURITY LABEL FOR privacy ON COLUMN clients.company IS 'MASKED WITH FUNCTION pg_catalog.left(company, 3) || ''...''';
SET LOCAL search_path = public, pg_catalog;
ALTER TABLE clients ADD COLUMN note text;          -- rebuilds the views with this search_path
SET ROLE privacy_bi;
SET LOCAL search_path = public, pg_catalog, privacy_masked;
CREATE TEMP TABLE shadow_read AS SELECT id, email, company FROM privacy_masked.clients;
RESET ROLE;
RESET search_path;
SELECT results_eq($$ SELECT email, company FROM shadow_read ORDER BY id $$,
                  $$ VALUES ('a****@analytical.example', 'Ana...'), ('g****@cobol.example', 'Com...') $$,
                  'functions and operators in public shadowing names the view uses are never called');

-- SET ROLE from a masked login
SET SESSION AUTHORIZATION privacy_bi;
SELECT throws_ok('SET ROLE privacy_other', '42501', NULL, 'a masked login cannot SET ROLE to a role it was not granted');
SET ROLE privacy_readers;
SELECT throws_ok('SELECT * FROM public.clients', '42501', NULL,
                 'after SET ROLE to a granted, unmasked group the session is still masked');
RESET ROLE;
RESET SESSION AUTHORIZATION;

-- a member of a masked role is masked
SET ROLE privacy_alice;
SELECT throws_ok('SELECT * FROM public.clients', '42501', NULL, 'a member of a masked role: 42501 on base tables');
SELECT is((SELECT email FROM privacy_masked.clients WHERE id = 2), 'g****@cobol.example',
          'and reads the masked views through its group');
RESET ROLE;

-- ---------------------------------------------------------------- labels refused when set
CREATE TEMP TABLE refused_labels (label text, sqlstate text, description text);
INSERT INTO refused_labels VALUES
    ('MASKED WITH FUNCTION privacy.mask_email(email); DROP TABLE x', '42501', 'a label with ; DROP TABLE is refused'),
    ('MASKED WITH FUNCTION (SELECT email FROM clients LIMIT 1)', '42501', 'a subquery is refused'),
    ('MASKED WITH FUNCTION mask_email(email)', '42501', 'an unqualified function is refused'),
    ('MASKED WITH FUNCTION public.shout(email)', '42501', 'an untrusted function is refused'),
    ('MASKED WITH FUNCTION privacy.mask_email(email) FROM x', '42501', 'a FROM clause is refused'),
    ('MASKED WITH FUNCTION privacy.detokenize(email)', '42501', 'a decrypting privacy function is refused'),
    ('MASKED WITH FUNCTION pg_catalog.set_config(''a.b'', email, false)', '42501', 'a volatile built-in is refused'),
    ('MASKED WITH FUNCTION email OPERATOR(public.||) ''x''', '42501', 'an operator outside pg_catalog is refused'),
    ('MASKED WITH VALUE pg_catalog.now()', '22023', 'MASKED WITH VALUE takes only a constant'),
    ('HIDE IT', '22023', 'an unknown label is refused');
SELECT throws_ok(format('SECURITY LABEL FOR privacy ON COLUMN clients.email IS %L', label), sqlstate, NULL, description)
  FROM refused_labels;
SELECT throws_ok($$ SECURITY LABEL FOR privacy ON COLUMN events_2024.email IS 'NOT MASKED' $$,
                 '42809', NULL, 'a rule on a partition is refused (set it on the parent)');
SELECT throws_ok($$ SECURITY LABEL FOR privacy ON ROLE postgres IS 'MASKED' $$,
                 '22023', NULL, 'a superuser cannot be masked');
SELECT is((SELECT count(*) FROM side_effects WHERE v LIKE 'shout%'), 0::bigint, 'nothing of a refused label was executed');
SELECT has_table('x', 'table x still exists');
SELECT is((SELECT expr FROM privacy.masking_rules WHERE tbl = 'clients'::regclass AND col = 'email'),
          'privacy.mask_email(email)', 'the rule in force is unchanged');
SET ROLE privacy_other;
SELECT throws_ok($$ SECURITY LABEL FOR privacy ON FUNCTION public.shout(text) IS 'TRUSTED' $$,
                 '42501', NULL, 'only a superuser marks a function TRUSTED');
RESET ROLE;
SECURITY LABEL FOR privacy ON FUNCTION public.shout(text) IS 'TRUSTED';
SELECT lives_ok($$ SECURITY LABEL FOR privacy ON COLUMN x.id IS 'MASKED WITH FUNCTION public.shout(id::text)' $$,
                'a TRUSTED function is accepted');
SELECT is((SELECT count(*) FROM side_effects WHERE v LIKE 'shout%'), 0::bigint, 'and not executed by setting the label');

-- ---------------------------------------------------------------- DDL followed without a manual refresh
SECURITY LABEL FOR privacy ON COLUMN clients.note IS 'MASKED WITH VALUE ''n/a''';
SELECT is((SELECT note FROM privacy_masked.clients WHERE id = 1), 'n/a', 'a label added reaches the view');
SECURITY LABEL FOR privacy ON COLUMN clients.email IS 'MASKED WITH VALUE NULL';
SELECT is((SELECT email FROM privacy_masked.clients WHERE id = 1), NULL, 'a label changed reaches the view');
SECURITY LABEL FOR privacy ON COLUMN clients.company IS NULL;
SELECT is((SELECT company FROM privacy_masked.clients WHERE id = 1), 'Analytical Engines', 'a label removed reaches the view');
ALTER TABLE clients ADD COLUMN country text DEFAULT 'GB';
SELECT is((SELECT country FROM privacy_masked.clients WHERE id = 1), 'GB', 'a column added appears');
ALTER TABLE clients RENAME COLUMN name TO full_name;
SELECT is((SELECT full_name FROM privacy_masked.clients WHERE id = 1), 'A***', 'a column renamed keeps its rule under its new name');
ALTER TABLE clients ALTER COLUMN phone TYPE text;
SELECT is((SELECT phone FROM privacy_masked.clients WHERE id = 1), '+XX XX XXXX 0018',
          'a column retyped (the view no longer blocks ALTER COLUMN TYPE)');
ALTER TABLE clients DROP COLUMN note;
SELECT hasnt_column('privacy_masked', 'clients', 'note', 'a column dropped without CASCADE leaves the view');
ALTER TABLE events RENAME TO happenings;
SELECT ok(to_regclass('privacy_masked.happenings') IS NOT NULL AND to_regclass('privacy_masked.events') IS NULL,
          'a table renamed renames its view');
DROP TABLE happenings;
SELECT ok(to_regclass('privacy_masked.happenings') IS NULL, 'a table dropped without CASCADE drops its view');
SELECT is(privacy.refresh_masked_views(), 3, 'refresh_masked_views() returns the number of views (clients, subscribers, x)');
SECURITY LABEL FOR privacy ON ROLE privacy_bi IS NULL;
SELECT ok(NOT has_table_privilege('privacy_bi', 'privacy_masked.clients', 'SELECT'), 'an unlabelled role loses the masked views');

SELECT * FROM finish();
ROLLBACK;
