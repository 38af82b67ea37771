-- Subjects under restriction (Art. 18) are left out of masked views, at once
-- and without a manual refresh; the filter keeps index use.
BEGIN;
SELECT plan(6);

CREATE TABLE restr_people (id int PRIMARY KEY, email text, name text);
CREATE INDEX ON restr_people (email);
INSERT INTO restr_people VALUES (1, 'ann@example.org', 'Ann'), (2, 'bob@example.org', 'Bob');
SECURITY LABEL FOR privacy ON COLUMN restr_people.name IS 'MASKED WITH FUNCTION privacy.partial(name, 1, ''***'', 0)';
DO $$ BEGIN PERFORM privacy.register_subject_table('restr_people', 'email'); END $$;
CREATE ROLE restr_bi NOLOGIN;
-- masked views are security_invoker: the masked role reads what it was granted
GRANT SELECT ON restr_people TO restr_bi;
-- the plan of a query, line by line
CREATE FUNCTION pg_temp.plan_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q;
END
$$;
SECURITY LABEL FOR privacy ON ROLE restr_bi IS 'MASKED';

SELECT is(tap.as_role('restr_bi', 'SELECT string_agg(name, '','' ORDER BY id) FROM privacy_masked.restr_people'),
          'A***,B***', 'the masked role sees every subject, masked');
DO $$ BEGIN PERFORM privacy.restrict('bob@example.org'); END $$;
SELECT is(tap.as_role('restr_bi', 'SELECT string_agg(name, '','' ORDER BY id) FROM privacy_masked.restr_people'),
          'A***', 'a restricted subject is left out at once');
SELECT is(tap.as_role('restr_bi', $$SELECT count(*)::text FROM privacy_masked.restr_people WHERE email = 'bob@example.org'$$),
          '0', 'even when asked for by name');
SELECT is((SELECT count(*) FROM restr_people), 2::bigint, 'the base table keeps the row');
DO $$ BEGIN PERFORM privacy.unrestrict('bob@example.org'); END $$;
SELECT is(tap.as_role('restr_bi', 'SELECT string_agg(name, '','' ORDER BY id) FROM privacy_masked.restr_people'),
          'A***,B***', 'unrestrict brings the subject back');
SELECT ok((SELECT bool_or(l LIKE '%Index Scan using restr_people_pkey%')
             FROM pg_temp.plan_lines('SELECT * FROM privacy_masked.restr_people WHERE id = 1') l),
          'a filter on an unmasked column still uses the index');

SELECT * FROM finish();
ROLLBACK;
