-- One key ring per Citus cluster (must show 1 and 2 of the Citus issue).
SET client_min_messages = warning;
SELECT plan(27);

-- 1. after CREATE EXTENSION on the coordinator: one ring everywhere
SELECT ok(ct.same_everywhere($$SELECT privacy.key_ring_fingerprint()$$),
          'every node holds the same wrapped keys (same fingerprint)');
SELECT is((SELECT count(*) FROM privacy.keys), 4::bigint, 'the coordinator made the 4 default keys');
SELECT ok(ct.same_everywhere($$SELECT count(*) FROM privacy.keys$$), 'every node has as many key rows');
SELECT ok(ct.same_everywhere($$SELECT privacy.master_key_id()$$), 'one master key on every node');
SELECT is((SELECT count(*) FILTER (WHERE in_step) FROM privacy.key_ring_status()), 3::bigint,
          'key_ring_status: 3 nodes, all in step');
SELECT ok(ct.same_everywhere($$SELECT privacy.pseudonymize('alice@example.com')$$), 'pseudonymize: same on every node');
SELECT ok(ct.same_everywhere($$SELECT privacy.tokenize('4111-1111-1111-1111')$$), 'tokenize: same on every node');
SELECT ok(ct.same_everywhere($$SELECT privacy.blind_index('alice@example.com')$$), 'blind_index: same on every node');
SELECT ok(ct.same_everywhere($$SELECT privacy.encrypt_deterministic('alice@example.com')$$),
          'encrypt_deterministic: same on every node');
SELECT is(privacy.decrypt_text(ct.on_worker(1, $$SELECT privacy.encrypt('made on worker 1')$$)::bytea),
          'made on worker 1', 'a value encrypted on a worker decrypts on the coordinator');
SELECT ok(ct.same_everywhere(format($$SELECT privacy.decrypt_text(%L::bytea)$$, privacy.encrypt('made on the coordinator'))),
          'a value encrypted on the coordinator decrypts on every node');
SELECT is(ct.on_worker(2, format($$SELECT privacy.decrypt_text(%L::bytea)$$,
                                 ct.on_worker(1, $$SELECT privacy.encrypt('w1 to w2')$$))),
          'w1 to w2', 'a value encrypted on one worker decrypts on the other');
SELECT is(privacy.detokenize(ct.on_worker(2, $$SELECT privacy.tokenize('4111-1111-1111-1111')$$)),
          '4111-1111-1111-1111', 'detokenize of a token made on a worker gives the original on the coordinator');

-- a blind-index lookup over all shards finds every row
CREATE TABLE ct_bi (id int PRIMARY KEY, email text, email_bi bytea);
SELECT create_distributed_table('ct_bi', 'id');
INSERT INTO ct_bi SELECT i, 'user' || i || '@example.com' FROM generate_series(1, 20) i;
UPDATE ct_bi SET email_bi = privacy.blind_index(email);   -- computed on the workers
SELECT is((SELECT count(*) FROM ct_bi WHERE email_bi = privacy.blind_index('user' || id || '@example.com')), 20::bigint,
          'blind indexes computed on the workers match the coordinator''s: 20 of 20 rows found');

-- key changes reach every node
SELECT ok(privacy.create_key('ct_k', 'encrypt') > 0, 'create_key on the coordinator');
SELECT ok(ct.same_everywhere($$SELECT privacy.key_ring_fingerprint()$$), 'create_key: every node has the new key');

-- 2. rotate_key then reencrypt on a distributed table moves every shard
CREATE TABLE ct_secret (id int PRIMARY KEY, v bytea);
SELECT create_distributed_table('ct_secret', 'id');
INSERT INTO ct_secret SELECT i, privacy.encrypt('secret ' || i, 'ct_k') FROM generate_series(1, 40) i;
SELECT is(privacy.rotate_key('ct_k'), 2, 'rotate_key gives version 2');
SELECT ok(ct.same_everywhere($$SELECT privacy.key_ring_fingerprint()$$), 'rotate_key: every node has version 2');
SELECT is(privacy.reencrypt('ct_secret', 'v'), 40::bigint, 'reencrypt moves the 40 rows of every shard');
SELECT is((SELECT array_agg(DISTINCT privacy.key_version(v)) FROM ct_secret), '{2}'::int[],
          'every row of every shard is at version 2');
SELECT is((SELECT count(*) FROM ct_secret WHERE privacy.decrypt_text(v) = 'secret ' || id), 40::bigint,
          'every row still decrypts (on the workers)');
SELECT lives_ok($$SELECT privacy.destroy_key('ct_k')$$, 'destroy_key on the coordinator');
SELECT is(ct.results($$SELECT count(*) FROM privacy.keys WHERE name = 'ct_k' AND wrapped IS NOT NULL$$),
          '{0,0,0}'::text[], 'destroy_key: the key material is gone on every node');
SELECT v AS v1 FROM ct_secret WHERE id = 1 \gset
SELECT is((SELECT count(*) FROM ct.on_all(format($$SELECT privacy.decrypt_text(%L::bytea)$$, :'v1')) WHERE success),
          0::bigint, 'destroyed: a value decrypts on no node');

-- per-subject keys: made on the coordinator during a distributed INSERT, on every node at commit
CREATE TABLE ct_msg (id int, subscriber text, body bytea);
SELECT create_distributed_table('ct_msg', 'id');
BEGIN;
INSERT INTO ct_msg VALUES (1, 'sub-1', privacy.encrypt_for_subject('sub-1', 'hello'));
INSERT INTO ct_msg VALUES (2, 'sub-2', privacy.encrypt_for_subject('sub-2', 'hi'));
COMMIT;
SELECT ok(ct.same_everywhere($$SELECT privacy.key_ring_fingerprint()$$), 'per-subject keys reach every node');
SELECT is((SELECT string_agg(privacy.decrypt_text(body), ',' ORDER BY id) FROM ct_msg), 'hello,hi',
          'values encrypted for subjects decrypt on the workers');
SELECT privacy.destroy_key(privacy.subject_key_name('sub-2'));
SELECT is(ct.on_worker(1, format($$SELECT count(*) FROM privacy.keys WHERE name = %L AND wrapped IS NOT NULL$$,
                                 privacy.subject_key_name('sub-2'))), '0', 'a destroyed subject key is gone on the workers');

DROP TABLE ct_bi, ct_secret, ct_msg;
SELECT * FROM finish();
