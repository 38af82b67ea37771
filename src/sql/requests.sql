-- Data subjects' requests (Art. 12(3): one month to answer), the append-only
-- consent ledger (Art. 7) and restriction of processing (Art. 18), including
-- the row filter that keeps restricted subjects out of masked views.  Public
-- entry points that write bookkeeping are C functions (src/subject.c) that
-- check the caller's rights and run their PL/pgSQL implementation
-- (privacy._<name>) as the extension owner; privacy.grant_subject_rights(role)
-- grants them (is_restricted included: restriction status is personal data).

CREATE TABLE IF NOT EXISTS privacy.requests (
    id        serial PRIMARY KEY,
    subject   text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('access', 'erasure', 'rectification', 'restriction',
                                            'objection', 'portability')),
    received  timestamptz NOT NULL,
    due       timestamptz NOT NULL,
    opened_by name NOT NULL,
    closed_at timestamptz,
    closed_by name,
    outcome   text
);
CREATE INDEX IF NOT EXISTS requests_subject_idx ON privacy.requests (subject);
CREATE INDEX IF NOT EXISTS requests_open_due_idx ON privacy.requests (due) WHERE closed_at IS NULL;
REVOKE ALL ON privacy.requests FROM PUBLIC;
COMMENT ON TABLE privacy.requests IS 'Data-subject requests, their deadline and outcome';
SELECT pg_catalog.pg_extension_config_dump('privacy.requests', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.requests_id_seq', '');

CREATE TABLE IF NOT EXISTS privacy.consents (
    id          bigserial PRIMARY KEY,
    subject     text NOT NULL,
    purpose     text NOT NULL,
    granted     boolean NOT NULL,
    source      text,
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    recorded_by name NOT NULL
);
CREATE INDEX IF NOT EXISTS consents_subject_purpose_idx ON privacy.consents (subject, purpose, id);
REVOKE ALL ON privacy.consents FROM PUBLIC;
COMMENT ON TABLE privacy.consents IS
  'Consent ledger, append-only: the latest record per subject and purpose is in force';
SELECT pg_catalog.pg_extension_config_dump('privacy.consents', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.consents_id_seq', '');

CREATE OR REPLACE TRIGGER consents_append_only
    BEFORE UPDATE OR DELETE ON privacy.consents
    FOR EACH ROW EXECUTE FUNCTION privacy._append_only('Record a new consent instead.');
CREATE OR REPLACE TRIGGER consents_no_truncate
    BEFORE TRUNCATE ON privacy.consents
    FOR EACH STATEMENT EXECUTE FUNCTION privacy._append_only('Record a new consent instead.');

CREATE TABLE IF NOT EXISTS privacy.restrictions (
    subject       text PRIMARY KEY,
    reason        text,
    restricted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    restricted_by name NOT NULL
);
REVOKE ALL ON privacy.restrictions FROM PUBLIC;
COMMENT ON TABLE privacy.restrictions IS 'Subjects under restriction of processing (GDPR Art. 18)';
SELECT pg_catalog.pg_extension_config_dump('privacy.restrictions', '');

-- ---------------------------------------------------------------- requests

CREATE OR REPLACE FUNCTION privacy._open_request(subject text, kind text, received timestamptz) RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    deadline interval;
    rid      int;
BEGIN
    IF subject IS NULL OR kind IS NULL THEN
        RAISE EXCEPTION 'subject and kind must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF kind NOT IN ('access', 'erasure', 'rectification', 'restriction', 'objection', 'portability') THEN
        RAISE EXCEPTION 'invalid request kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use access, erasure, rectification, restriction, objection or portability.';
    END IF;
    -- checked when set (GUC check hook): always an interval here
    deadline := pg_catalog.current_setting('privacy.request_deadline')::pg_catalog.interval;
    INSERT INTO privacy.requests (subject, kind, received, due, opened_by)
    VALUES (subject, kind, COALESCE(received, pg_catalog.now()),
            COALESCE(received, pg_catalog.now()) OPERATOR(pg_catalog.+) deadline, session_user)
    RETURNING id INTO rid;
    RETURN rid;
END
$$;
COMMENT ON FUNCTION privacy._open_request(text, text, timestamptz) IS
  'Implementation of open_request, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._open_request(text, text, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.open_request(subject text, kind text, received timestamptz DEFAULT pg_catalog.now())
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.open_request(text, text, timestamptz) IS
  'Records a data-subject request (access, erasure, rectification, restriction, objection, portability) due after privacy.request_deadline; returns its id';
REVOKE ALL ON FUNCTION privacy.open_request(text, text, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy._close_request(id int, outcome text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT privacy._close_answered_request(pg_catalog.jsonb_build_object('request_id', $1), $2) THEN
        IF EXISTS (SELECT 1 FROM privacy.requests r WHERE r.id OPERATOR(pg_catalog.=) $1) THEN
            RAISE EXCEPTION 'request % is already closed', $1 USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        RAISE EXCEPTION 'request % does not exist', $1 USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION privacy._close_request(int, text) IS
  'Implementation of close_request, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._close_request(int, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.close_request(id int, outcome text) RETURNS void
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.close_request(int, text) IS 'Closes an open data-subject request with its outcome';
REVOKE ALL ON FUNCTION privacy.close_request(int, text) FROM PUBLIC;

CREATE OR REPLACE VIEW privacy.open_requests AS
SELECT r.id, r.subject, r.kind, r.received, r.due,
       pg_catalog.ceil(pg_catalog.date_part('epoch', r.due OPERATOR(pg_catalog.-) pg_catalog.now())
                       OPERATOR(pg_catalog./) 86400)::int AS days_remaining,
       r.opened_by
  FROM privacy.requests r
 WHERE r.closed_at IS NULL;
REVOKE ALL ON privacy.open_requests FROM PUBLIC;
COMMENT ON VIEW privacy.open_requests IS 'Open data-subject requests with the days left before their deadline (negative: overdue)';

CREATE OR REPLACE VIEW privacy.overdue_requests AS
SELECT r.id, r.subject, r.kind, r.received, r.due,
       pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) r.due)
                        OPERATOR(pg_catalog./) 86400)::int AS days_overdue,
       r.opened_by
  FROM privacy.requests r
 WHERE r.closed_at IS NULL AND r.due OPERATOR(pg_catalog.<) pg_catalog.now();
REVOKE ALL ON privacy.overdue_requests FROM PUBLIC;
COMMENT ON VIEW privacy.overdue_requests IS 'Open data-subject requests past their deadline, with the days overdue';

-- ---------------------------------------------------------------- consent

CREATE OR REPLACE FUNCTION privacy._record_consent(subject text, purpose text, granted boolean, source text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cid bigint;
BEGIN
    IF subject IS NULL OR purpose IS NULL OR granted IS NULL THEN
        RAISE EXCEPTION 'subject, purpose and granted must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    INSERT INTO privacy.consents (subject, purpose, granted, source, recorded_by)
    VALUES (subject, purpose, granted, source, session_user) RETURNING id INTO cid;
    RETURN cid;
END
$$;
COMMENT ON FUNCTION privacy._record_consent(text, text, boolean, text) IS
  'Implementation of record_consent, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._record_consent(text, text, boolean, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.record_consent(subject text, purpose text, granted boolean, source text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.record_consent(text, text, boolean, text) IS
  'Appends a consent (granted true) or withdrawal (false) for a subject and purpose to the ledger; returns its id';
REVOKE ALL ON FUNCTION privacy.record_consent(text, text, boolean, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.has_consent(subject text, purpose text) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN privacy._citus_worker() THEN privacy._citus_coordinator_only('privacy.has_consent')::boolean
           ELSE COALESCE((SELECT c.granted FROM privacy.consents c
                           WHERE c.subject OPERATOR(pg_catalog.=) $1 AND c.purpose OPERATOR(pg_catalog.=) $2
                           ORDER BY c.id DESC LIMIT 1), false) END
$$;
COMMENT ON FUNCTION privacy.has_consent(text, text) IS
  'Whether the subject''s latest consent record for the purpose grants it; no record means no consent';
REVOKE ALL ON FUNCTION privacy.has_consent(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.consent_history(subject text)
RETURNS TABLE (id bigint, purpose text, granted boolean, source text, recorded_at timestamptz, recorded_by name)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.id, c.purpose, c.granted, c.source, c.recorded_at, c.recorded_by
      FROM privacy.consents c WHERE c.subject OPERATOR(pg_catalog.=) $1 ORDER BY c.id
$$;
COMMENT ON FUNCTION privacy.consent_history(text) IS 'Every consent record of a subject, oldest first';
REVOKE ALL ON FUNCTION privacy.consent_history(text) FROM PUBLIC;

-- ---------------------------------------------------------------- restriction

CREATE OR REPLACE FUNCTION privacy._restrict(subject text, reason text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF subject IS NULL THEN
        RAISE EXCEPTION 'subject must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    INSERT INTO privacy.restrictions (subject, reason, restricted_by)
    VALUES (subject, reason, session_user) ON CONFLICT ON CONSTRAINT restrictions_pkey DO NOTHING;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION privacy._restrict(text, text) IS 'Implementation of restrict, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._restrict(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.restrict(subject text, reason text DEFAULT NULL) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.restrict(text, text) IS
  'Restricts processing of a subject''s data (GDPR Art. 18): masked views leave the subject out; false if already restricted';
REVOKE ALL ON FUNCTION privacy.restrict(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy._unrestrict(subject text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM privacy.restrictions r WHERE r.subject OPERATOR(pg_catalog.=) $1;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION privacy._unrestrict(text) IS 'Implementation of unrestrict, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._unrestrict(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.unrestrict(subject text) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.unrestrict(text) IS 'Lifts the restriction of processing of a subject; false if none was in force';
REVOKE ALL ON FUNCTION privacy.unrestrict(text) FROM PUBLIC;

-- Restriction status is personal data: DPO-level rights (grant_subject_rights).
CREATE OR REPLACE FUNCTION privacy.is_restricted(subject text) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN privacy._citus_worker() THEN privacy._citus_coordinator_only('privacy.is_restricted')::boolean
           ELSE EXISTS (SELECT 1 FROM privacy.restrictions r WHERE r.subject OPERATOR(pg_catalog.=) $1) END
$$;
COMMENT ON FUNCTION privacy.is_restricted(text) IS 'Whether processing of the subject''s data is restricted';
REVOKE ALL ON FUNCTION privacy.is_restricted(text) FROM PUBLIC;

-- Close the request an export or erasure answered (ctx->request_id), if it
-- is still open; as the extension owner.  Whether it was closed.
CREATE OR REPLACE FUNCTION privacy._close_answered_request(ctx jsonb, outcome text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE privacy.requests r SET closed_at = pg_catalog.now(), closed_by = session_user, outcome = $2
     WHERE r.id OPERATOR(pg_catalog.=) (ctx OPERATOR(pg_catalog.->>) 'request_id')::int AND r.closed_at IS NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION privacy._close_answered_request(jsonb, text) IS
  'Closes the data-subject request an export or erasure answered, if still open (run as the extension owner)';
REVOKE ALL ON FUNCTION privacy._close_answered_request(jsonb, text) FROM PUBLIC;

-- ---------------------------------------------------------------- restriction in masked views

-- Masked views leave out the rows of subjects under restriction (Art. 18) in
-- registered tables with a subject column; the filter is read at query time,
-- so restrict()/unrestrict() take effect at once.
CREATE OR REPLACE FUNCTION privacy._masked_view_filter(tbl regclass) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(
        (SELECT pg_catalog.format(' WHERE NOT EXISTS (SELECT 1 FROM privacy.restrictions x '
                                  'WHERE x.subject OPERATOR(pg_catalog.=) (t.%I)::pg_catalog.text)',
                                  s.subject_column)
           FROM privacy.subject_tables s
          WHERE s.tbl OPERATOR(pg_catalog.=) $1 AND s.subject_column IS NOT NULL),
        '')
$$;
REVOKE ALL ON FUNCTION privacy._masked_view_filter(regclass) FROM PUBLIC;
COMMENT ON FUNCTION privacy._masked_view_filter(regclass) IS
  'WHERE clause (or nothing) of a table''s masked view, over the table aliased t: leaves out subjects under restriction';
