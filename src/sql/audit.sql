-- Audit log: append-only record of key changes, re-encryptions, exports, erasures,
-- purges, detokenizations and decryptions.  Written by the extension's C code as
-- the extension owner; readable by no ordinary role unless a DBA grants it.
CREATE TABLE privacy.audit_log (
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
CREATE INDEX audit_log_at_idx ON privacy.audit_log (at);
CREATE INDEX audit_log_subject_idx ON privacy.audit_log (subject) WHERE subject IS NOT NULL;
REVOKE ALL ON privacy.audit_log FROM PUBLIC;
COMMENT ON TABLE privacy.audit_log IS
  'Append-only audit trail of key changes, re-encryptions, exports, erasures, purges and detokenizations';

CREATE FUNCTION privacy._audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'privacy.audit_log is append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = pg_catalog.format('%s is not allowed on the audit log.', TG_OP),
              HINT = 'A superuser may disable trigger audit_log_append_only for maintenance.';
END
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON privacy.audit_log
    FOR EACH ROW EXECUTE FUNCTION privacy._audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON privacy.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION privacy._audit_log_append_only();
REVOKE ALL ON FUNCTION privacy._audit_log_append_only() FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('privacy.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_log_id_seq', '');
