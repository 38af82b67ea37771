-- Maintenance rewrites by the extension keep retention deadlines (issue 10,
-- item 8): protect_column, rotate_key + reencrypt and unprotect_column rewrite
-- every row, and the "latest write" retention trigger must not stamp them with
-- a fresh expiry; an ordinary UPDATE still does.
BEGIN;
SELECT plan(6);

CREATE TABLE rr_forms (id int PRIMARY KEY, email text, note text);
INSERT INTO rr_forms VALUES (1, 'a@example.org', 'x'), (2, 'b@example.org', 'y');
SELECT privacy.set_retention('rr_forms', '6 months');
-- deadlines set in the past, as if the rows were last written long ago
ALTER TABLE rr_forms DISABLE TRIGGER zz_privacy_retention;
UPDATE rr_forms SET expires_at = ('2026-01-0' || id || ' 00:00+00')::timestamptz;
ALTER TABLE rr_forms ENABLE TRIGGER zz_privacy_retention;
CREATE TEMP TABLE rr_before AS SELECT id, expires_at FROM rr_forms;

SELECT privacy.create_key('rr_key');
SELECT is(privacy.protect_column('rr_forms', 'email', 'rr_key'), 2::bigint, 'protect_column rewrites the rows');
SELECT results_eq($$ SELECT id, expires_at FROM rr_forms ORDER BY id $$, $$ SELECT * FROM rr_before ORDER BY id $$,
                  'protect_column keeps each row''s expiry');
SELECT privacy.rotate_key('rr_key');
SELECT is(privacy.reencrypt('rr_forms', 'email'), 2::bigint, 'reencrypt after rotate_key rewrites the rows');
SELECT results_eq($$ SELECT id, expires_at FROM rr_forms ORDER BY id $$, $$ SELECT * FROM rr_before ORDER BY id $$,
                  'rotate_key + reencrypt keep each row''s expiry');
SELECT privacy.unprotect_column('rr_forms', 'email');
SELECT results_eq($$ SELECT id, expires_at FROM rr_forms ORDER BY id $$, $$ SELECT * FROM rr_before ORDER BY id $$,
                  'unprotect_column keeps each row''s expiry');
UPDATE rr_forms SET note = 'touched' WHERE id = 1;
SELECT is((SELECT expires_at FROM rr_forms WHERE id = 1), now() + interval '6 months',
          'an ordinary UPDATE is still the latest write');

SELECT * FROM finish();
ROLLBACK;
