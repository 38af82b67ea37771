-- Encryption: round trips and every error message, exactly as users see them.
-- Keys are random per database: nothing key-dependent is printed (no
-- ciphertexts, no key ids), only lengths, booleans, plaintexts and errors.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- The SQLSTATE and message of a statement, or 'ok'.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END
$$;

SELECT privacy.create_key('regress_k') > 0 AS created;
SELECT privacy.create_key('regress_det', 'deterministic') > 0 AS created;

-- Round trips
SELECT label,
       privacy.decrypt_text(privacy.encrypt(v)) = v AS randomized,
       privacy.decrypt_text(privacy.encrypt(v, 'regress_k', 'regress.ctx'), 'regress.ctx') = v AS with_context,
       privacy.decrypt_text(privacy.encrypt_deterministic(v)) = v AS deterministic,
       privacy.decrypt_text(privacy.encrypt_deterministic(v, 'regress_det', 'regress.ctx'), 'regress.ctx') = v
           AS deterministic_with_context,
       octet_length(privacy.encrypt(v)) - octet_length(v) AS gcm_overhead,
       octet_length(privacy.encrypt_deterministic(v)) - octet_length(v) AS siv_overhead
FROM (VALUES ('ascii', 'hello'), ('empty', ''), ('multibyte', 'Zoë 東京 🙂'), ('1 MB', repeat('x', 1048576))) t(label, v)
ORDER BY octet_length(v);
SELECT privacy.decrypt(privacy.encrypt('\x00ff7fa7'::bytea)) AS bytea_round_trip,
       privacy.decrypt(privacy.encrypt_deterministic(''::bytea)) AS empty_bytea;
SELECT privacy.encrypt(NULL::text) IS NULL AS encrypt,
       privacy.encrypt_deterministic(NULL::bytea) IS NULL AS encrypt_deterministic,
       privacy.decrypt(NULL) IS NULL AS decrypt,
       privacy.decrypt_text(NULL, 'ctx') IS NULL AS decrypt_text,
       privacy.blind_index(NULL) IS NULL AS blind_index;

-- Format and determinism
SELECT get_byte(c, 0) AS magic, get_byte(c, 1) AS format, get_byte(c, 2) AS flags,
       privacy.key_version(c) AS version, privacy.is_ciphertext(c) AS is_ciphertext
FROM (VALUES (privacy.encrypt('hi')), (privacy.encrypt('hi', 'default', 'c')),
             (privacy.encrypt_deterministic('hi')), (privacy.encrypt_deterministic('hi', 'deterministic', 'c'))) t(c);
SELECT privacy.encrypt('hi') = privacy.encrypt('hi') AS randomized_equal,
       privacy.encrypt_deterministic('hi') = privacy.encrypt_deterministic('hi') AS deterministic_equal,
       privacy.encrypt_deterministic('hi', 'deterministic', 'a') = privacy.encrypt_deterministic('hi', 'deterministic', 'b')
           AS other_context_equal,
       privacy.encrypt_deterministic('hi', 'regress_det') = privacy.encrypt_deterministic('hi') AS other_key_equal;
SELECT octet_length(privacy.blind_index('alice@example.com')) AS default_bytes,
       octet_length(privacy.blind_index('alice@example.com', 'pseudonym', 128)) AS bytes_128,
       privacy.blind_index('alice@example.com') = privacy.blind_index('alice@example.com') AS stable;

-- Errors: each has its own message (and SQLSTATE, below)
SELECT privacy.decrypt(''::bytea);
SELECT privacy.decrypt('hello'::bytea);
SELECT privacy.decrypt('\xa7'::bytea);
SELECT privacy.decrypt(substring(privacy.encrypt('hi') FROM 1 FOR 30));
SELECT privacy.decrypt(substring(privacy.encrypt_deterministic('hi') FROM 1 FOR 31));
SELECT privacy.decrypt(set_byte(privacy.encrypt('hi'), 1, 9));
SELECT privacy.decrypt(overlay(privacy.encrypt('hi') PLACING int4send(2000000000) FROM 4 FOR 4));
SELECT privacy.decrypt(overlay(privacy.encrypt('hi') PLACING int4send(9) FROM 8 FOR 4));
SELECT privacy.decrypt(privacy.encrypt('hi', 'default', 'regress.a'));
SELECT privacy.decrypt(privacy.encrypt('hi'), 'regress.a');
SELECT privacy.decrypt(privacy.encrypt('hi', 'default', 'regress.a'), 'regress.b');
SELECT privacy.decrypt(privacy.encrypt('hi') || '\x00'::bytea);
SELECT privacy.decrypt(set_byte(privacy.encrypt_deterministic('hi'), 33, 0));
SELECT privacy.decrypt_text(privacy.encrypt('\xff'::bytea));
SELECT privacy.encrypt('hi', 'no_such_key');
SELECT privacy.encrypt('hi', 'deterministic');
SELECT privacy.encrypt_deterministic('hi', 'regress_k');
SELECT privacy.encrypt('hi', NULL);
SELECT privacy.blind_index('hi', 'pseudonym', 7);
SELECT privacy.blind_index('hi', 'pseudonym', 300);
SELECT privacy.create_key('regress_k');
SELECT privacy.create_key('regress_bad', 'bogus');
SELECT privacy.create_key('');

-- Rotation and destruction
CREATE TABLE regress_msgs (id int PRIMARY KEY, body bytea);
INSERT INTO regress_msgs SELECT g, privacy.encrypt('message ' || g, 'regress_k', 'regress.msgs') FROM generate_series(1, 10) g;
SELECT privacy.rotate_key('regress_k') AS new_version;
SELECT privacy.key_version(body) AS version, count(*) FROM regress_msgs GROUP BY 1;
SELECT privacy.reencrypt('regress_msgs', 'body', batch => 3, context => 'regress.msgs') AS moved;
SELECT privacy.key_version(body) AS version, count(*),
       bool_and(privacy.decrypt_text(body, 'regress.msgs') = 'message ' || id) AS all_decrypt
FROM regress_msgs GROUP BY 1;
SELECT name, purpose, version, status FROM privacy.key_ring WHERE name = 'regress_k' ORDER BY version;
SELECT privacy.rotate_key('token');
SELECT privacy.destroy_key('regress_k');
SELECT privacy.decrypt(body, 'regress.msgs') FROM regress_msgs WHERE id = 1;
SELECT privacy.encrypt('hi', 'regress_k');
SELECT privacy.rotate_key('regress_k');
SELECT privacy.destroy_key('regress_k');
SELECT name, version, status, destroyed_at IS NOT NULL AS destroyed FROM privacy.key_ring
WHERE name = 'regress_k' ORDER BY version;

-- SQLSTATEs
SELECT label, pg_temp.try(q) AS result
FROM (VALUES
    ('empty', $$SELECT privacy.decrypt(''::bytea)$$),
    ('not a ciphertext', $$SELECT privacy.decrypt('hello'::bytea)$$),
    ('truncated', $$SELECT privacy.decrypt('\xa701'::bytea)$$),
    ('unsupported format', $$SELECT privacy.decrypt(set_byte(privacy.encrypt('hi'), 1, 9))$$),
    ('unknown key id', $$SELECT privacy.decrypt(overlay(privacy.encrypt('hi') PLACING int4send(2000000000) FROM 4 FOR 4))$$),
    ('missing context', $$SELECT privacy.decrypt(privacy.encrypt('hi', 'default', 'a'))$$),
    ('unexpected context', $$SELECT privacy.decrypt(privacy.encrypt('hi'), 'a')$$),
    ('wrong context', $$SELECT privacy.decrypt(privacy.encrypt('hi', 'default', 'a'), 'b')$$),
    ('tampered', $$SELECT privacy.decrypt(privacy.encrypt('hi') || '\x00'::bytea)$$),
    ('destroyed key', $$SELECT privacy.decrypt(body, 'regress.msgs') FROM regress_msgs WHERE id = 1$$),
    ('unknown key name', $$SELECT privacy.encrypt('hi', 'no_such_key')$$),
    ('wrong purpose', $$SELECT privacy.encrypt('hi', 'deterministic')$$),
    ('not valid text', $$SELECT privacy.decrypt_text(privacy.encrypt('\xff'::bytea))$$)) t(label, q);

-- Transparent column encryption
CREATE TABLE regress_subscribers (id int PRIMARY KEY, phone varchar(20), email text UNIQUE, age int);
INSERT INTO regress_subscribers VALUES (1, '+1-650-555-0101', 'one@example.com', 31),
                                       (2, '+1-650-555-0102', 'two@example.com', 32);
SELECT privacy.protect_column('regress_subscribers', 'phone') AS phone,
       privacy.protect_column('regress_subscribers', 'email', deterministic => true) AS email;
INSERT INTO regress_subscribers VALUES (3, '+1-650-555-0103', 'three@example.com', 33);
UPDATE regress_subscribers SET age = age + 1 WHERE id = 1;
INSERT INTO regress_subscribers VALUES (2, '+1-650-555-0202', 'x@example.com', 0)
ON CONFLICT (id) DO UPDATE SET phone = EXCLUDED.phone;
SELECT id, phone LIKE '$pv1$%' AS phone_encrypted, email LIKE '$pv1$%' AS email_encrypted, age
FROM regress_subscribers ORDER BY id;
SELECT * FROM regress_subscribers_decrypted ORDER BY id;
INSERT INTO regress_subscribers VALUES (4, '+1-650-555-0104 ext 5', 'four@example.com', 34);
\set VERBOSITY terse
-- (terse: the DETAIL of a unique violation shows the stored ciphertext)
INSERT INTO regress_subscribers VALUES (4, '+1-650-555-0104', 'one@example.com', 34);
\set VERBOSITY default
INSERT INTO regress_subscribers (id, phone) SELECT 5, email FROM regress_subscribers WHERE id = 1;
ALTER TABLE regress_subscribers RENAME COLUMN phone TO tel;
SELECT privacy.protect_column('regress_subscribers', 'age');
SELECT privacy.protect_column('regress_subscribers', 'phone');
SELECT privacy.unprotect_column('regress_subscribers', 'phone') AS phone,
       privacy.unprotect_column('regress_subscribers', 'email') AS email;
SELECT * FROM regress_subscribers ORDER BY id;
\d regress_subscribers

DROP TABLE regress_subscribers, regress_msgs;
