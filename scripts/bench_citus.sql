-- make bench-citus: per-row cost of encryption and decryption over 1M rows,
-- on a local table of the coordinator (the single-node figure) and in queries
-- Citus pushes down to the shards of a distributed table (2 workers); then
-- export_subject of a 50-row subject on local and on co-located distributed
-- tables.
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

-- export_subject of a subject with 50 rows (1 subscriber, 49 messages), among
-- 2,000 subjects: local tables, then co-located distributed tables
\timing off
DROP TABLE IF EXISTS bx_messages, bx_subscribers, bd_messages, bd_subscribers;
CREATE TABLE bx_subscribers (id bigint PRIMARY KEY, email text, name text);
CREATE TABLE bx_messages (subscriber_id bigint NOT NULL REFERENCES bx_subscribers, id bigint NOT NULL, body text,
                          PRIMARY KEY (subscriber_id, id));
CREATE TABLE bd_subscribers (LIKE bx_subscribers INCLUDING ALL);
CREATE TABLE bd_messages (LIKE bx_messages INCLUDING ALL);
SELECT create_distributed_table('bd_subscribers', 'id');
SELECT create_distributed_table('bd_messages', 'subscriber_id', colocate_with => 'bd_subscribers');
ALTER TABLE bd_messages ADD FOREIGN KEY (subscriber_id) REFERENCES bd_subscribers;
INSERT INTO bx_subscribers SELECT i, 'user' || i || '@example.com', 'User ' || i FROM generate_series(1, 2000) i;
INSERT INTO bx_messages SELECT s, m, md5(s::text || m::text) FROM generate_series(1, 2000) s, generate_series(1, 49) m;
INSERT INTO bd_subscribers SELECT * FROM bx_subscribers;
INSERT INTO bd_messages SELECT * FROM bx_messages;
VACUUM ANALYZE bx_subscribers;
VACUUM ANALYZE bx_messages;
-- mean wall-clock time of export_subject over 20 subjects (after 3 warm-up calls)
CREATE FUNCTION bench_export_ms(label text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    n  int;
BEGIN
    FOR i IN 1 .. 3 LOOP
        PERFORM privacy.export_subject(i::text, close_request => false);
    END LOOP;
    t0 := clock_timestamp();
    FOR i IN 101 .. 120 LOOP
        n := pg_catalog.jsonb_array_length(privacy.export_subject(i::text, close_request => false)
                                           -> 'data' -> (label || '_messages')) + 1;
    END LOOP;
    RETURN pg_catalog.format('%s: %s rows per subject, %s ms per export_subject', label, n,
                             round(extract(epoch FROM clock_timestamp() - t0) * 1000 / 20, 1));
END
$$;
\echo == export_subject of a 50-row subject (local tables, co-located distributed tables)
SELECT privacy.register_subject_table('bx_subscribers', 'id');
SELECT bench_export_ms('public.bx');
SELECT privacy.unregister_subject_table('bx_subscribers');
SELECT privacy.register_subject_table('bd_subscribers', 'id');
SELECT bench_export_ms('public.bd');
SELECT privacy.unregister_subject_table('bd_subscribers');
DROP FUNCTION bench_export_ms(text);
DROP TABLE bx_messages, bx_subscribers, bd_messages, bd_subscribers;
