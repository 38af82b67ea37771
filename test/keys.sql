-- Key ring: default keys, create_key, rotate_key, reencrypt, destroy_key,
-- wrapping under the master key, audit log.
BEGIN;
SELECT plan(87);

-- ---------------------------------------------------------------------------
-- Default keys and the key table
-- ---------------------------------------------------------------------------
SELECT set_eq($$SELECT name, purpose, version, status, origin FROM privacy.keys
                WHERE name IN ('default', 'deterministic', 'pseudonym', 'token')$$,
              $$VALUES ('default', 'encrypt', 1, 'active', 'extension'),
                       ('deterministic', 'deterministic', 1, 'active', 'extension'),
                       ('pseudonym', 'pseudonymize', 1, 'active', 'extension'),
                       ('token', 'tokenize', 1, 'active', 'extension')$$,
              'CREATE EXTENSION made the four default keys');
SELECT is((SELECT count(*) FROM privacy.keys WHERE octet_length(wrapped) <> 61), 0::bigint,
          'every stored key is wrapped: format byte + 12-byte nonce + 32-byte key + 16-byte tag');
SELECT is((SELECT count(DISTINCT wrapped) FROM privacy.keys), (SELECT count(*) FROM privacy.keys),
          'no two wrapped keys are alike');
SELECT matches(privacy.master_key_id(), '^[0-9a-f]{16}$', 'master_key_id() is 16 hex digits');
SELECT is((SELECT count(*) FROM privacy.keys WHERE encode(master_key_id, 'hex') <> privacy.master_key_id()),
          0::bigint, 'every key is wrapped under the loaded master key');
SELECT hasnt_column('privacy', 'key_ring', 'wrapped', 'the key_ring view shows no key material');
SELECT has_column('privacy', 'key_ring', 'status', 'the key_ring view shows key status');

-- ---------------------------------------------------------------------------
-- create_key
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE ids (name text PRIMARY KEY, id int);
INSERT INTO ids VALUES ('keys_k', privacy.create_key('keys_k'));
SELECT ok((SELECT id FROM ids WHERE name = 'keys_k') > 0, 'create_key returns the new key id');
SELECT is((SELECT row(key_id, version, purpose, status, origin, created_by::text)::text
           FROM privacy.keys WHERE name = 'keys_k'),
          row((SELECT id FROM ids WHERE name = 'keys_k'), 1, 'encrypt', 'active', 'user', session_user::text)::text,
          'the new key: version 1, purpose encrypt by default, active, origin user, created by the session user');
SELECT is((SELECT octet_length(wrapped) FROM privacy.keys WHERE name = 'keys_k'), 61, 'the new key is stored wrapped');
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'create_key' AND object = 'keys_k'
             AND (details->>'key_id')::int = (SELECT id FROM ids WHERE name = 'keys_k')
             AND details->>'purpose' = 'encrypt'),
          1::bigint, 'create_key is audited with the key id and purpose');
SELECT is(privacy.key_id(privacy.encrypt('x', 'keys_k')), (SELECT id FROM ids WHERE name = 'keys_k'),
          'ciphertexts name the key id');
SELECT isnt(privacy.create_key('keys_k2'), (SELECT id FROM ids WHERE name = 'keys_k'), 'each key has its own id');
SELECT lives_ok($$SELECT privacy.create_key('keys_det', 'deterministic')$$, 'create a deterministic key');
SELECT lives_ok($$SELECT privacy.create_key('keys_ps', 'pseudonymize')$$, 'create a pseudonymize key');
SELECT lives_ok($$SELECT privacy.create_key('keys_tok', 'tokenize')$$, 'create a tokenize key');
SELECT lives_ok($$SELECT privacy.create_key(repeat('n', 63))$$, 'a 63-byte key name is accepted');
SELECT lives_ok($$SELECT privacy.create_key('keys ÿ 東京')$$, 'a key name may hold spaces and multibyte characters');
SELECT is(privacy.decrypt_text(privacy.encrypt('ok', 'keys ÿ 東京')), 'ok', 'and that key works');
SELECT throws_ok($$SELECT privacy.create_key('keys_k')$$, '42710', 'key "keys_k" already exists', 'duplicate name refused');
SELECT throws_ok($$SELECT privacy.create_key('default', 'deterministic')$$, '42710', 'key "default" already exists',
                 'a default key name cannot be reused, whatever the purpose');
SELECT throws_ok($$SELECT privacy.create_key('keys_bad', 'bogus')$$, '22023', 'invalid key purpose "bogus"',
                 'unknown purpose refused');
SELECT throws_ok($$SELECT privacy.create_key('keys_bad', 'ENCRYPT')$$, '22023', 'invalid key purpose "ENCRYPT"',
                 'purposes are lower case');
SELECT throws_ok($$SELECT privacy.create_key('')$$, '22023', 'key name must be between 1 and 63 bytes long',
                 'empty key name refused');
SELECT throws_ok($$SELECT privacy.create_key(repeat('n', 64))$$, '22023', 'key name must be between 1 and 63 bytes long',
                 '64-byte key name refused');
SELECT throws_ok($$SELECT privacy.create_key(E'keys\tbad')$$, '22023', 'key name must not contain control characters',
                 'control characters refused');
SELECT is(privacy.create_key(NULL), NULL, 'create_key(NULL) is NULL');
SELECT is((SELECT count(*) FROM privacy.keys WHERE name LIKE 'keys_bad%'), 0::bigint, 'refused keys were not created');

-- ---------------------------------------------------------------------------
-- rotate_key and reencrypt
-- ---------------------------------------------------------------------------
CREATE TABLE keys_msgs (id int PRIMARY KEY, body bytea, note text);
INSERT INTO keys_msgs SELECT g, privacy.encrypt('message ' || g, 'keys_k', 'keys.ctx'), 'n' || g
FROM generate_series(1, 10) g;
INSERT INTO keys_msgs VALUES (11, NULL, 'no body');
CREATE TEMP TABLE v1 AS SELECT privacy.encrypt('old secret', 'keys_k') AS c;

SELECT is((SELECT array_agg(DISTINCT privacy.key_version(body)) FROM keys_msgs WHERE body IS NOT NULL), ARRAY[1],
          'before rotation: every row is under version 1');
SELECT is(privacy.rotate_key('keys_k'), 2, 'rotate_key returns the new version');
SELECT set_eq($$SELECT version, status, retired_at IS NOT NULL FROM privacy.keys WHERE name = 'keys_k'$$,
              $$VALUES (1, 'retired', true), (2, 'active', false)$$,
              'version 1 is retired, version 2 active');
SELECT is((SELECT count(DISTINCT key_id) FROM privacy.keys WHERE name = 'keys_k'), 1::bigint, 'both versions keep the key id');
SELECT is(privacy.key_version(privacy.encrypt('x', 'keys_k')), 2, 'new ciphertexts use version 2');
SELECT is(privacy.key_id(privacy.encrypt('x', 'keys_k')), (SELECT id FROM ids WHERE name = 'keys_k'),
          'with the same key id');
SELECT is(privacy.decrypt_text(c), 'old secret', 'an old ciphertext still decrypts after rotate_key') FROM v1;
SELECT is((SELECT count(*) FROM keys_msgs WHERE privacy.decrypt_text(body, 'keys.ctx') <> 'message ' || id),
          0::bigint, 'old rows with a context still decrypt after rotate_key');
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'rotate_key' AND object = 'keys_k'
             AND (details->>'version')::int = 2),
          1::bigint, 'rotate_key is audited');

CREATE TEMP TABLE before_reencrypt AS SELECT id, body FROM keys_msgs;
SELECT throws_ok($$SELECT privacy.reencrypt('keys_msgs', 'body', batch => 2)$$, '22004',
                 'ciphertext is bound to a context, but no context was given',
                 'reencrypt without the context of the ciphertexts fails and changes nothing');
SELECT is(privacy.reencrypt('keys_msgs', 'body', batch => 2, context => 'keys.ctx'), 10::bigint,
          'reencrypt(batch => 2) returns the number of rows moved (NULLs are skipped)');
SELECT is((SELECT array_agg(DISTINCT privacy.key_version(body)) FROM keys_msgs WHERE body IS NOT NULL), ARRAY[2],
          'after reencrypt: every row is under version 2');
SELECT is((SELECT count(*) FROM keys_msgs m JOIN before_reencrypt b USING (id) WHERE m.body = b.body),
          0::bigint, 'every ciphertext changed');
SELECT is((SELECT count(*) FROM keys_msgs WHERE privacy.decrypt_text(body, 'keys.ctx') = 'message ' || id),
          10::bigint, 'and every value still decrypts to the same plaintext');
SELECT is((SELECT note FROM keys_msgs WHERE id = 11) || coalesce((SELECT body::text FROM keys_msgs WHERE id = 11), 'NULL'),
          'no bodyNULL', 'NULLs and other columns untouched');
SELECT is(privacy.reencrypt('keys_msgs', 'body', batch => 2, context => 'keys.ctx'), 0::bigint,
          'a second reencrypt has nothing to do');
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'reencrypt' AND object LIKE '%keys_msgs%body%'
             AND (details->>'rows')::int = 10 AND (details->>'batch')::int = 2),
          1::bigint, 'reencrypt is audited with its row count');
SELECT throws_ok($$SELECT privacy.reencrypt('keys_msgs', 'body', 0, 'keys.ctx')$$, '22023',
                 'batch size must be at least 1', 'batch size 0 refused');
SELECT throws_ok($$SELECT privacy.reencrypt('keys_msgs', 'no_such_col', 10, 'keys.ctx')$$, '42703', NULL,
                 'unknown column refused');

-- a third version; old versions keep decrypting
SELECT is(privacy.rotate_key('keys_k'), 3, 'a second rotation gives version 3');
SELECT is(privacy.decrypt_text(c), 'old secret', 'a version-1 ciphertext still decrypts after two rotations') FROM v1;
SELECT is((SELECT count(*) FROM privacy.keys WHERE name = 'keys_k' AND status = 'active'), 1::bigint,
          'exactly one active version');

-- deterministic keys: rotation changes ciphertexts; reencrypt restores equality
CREATE TABLE keys_det_tbl (id int PRIMARY KEY, email bytea);
INSERT INTO keys_det_tbl SELECT g, privacy.encrypt_deterministic('u' || (g % 3) || '@example.com', 'keys_det')
FROM generate_series(1, 9) g;
SELECT is(privacy.rotate_key('keys_det'), 2, 'rotate a deterministic key');
SELECT isnt(privacy.encrypt_deterministic('u1@example.com', 'keys_det'),
            (SELECT email FROM keys_det_tbl WHERE id = 1), 'the new version gives another ciphertext');
SELECT is(privacy.reencrypt('keys_det_tbl', 'email'), 9::bigint, 'reencrypt a deterministic column');
SELECT is((SELECT count(*) FROM keys_det_tbl
           WHERE email = privacy.encrypt_deterministic('u' || (id % 3) || '@example.com', 'keys_det')),
          9::bigint, 'after reencrypt, equality with fresh deterministic ciphertexts holds again');
SELECT is((SELECT count(DISTINCT email) FROM keys_det_tbl), 3::bigint, 'equal plaintexts still share a ciphertext');

-- other purposes
SELECT throws_ok($$SELECT privacy.rotate_key('keys_tok')$$, '0A000', 'cannot rotate tokenize key "keys_tok"',
                 'tokenize keys cannot be rotated');
CREATE TEMP TABLE bi_before AS SELECT privacy.blind_index('alice@example.com', 'keys_ps') AS bi;
SET LOCAL client_min_messages = error;  -- rotating a pseudonymize key warns
SELECT is(privacy.rotate_key('keys_ps'), 2, 'a pseudonymize key can be rotated (with a warning)');
RESET client_min_messages;
SELECT isnt(privacy.blind_index('alice@example.com', 'keys_ps'), bi, 'which changes its blind indexes') FROM bi_before;
SELECT throws_ok($$SELECT privacy.rotate_key('keys_nope')$$, '42704', 'key "keys_nope" does not exist',
                 'rotating an unknown key');
SELECT is(privacy.rotate_key(NULL), NULL, 'rotate_key(NULL) is NULL');

-- key changes rolled back with a subtransaction leave no trace in the key cache
CREATE FUNCTION pg_temp.rolled_back_key_changes() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    inside text;
    c bytea;
BEGIN
    BEGIN
        PERFORM privacy.create_key('keys_sub');
        PERFORM privacy.rotate_key('keys_k2');
        inside := privacy.key_version(privacy.encrypt('x', 'keys_k2'))::text || ' '
                  || privacy.decrypt_text(privacy.encrypt('x', 'keys_sub'));
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    PERFORM privacy.create_key('keys_sub');   -- same name, new id
    c := privacy.encrypt('after', 'keys_sub');
    RETURN inside || ' / ' || privacy.key_version(privacy.encrypt('y', 'keys_k2')) || ' '
           || privacy.decrypt_text(privacy.encrypt('y', 'keys_k2')) || ' ' || privacy.decrypt_text(c) || ' '
           || (privacy.key_id(c) = (SELECT key_id FROM privacy.keys WHERE name = 'keys_sub'))::text;
END
$$;
SELECT is(pg_temp.rolled_back_key_changes(), '2 x / 1 y after true',
          'create_key and rotate_key rolled back by a subtransaction: the cache forgets them');
SELECT is((SELECT max(version) FROM privacy.keys WHERE name = 'keys_k2'), 1, 'the rolled-back rotation left no version');

-- ---------------------------------------------------------------------------
-- destroy_key
-- ---------------------------------------------------------------------------
-- inside a subtransaction that is rolled back, the key comes back
CREATE FUNCTION pg_temp.destroy_and_undo(ct bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    during text;
BEGIN
    BEGIN
        PERFORM privacy.destroy_key('keys_k');
        BEGIN
            PERFORM privacy.decrypt(ct);
            during := 'still decrypts';
        EXCEPTION WHEN OTHERS THEN
            during := SQLSTATE;
        END;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    RETURN during || ' / ' || privacy.decrypt_text(ct);
END
$$;
SELECT is(pg_temp.destroy_and_undo(c), '55000 / old secret',
          'destroy_key in a rolled-back subtransaction: undecryptable inside, decryptable again after') FROM v1;

SELECT lives_ok($$SELECT privacy.destroy_key('keys_k')$$, 'destroy_key');
SELECT is((SELECT count(*) FROM privacy.keys WHERE name = 'keys_k'
             AND status = 'destroyed' AND wrapped IS NULL AND destroyed_at IS NOT NULL),
          3::bigint, 'every version is destroyed and its key material erased');
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', c), '55000', 'key "keys_k" has been destroyed',
                 'a version-1 ciphertext no longer decrypts') FROM v1;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea, %L)', (SELECT body FROM keys_msgs WHERE id = 1), 'keys.ctx'),
                 '55000', 'key "keys_k" has been destroyed', 'a version-2 ciphertext no longer decrypts');
SELECT throws_ok($$SELECT privacy.encrypt('x', 'keys_k')$$, '55000', 'key "keys_k" has been destroyed',
                 'nothing can be encrypted with it');
SELECT throws_ok($$SELECT privacy.rotate_key('keys_k')$$, '55000', 'key "keys_k" has been destroyed',
                 'a destroyed key cannot be rotated');
SELECT throws_ok($$SELECT privacy.create_key('keys_k')$$, '42710', 'key "keys_k" already exists',
                 'the name of a destroyed key is not reused');
SELECT is(privacy.reencrypt('keys_msgs', 'body', 5, 'keys.ctx'), 0::bigint,
          'reencrypt skips values under a destroyed key');
CREATE TEMP TABLE destroyed_before AS SELECT destroyed_at FROM privacy.keys WHERE name = 'keys_k' LIMIT 1;
SET LOCAL client_min_messages = warning;  -- the NOTICE of the second call
SELECT lives_ok($$SELECT privacy.destroy_key('keys_k')$$, 'a second destroy_key is not an error (a NOTICE)');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'destroy_key' AND object = 'keys_k'), 1::bigint,
          'destroy_key is audited once: the second call is a no-op');
SELECT is((SELECT destroyed_at FROM privacy.keys WHERE name = 'keys_k' LIMIT 1), (SELECT destroyed_at FROM destroyed_before),
          'the second call changed nothing');
SELECT throws_ok($$SELECT privacy.destroy_key('keys_nope')$$, '42704', 'key "keys_nope" does not exist',
                 'destroying an unknown key');

-- ---------------------------------------------------------------------------
-- Wrapping: a wrapped key is bound to its row and the master key
-- ---------------------------------------------------------------------------
SELECT lives_ok($$SELECT privacy.create_key('keys_t1'), privacy.create_key('keys_t2')$$, 'two keys to tamper with');
CREATE TEMP TABLE t_cts AS SELECT privacy.encrypt('t1', 'keys_t1') AS c1, privacy.encrypt('t2', 'keys_t2') AS c2;
UPDATE privacy.keys SET wrapped = set_byte(wrapped, 20, get_byte(wrapped, 20) # 1) WHERE name = 'keys_t1';
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', c1), '28000', 'could not unwrap key "keys_t1" version 1',
                 'an altered wrapped key is detected') FROM t_cts;
UPDATE privacy.keys SET wrapped = (SELECT wrapped FROM privacy.keys WHERE name = 'keys_t2') WHERE name = 'keys_t1';
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', c1), '28000', 'could not unwrap key "keys_t1" version 1',
                 'a wrapped key copied from another row does not unwrap (key id bound)') FROM t_cts;
SELECT is(privacy.decrypt_text(c2), 't2', 'the other key is unaffected') FROM t_cts;
UPDATE privacy.keys SET master_key_id = '\x0001020304050607' WHERE name = 'keys_t2';
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', c2), '28000',
                 'key "keys_t2" version 1 is wrapped under another master key',
                 'a key wrapped under another master key is refused') FROM t_cts;
SELECT throws_ok($$UPDATE privacy.keys SET wrapped = NULL WHERE name = 'default'$$, '23514', NULL,
                 'a live key cannot lose its material (check constraint)');
SELECT throws_ok($$SELECT privacy.rewrap_keys()$$, '55000', 'no new master key is configured',
                 'rewrap_keys needs privacy.new_master_key_command or _file');

-- ---------------------------------------------------------------------------
-- Audit log
-- ---------------------------------------------------------------------------
SELECT set_eq($$SELECT DISTINCT action FROM privacy.audit_log
                WHERE action IN ('create_key', 'rotate_key', 'reencrypt', 'destroy_key')
                  AND xact_id = pg_current_xact_id()$$,
              ARRAY['create_key', 'rotate_key', 'reencrypt', 'destroy_key'],
              'this transaction logged create_key, rotate_key, reencrypt and destroy_key');
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE xact_id = pg_current_xact_id()
             AND (session_role <> session_user OR acting_role <> current_user)), 0::bigint,
          'audit rows name the session and acting roles');
SELECT throws_ok($$UPDATE privacy.audit_log SET action = 'x'$$, '42501', 'privacy.audit_log is append-only',
                 'audit log rows cannot be updated');
SELECT throws_ok($$DELETE FROM privacy.audit_log$$, '42501', 'privacy.audit_log is append-only',
                 'audit log rows cannot be deleted');
SELECT throws_ok($$TRUNCATE privacy.audit_log$$, '42501', 'privacy.audit_log is append-only',
                 'the audit log cannot be truncated');

SELECT * FROM finish();
ROLLBACK;
