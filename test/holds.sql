-- Legal holds on a data subject in every table: the purge keeps the subject's
-- expired rows in registered tables, erasure refuses and says why, and only
-- roles that may erase subjects place or release such holds.
BEGIN;
SELECT plan(10);

CREATE TABLE hold_people (id int PRIMARY KEY, email text NOT NULL, since timestamptz NOT NULL);
CREATE INDEX ON hold_people (email);
INSERT INTO hold_people VALUES (1, 'kept@example.org', now() - interval '3 years'),
                               (2, 'gone@example.org', now() - interval '3 years'),
                               (3, 'new@example.org', now());
DO $$ BEGIN
    PERFORM privacy.register_subject_table('hold_people', 'email');
    PERFORM privacy.set_retention('hold_people', '2 years', 'since');
END $$;
CREATE ROLE hold_nobody NOLOGIN;

SELECT is(tap.as_role('hold_nobody', $$SELECT privacy.place_hold('audit 2026', subject => 'kept@example.org')$$),
          'ERROR 42501: permission denied to place a legal hold on a subject',
          'a subject-wide hold needs the right to erase subjects');
SELECT throws_ok($$ SELECT privacy.place_hold('x', subject => 'kept@example.org', predicate => 'true') $$, '22023',
                 'a legal hold on a subject in every table takes no predicate', 'a subject-wide hold takes no predicate');

CREATE TEMP TABLE hold_id AS SELECT privacy.place_hold('litigation 2026-3', subject => 'kept@example.org') AS id;
SELECT is((SELECT tbl FROM privacy.legal_holds WHERE id = (SELECT id FROM hold_id)), NULL,
          'a subject-wide hold has no table');
SELECT is((SELECT rows_held FROM privacy.retention_report() WHERE tbl = 'hold_people'::regclass), 1::bigint,
          'the retention report counts the subject''s expired row as held');
SELECT results_eq($$ SELECT rows FROM privacy.purge() WHERE tbl = 'hold_people'::regclass $$,
                  $$ VALUES (1::bigint) $$, 'the purge removes the other expired row only');
SELECT results_eq($$ SELECT id FROM hold_people ORDER BY id $$, $$ VALUES (1), (3) $$,
                  'the held subject''s expired row is kept');
SELECT is((SELECT privacy.erase_subject('kept@example.org', 'asked to be forgotten') #>> '{held,0,reason}'),
          'litigation 2026-3', 'erasure of the held subject is refused and says why');
SELECT is((SELECT count(*) FROM hold_people WHERE email = 'kept@example.org'), 1::bigint, 'and erases nothing held');

SELECT lives_ok($$ SELECT privacy.release_hold((SELECT id FROM hold_id)) $$, 'the hold is released');
SELECT results_eq($$ SELECT rows FROM privacy.purge() WHERE tbl = 'hold_people'::regclass $$,
                  $$ VALUES (1::bigint) $$, 'the next purge removes the row');

SELECT * FROM finish();
ROLLBACK;
