-- Export and erasure across a foreign key of two columns (the walk matches
-- the child's columns against the parent's values, one array per column).
BEGIN;
SELECT plan(5);

CREATE SCHEMA subjc;
CREATE TABLE subjc.accounts (tenant int, id int, email text, PRIMARY KEY (tenant, id));
CREATE TABLE subjc.orders (tenant int NOT NULL, id int NOT NULL, account_id int NOT NULL, item text,
                           PRIMARY KEY (tenant, id), FOREIGN KEY (tenant, account_id) REFERENCES subjc.accounts);
CREATE INDEX ON subjc.orders (tenant, account_id);
CREATE INDEX ON subjc.accounts (email);
INSERT INTO subjc.accounts VALUES (1, 1, 'a@example.com'), (1, 2, 'b@example.com'), (2, 1, 'c@example.com');
-- (2, 1) shares tenant with nobody of a and account id with a: only the pair matches
INSERT INTO subjc.orders VALUES (1, 10, 1, 'book'), (1, 11, 1, 'pen'), (1, 12, 2, 'lamp'), (2, 13, 1, 'desk');
SELECT privacy.register_subject_table('subjc.accounts', 'email');

SELECT set_eq($$SELECT (r->>'id')::int FROM jsonb_array_elements(privacy.export_subject('a@example.com', close_request => false)
                                                                 -> 'data' -> 'subjc.orders') r$$,
              ARRAY[10, 11], 'export: the orders matching both foreign-key columns');
SELECT is(privacy.erase_subject('a@example.com', 'test') ->> 'status', 'complete', 'erasure across the two-column key');
SELECT is((SELECT array_agg(id ORDER BY id) FROM subjc.orders), ARRAY[12, 13], 'only the subject''s orders are deleted');
SELECT is((SELECT array_agg(email ORDER BY email) FROM subjc.accounts), ARRAY['b@example.com', 'c@example.com'],
          'and only its account');
SELECT is(privacy._row_identity('subjc.orders'::regclass), 'ctid', 'local tables keep address identities');

SELECT * FROM finish();
ROLLBACK;
