-- Deterministic lookups use the column's indexes on tables large enough for
-- the planner to care (protected_value's result yields to the column's collation).
BEGIN;
SELECT plan(10);

CREATE TABLE look_subs (id int PRIMARY KEY, email text UNIQUE, code text COLLATE "C");
INSERT INTO look_subs SELECT g, 'user' || g || '@example.com', 'c' || g FROM generate_series(1, 120000) g;
DO $$ BEGIN
    PERFORM privacy.protect_column('look_subs', 'email', deterministic => true);
    PERFORM privacy.protect_column('look_subs', 'code', deterministic => true);
END $$;
CREATE INDEX look_subs_code ON look_subs (code);
CREATE TABLE look_wanted (plain text);
INSERT INTO look_wanted VALUES ('user7@example.com'), ('user77@example.com'), ('nobody@example.com');
ANALYZE look_subs;
ANALYZE look_wanted;

SELECT matches(tap.plan($$ SELECT id FROM look_subs
                           WHERE email = privacy.protected_value('look_subs', 'email', 'user5@example.com') $$),
               'Index Scan using look_subs_email_key on look_subs',
               'a lookup through protected_value is an Index Scan');
SELECT is((SELECT id FROM look_subs WHERE email = privacy.protected_value('look_subs', 'email', 'user5@example.com')),
          5, 'and finds the row');

PREPARE look_q(text) AS SELECT id FROM look_subs WHERE email = privacy.protected_value('look_subs', 'email', $1);
SET LOCAL plan_cache_mode = force_generic_plan;
SELECT matches(tap.plan($$ EXECUTE look_q('user9@example.com') $$),
               'Index Scan using look_subs_email_key on look_subs',
               'a prepared lookup with a parameter (generic plan) is an Index Scan');
RESET plan_cache_mode;

SELECT matches(tap.plan($$ SELECT id FROM look_subs
                           WHERE code = privacy.protected_value('look_subs', 'code', 'c42') $$),
               'Index Scan using look_subs_code on look_subs',
               'a column with collation "C" matches its index too');
SELECT is((SELECT id FROM look_subs WHERE code = privacy.protected_value('look_subs', 'code', 'c42')),
          42, 'and finds the row');

SELECT matches(tap.plan($$ SELECT w.plain, s.id FROM look_wanted w
                             JOIN look_subs s ON s.email = privacy.protected_value('look_subs', 'email', w.plain) $$),
               'Nested Loop.*Index Scan using look_subs_email_key on look_subs',
               'a join on protected_value uses the index of the protected column');
SELECT results_eq($$ SELECT s.id FROM look_wanted w
                      JOIN look_subs s ON s.email = privacy.protected_value('look_subs', 'email', w.plain) ORDER BY 1 $$,
                  $$ VALUES (7), (77) $$, 'and joins the right rows');

SELECT matches(tap.plan($$ INSERT INTO look_subs VALUES (200000, 'user3@example.com', 'x')
                           ON CONFLICT (email) DO NOTHING $$),
               'Conflict Arbiter Indexes: look_subs_email_key',
               'ON CONFLICT on a deterministic UNIQUE column uses its unique index');
INSERT INTO look_subs VALUES (200000, 'user3@example.com', 'x') ON CONFLICT (email) DO NOTHING;
SELECT is((SELECT count(*) FROM look_subs WHERE id = 200000), 0::bigint,
          'a duplicate plaintext conflicts on the stored form');
INSERT INTO look_subs VALUES (200001, 'user3@example.com', 'x')
    ON CONFLICT (email) DO UPDATE SET code = 'updated';
SELECT is((SELECT id FROM look_subs
            WHERE email = privacy.protected_value('look_subs', 'email', 'user3@example.com')
              AND code = privacy.protected_value('look_subs', 'code', 'updated')), 3,
          'ON CONFLICT DO UPDATE updates the existing row');

SELECT * FROM finish();
ROLLBACK;
