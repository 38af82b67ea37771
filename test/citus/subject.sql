-- Export and erasure of data subjects on Citus tables (must show 3 of the
-- Citus issue): co-located distributed tables (subscribers by id, messages by
-- subscriber_id with a foreign key, message events with a two-column foreign
-- key to messages) and reference tables, several subjects with rows on both
-- workers.  Rows are identified by primary key on Citus tables.
SET client_min_messages = warning;
SELECT plan(30);

CREATE TABLE cs_subscribers (id bigint PRIMARY KEY, email text, name text);
SELECT create_distributed_table('cs_subscribers', 'id', shard_count => 8);
CREATE TABLE cs_messages (subscriber_id bigint NOT NULL REFERENCES cs_subscribers (id), id bigint NOT NULL,
                          body text, PRIMARY KEY (subscriber_id, id));
SELECT create_distributed_table('cs_messages', 'subscriber_id', colocate_with => 'cs_subscribers');
CREATE TABLE cs_events (subscriber_id bigint NOT NULL, id bigint NOT NULL, message_id bigint NOT NULL, kind text,
                        PRIMARY KEY (subscriber_id, id),
                        FOREIGN KEY (subscriber_id, message_id) REFERENCES cs_messages (subscriber_id, id));
SELECT create_distributed_table('cs_events', 'subscriber_id', colocate_with => 'cs_subscribers');
-- reference tables holding subject rows: one deleted, one anonymized on erasure
CREATE TABLE cs_devices (id int PRIMARY KEY, subscriber_id bigint NOT NULL, model text);
SELECT create_reference_table('cs_devices');
CREATE TABLE cs_profiles (id int PRIMARY KEY, subscriber_id bigint NOT NULL, nickname text NOT NULL, city text);
SELECT create_reference_table('cs_profiles');

-- subjects 7001 to 7012 (identifiers no other file of the suite uses)
INSERT INTO cs_subscribers SELECT i, 'user' || i || '@example.com', 'User ' || i FROM generate_series(7001, 7012) i;
INSERT INTO cs_messages SELECT s, m, 'message ' || m || ' of ' || s
  FROM generate_series(7001, 7012) s, generate_series(1, 5) m;
INSERT INTO cs_events SELECT s, m * 10 + k, m, 'event ' || k
  FROM generate_series(7001, 7012) s, generate_series(1, 5) m, generate_series(1, 2) k;
INSERT INTO cs_devices SELECT i, (i % 12) + 7001, 'phone ' || i FROM generate_series(1, 36) i;
INSERT INTO cs_profiles SELECT i, 7000 + i, 'nick ' || i, 'city ' || i FROM generate_series(1, 12) i;

SELECT privacy.register_subject_table('cs_subscribers', 'id', '{contact}', 'SMS');
SELECT privacy.register_subject_table('cs_devices', 'subscriber_id', '{device}', 'SMS');
SELECT privacy.register_subject_table('cs_profiles', 'subscriber_id', '{profile}', 'SMS', 'anonymize');

-- two subjects whose shards are on different workers, and a third one
SELECT s AS a FROM generate_series(7001, 7012) s ORDER BY s LIMIT 1 \gset
SELECT s AS b FROM generate_series(7001, 7012) s
 WHERE (SELECT nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('cs_subscribers', s))
       <> (SELECT nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('cs_subscribers', :a))
 ORDER BY s LIMIT 1 \gset
SELECT min(s) AS c FROM generate_series(7001, 7012) s WHERE s NOT IN (:a, :b) \gset
SELECT is((SELECT count(DISTINCT nodeport) FROM citus_shards
            WHERE shardid IN (get_shard_id_for_distribution_column('cs_subscribers', :a),
                              get_shard_id_for_distribution_column('cs_subscribers', :b))), 2::bigint,
          'the two subjects'' rows are on both workers');
SELECT is(privacy._row_identity('cs_messages'::regclass), 'primary key', 'Citus tables: rows identified by primary key');

-- ---- export: exactly the subject's rows (the expected rows are read first:
-- a pgTAP call over a distributed table would be routed to a worker)
SELECT privacy.export_subject(:'a') AS ea \gset
SELECT privacy.export_subject(:'b') AS eb \gset
SELECT (SELECT jsonb_agg(to_jsonb(s)) FROM cs_subscribers s WHERE id = :a) AS want_s,
       (SELECT jsonb_agg(to_jsonb(m) ORDER BY m.subscriber_id, m.id) FROM cs_messages m WHERE subscriber_id = :a) AS want_m,
       (SELECT jsonb_agg(to_jsonb(e) ORDER BY e.subscriber_id, e.id) FROM cs_events e WHERE subscriber_id = :a) AS want_e,
       (SELECT jsonb_agg(to_jsonb(d) ORDER BY d.id) FROM cs_devices d WHERE subscriber_id = :a) AS want_d,
       (SELECT jsonb_agg(to_jsonb(m) ORDER BY m.subscriber_id, m.id) FROM cs_messages m WHERE subscriber_id = :b) AS want_mb \gset
SELECT is(:'ea'::jsonb -> 'data' -> 'public.cs_subscribers', :'want_s'::jsonb, 'export: the subject''s subscriber row');
SELECT is(:'ea'::jsonb -> 'data' -> 'public.cs_messages', :'want_m'::jsonb,
          'export: exactly the subject''s messages (a distributed table reached by foreign key)');
SELECT is(:'ea'::jsonb -> 'data' -> 'public.cs_events', :'want_e'::jsonb,
          'export: exactly the subject''s message events (two-column foreign key)');
SELECT is(:'ea'::jsonb -> 'data' -> 'public.cs_devices', :'want_d'::jsonb,
          'export: exactly the subject''s rows of a reference table');
SELECT is(:'eb'::jsonb -> 'data' -> 'public.cs_messages', :'want_mb'::jsonb,
          'export of a subject on the other worker: exactly its messages');
SELECT is((SELECT array_agg(DISTINCT (r ->> 'subscriber_id')::bigint)
             FROM jsonb_array_elements(:'eb'::jsonb -> 'data' -> 'public.cs_events') r), ARRAY[:b::bigint],
          'no other subject''s rows in the export');
SELECT ok((:'ea'::jsonb -> 'meta' ->> 'complete')::boolean, 'the export is complete');

-- ---- erasure: exactly the subject's rows, nothing of the others
SELECT privacy.encrypt_for_subject(:'a', 'secret of a') AS ka \gset
SELECT privacy.encrypt_for_subject(:'b', 'secret of b') AS kb \gset
SELECT ok(ct.same_everywhere(format($$SELECT privacy.decrypt_text(%L::bytea)$$, :'ka')),
          'the subject''s own key decrypts on every node before the erasure');
-- rows per table and subject, before and after the erasure
SET citus.enable_ddl_propagation = off;   -- a coordinator-only helper
CREATE FUNCTION pg_temp.cs_counts() RETURNS TABLE (t text, subscriber_id bigint, n bigint) LANGUAGE sql AS $$
    SELECT 'cs_subscribers', id, count(*) FROM cs_subscribers GROUP BY 2
    UNION ALL SELECT 'cs_messages', subscriber_id, count(*) FROM cs_messages GROUP BY 2
    UNION ALL SELECT 'cs_events', subscriber_id, count(*) FROM cs_events GROUP BY 2
    UNION ALL SELECT 'cs_devices', subscriber_id, count(*) FROM cs_devices GROUP BY 2
    UNION ALL SELECT 'cs_profiles', subscriber_id, count(*) FROM cs_profiles GROUP BY 2
$$;
RESET citus.enable_ddl_propagation;
CREATE TEMP TABLE cs_before AS SELECT * FROM pg_temp.cs_counts();

SELECT privacy.erase_subject(:'a', 'test erasure') AS ra \gset
SELECT is(:'ra'::jsonb ->> 'status', 'complete', 'erase_subject: complete');
SELECT is((SELECT jsonb_object_agg(e ->> 'table', (e ->> 'deleted')::int + (e ->> 'anonymized')::int)
             FROM jsonb_array_elements(:'ra'::jsonb -> 'tables') e),
          '{"public.cs_subscribers": 1, "public.cs_messages": 5, "public.cs_events": 10, "public.cs_devices": 3, "public.cs_profiles": 1}'::jsonb,
          'the report counts the subject''s rows per table');
CREATE TEMP TABLE cs_after AS SELECT * FROM pg_temp.cs_counts();
SELECT (SELECT nickname || '/' || coalesce(city, 'NULL') FROM cs_profiles WHERE subscriber_id = :a) AS profile_a,
       (SELECT count(*) FROM cs_profiles WHERE nickname = '[erased]') AS anonymized,
       (SELECT jsonb_agg(to_jsonb(p)) FROM cs_profiles p WHERE subscriber_id = :a) AS want_p \gset
SELECT is((SELECT sum(n) FROM cs_after WHERE subscriber_id = :a AND t <> 'cs_profiles'), NULL,
          'the subject''s rows are gone from the distributed and reference tables');
SELECT is(:'profile_a'::text, '[erased]/NULL',
          'the subject''s reference-table row kept by on_erasure ''anonymize'' is anonymized');
SELECT is((SELECT count(*) FROM (SELECT * FROM cs_before WHERE subscriber_id <> :a
                                 EXCEPT SELECT * FROM cs_after) x), 0::bigint,
          'every other subject keeps all its rows in every table');
SELECT is((SELECT count(*) FROM cs_after WHERE subscriber_id <> :a), (SELECT count(*) FROM cs_before WHERE subscriber_id <> :a),
          'and no row count of another subject changed');
SELECT is(:anonymized, 1,
          'no other subject''s profile was anonymized');
-- every placement of the reference tables changed alike
SELECT ok(ct.same_everywhere(format($$SELECT count(*) || '/' || count(*) FILTER (WHERE subscriber_id = %s) FROM cs_devices_%s$$,
                                    :a, (SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'cs_devices'::regclass))),
          'every placement of the reference table lost the same rows');
SELECT ok(ct.same_everywhere(format($$SELECT string_agg(nickname || coalesce(city, '-'), ',' ORDER BY id) FROM cs_profiles_%s$$,
                                    (SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'cs_profiles'::regclass))),
          'every placement of the anonymized reference table is identical');
-- crypto-shredding on every node
SELECT is(ct.results(format($$SELECT count(*) FROM privacy.keys WHERE name = %L AND wrapped IS NOT NULL$$,
                            privacy.subject_key_name(:'a'))), '{0,0,0}'::text[],
          'the subject''s key material is gone on every node');
SELECT is((SELECT count(*) FROM ct.on_all(format($$SELECT privacy.decrypt_text(%L::bytea)$$, :'ka')) WHERE success),
          0::bigint, 'a value encrypted for the subject decrypts on no node');
SELECT ok(ct.same_everywhere(format($$SELECT privacy.decrypt_text(%L::bytea)$$, :'kb')),
          'another subject''s key still decrypts on every node');
SELECT ok(ct.same_everywhere($$SELECT privacy.key_ring_fingerprint()$$), 'the key ring is the same on every node');
SELECT is((privacy.export_subject(:'b', close_request => false) -> 'data'), :'eb'::jsonb -> 'data',
          'the other subject''s export is unchanged');
SELECT is(privacy.export_subject(:'a') -> 'data', jsonb_build_object('public.cs_profiles', :'want_p'::jsonb),
          'after the erasure the subject''s export holds only the anonymized profile');

-- a subject hold wins on Citus tables too
SELECT ok(privacy.place_hold('litigation', subject => :'c') > 0, 'a hold on a third subject');
SELECT is(privacy.erase_subject(:'c', 'test erasure') ->> 'status', 'partial', 'its erasure is partial');
SELECT count(*) AS kept_c FROM cs_messages WHERE subscriber_id = :c \gset
SELECT is(:kept_c, 5, 'and its messages are kept');
SELECT privacy.release_hold(h.id) FROM privacy.legal_holds h WHERE h.subject = :'c' AND h.released_at IS NULL;

-- anonymizing a Citus table needs immutable expressions (Citus refuses others in a distributed UPDATE)
CREATE TABLE cs_notes (subscriber_id bigint NOT NULL, id int NOT NULL, note text, PRIMARY KEY (subscriber_id, id));
CREATE FUNCTION cs_noise(t text) RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT t || pg_catalog.random()::text $$;
SET citus.enable_ddl_propagation = off;
SECURITY LABEL FOR privacy ON FUNCTION cs_noise(text) IS 'TRUSTED';
RESET citus.enable_ddl_propagation;
SET client_min_messages = error;   -- Citus: the masked view stays local
SELECT privacy.mask_column('cs_notes', 'note', 'public.cs_noise(note)');
SELECT create_distributed_table('cs_notes', 'subscriber_id', colocate_with => 'cs_subscribers');
SET client_min_messages = warning;
INSERT INTO cs_notes SELECT s, 1, 'note of ' || s FROM generate_series(7001, 7012) s;
SELECT privacy.register_subject_table('cs_notes', 'subscriber_id', on_erasure => 'anonymize');
SELECT is(ct.try(format($$SELECT privacy.erase_subject(%L, 'test erasure')$$, :b)),
          'ERROR 0A000: erasure cannot anonymize the rows of the Citus distributed table "public.cs_notes" with its masking rules',
          'an erasure anonymizing a distributed table with a volatile masking rule is refused');
SELECT count(*) AS kept_b FROM cs_messages WHERE subscriber_id = :b \gset
SELECT is(:kept_b, 5, 'and changes nothing');

SELECT privacy.unregister_subject_table(t) FROM unnest(ARRAY['cs_notes', 'cs_profiles', 'cs_devices', 'cs_subscribers']::regclass[]) t;
DROP TABLE cs_notes, cs_events, cs_messages, cs_subscribers, cs_devices, cs_profiles;
DROP FUNCTION cs_noise(text);
SELECT * FROM finish();
