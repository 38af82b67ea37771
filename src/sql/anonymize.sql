-- Static masking (src/anonymize.c): the masking rules applied in place, for
-- copies of a database made for development and tests.  Procedures: CALLed
-- outside a transaction block they commit each batch; inside one, they run
-- in that transaction.  Refused unless privacy.allow_static_masking is on
-- for the database (ALTER DATABASE ... SET).  Not executable by PUBLIC; the
-- caller must own every table it masks.

CREATE OR REPLACE PROCEDURE privacy.anonymize_table(tbl pg_catalog.regclass, batch pg_catalog.int4 DEFAULT 10000)
    AS 'MODULE_PATHNAME', 'privacy_anonymize_table' LANGUAGE C;
COMMENT ON PROCEDURE privacy.anonymize_table(pg_catalog.regclass, pg_catalog.int4) IS
  'Applies a table''s masking rules to every row in place, in committed batches, as the table owner; keys and unique indexes checked first; needs privacy.allow_static_masking = on for the database';
REVOKE ALL ON PROCEDURE privacy.anonymize_table(pg_catalog.regclass, pg_catalog.int4) FROM PUBLIC;

CREATE OR REPLACE PROCEDURE privacy.anonymize_database(batch pg_catalog.int4 DEFAULT 10000)
    AS 'MODULE_PATHNAME', 'privacy_anonymize_database' LANGUAGE C;
COMMENT ON PROCEDURE privacy.anonymize_database(pg_catalog.int4) IS
  'Applies the masking rules of every table in place (all checked before any row changes), in committed batches; needs privacy.allow_static_masking = on for the database';
REVOKE ALL ON PROCEDURE privacy.anonymize_database(pg_catalog.int4) FROM PUBLIC;
