-- Masking and generalization (src/mask.c).  Key-free, NULL in NULL out.
-- Only ASCII 0-9 count as digits; text is handled by characters, not bytes.

CREATE OR REPLACE FUNCTION privacy.mask_email(email pg_catalog.text) RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_mask_email'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_email(pg_catalog.text) IS
  'E-mail with the local part reduced to its first character and "****" (split at the last "@"); the domain is kept';

CREATE OR REPLACE FUNCTION privacy.mask_phone(phone pg_catalog.text) RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_mask_phone'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_phone(pg_catalog.text) IS
  'Phone number with every digit replaced by X except the last 4 (at most half of the digits); other characters kept';

CREATE OR REPLACE FUNCTION privacy.mask_card(card pg_catalog.text) RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_mask_card'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_card(pg_catalog.text) IS
  'Card number masked with * (PCI DSS): at most the first 6 and last 4 digits shown, at least 6 hidden; spaces and dashes kept';

CREATE OR REPLACE FUNCTION privacy.partial(value pg_catalog.text, prefix pg_catalog.int4,
                                padding pg_catalog.text, suffix pg_catalog.int4)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_partial'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.partial(pg_catalog.text, pg_catalog.int4, pg_catalog.text, pg_catalog.int4) IS
  'First prefix characters, then padding, then last suffix characters; only the padding when prefix + suffix would show the whole value';

CREATE OR REPLACE FUNCTION privacy.truncate_ip(addr pg_catalog.inet, v4_bits pg_catalog.int4 DEFAULT 24,
                                    v6_bits pg_catalog.int4 DEFAULT 48)
    RETURNS pg_catalog.inet
    AS 'MODULE_PATHNAME', 'privacy_truncate_ip'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.truncate_ip(pg_catalog.inet, pg_catalog.int4, pg_catalog.int4) IS
  'Network prefix of an address: the first v4_bits (IPv4) or v6_bits (IPv6) bits kept, the rest zeroed, netmask set to that length';

CREATE OR REPLACE FUNCTION privacy.generalize(ts pg_catalog.timestamptz, unit pg_catalog.text)
    RETURNS pg_catalog.timestamptz
    AS 'MODULE_PATHNAME', 'privacy_generalize_timestamptz'
    LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.generalize(pg_catalog.timestamptz, pg_catalog.text) IS
  'Timestamp truncated to its day, month or year in the session time zone';

CREATE OR REPLACE FUNCTION privacy.generalize(d pg_catalog.date, unit pg_catalog.text)
    RETURNS pg_catalog.date
    AS 'MODULE_PATHNAME', 'privacy_generalize_date'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.generalize(pg_catalog.date, pg_catalog.text) IS
  'Date truncated to its day, month or year (first day of the month or year)';

CREATE OR REPLACE FUNCTION privacy.age_range(birth pg_catalog.date, width pg_catalog.int4 DEFAULT 10,
                                  "at" pg_catalog.date DEFAULT CURRENT_DATE)
    RETURNS pg_catalog.int4range
    AS 'MODULE_PATHNAME', 'privacy_age_range'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.age_range(pg_catalog.date, pg_catalog.int4, pg_catalog.date) IS
  'Age in whole years on date "at", generalized to a band of width years: age 34, width 10 gives [30,40)';

CREATE OR REPLACE FUNCTION privacy.noise(value pg_catalog.numeric, ratio pg_catalog.float8)
    RETURNS pg_catalog.numeric
    AS 'MODULE_PATHNAME', 'privacy_noise'
    LANGUAGE C STRICT VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.noise(pg_catalog.numeric, pg_catalog.float8) IS
  'Value times (1 + ratio * U), U uniform in [-1, 1) from a strong random source, rounded to the scale of value';

CREATE OR REPLACE FUNCTION privacy.redact(value anyelement) RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_redact'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.redact(anyelement) IS
  'The text [REDACTED] for any non-NULL value, NULL for NULL';

CREATE OR REPLACE FUNCTION privacy.k_anonymity(tbl pg_catalog.regclass, quasi_identifiers pg_catalog.text[])
    RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'privacy_k_anonymity'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy.k_anonymity(pg_catalog.regclass, pg_catalog.text[]) IS
  'Size of the smallest group of rows sharing the same values of the quasi-identifier columns (0 for an empty table); runs as the caller';
