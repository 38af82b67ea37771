-- privacy.encrypt / encrypt_deterministic / decrypt / decrypt_text / blind_index:
-- round trips, NULL handling, ciphertext format, tampering, every error path.
BEGIN;
SELECT plan(142);

-- Helpers (pg_temp: gone at the end of the session, and rolled back anyway).
-- How many single-bit flips of ct fail to decrypt (every one of them must).
CREATE FUNCTION pg_temp.flip_failures(ct bytea, ctx text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int := 0;
    t bytea;
BEGIN
    FOR i IN 0 .. length(ct) * 8 - 1 LOOP
        t := set_bit(ct, i, 1 - get_bit(ct, i));
        BEGIN
            PERFORM privacy.decrypt(t, ctx);
        EXCEPTION WHEN OTHERS THEN
            n := n + 1;
        END;
    END LOOP;
    RETURN n;
END
$$;
-- How many proper prefixes of ct (lengths 0 .. len - 1) fail to decrypt.
CREATE FUNCTION pg_temp.truncation_failures(ct bytea, ctx text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int := 0;
BEGIN
    FOR l IN 0 .. length(ct) - 1 LOOP
        BEGIN
            PERFORM privacy.decrypt(substring(ct FROM 1 FOR l), ctx);
        EXCEPTION WHEN OTHERS THEN
            n := n + 1;
        END;
    END LOOP;
    RETURN n;
END
$$;
-- The SQLSTATE a statement raises (NULL if it succeeds).
CREATE FUNCTION pg_temp.sqlstate_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- ---------------------------------------------------------------------------
-- 1. Round trips
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE samples (label text, t text, b bytea);
INSERT INTO samples VALUES
    ('ascii',      'hello world', NULL),
    ('empty',      '',            NULL),
    ('multibyte',  'Zoë 東京 🙂',  NULL),
    ('1 MB',       repeat('Zoë 東京 🙂 0123456789 ', 40000), NULL);
UPDATE samples SET b = convert_to(t, 'UTF8');
INSERT INTO samples VALUES
    ('all bytes',  NULL, (SELECT decode(string_agg(lpad(to_hex(g), 2, '0'), '' ORDER BY g), 'hex')
                          FROM generate_series(0, 255) g)),
    ('1 MB bytes', NULL, (SELECT decode(repeat('00ff7fa7', 262144), 'hex')));

SELECT cmp_ok(octet_length(t), '>=', 1048576, 'the large text sample is at least 1 MB')
FROM samples WHERE label = '1 MB';
SELECT is(octet_length(b), 1048576, 'the large bytea sample is 1 MB')
FROM samples WHERE label = '1 MB bytes';

SELECT is((SELECT count(*) FROM samples
           WHERE t IS NOT NULL AND privacy.decrypt_text(privacy.encrypt(t)) IS DISTINCT FROM t),
          0::bigint, 'encrypt(text) -> decrypt_text round trips (ascii, empty, multibyte, 1 MB)');
SELECT is((SELECT count(*) FROM samples
           WHERE privacy.decrypt(privacy.encrypt(b)) IS DISTINCT FROM b),
          0::bigint, 'encrypt(bytea) -> decrypt round trips (all byte values, empty, 1 MB)');
SELECT is((SELECT count(*) FROM samples
           WHERE t IS NOT NULL
             AND privacy.decrypt_text(privacy.encrypt(t, 'default', 'crypto.ctx'), 'crypto.ctx') IS DISTINCT FROM t),
          0::bigint, 'encrypt(text) with a context round trips');
SELECT is((SELECT count(*) FROM samples
           WHERE privacy.decrypt(privacy.encrypt(b, 'default', 'crypto.ctx'), 'crypto.ctx') IS DISTINCT FROM b),
          0::bigint, 'encrypt(bytea) with a context round trips');
SELECT is((SELECT count(*) FROM samples
           WHERE t IS NOT NULL AND privacy.decrypt_text(privacy.encrypt_deterministic(t)) IS DISTINCT FROM t),
          0::bigint, 'encrypt_deterministic(text) -> decrypt_text round trips (ascii, empty, multibyte, 1 MB)');
SELECT is((SELECT count(*) FROM samples
           WHERE privacy.decrypt(privacy.encrypt_deterministic(b)) IS DISTINCT FROM b),
          0::bigint, 'encrypt_deterministic(bytea) -> decrypt round trips (all byte values, empty, 1 MB)');
SELECT is((SELECT count(*) FROM samples
           WHERE t IS NOT NULL
             AND privacy.decrypt_text(privacy.encrypt_deterministic(t, 'deterministic', 'crypto.ctx'), 'crypto.ctx')
                 IS DISTINCT FROM t),
          0::bigint, 'encrypt_deterministic(text) with a context round trips');
SELECT is((SELECT count(*) FROM samples
           WHERE privacy.decrypt(privacy.encrypt_deterministic(b, 'deterministic', 'crypto.ctx'), 'crypto.ctx')
                 IS DISTINCT FROM b),
          0::bigint, 'encrypt_deterministic(bytea) with a context round trips');
SELECT is((SELECT count(*) FROM samples
           WHERE t IS NOT NULL AND privacy.decrypt(privacy.encrypt(t)) IS DISTINCT FROM convert_to(t, 'UTF8')),
          0::bigint, 'decrypt of a text ciphertext gives its UTF-8 bytes');

-- explicit spot checks, readable in the TAP output
SELECT is(privacy.decrypt_text(privacy.encrypt('Zoë 東京 🙂')), 'Zoë 東京 🙂', 'multibyte UTF-8 text round trips');
SELECT is(privacy.decrypt_text(privacy.encrypt('')), '', 'empty string round trips (randomized)');
SELECT is(privacy.decrypt_text(privacy.encrypt_deterministic('')), '', 'empty string round trips (deterministic)');
SELECT is(privacy.decrypt(privacy.encrypt(''::bytea)), ''::bytea, 'empty bytea round trips (randomized)');
SELECT is(privacy.decrypt(privacy.encrypt_deterministic(''::bytea)), ''::bytea, 'empty bytea round trips (deterministic)');
SELECT is(privacy.decrypt_text(privacy.encrypt('x', 'default', ''), ''), 'x', 'an empty-string context is a context and round trips');
SELECT is(privacy.decrypt_text(privacy.encrypt_deterministic('x', 'deterministic', ''), ''), 'x',
          'an empty-string context round trips (deterministic)');
SELECT is(privacy.decrypt_text(privacy.encrypt('x', 'default', repeat('c', 1000)), repeat('c', 1000)), 'x',
          'a 1000-byte context round trips');
SELECT is(privacy.decrypt_text(privacy.encrypt('x', context => 'Zoë 東京'), 'Zoë 東京'), 'x',
          'a multibyte context round trips');
SELECT is(privacy.decrypt_text(privacy.encrypt('x', 'default', NULL), NULL), 'x',
          'a NULL context means no context');
SELECT is(privacy.decrypt_text(privacy.encrypt('x', key_name => 'default')), 'x', 'named key_name argument');
-- contexts of more than 256 bytes, then short ones again (the context hash memo must not mix them)
SELECT is(privacy.decrypt_text(privacy.encrypt('y', 'default', repeat('a', 300)), repeat('a', 300)) ||
          privacy.decrypt_text(privacy.encrypt('z', 'default', 'aaa'), 'aaa') ||
          privacy.decrypt_text(privacy.encrypt('w', 'default', repeat('a', 256)), repeat('a', 256)),
          'yzw', 'alternating long and short contexts decrypt');
SELECT is((SELECT count(*) FROM generate_series(1, 200) g
           WHERE privacy.decrypt_text(privacy.encrypt('v' || g, 'default', 'ctx' || (g % 7)), 'ctx' || (g % 7))
                 <> 'v' || g),
          0::bigint, '200 values under 7 alternating contexts round trip');

-- NULL in, NULL out, for every function
SELECT is(privacy.encrypt(NULL::text), NULL, 'encrypt(NULL::text) is NULL');
SELECT is(privacy.encrypt(NULL::bytea), NULL, 'encrypt(NULL::bytea) is NULL');
SELECT is(privacy.encrypt(NULL::text, 'default', 'ctx'), NULL, 'encrypt(NULL, key, context) is NULL');
SELECT is(privacy.encrypt_deterministic(NULL::text), NULL, 'encrypt_deterministic(NULL::text) is NULL');
SELECT is(privacy.encrypt_deterministic(NULL::bytea), NULL, 'encrypt_deterministic(NULL::bytea) is NULL');
SELECT is(privacy.encrypt_deterministic(NULL::text, 'deterministic', 'ctx'), NULL,
          'encrypt_deterministic(NULL, key, context) is NULL');
SELECT is(privacy.decrypt(NULL), NULL, 'decrypt(NULL) is NULL');
SELECT is(privacy.decrypt(NULL, 'ctx'), NULL, 'decrypt(NULL, context) is NULL');
SELECT is(privacy.decrypt_text(NULL), NULL, 'decrypt_text(NULL) is NULL');
SELECT is(privacy.decrypt_text(NULL, 'ctx'), NULL, 'decrypt_text(NULL, context) is NULL');
SELECT is(privacy.blind_index(NULL), NULL, 'blind_index(NULL) is NULL');
SELECT is(privacy.blind_index(NULL, 'pseudonym', 128), NULL, 'blind_index(NULL, key, bits) is NULL');
SELECT is(privacy.key_id(NULL::bytea), NULL, 'key_id(NULL) is NULL');
SELECT is(privacy.is_ciphertext(NULL::bytea), NULL, 'is_ciphertext(NULL) is NULL');
SELECT throws_ok($$SELECT privacy.encrypt('x', NULL)$$, '22004', 'key name must not be null',
                 'encrypt with a NULL key name is an error, not silently unencrypted');
SELECT throws_ok($$SELECT privacy.encrypt_deterministic('x', NULL)$$, '22004', 'key name must not be null',
                 'encrypt_deterministic with a NULL key name is an error');

-- ---------------------------------------------------------------------------
-- Ciphertext format (src/crypto.h)
-- ---------------------------------------------------------------------------
SELECT is(octet_length(privacy.encrypt('hi')), 45, 'GCM ciphertext: 15-byte header + 12-byte nonce + 2 + 16-byte tag');
SELECT is(octet_length(privacy.encrypt('')), 43, 'GCM ciphertext of the empty string: 43 bytes');
SELECT is(octet_length(privacy.encrypt_deterministic('hi')), 34, 'SIV ciphertext: 15-byte header + 16-byte IV + 1 frame byte + 2');
SELECT is(octet_length(privacy.encrypt_deterministic('')), 32, 'SIV ciphertext of the empty string: 32 bytes');
SELECT is(get_byte(privacy.encrypt('hi'), 0), 167, 'magic byte 0xA7');
SELECT is(get_byte(privacy.encrypt('hi'), 1), 1, 'format 1 = AES-256-GCM');
SELECT is(get_byte(privacy.encrypt_deterministic('hi'), 1), 2, 'format 2 = AES-256-SIV');
SELECT is(get_byte(privacy.encrypt('hi'), 2), 0, 'flags 0 without a context');
SELECT is(get_byte(privacy.encrypt('hi', 'default', 'c'), 2), 1, 'flag bit 0 set with a context');
SELECT is(privacy.key_id(privacy.encrypt('hi')),
          (SELECT key_id FROM privacy.keys WHERE name = 'default' AND status = 'active'),
          'key_id() reads the id of the default key');
SELECT is(privacy.key_id(privacy.encrypt_deterministic('hi')),
          (SELECT key_id FROM privacy.keys WHERE name = 'deterministic' AND status = 'active'),
          'encrypt_deterministic uses the deterministic key by default');
SELECT is(privacy.key_version(privacy.encrypt('hi')), 1, 'key_version() is 1 for a new key');
SELECT ok(privacy.is_ciphertext(privacy.encrypt('hi')), 'is_ciphertext: GCM ciphertext');
SELECT ok(privacy.is_ciphertext(privacy.encrypt_deterministic('hi')), 'is_ciphertext: SIV ciphertext');
SELECT ok(NOT privacy.is_ciphertext('hi'::bytea), 'is_ciphertext: plain bytes are not');
SELECT ok(NOT privacy.is_ciphertext(substring(privacy.encrypt('hi') FROM 1 FOR 20)), 'is_ciphertext: a truncated one is not');
SELECT is(privacy.key_id('\x00112233'::bytea), NULL, 'key_id of a non-ciphertext is NULL');
SELECT is(privacy.key_version('hello'::text), NULL, 'key_version of a non-ciphertext text is NULL');
SELECT is(privacy.key_version('$pv1$' || encode(privacy.encrypt('x'), 'base64')), 1,
          'key_version reads the stored "$pv1$" text form');
SELECT isnt(privacy.encrypt('hi'), privacy.encrypt('hi'), 'randomized: the same value encrypts differently each time');
SELECT is(count(DISTINCT substring(c FROM 16 FOR 12)), 1000::bigint, '1000 encryptions use 1000 distinct nonces')
FROM (SELECT privacy.encrypt('same') AS c FROM generate_series(1, 1000)) s;
SELECT is(strpos(privacy.encrypt('plaintext-marker-123')::text, encode('plaintext-marker-123', 'hex')), 0,
          'the ciphertext does not contain the plaintext');

-- ---------------------------------------------------------------------------
-- 2. Tampering: every single bit flip and every truncation fails
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE cts AS
SELECT privacy.encrypt('hi') AS gcm,
       privacy.encrypt('hi', 'default', 'crypto.tamper') AS gcm_ctx,
       privacy.encrypt_deterministic('hi') AS siv,
       privacy.encrypt_deterministic('hi', 'deterministic', 'crypto.tamper') AS siv_ctx;
SELECT is(pg_temp.flip_failures(gcm, NULL), 45 * 8, 'GCM: each of the 360 single-bit flips fails to decrypt') FROM cts;
SELECT is(pg_temp.flip_failures(gcm_ctx, 'crypto.tamper'), 45 * 8,
          'GCM with a context: each of the 360 single-bit flips fails to decrypt') FROM cts;
SELECT is(pg_temp.flip_failures(siv, NULL), 34 * 8, 'SIV: each of the 272 single-bit flips fails to decrypt') FROM cts;
SELECT is(pg_temp.flip_failures(siv_ctx, 'crypto.tamper'), 34 * 8,
          'SIV with a context: each of the 272 single-bit flips fails to decrypt') FROM cts;
SELECT is(pg_temp.truncation_failures(gcm, NULL), 45, 'GCM: every truncation fails to decrypt') FROM cts;
SELECT is(pg_temp.truncation_failures(siv, NULL), 34, 'SIV: every truncation fails to decrypt') FROM cts;
SELECT is(privacy.decrypt_text(gcm) || privacy.decrypt_text(siv) ||
          privacy.decrypt_text(gcm_ctx, 'crypto.tamper') || privacy.decrypt_text(siv_ctx, 'crypto.tamper'),
          'hihihihi', 'the untampered ciphertexts still decrypt') FROM cts;
SELECT is(pg_temp.sqlstate_of(format('SELECT privacy.decrypt(%L::bytea)', gcm || '\x00'::bytea)), 'XX001',
          'GCM: an appended byte fails authentication') FROM cts;
SELECT is(pg_temp.sqlstate_of(format('SELECT privacy.decrypt(%L::bytea)', siv || '\x00'::bytea)), 'XX001',
          'SIV: an appended byte fails authentication') FROM cts;

-- Each kind of wrong input has its own message and SQLSTATE.
SELECT throws_ok($$SELECT privacy.decrypt(''::bytea)$$, '22023', 'ciphertext is empty', 'empty input');
SELECT throws_ok($$SELECT privacy.decrypt_text(''::bytea)$$, '22023', 'ciphertext is empty', 'empty input (decrypt_text)');
SELECT throws_ok($$SELECT privacy.decrypt('hello world, not encrypted'::bytea)$$, '22P03',
                 'value is not a privacy ciphertext', 'not a ciphertext');
SELECT throws_ok($$SELECT privacy.decrypt('\xa7'::bytea)$$, '22026', 'ciphertext is truncated',
                 'truncated inside the header');
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', substring(gcm FROM 1 FOR 42)), '22026',
                 'ciphertext is truncated', 'GCM ciphertext shorter than header + nonce + tag') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', substring(siv FROM 1 FOR 31)), '22026',
                 'ciphertext is truncated', 'SIV ciphertext shorter than header + IV + frame') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', substring(gcm FROM 1 FOR 44)), 'XX001',
                 'ciphertext failed authentication', 'GCM ciphertext cut inside its body') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', set_byte(gcm, 44, get_byte(gcm, 44) # 1)), 'XX001',
                 'ciphertext failed authentication', 'GCM tag altered') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', set_byte(siv, 33, get_byte(siv, 33) # 128)), 'XX001',
                 'ciphertext failed authentication', 'SIV body altered') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', set_byte(gcm, 1, 9)), '0A000',
                 'unsupported ciphertext format 9 (flags 0x00)', 'unknown format byte') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', set_byte(gcm, 2, 4)), '0A000',
                 'unsupported ciphertext format 1 (flags 0x04)', 'unknown flag bits') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', overlay(gcm PLACING int4send(2000000000) FROM 4 FOR 4)),
                 '42704', 'key with id 2000000000 does not exist', 'unknown key id') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', overlay(gcm PLACING int4send(7) FROM 8 FOR 4)),
                 '42704', 'key "default" has no version 7', 'unknown key version') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)',
                        overlay(gcm PLACING int4send((SELECT key_id FROM privacy.keys WHERE name = 'deterministic'))
                                FROM 4 FOR 4)),
                 'XX001', 'ciphertext failed authentication', 'GCM header naming a deterministic key') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)',
                        overlay(siv PLACING int4send((SELECT key_id FROM privacy.keys WHERE name = 'default'))
                                FROM 4 FOR 4)),
                 'XX001', 'ciphertext failed authentication', 'SIV header naming an encrypt key') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea, %L)', gcm_ctx, 'crypto.other'), '22023',
                 'context does not match the ciphertext', 'wrong context (GCM)') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea, %L)', siv_ctx, 'crypto.other'), '22023',
                 'context does not match the ciphertext', 'wrong context (SIV)') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt_text(%L::bytea, %L)', gcm_ctx, 'CRYPTO.TAMPER'), '22023',
                 'context does not match the ciphertext', 'contexts are case-sensitive') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', gcm_ctx), '22004',
                 'ciphertext is bound to a context, but no context was given', 'missing context (GCM)') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', siv_ctx), '22004',
                 'ciphertext is bound to a context, but no context was given', 'missing context (SIV)') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea, %L)', privacy.encrypt('x', 'default', ''), NULL), '22004',
                 'ciphertext is bound to a context, but no context was given', 'an empty context is not no context');
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea, %L)', gcm, 'crypto.tamper'), '22023',
                 'ciphertext is not bound to a context, but a context was given', 'unexpected context (GCM)') FROM cts;
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea, %L)', siv, ''), '22023',
                 'ciphertext is not bound to a context, but a context was given', 'unexpected context (SIV)') FROM cts;
-- same 4-byte context check, other context: the AEAD itself must refuse it
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea, %L)',
                        overlay(privacy.encrypt('x', 'default', 'ctx-A')
                                PLACING substring(sha256('ctx-B') FROM 1 FOR 4) FROM 12 FOR 4), 'ctx-B'),
                 'XX001', 'ciphertext failed authentication',
                 'a header forged to carry the check of another context fails authentication');
SELECT throws_ok($$SELECT privacy.decrypt_text(privacy.encrypt('\xff00fe'::bytea))$$, '22021',
                 'decrypted value is not valid text in encoding "UTF8"', 'decrypt_text of binary data');
SELECT throws_ok($$SELECT privacy.encrypt('x', 'no_such_key')$$, '42704', 'key "no_such_key" does not exist',
                 'encrypt with an unknown key');
SELECT throws_ok($$SELECT privacy.encrypt('x', '')$$, '42704', 'key "" does not exist', 'encrypt with an empty key name');
SELECT throws_ok($$SELECT privacy.encrypt('x', 'deterministic')$$, '42809',
                 'key "deterministic" has purpose "deterministic", not "encrypt"', 'encrypt with a deterministic key');
SELECT throws_ok($$SELECT privacy.encrypt_deterministic('x', 'default')$$, '42809',
                 'key "default" has purpose "encrypt", not "deterministic"', 'encrypt_deterministic with an encrypt key');
SELECT throws_ok($$SELECT privacy.encrypt('x', 'pseudonym')$$, '42809',
                 'key "pseudonym" has purpose "pseudonymize", not "encrypt"', 'encrypt with a pseudonymize key');
SELECT throws_ok($$SELECT privacy.encrypt('x', 'token')$$, '42809',
                 'key "token" has purpose "tokenize", not "encrypt"', 'encrypt with a tokenize key');

-- destroyed key
SELECT lives_ok($$SELECT privacy.create_key('crypto_doomed')$$, 'create a key to destroy');
CREATE TEMP TABLE doomed AS
SELECT privacy.encrypt('bye', 'crypto_doomed') AS c, privacy.encrypt('bye', 'crypto_doomed', 'ctx') AS c_ctx;
SELECT lives_ok($$SELECT privacy.destroy_key('crypto_doomed')$$, 'destroy it');
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', c), '55000', 'key "crypto_doomed" has been destroyed',
                 'decrypting under a destroyed key') FROM doomed;
SELECT throws_ok(format('SELECT privacy.decrypt_text(%L::bytea, %L)', c_ctx, 'ctx'), '55000',
                 'key "crypto_doomed" has been destroyed', 'decrypt_text under a destroyed key, with its context') FROM doomed;
SELECT throws_ok($$SELECT privacy.encrypt('x', 'crypto_doomed')$$, '55000', 'key "crypto_doomed" has been destroyed',
                 'encrypting with a destroyed key');

-- all distinct
SELECT is((SELECT count(DISTINCT s) FROM unnest(ARRAY[
              pg_temp.sqlstate_of($$SELECT privacy.decrypt(''::bytea)$$),
              pg_temp.sqlstate_of($$SELECT privacy.decrypt('abc'::bytea)$$),
              pg_temp.sqlstate_of($$SELECT privacy.decrypt('\xa70100'::bytea)$$),
              pg_temp.sqlstate_of(format('SELECT privacy.decrypt(%L::bytea)', (SELECT gcm_ctx FROM cts))),
              pg_temp.sqlstate_of(format('SELECT privacy.decrypt(%L::bytea)',
                                         (SELECT set_byte(gcm, 30, get_byte(gcm, 30) # 1) FROM cts))),
              pg_temp.sqlstate_of(format('SELECT privacy.decrypt(%L::bytea)',
                                         (SELECT overlay(gcm PLACING int4send(2000000000) FROM 4 FOR 4) FROM cts))),
              pg_temp.sqlstate_of(format('SELECT privacy.decrypt(%L::bytea)', (SELECT c FROM doomed))),
              pg_temp.sqlstate_of($$SELECT privacy.encrypt('x', 'deterministic')$$)]) s),
          8::bigint, 'empty, not-a-ciphertext, truncated, missing context, tampered, unknown key, destroyed key, wrong purpose: 8 distinct SQLSTATEs');

-- ---------------------------------------------------------------------------
-- 3. Deterministic encryption
-- ---------------------------------------------------------------------------
SELECT is(privacy.encrypt_deterministic('alice@example.com'), privacy.encrypt_deterministic('alice@example.com'),
          'equal input, equal output');
SELECT is(privacy.encrypt_deterministic('alice@example.com', 'deterministic', 'crypto.email'),
          privacy.encrypt_deterministic('alice@example.com', 'deterministic', 'crypto.email'),
          'equal input and context, equal output');
SELECT is(privacy.encrypt_deterministic(repeat('x', 1048576)), privacy.encrypt_deterministic(repeat('x', 1048576)),
          'equal 1 MB inputs, equal output');
SELECT is(privacy.encrypt_deterministic('abc'::text), privacy.encrypt_deterministic('abc'::bytea),
          'text and bytea with the same bytes encrypt alike');
SELECT isnt(privacy.encrypt_deterministic('alice@example.com'), privacy.encrypt_deterministic('bob@example.com'),
            'different input, different output');
SELECT isnt(privacy.encrypt_deterministic('alice@example.com'), privacy.encrypt_deterministic('alice@example.com '),
            'a trailing space makes a different output');
SELECT isnt(privacy.encrypt_deterministic('alice@example.com', 'deterministic', 'crypto.a'),
            privacy.encrypt_deterministic('alice@example.com', 'deterministic', 'crypto.b'),
            'different context, different output');
SELECT isnt(privacy.encrypt_deterministic('alice@example.com'),
            privacy.encrypt_deterministic('alice@example.com', 'deterministic', ''),
            'no context and the empty context differ');
SELECT isnt(substring(privacy.encrypt_deterministic('alice@example.com', 'deterministic', 'crypto.a') FROM 16),
            substring(privacy.encrypt_deterministic('alice@example.com', 'deterministic', 'crypto.b') FROM 16),
            'different context: the IV and body differ too, not just the header');
SELECT isnt(privacy.encrypt_deterministic(''), privacy.encrypt_deterministic(''::text, 'deterministic', ''),
            'empty value: no context and empty context differ');
SELECT lives_ok($$SELECT privacy.create_key('det2', 'deterministic')$$, 'create a second deterministic key');
SELECT isnt(privacy.encrypt_deterministic('alice@example.com', 'det2'), privacy.encrypt_deterministic('alice@example.com'),
            'another key gives another ciphertext');
SELECT isnt(substring(privacy.encrypt_deterministic('alice@example.com', 'det2') FROM 16),
            substring(privacy.encrypt_deterministic('alice@example.com') FROM 16),
            'another key: the IV and body differ too');
SELECT is(privacy.decrypt_text(privacy.encrypt_deterministic('alice@example.com', 'det2')), 'alice@example.com',
          'decrypt finds the key from the ciphertext');
SELECT is(count(DISTINCT privacy.encrypt_deterministic('v' || g)), 1000::bigint,
          '1000 distinct values, 1000 distinct ciphertexts')
FROM generate_series(1, 1000) g;

CREATE TEMP TABLE det_people (id int PRIMARY KEY, email bytea UNIQUE);
INSERT INTO det_people VALUES (1, privacy.encrypt_deterministic('alice@example.com', 'deterministic', 'det_people.email')),
                              (2, privacy.encrypt_deterministic('bob@example.com', 'deterministic', 'det_people.email'));
SELECT throws_ok($$INSERT INTO det_people VALUES (3, privacy.encrypt_deterministic('alice@example.com', 'deterministic', 'det_people.email'))$$,
                 '23505', NULL, 'a UNIQUE index on a deterministic column rejects a duplicate plaintext');
SELECT lives_ok($$INSERT INTO det_people VALUES (3, privacy.encrypt_deterministic('carol@example.com', 'deterministic', 'det_people.email'))$$,
                'a new plaintext is accepted');
SELECT is((SELECT id FROM det_people
           WHERE email = privacy.encrypt_deterministic('bob@example.com', 'deterministic', 'det_people.email')),
          2, 'equality lookup by ciphertext finds the row');

-- ---------------------------------------------------------------------------
-- blind_index
-- ---------------------------------------------------------------------------
SELECT is(octet_length(privacy.blind_index('alice@example.com')), 8, 'blind_index: 64 bits by default = 8 bytes');
SELECT is(octet_length(privacy.blind_index('alice@example.com', 'pseudonym', 128)), 16, 'bits => 128: 16 bytes');
SELECT is(octet_length(privacy.blind_index('alice@example.com', bits => 256)), 32, 'bits => 256: 32 bytes');
SELECT is(octet_length(privacy.blind_index('alice@example.com', bits => 8)), 1, 'bits => 8: 1 byte');
SELECT is(privacy.blind_index('alice@example.com'), privacy.blind_index('alice@example.com'), 'same input, same output');
SELECT is(privacy.blind_index('alice@example.com'), substring(privacy.blind_index('alice@example.com', bits => 256) FROM 1 FOR 8),
          'a shorter index is a prefix of the full HMAC');
SELECT isnt(privacy.blind_index('alice@example.com'), privacy.blind_index('Alice@example.com'), 'different input, different output');
SELECT lives_ok($$SELECT privacy.create_key('crypto_bi2', 'pseudonymize')$$, 'create a second pseudonymize key');
SELECT isnt(privacy.blind_index('alice@example.com', 'crypto_bi2'), privacy.blind_index('alice@example.com'),
            'different key, different output');
SELECT isnt(privacy.blind_index('alice@example.com'), hmac('alice@example.com', '', 'sha256')::bytea,
            'not an unkeyed HMAC');
SELECT is(count(DISTINCT privacy.blind_index('user' || g || '@example.com')), 1000::bigint,
          '1000 values, 1000 distinct 64-bit blind indexes')
FROM generate_series(1, 1000) g;
SELECT throws_ok($$SELECT privacy.blind_index('x', 'pseudonym', 7)$$, '22023',
                 'blind index size must be a multiple of 8 between 8 and 256 bits, not 7', 'bits => 7 refused');
SELECT throws_ok($$SELECT privacy.blind_index('x', 'pseudonym', 300)$$, '22023',
                 'blind index size must be a multiple of 8 between 8 and 256 bits, not 300', 'bits => 300 refused');
SELECT throws_ok($$SELECT privacy.blind_index('x', 'pseudonym', 0)$$, '22023', NULL, 'bits => 0 refused');
SELECT throws_ok($$SELECT privacy.blind_index('x', 'default')$$, '42809',
                 'key "default" has purpose "encrypt", not "pseudonymize"', 'blind_index with an encrypt key');

-- ---------------------------------------------------------------------------
-- AES-SIV implementation against OpenSSL's
-- ---------------------------------------------------------------------------
SELECT is(privacy._siv_selftest(2000), 2000, 'AES-256-SIV matches OpenSSL on 2000 random cases');

SELECT * FROM finish();
ROLLBACK;
