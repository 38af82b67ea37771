-- Decryption in parallel query: workers decrypt, the statement's audit row
-- counts every value exactly (workers hand their counts to the leader).
BEGIN;
SELECT plan(10);

SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL parallel_leader_participation = off;

DO $$ BEGIN PERFORM privacy.create_key('par_k', 'encrypt'); END $$;
CREATE TABLE par_big AS
SELECT g AS id, privacy.encrypt('value ' || g, 'par_k') AS c FROM generate_series(1, 200000) g;
ANALYZE par_big;

CREATE TEMP TABLE par_mark AS SELECT coalesce(max(id), 0) AS last FROM privacy.audit_log;
CREATE FUNCTION pg_temp.par_rows() RETURNS SETOF privacy.audit_log
LANGUAGE sql AS $$ SELECT * FROM privacy.audit_log WHERE id > (SELECT last FROM par_mark) AND action = 'decrypt' ORDER BY id $$;

SELECT matches(
    tap.plan($$ SELECT count(*) FROM par_big WHERE privacy.decrypt_text(c) = 'value ' || id $$),
    'Gather.*Partial Aggregate.*Parallel Seq Scan on par_big.*decrypt_text',
    'decrypt_text runs below a Gather, in the parallel workers');
SELECT is((SELECT count(*) FROM par_big WHERE privacy.decrypt_text(c) = 'value ' || id), 200000::bigint,
          'every value decrypts correctly in the workers');
SELECT results_eq($$ SELECT details->>'values' FROM pg_temp.par_rows() $$, $$ VALUES ('200000') $$,
          'one audit row with the exact count of values the workers decrypted');

UPDATE par_mark SET last = (SELECT max(id) FROM privacy.audit_log);
SELECT cmp_ok((SELECT (j->0->'Plan'->'Plans'->0->>'Workers Launched')::int
                 FROM (SELECT tap.plan($$ SELECT count(*) FROM par_big WHERE privacy.decrypt_text(c) = 'value ' || id $$, 'ANALYZE, FORMAT JSON')::json j) s), '>', 0, 'workers were launched');
SELECT results_eq($$ SELECT details->>'values' FROM pg_temp.par_rows() $$, $$ VALUES ('200000') $$,
          'EXPLAIN ANALYZE of the parallel decryption is audited exactly too');

-- through a table's _decrypted view (privacy._decrypt_column), leader participating
SET LOCAL parallel_leader_participation = on;
CREATE TABLE par_prot AS SELECT id, 'value ' || id AS v FROM generate_series(1, 100000) id;
DO $$ BEGIN PERFORM privacy.protect_column('par_prot', 'v', 'par_k'); END $$;
ANALYZE par_prot;
UPDATE par_mark SET last = (SELECT max(id) FROM privacy.audit_log);
SELECT is((SELECT count(*) FROM par_prot_decrypted WHERE v = 'value ' || id), 100000::bigint,
          'a parallel scan of a _decrypted view decrypts every value');
SELECT results_eq($$ SELECT details->>'values' FROM pg_temp.par_rows() $$, $$ VALUES ('100000') $$,
          'and is audited exactly');

-- detokenize: the same, one detokenize row per statement and key
SET LOCAL parallel_leader_participation = off;
DO $$ BEGIN PERFORM privacy.create_key('par_tok', 'tokenize'); END $$;
CREATE TABLE par_tokens AS
SELECT g AS id, privacy.tokenize(lpad(g::text, 10, '0'), 'par_tok') AS t FROM generate_series(1, 100000) g;
ANALYZE par_tokens;
UPDATE par_mark SET last = (SELECT max(id) FROM privacy.audit_log);
SELECT matches(
    tap.plan($$ SELECT count(*) FROM par_tokens WHERE privacy.detokenize(t, 'par_tok') = lpad(id::text, 10, '0') $$),
    'Gather.*Parallel Seq Scan on par_tokens.*detokenize',
    'detokenize runs in the parallel workers');
SELECT is((SELECT count(*) FROM par_tokens WHERE privacy.detokenize(t, 'par_tok') = lpad(id::text, 10, '0')),
          100000::bigint, 'every token detokenizes correctly in the workers');
SELECT results_eq($$ SELECT object, details->>'values' FROM privacy.audit_log
                     WHERE id > (SELECT last FROM par_mark) AND action = 'detokenize' $$,
                  $$ VALUES ('par_tok', '100000') $$,
                  'one detokenize row naming the key, with the exact count');

SELECT * FROM finish();
ROLLBACK;
