-- Keyed pseudonyms and format-preserving tokenization (src/tokenize.c).
-- IMMUTABLE: the output is a function of the value and the key, so it can back
-- expression indexes and masked views.  Tokenize keys cannot be rotated
-- (tokens carry no key version); rotating or destroying a pseudonymize key
-- changes pseudonyms, and indexes built on them must then be rebuilt.

CREATE OR REPLACE FUNCTION privacy.pseudonymize(value pg_catalog.text,
                                     key_name pg_catalog.text DEFAULT 'pseudonym')
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_pseudonymize'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.pseudonymize(pg_catalog.text, pg_catalog.text) IS
  'Keyed pseudonym: ''ps_'' and 26 base32 characters (first 128 bits of HMAC-SHA-256 under the key''s pseudonym subkey); stable across tables and sessions';

CREATE OR REPLACE FUNCTION privacy.tokenize(value pg_catalog.text,
                                 key_name pg_catalog.text DEFAULT 'token')
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_tokenize'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.tokenize(pg_catalog.text, pg_catalog.text) IS
  'Format-preserving token: FF1 (NIST SP 800-38G, AES-256) over the ASCII digits, other characters kept; at least 6 digits';

-- STABLE PARALLEL SAFE like decrypt: detokenized values are counted and one
-- audit row per statement and key is written at the end of the statement
-- (parallel workers hand their counts to the leader; src/audit.c).
CREATE OR REPLACE FUNCTION privacy.detokenize(token pg_catalog.text,
                                   key_name pg_catalog.text DEFAULT 'token')
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_detokenize'
    LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.detokenize(pg_catalog.text, pg_catalog.text) IS
  'Original value of a token made by privacy.tokenize; audited once per statement; not executable by PUBLIC';
REVOKE ALL ON FUNCTION privacy.detokenize(pg_catalog.text, pg_catalog.text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy._ff1_test(key pg_catalog.bytea, tweak pg_catalog.bytea,
                                  radix pg_catalog.int4, input pg_catalog.text,
                                  decrypt pg_catalog.bool DEFAULT false)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_ff1_test'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy._ff1_test(pg_catalog.bytea, pg_catalog.bytea, pg_catalog.int4, pg_catalog.text, pg_catalog.bool) IS
  'Test only: FF1 under a raw AES key (16, 24 or 32 bytes), radix 2..36, numerals 0-9a-z; for the NIST SP 800-38G sample vectors';
REVOKE ALL ON FUNCTION privacy._ff1_test(pg_catalog.bytea, pg_catalog.bytea, pg_catalog.int4, pg_catalog.text, pg_catalog.bool) FROM PUBLIC;
