-- Consistent fake values (src/fake.c), keyed by the "pseudonym" key: the same
-- input gives the same fake in every table and session, and nothing computes
-- or reverses a fake without the key.  IMMUTABLE for the reason pseudonymize
-- is: the output is a function of the value and the key (rotating or
-- destroying the pseudonym key changes every fake; rebuild indexes on them).
-- Usable in masking rules (executable by PUBLIC, no side effects).

CREATE OR REPLACE FUNCTION privacy.fake_first_name(value pg_catalog.text)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_fake_first_name'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.fake_first_name(pg_catalog.text) IS
  'Fake given name, the same for the same value (keyed by the pseudonym key)';

CREATE OR REPLACE FUNCTION privacy.fake_last_name(value pg_catalog.text)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_fake_last_name'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.fake_last_name(pg_catalog.text) IS
  'Fake family name, the same for the same value (keyed by the pseudonym key)';

CREATE OR REPLACE FUNCTION privacy.fake_name(value pg_catalog.text)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_fake_name'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.fake_name(pg_catalog.text) IS
  'Fake full name "Given M. Family", the same for the same value (keyed by the pseudonym key)';

CREATE OR REPLACE FUNCTION privacy.fake_email(value pg_catalog.text)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_fake_email'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.fake_email(pg_catalog.text) IS
  'Fake e-mail address given.family.tag at example.com, example.net or example.org (reserved domains); about 2^54 addresses, so distinct values get distinct addresses (keyed by the pseudonym key)';

CREATE OR REPLACE FUNCTION privacy.fake_email(value pg_catalog.text, domain pg_catalog.text)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_fake_email'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.fake_email(pg_catalog.text, pg_catalog.text) IS
  'Fake e-mail address given.family.tag at the given domain; distinct values get distinct addresses (keyed by the pseudonym key)';

CREATE OR REPLACE FUNCTION privacy.fake_phone(value pg_catalog.text)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_fake_phone'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.fake_phone(pg_catalog.text) IS
  'Fake phone number: same format, country prefix kept, other digits replaced (a keyed permutation from 6 digits on: distinct numbers stay distinct); irreversible';

CREATE OR REPLACE FUNCTION privacy.fake_city(value pg_catalog.text)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_fake_city'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.fake_city(pg_catalog.text) IS
  'Fake city name, the same for the same value (keyed by the pseudonym key)';

CREATE OR REPLACE FUNCTION privacy.fake_company(value pg_catalog.text)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_fake_company'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.fake_company(pg_catalog.text) IS
  'Fake company name "Word Kind Form", the same for the same value (keyed by the pseudonym key)';

CREATE OR REPLACE FUNCTION privacy.fake_iban(value pg_catalog.text)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_fake_iban'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.fake_iban(pg_catalog.text) IS
  'Fake IBAN with valid ISO 13616 check digits; an IBAN keeps its country, length and layout (keyed by the pseudonym key)';
