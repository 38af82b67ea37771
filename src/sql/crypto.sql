-- Encryption.  NULL in, NULL out.  Decrypting functions are not executable by
-- PUBLIC: a DBA grants them.  encrypt, encrypt_deterministic and blind_index
-- are executable by everyone (applications need them for writes and lookups);
-- note that deterministic encryption and blind indexes answer "is this the
-- value?" for whoever can call them.
CREATE OR REPLACE FUNCTION privacy.encrypt(data bytea, key_name text DEFAULT 'default', context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt' LANGUAGE C VOLATILE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy.encrypt(data text, key_name text DEFAULT 'default', context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.encrypt(bytea, text, text) IS
  'AES-256-GCM with a random nonce under the active version of a key; context is bound as associated data';
COMMENT ON FUNCTION privacy.encrypt(text, text, text) IS
  'AES-256-GCM with a random nonce under the active version of a key; context is bound as associated data';

CREATE OR REPLACE FUNCTION privacy.encrypt_deterministic(data bytea, key_name text DEFAULT 'deterministic', context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt_deterministic' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy.encrypt_deterministic(data text, key_name text DEFAULT 'deterministic', context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt_deterministic' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.encrypt_deterministic(bytea, text, text) IS
  'AES-256-SIV: equal input and context give equal output (equality lookups, unique indexes); decrypt with privacy.decrypt';
COMMENT ON FUNCTION privacy.encrypt_deterministic(text, text, text) IS
  'AES-256-SIV: equal input and context give equal output (equality lookups, unique indexes); decrypt with privacy.decrypt';

CREATE OR REPLACE FUNCTION privacy.decrypt(ciphertext bytea, context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_decrypt' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.decrypt(bytea, text) IS
  'Decrypts a ciphertext of privacy.encrypt or privacy.encrypt_deterministic; errors on any mismatch, never returns wrong data';

CREATE OR REPLACE FUNCTION privacy.decrypt_text(ciphertext bytea, context text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_decrypt_text' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.decrypt_text(bytea, text) IS
  'Decrypts to text, checking the result is valid in the database encoding';

REVOKE ALL ON FUNCTION privacy.decrypt(bytea, text), privacy.decrypt_text(bytea, text) FROM PUBLIC;
-- PARALLEL SAFE: parallel workers hand their decryption counts to the leader
-- (src/audit.c), which writes the statement's one audit row.

-- IMMUTABLE so that it can back an expression index: rotating or destroying
-- the key changes or breaks its output, and such indexes must then be rebuilt.
CREATE OR REPLACE FUNCTION privacy.blind_index(data text, key_name text DEFAULT 'pseudonym', bits int DEFAULT 64)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_blind_index' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.blind_index(text, text, int) IS
  'HMAC-SHA-256 under a pseudonymize key, truncated to bits: an index key for searching randomized ciphertexts';

CREATE OR REPLACE FUNCTION privacy.key_id(ciphertext bytea) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_key_id_of' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy.key_id(ciphertext text) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_key_id_of' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy.key_version(ciphertext bytea) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_key_version_of' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy.key_version(ciphertext text) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_key_version_of' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy.is_ciphertext(value bytea) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_is_ciphertext_sql' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy.is_ciphertext(value text) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_is_ciphertext_sql' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.key_id(bytea) IS 'Key id in a ciphertext header (NULL if the value is not a ciphertext)';
COMMENT ON FUNCTION privacy.key_id(text) IS 'Key id in a stored "$pv1$" ciphertext (NULL if the value is not one)';
COMMENT ON FUNCTION privacy.key_version(bytea) IS 'Key version in a ciphertext header (NULL if the value is not a ciphertext)';
COMMENT ON FUNCTION privacy.key_version(text) IS 'Key version in a stored "$pv1$" ciphertext (NULL if the value is not one)';
COMMENT ON FUNCTION privacy.is_ciphertext(bytea) IS 'Whether a value has the privacy ciphertext format (header check only)';
COMMENT ON FUNCTION privacy.is_ciphertext(text) IS 'Whether a text value is a stored "$pv1$" ciphertext (header check only)';

CREATE OR REPLACE FUNCTION privacy._siv_selftest(iterations int DEFAULT 1000) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_siv_selftest' LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION privacy._siv_selftest(int) FROM PUBLIC;
COMMENT ON FUNCTION privacy._siv_selftest(int) IS
  'Test only: checks the AES-256-SIV implementation against OpenSSL for random inputs';
