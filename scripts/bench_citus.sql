-- make bench-citus: per-row cost of encryption and decryption over 1M rows,
-- on a local table of the coordinator (the single-node figure) and in queries
-- Citus pushes down to the shards of a distributed table (2 workers).
\set rows 1000000
\timing on
\pset pager off
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_local, bench_dist;
CREATE TABLE bench_local (id bigint PRIMARY KEY, v text, c bytea);
CREATE TABLE bench_dist (id bigint PRIMARY KEY, v text, c bytea);
SELECT create_distributed_table('bench_dist', 'id');
INSERT INTO bench_local SELECT i, md5(i::text) || md5((i + 1)::text) FROM generate_series(1, :rows) i;
INSERT INTO bench_dist SELECT * FROM bench_local;
UPDATE bench_local SET c = privacy.encrypt(v);
-- encrypt() is VOLATILE: Citus refuses it in a distributed UPDATE, so the
-- ciphertexts are copied from the local table for the decryption figure
INSERT INTO bench_dist SELECT * FROM bench_local ON CONFLICT (id) DO UPDATE SET c = EXCLUDED.c;
VACUUM ANALYZE bench_local;
VACUUM ANALYZE bench_dist;
\echo == baseline: length(v) (local, distributed)
SELECT sum(length(v)) FROM bench_local;
SELECT sum(length(v)) FROM bench_dist;
\echo == encrypt (local, distributed)
SELECT sum(length(privacy.encrypt(v))) FROM bench_local;
SELECT sum(length(privacy.encrypt(v))) FROM bench_dist;
\echo == decrypt (local, distributed)
SELECT sum(length(privacy.decrypt_text(c))) FROM bench_local;
SELECT sum(length(privacy.decrypt_text(c))) FROM bench_dist;
\echo == pseudonymize (local, distributed)
SELECT sum(length(privacy.pseudonymize(v))) FROM bench_local;
SELECT sum(length(privacy.pseudonymize(v))) FROM bench_dist;
DROP TABLE bench_local, bench_dist;
