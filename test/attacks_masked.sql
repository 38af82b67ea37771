-- Attacks on masking, written as the attacker: an ordinary table owner
-- writing masking rules, and a masked reporting login that is a member of an
-- unmasked group.  Each test shows the effect does not happen: no masking
-- rule runs code that reads relations, no plaintext reaches a masked session
-- whatever role it switches to, and grants and row-level security hold
-- through masked views.
BEGIN;
SELECT plan(46);

-- ---------------------------------------------------------------- set-up (as the DBA)
CREATE ROLE atk_owner;                              -- ordinary owner of some tables
CREATE ROLE atk_group NOLOGIN;                      -- unmasked group with grants
CREATE ROLE atk_login LOGIN IN ROLE atk_group;      -- the masked reporting login
CREATE ROLE atk_other LOGIN;                        -- an unmasked, unrelated role
CREATE SCHEMA atk AUTHORIZATION atk_owner;
GRANT USAGE ON SCHEMA atk TO PUBLIC;
CREATE TABLE atk.pwn (who name, what text);
GRANT INSERT, SELECT ON atk.pwn TO PUBLIC;

CREATE TABLE public.atk_clients (id int PRIMARY KEY, email text, region text);
INSERT INTO public.atk_clients VALUES (1, 'ada@example.com', 'EU'), (2, 'bob@example.com', 'US'),
                                      (3, 'cyd@example.com', 'EU');
CREATE TABLE public.atk_secret (id int, email text);
INSERT INTO public.atk_secret VALUES (1, 'never@example.com');
CREATE TABLE public.atk_orders (id int, client_id int REFERENCES public.atk_clients (id));
SECURITY LABEL FOR privacy ON COLUMN public.atk_clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN public.atk_secret.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
-- row-level security: the group sees EU clients only
ALTER TABLE public.atk_clients ENABLE ROW LEVEL SECURITY;
CREATE POLICY atk_eu ON public.atk_clients FOR SELECT TO atk_group USING (region = 'EU');
CREATE POLICY atk_all ON public.atk_clients FOR SELECT TO atk_owner, atk_other USING (true);
GRANT SELECT ON public.atk_clients TO atk_group;    -- atk_secret: granted to nobody
GRANT SELECT, INSERT ON public.atk_orders TO atk_group;
GRANT EXECUTE ON FUNCTION privacy.decrypt_text(bytea, text) TO atk_group;
SECURITY LABEL FOR privacy ON ROLE atk_login IS 'MASKED';
-- the DBA also shares the masked view with the (unmasked) group
GRANT USAGE ON SCHEMA privacy_masked TO atk_group;
GRANT SELECT ON privacy_masked.atk_clients TO atk_group;

-- ================================================================ 1. masking rules (issue 10 item 2)
-- The owner points a rule at a function that queries a relation: it would
-- run with the rights of whoever reads the masked view.
SELECT is(tap.as_role_do('atk_owner', $$
    CREATE TABLE atk.t (id int, email text);
    CREATE SEQUENCE atk.s;
    CREATE FUNCTION atk.evil() RETURNS int LANGUAGE plpgsql AS
      'BEGIN INSERT INTO atk.pwn VALUES (current_user, ''evil''); RETURN 1; END';
    CREATE VIEW atk.trap AS SELECT atk.evil() AS email$$), 'done', 'the owner prepares a view calling its function');
SELECT alike(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.t.email IS
    'MASKED WITH FUNCTION privacy.k_anonymity(''atk.trap''::pg_catalog.regclass, ARRAY[''email''])::pg_catalog.text'$$),
    'ERROR 42501%k_anonymity%cannot be used in a masking rule', 'k_anonymity (takes a regclass and queries it) is refused in a rule');
SELECT alike(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.t.email IS
    'MASKED WITH FUNCTION pg_catalog.query_to_xml(''SELECT atk.evil()'', true, false, '''')::pg_catalog.text'$$),
    'ERROR 42501%', 'query_to_xml (runs a query) is refused');
SELECT alike(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.t.email IS
    'MASKED WITH FUNCTION pg_catalog.current_setting(''privacy.masked_schema'')'$$),
    'ERROR 42501%', 'a built-in that is not on the allow-list (current_setting) is refused');
SELECT alike(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.t.email IS
    'MASKED WITH FUNCTION pg_catalog.has_table_privilege(''privacy.keys'', ''SELECT'')::pg_catalog.text'$$),
    'ERROR 42501%', 'a built-in reading catalogs for a relation argument (has_table_privilege) is refused');
SELECT alike(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.t.email IS
    'MASKED WITH FUNCTION pg_catalog.nextval(''atk.s'')::pg_catalog.text'$$),
    'ERROR 42501%', 'a built-in with side effects (nextval) is refused');
SELECT alike(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.t.email IS
    'MASKED WITH FUNCTION privacy.is_restricted(email)::pg_catalog.text'$$),
    'ERROR 42501%', 'a privacy function that is not a masking transformation is refused');
SELECT is(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.t.email IS
    'MASKED WITH FUNCTION pg_catalog.left(privacy.mask_email(email), 3) || pg_catalog.md5(email)::pg_catalog.varchar(8)'$$),
    'done', 'masking functions, allow-listed built-ins, operators and casts are accepted');
SELECT is((SELECT count(*) FROM atk.pwn), 0::bigint, 'nothing of the owner''s code ran');
-- a constant whose conversion runs the owner's code (a domain's CHECK inside a
-- composite value): re-parsed when the views are rebuilt, it would run as the
-- extension owner
SELECT is(tap.as_role_do('atk_owner', $$
    CREATE FUNCTION atk.spy(v text) RETURNS boolean LANGUAGE plpgsql AS
      'BEGIN INSERT INTO atk.pwn VALUES (current_user, ''domain''); RETURN true; END';
    CREATE DOMAIN atk.d AS text CHECK (atk.spy(VALUE));
    CREATE TYPE atk.comp AS (a text, b atk.d);
    CREATE TABLE atk.u (id int, c atk.comp, e text)$$), 'done', 'the owner makes a composite type with a trapped domain');
SELECT alike(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.u.e IS
    'MASKED WITH FUNCTION pg_catalog.concat(''(x,y)''::atk.comp)'$$),
    'ERROR 42501%cannot be used for a constant or a cast%', 'a constant of such a type is refused');
SELECT alike(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.u.c IS 'MASKED WITH VALUE ''(x,y)'''$$),
    'ERROR 42501%', 'MASKED WITH VALUE on a column of such a type is refused');
SELECT is((SELECT count(*) FROM atk.pwn WHERE who <> 'atk_owner'), 0::bigint,
          'the domain check ran, if at all, as the table owner (the rule is parsed in its security-restricted scope)');
-- TRUSTED: only on functions a superuser owns (their owner could change them later)
SELECT alike(tap.as_role_do(current_user::text, $$SECURITY LABEL FOR privacy ON FUNCTION atk.evil() IS 'TRUSTED'$$),
    'ERROR 42501%not owned by a superuser%', 'a superuser cannot mark an ordinary role''s function TRUSTED');
CREATE FUNCTION public.atk_trusted(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(v) $$;
SECURITY LABEL FOR privacy ON FUNCTION public.atk_trusted(text) IS 'TRUSTED';
SELECT is(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.t.email IS
    'MASKED WITH FUNCTION public.atk_trusted(email)'$$), 'done', 'a superuser''s TRUSTED function is accepted');
ALTER FUNCTION public.atk_trusted(text) OWNER TO atk_owner;
SELECT alike(tap.as_role_do('atk_owner', $$SECURITY LABEL FOR privacy ON COLUMN atk.t.id IS
    'MASKED WITH FUNCTION public.atk_trusted(id::text)::int'$$),
    'ERROR 42501%', 'once given to an ordinary role, a TRUSTED function is no longer accepted');
SELECT throws_ok('SELECT privacy.refresh_masked_views()', '42501', NULL,
                 'and the rule using it is refused at the next refresh');
ALTER FUNCTION public.atk_trusted(text) OWNER TO CURRENT_USER;
SELECT ok(privacy.refresh_masked_views() > 0, 'back with a superuser owner, the refresh passes');

-- ================================================================ 2. escape through an unmasked group (item 4)
SET SESSION AUTHORIZATION atk_login;
SELECT throws_ok('SELECT email FROM public.atk_clients', '42501', NULL,
                 'the masked login cannot read the base table it was granted through its group');
SET ROLE atk_group;
SELECT throws_ok('SELECT email FROM public.atk_clients', '42501', NULL, 'nor after SET ROLE to the group');
CREATE FUNCTION pg_temp.steal() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $f$ SELECT string_agg(email, ',' ORDER BY id) FROM public.atk_clients $f$;
CREATE FUNCTION pg_temp.steal_plpgsql() RETURNS text LANGUAGE plpgsql SECURITY DEFINER
    AS $f$ DECLARE r text; BEGIN SELECT string_agg(email, ',') INTO r FROM public.atk_clients; RETURN r; END $f$;
CREATE FUNCTION pg_temp.decrypt_as_group(c bytea) RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $f$ SELECT privacy.decrypt_text(c) $f$;
CREATE FUNCTION pg_temp.through_view() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $f$ SELECT string_agg(email, ',' ORDER BY id) FROM privacy_masked.atk_clients $f$;
RESET ROLE;
SELECT is(current_user::text, 'atk_login', 'the attacker is back to its masked login');
SELECT throws_ok('SELECT pg_temp.steal()', '42501', NULL,
                 'a SECURITY DEFINER SQL function made as the group gives no plaintext');
SELECT throws_ok('SELECT pg_temp.steal_plpgsql()', '42501', NULL, 'nor a PL/pgSQL one');
SELECT throws_ok($$ SELECT pg_temp.decrypt_as_group(privacy.encrypt('x')) $$, '42501', NULL,
                 'decrypt_text granted to the group refuses the masked session inside it too');
SELECT is(pg_temp.through_view(), 'a****@example.com,c****@example.com',
          'through the masked view, inside the group''s function: masked values of the rows RLS gives the group');
SELECT throws_ok($$ SELECT set_config('role', 'atk_group', true), (SELECT email FROM public.atk_clients LIMIT 1) $$,
                 '42501', NULL, 'set_config(''role'', ...) changes nothing either');
SELECT lives_ok('DROP FUNCTION pg_temp.steal()', 'the extension''s own event triggers still run in a masked session');
RESET SESSION AUTHORIZATION;

-- a SECURITY DEFINER function of another ordinary role, executable by PUBLIC
CREATE FUNCTION public.atk_report() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $f$ SELECT string_agg(email, ',') FROM public.atk_clients $f$;
ALTER FUNCTION public.atk_report() OWNER TO atk_owner;
GRANT SELECT ON public.atk_clients TO atk_owner;
SET SESSION AUTHORIZATION atk_login;
SELECT throws_ok('SELECT public.atk_report()', '42501', NULL,
                 'a SECURITY DEFINER function of another ordinary role gives a masked session no plaintext');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION atk_other;
SELECT is(public.atk_report(), 'ada@example.com,bob@example.com,cyd@example.com',
          'the same function still works for an unmasked session');
RESET SESSION AUTHORIZATION;

-- a superuser session that becomes the masked role is masked too
SET SESSION AUTHORIZATION atk_login;
SELECT throws_ok('SELECT * FROM public.atk_clients', '42501', NULL, 'SET SESSION AUTHORIZATION to a masked role: masked');
RESET SESSION AUTHORIZATION;

-- ================================================================ 3. grants and RLS through masked views (item 5)
SET SESSION AUTHORIZATION atk_login;
SELECT results_eq('SELECT id, email FROM privacy_masked.atk_clients ORDER BY id',
                  $$ VALUES (1, 'a****@example.com'), (3, 'c****@example.com') $$,
                  'the masked view shows exactly the rows RLS gives the role, masked');
SELECT throws_ok('SELECT * FROM privacy_masked.atk_secret', '42501', NULL,
                 'a table never granted to the role stays unreadable through its masked view');
SELECT throws_ok('SELECT v.id FROM privacy_masked.atk_clients v JOIN public.atk_clients b USING (id)', '42501', NULL,
                 'the base table next to its masked view in one query: refused');
SELECT throws_ok($$ SELECT count(*) FROM privacy_masked.atk_clients v
                   WHERE EXISTS (SELECT 1 FROM public.atk_clients b WHERE b.id = v.id AND b.email = 'ada@example.com') $$,
                 '42501', NULL, 'a subquery on the base table beside the masked view: refused');
SELECT throws_ok($$ WITH b AS (SELECT email FROM public.atk_clients) SELECT * FROM privacy_masked.atk_clients, b $$,
                 '42501', NULL, 'a CTE on the base table beside the masked view: refused');
CREATE TEMP VIEW atk_own AS SELECT * FROM public.atk_clients;
SELECT throws_ok('SELECT * FROM atk_own', '42501', NULL, 'its own view over the base table: refused');
CREATE TEMP VIEW atk_own_masked AS SELECT id, email FROM privacy_masked.atk_clients;
SELECT results_eq('SELECT email FROM atk_own_masked ORDER BY id', ARRAY['a****@example.com', 'c****@example.com'],
                  'its own view over the masked view: masked values, RLS applied');
SELECT throws_ok($$ SELECT * FROM privacy_masked.atk_clients FOR UPDATE $$, '42501', NULL,
                 'locking rows through the masked view: refused');
RESET SESSION AUTHORIZATION;

-- ================================================================ 4. foreign keys (item 10, existence oracle)
SET SESSION AUTHORIZATION atk_login;
SELECT throws_ok('INSERT INTO public.atk_orders VALUES (1, 1)', '42501', NULL,
                 'an insert referencing an existing client is refused (the key check reads a masked table)');
SELECT throws_ok('INSERT INTO public.atk_orders VALUES (2, 999)', '42501', NULL,
                 'and so is one referencing a missing client: the error tells nothing about existence');
SELECT lives_ok('INSERT INTO public.atk_orders VALUES (3, NULL)', 'a row without a reference is still accepted');
RESET SESSION AUTHORIZATION;

-- ================================================================ 5. the backend cache follows changes (issue 13)
CREATE TABLE public.atk_later (id int, email text);
INSERT INTO public.atk_later VALUES (1, 'later@example.com');
GRANT SELECT ON public.atk_later TO atk_group;
SET SESSION AUTHORIZATION atk_login;
SELECT is((SELECT email FROM public.atk_later), 'later@example.com', 'an unlabelled table is readable (and cached so)');
RESET SESSION AUTHORIZATION;
SECURITY LABEL FOR privacy ON COLUMN public.atk_later.email IS 'MASKED WITH VALUE NULL';
SET SESSION AUTHORIZATION atk_login;
SELECT throws_ok('SELECT email FROM public.atk_later', '42501', NULL, 'a label set later closes it at once');
RESET SESSION AUTHORIZATION;
CREATE TABLE public.atk_child () INHERITS (public.atk_later);
GRANT SELECT ON public.atk_child TO atk_group;
SET SESSION AUTHORIZATION atk_login;
SELECT throws_ok('SELECT * FROM public.atk_child', '42501', NULL, 'a new child of a labelled table is closed');
RESET SESSION AUTHORIZATION;
SECURITY LABEL FOR privacy ON ROLE atk_login IS NULL;
SET SESSION AUTHORIZATION atk_login;
SELECT is((SELECT count(*) FROM public.atk_clients), 2::bigint, 'a role unlabelled reads its grants again (RLS applies)');
RESET SESSION AUTHORIZATION;
SECURITY LABEL FOR privacy ON ROLE atk_group IS 'MASKED';
SET SESSION AUTHORIZATION atk_login;
SELECT throws_ok('SELECT * FROM public.atk_clients', '42501', NULL, 'labelling its group masks the login at once');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
