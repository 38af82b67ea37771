-- Second review: attacker-authored SQL (hold predicates, masking rules) must
-- never run with the rights of whoever reads the report or the masked views.
BEGIN;
SELECT plan(15);

CREATE ROLE review_mal;
CREATE SCHEMA review_m AUTHORIZATION review_mal;
CREATE TABLE review_m.pwn (who name);
GRANT INSERT, SELECT ON review_m.pwn TO PUBLIC;

SELECT is(tap.as_role_do('review_mal', $$
    CREATE TABLE review_m.t (id int, email text);
    INSERT INTO review_m.t VALUES (1, 'a@example.com'), (2, 'b@example.com');
    CREATE FUNCTION review_m.evil() RETURNS boolean LANGUAGE plpgsql AS
      'BEGIN INSERT INTO review_m.pwn VALUES (current_user); RETURN false; END';
    SELECT privacy.set_retention('review_m.t', '1 day');
    SELECT privacy.place_hold('trap', 'review_m.t', predicate => 'review_m.evil()');
    SELECT privacy.place_hold('case 1', 'review_m.t', predicate => 'id = 1')$$), 'done',
    'a table owner places holds with predicates on its own table');

-- the DBA (here a superuser) audits retention
SELECT is((SELECT rows_held FROM privacy.retention_report() WHERE tbl = 'review_m.t'::regclass), 1::bigint,
          'retention_report still counts the rows under predicate holds');
SELECT is((SELECT pg_catalog.string_agg(DISTINCT who::text, ',') FROM review_m.pwn), 'review_mal',
          'retention_report runs hold predicates as the table owner, not with the caller''s rights');

CREATE ROLE review_auditor;
GRANT EXECUTE ON FUNCTION privacy.retention_report() TO review_auditor;
GRANT EXECUTE ON FUNCTION privacy._retention_counts(regclass, name) TO review_auditor;
SELECT alike(tap.as_role('review_auditor', $$SELECT rows_held::text FROM privacy.retention_report()
                                             WHERE tbl = 'review_m.t'::regclass$$),
            'ERROR 42501%', 'the report counts only tables the caller may read');

-- masking rules: nothing that reads other relations or runs the author's code
SELECT alike(tap.as_role_do('review_mal', $$SECURITY LABEL FOR privacy ON COLUMN review_m.t.email IS
    'MASKED WITH FUNCTION pg_catalog.table_to_xml(''privacy.keys''::pg_catalog.regclass, true, false, '''')::text'$$),
    'ERROR 42501%', 'a masking rule cannot read another table through table_to_xml');
SELECT alike(tap.as_role_do('review_mal', $$
    CREATE DOMAIN review_m.d AS text CHECK (review_m.evil() IS NOT NULL);
    SECURITY LABEL FOR privacy ON COLUMN review_m.t.email IS 'MASKED WITH FUNCTION (email)::review_m.d'$$),
    'ERROR 42501%', 'a masking rule cannot cast to a domain whose checks run its owner''s functions');

CREATE DOMAIN public.review_short AS text CHECK (pg_catalog.length(VALUE) < 100);
CREATE TABLE public.review_c (id int, email text);
SELECT is(tap.as_role_do(current_user::text, $$SECURITY LABEL FOR privacy ON COLUMN public.review_c.email IS
    'MASKED WITH FUNCTION (privacy.mask_email(email))::public.review_short'$$), 'done',
    'a domain owned by a superuser is still allowed');

-- erasure: a registered table's triggers run as its owner, never as the DPO
SELECT is(tap.as_role_do('review_mal', $$
    CREATE TABLE review_m.u (id int PRIMARY KEY, email text);
    CREATE INDEX ON review_m.u (email);
    INSERT INTO review_m.u VALUES (1, 'victim@example.com');
    CREATE FUNCTION review_m.spy() RETURNS trigger LANGUAGE plpgsql AS
      'BEGIN INSERT INTO review_m.pwn VALUES (current_user); RETURN OLD; END';
    CREATE TRIGGER spy BEFORE DELETE ON review_m.u FOR EACH ROW EXECUTE FUNCTION review_m.spy();
    SELECT privacy.register_subject_table('review_m.u', 'email')$$), 'done',
    'a table owner registers its table, with a trigger of its own');
DELETE FROM review_m.pwn;
SELECT is((SELECT privacy.erase_subject('victim@example.com', 'test') #>> '{status}'), 'complete',
          'a superuser erases the subject');
SELECT is((SELECT pg_catalog.string_agg(DISTINCT who::text, ',') FROM review_m.pwn), 'review_mal',
          'the table''s trigger ran as the table owner, not with the eraser''s rights');

-- masked-view names: a table of an ordinary owner cannot take the name of the
-- DBA's table in the masked schema
SELECT is(tap.as_role_do('review_mal', $$
    CREATE TABLE review_m.clients (id int, email text);
    INSERT INTO review_m.clients VALUES (1, 'decoy@example.com');
    SECURITY LABEL FOR privacy ON COLUMN review_m.clients.email IS 'MASKED WITH VALUE NULL'$$), 'done',
    'an ordinary owner labels its own table "clients" first');
CREATE TABLE public.clients (id int, email text);
INSERT INTO public.clients VALUES (7, 'ada@example.com');
SELECT lives_ok($$SECURITY LABEL FOR privacy ON COLUMN public.clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)'$$,
                'the DBA can still label its table "clients"');
SELECT is((SELECT id || ' ' || email FROM privacy_masked.clients), '7 a****@example.com',
          'and privacy_masked.clients is the DBA''s table');
GRANT SELECT ON privacy_masked.clients TO review_auditor;
SELECT is(tap.as_role_do('review_mal', 'ALTER TABLE review_m.clients DROP COLUMN email'), 'done',
          'the ordinary owner changes its own table');
SELECT ok(has_table_privilege('review_auditor', 'privacy_masked.clients', 'SELECT'),
          'the DBA''s masked view was not dropped and rebuilt for it (its grants are intact)');

SELECT * FROM finish();
ROLLBACK;
