-- Audit log: append-only record of key changes, re-encryptions, exports, erasures,
-- purges, detokenizations and decryptions.  Written by the extension's C code as
-- the extension owner; readable by no ordinary role unless a DBA grants it.
CREATE TABLE IF NOT EXISTS privacy.audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    session_role name NOT NULL,
    acting_role  name NOT NULL,
    action       text NOT NULL,
    object       text,
    subject      text,
    details      jsonb,
    xact_id      xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id()
);
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON privacy.audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_subject_idx ON privacy.audit_log (subject) WHERE subject IS NOT NULL;
REVOKE ALL ON privacy.audit_log FROM PUBLIC;
COMMENT ON TABLE privacy.audit_log IS
  'Append-only audit trail of key changes, re-encryptions, exports, erasures, purges and detokenizations';

-- Append-only ledgers (this audit log, the consent ledger): refuse UPDATE,
-- DELETE and TRUNCATE, even for the owner.  TG_ARGV[0] says what to do instead.
CREATE OR REPLACE FUNCTION privacy._append_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'privacy.% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = pg_catalog.format('%s is not allowed on privacy.%s.%s', TG_OP, TG_TABLE_NAME,
                                         COALESCE(' ' OPERATOR(pg_catalog.||) TG_ARGV[0], '')),
              HINT = 'A superuser may disable the table''s triggers for maintenance.';
END
$$;
COMMENT ON FUNCTION privacy._append_only() IS 'Refuses UPDATE, DELETE and TRUNCATE of an append-only ledger';
REVOKE ALL ON FUNCTION privacy._append_only() FROM PUBLIC;
CREATE OR REPLACE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON privacy.audit_log
    FOR EACH ROW EXECUTE FUNCTION privacy._append_only();
CREATE OR REPLACE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON privacy.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION privacy._append_only();

SELECT pg_catalog.pg_extension_config_dump('privacy.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_log_id_seq', '');
