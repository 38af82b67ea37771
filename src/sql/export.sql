-- Export of a data subject (GDPR Art. 15 and 20): finding the subject's rows
-- (subject columns, then foreign keys to any depth) and export_subject.
-- export_subject checks the caller's privileges on every table (SELECT; the
-- plaintext of protected columns only with the rights to the table's
-- _decrypted view) and reads each table as its owner in a security-restricted
-- operation, so that no code of a table owner (domain checks, operators,
-- policies) runs with the DPO's rights; its bookkeeping runs as the extension
-- owner.  erase_subject (erasure.sql) finds rows the same way.

-- ---------------------------------------------------------------- rows of a subject

-- A row's identity during one export or erasure (src/rowid.c): "tableoid:ctid"
-- on a local table (found again by a TID scan), the JSON array of its
-- primary-key values as text on a Citus table, where physical addresses
-- repeat across shards; a Citus table without a primary key is refused.  The
-- predicates selecting rows by identity are built in C, with the identities
-- as parameters.
CREATE OR REPLACE FUNCTION privacy._row_identity(tbl oid) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_row_identity' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy._row_identity(oid) IS
  'How export and erasure identify a table''s rows: ''primary key'' (Citus tables) or ''ctid''; refuses a Citus table without a primary key';

CREATE OR REPLACE FUNCTION privacy._key_values(tbl oid, cols name[], keys text[]) RETURNS jsonb[]
AS 'MODULE_PATHNAME', 'privacy_key_values' LANGUAGE C STRICT STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._key_values(oid, name[], text[]) IS
  'Distinct values (JSON arrays of texts) of columns of the rows with these identities, read as the table''s owner for a caller that may SELECT it';

-- Keys of a jsonb map (relid -> row identities) as text[] ('{}' when absent).
CREATE OR REPLACE FUNCTION privacy._keys_of(sets jsonb, relid oid) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(pg_catalog.array_agg(k), '{}')
      FROM pg_catalog.jsonb_array_elements_text(COALESCE(sets OPERATOR(pg_catalog.->) relid::pg_catalog.text, '[]')) k
$$;
COMMENT ON FUNCTION privacy._keys_of(jsonb, oid) IS 'Row identities recorded for a table in a jsonb map';

-- Row lookups of export_subject and erase_subject, as each table's owner in a
-- security-restricted operation (the caller must be able to SELECT the table,
-- and no row-level security may apply to it).  Executable by PUBLIC because
-- the PL/pgSQL of export and erasure runs with the caller's rights and calls
-- them: each refuses to run outside an export_subject or erase_subject of the
-- same user, and inside a security-restricted operation.
CREATE OR REPLACE FUNCTION privacy._subject_keys(tbl oid, col name, subject text) RETURNS text[]
AS 'MODULE_PATHNAME', 'privacy_subject_keys' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._subject_keys(oid, name, text) IS
  'Identities of the rows whose subject column equals the subject, looked up as the table''s owner (export and erasure only)';
REVOKE ALL ON FUNCTION privacy._subject_keys(oid, name, text) FROM PUBLIC;
-- PUBLIC: refuses outside export_subject/erase_subject; runs as the table owner (restricted) after the caller's SELECT check.
GRANT EXECUTE ON FUNCTION privacy._subject_keys(oid, name, text) TO PUBLIC;

CREATE OR REPLACE FUNCTION privacy._related_keys(src oid, src_cols name[], src_keys text[],
                                                 dst oid, dst_cols name[], dst_keys text[]) RETURNS text[]
AS 'MODULE_PATHNAME', 'privacy_related_keys' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._related_keys(oid, name[], text[], oid, name[], text[]) IS
  'Identities of the rows of dst matching given rows of src through a foreign key, each table read as its owner (export and erasure only)';
REVOKE ALL ON FUNCTION privacy._related_keys(oid, name[], text[], oid, name[], text[]) FROM PUBLIC;
-- PUBLIC: refuses outside export_subject/erase_subject; each table read as its owner (restricted) after the caller's SELECT check.
GRANT EXECUTE ON FUNCTION privacy._related_keys(oid, name[], text[], oid, name[], text[]) TO PUBLIC;

CREATE OR REPLACE FUNCTION privacy._export_rows(tbl oid, keys text[], tokenized name[]) RETURNS jsonb
AS 'MODULE_PATHNAME', 'privacy_export_rows' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._export_rows(oid, text[], name[]) IS
  'Rows of a table for an export, read as the table''s owner with a select list decided by the caller''s rights (export only)';
REVOKE ALL ON FUNCTION privacy._export_rows(oid, text[], name[]) FROM PUBLIC;
-- PUBLIC: refuses outside export_subject/erase_subject; reads as the table owner (restricted) after the caller's SELECT check.
GRANT EXECUTE ON FUNCTION privacy._export_rows(oid, text[], name[]) TO PUBLIC;

-- The subject's rows, per table: registered tables by their subject column
-- (through its index), then every followed table through its foreign keys to
-- rows already found, until nothing is added (so cycles end).  Every lookup
-- (the cast of the subject identifier to the column's type, comparisons,
-- foreign-key matches) runs as the table's owner in a security-restricted
-- operation (_subject_keys, _related_keys), after checking that the caller may
-- SELECT the table.  Called by export_subject and erase_subject (C), which
-- keep the result as the rows the operation may act on.
-- Returns {relid: [row identity, ...]}.
CREATE OR REPLACE FUNCTION privacy._subject_rows(subject text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g      record;
    e      record;
    sets   jsonb := '{}';
    tbls   oid[];
    roots  oid[];
    queue  oid[];
    t      oid;
    keys   text[];
    cur    text[];
    added  text[];
BEGIN
    SELECT pg_catalog.array_agg(x.relid), pg_catalog.array_agg(x.relid) FILTER (WHERE x.subject_column IS NOT NULL)
      INTO tbls, roots FROM privacy._subject_graph() x;
    -- every table's row identity first: a Citus table without a primary key is refused before any lookup
    PERFORM privacy._row_identity(r) FROM pg_catalog.unnest(tbls) r;
    queue := '{}';
    FOR g IN SELECT x.relid, x.subject_column FROM privacy._subject_graph() x WHERE x.subject_column IS NOT NULL LOOP
        BEGIN
            keys := privacy._subject_keys(g.relid, g.subject_column, subject);
        EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range
                    OR invalid_datetime_format OR datetime_field_overflow THEN
            keys := '{}';       -- not an identifier of this column's type: no rows here
        END;
        IF pg_catalog.cardinality(keys) OPERATOR(pg_catalog.>) 0 THEN
            sets := sets OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(g.relid::pg_catalog.text, keys);
            queue := queue OPERATOR(pg_catalog.||) g.relid;
        END IF;
    END LOOP;

    WHILE pg_catalog.cardinality(queue) OPERATOR(pg_catalog.>) 0 LOOP
        t := queue[1];
        queue := queue[2:];
        keys := privacy._keys_of(sets, t);
        FOR e IN SELECT * FROM privacy._subject_edges(tbls) x
                  WHERE x.parent OPERATOR(pg_catalog.=) t AND NOT x.child OPERATOR(pg_catalog.=) ANY (roots) LOOP
            added := privacy._related_keys(t, e.parent_cols, keys, e.child, e.child_cols, NULL);
            cur := privacy._keys_of(sets, e.child);
            added := ARRAY(SELECT k FROM pg_catalog.unnest(added) k EXCEPT SELECT k FROM pg_catalog.unnest(cur) k);
            IF pg_catalog.cardinality(added) OPERATOR(pg_catalog.>) 0 THEN
                sets := sets OPERATOR(pg_catalog.||)
                        pg_catalog.jsonb_build_object(e.child::pg_catalog.text, cur OPERATOR(pg_catalog.||) added);
                IF NOT e.child OPERATOR(pg_catalog.=) ANY (queue) THEN
                    queue := queue OPERATOR(pg_catalog.||) e.child;
                END IF;
            END IF;
        END LOOP;
    END LOOP;
    RETURN sets;
END
$$;
COMMENT ON FUNCTION privacy._subject_rows(text) IS
  'Row identities of a subject''s rows per table: subject columns, then foreign keys to any depth';
REVOKE ALL ON FUNCTION privacy._subject_rows(text) FROM PUBLIC;

-- Bookkeeping for an export or erasure, read as the extension owner: consent
-- history, requests, restriction, holds on the tables of the subject graph
-- (privacy._subject_held(tbl, subject)), and
-- the request answered (given, or the latest open one of these kinds).
CREATE OR REPLACE FUNCTION privacy._subject_context(subject text, request_id int, kinds text[]) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    holds  jsonb := '[]';
    g      record;
    reason text;
    rid    int := request_id;
BEGIN
    FOR g IN SELECT x.relid FROM privacy._subject_graph() x ORDER BY x.depth, x.relid LOOP
        reason := privacy._subject_held(g.relid::pg_catalog.regclass, subject);
        IF reason IS NOT NULL THEN
            holds := holds OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                         'table', g.relid::pg_catalog.regclass::pg_catalog.text,
                         'relid', g.relid, 'reason', reason));
        END IF;
    END LOOP;
    IF rid IS NULL THEN
        SELECT r.id INTO rid FROM privacy.requests r
         WHERE r.subject OPERATOR(pg_catalog.=) $1 AND r.kind OPERATOR(pg_catalog.=) ANY (kinds)
           AND r.closed_at IS NULL
         ORDER BY r.received DESC, r.id DESC LIMIT 1;
    ELSIF NOT EXISTS (SELECT 1 FROM privacy.requests r
                       WHERE r.id OPERATOR(pg_catalog.=) rid AND r.subject OPERATOR(pg_catalog.=) $1) THEN
        RAISE EXCEPTION 'request % is not a request of this subject', rid USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN pg_catalog.jsonb_build_object(
        'request_id', rid,
        'restricted', EXISTS (SELECT 1 FROM privacy.restrictions r WHERE r.subject OPERATOR(pg_catalog.=) $1),
        'holds', holds,
        'consents', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c) ORDER BY c.id)
                                FROM privacy.consent_history($1) c), '[]'),
        'requests', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                  'id', r.id, 'kind', r.kind, 'received', r.received, 'due', r.due,
                                  'closed_at', r.closed_at, 'outcome', r.outcome) ORDER BY r.id)
                                FROM privacy.requests r WHERE r.subject OPERATOR(pg_catalog.=) $1), '[]'));
END
$$;
COMMENT ON FUNCTION privacy._subject_context(text, int, text[]) IS
  'Consent history, requests, restriction and holds of a subject, read as the extension owner for export and erasure';
REVOKE ALL ON FUNCTION privacy._subject_context(text, int, text[]) FROM PUBLIC;

-- Select list exporting a table's columns: protected columns decrypted when
-- the caller owns the table or may read the column of its _decrypted view,
-- else {"encrypted": true, "ciphertext": ...}; tokenized columns as their
-- token (export_subject detokenizes them with the caller's rights) when the
-- caller may call privacy.detokenize, else {"tokenized": true, "token": ...}.
-- Decided with the caller's rights; the rows are read as the table's owner.
CREATE OR REPLACE FUNCTION privacy._export_columns(tbl oid, tokenized name[]) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.string_agg(
        CASE
        WHEN p.context IS NOT NULL AND
             ((SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class c
                WHERE c.oid OPERATOR(pg_catalog.=) $1)
              OR (p.view IS NOT NULL AND pg_catalog.has_column_privilege(p.view::pg_catalog.oid, a.attname, 'SELECT')))
        THEN pg_catalog.format('privacy._decrypt_column(t.%1$I, %2$L)::%3$s AS %1$I', a.attname, p.context, p.original_type)
        WHEN p.context IS NOT NULL
        THEN pg_catalog.format('pg_catalog.jsonb_build_object(''encrypted'', true, ''ciphertext'', t.%1$I) AS %1$I', a.attname)
        WHEN a.attname OPERATOR(pg_catalog.=) ANY ($2)
             AND pg_catalog.has_function_privilege('privacy.detokenize(pg_catalog.text, pg_catalog.text)', 'EXECUTE')
        THEN pg_catalog.format('t.%1$I::pg_catalog.text AS %1$I', a.attname)
        WHEN a.attname OPERATOR(pg_catalog.=) ANY ($2)
        THEN pg_catalog.format('pg_catalog.jsonb_build_object(''tokenized'', true, ''token'', t.%1$I) AS %1$I', a.attname)
        ELSE pg_catalog.format('t.%I', a.attname)
        END, ', ' ORDER BY a.attnum)
      FROM pg_catalog.pg_attribute a
      LEFT JOIN privacy.protected_columns p
        ON p.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) a.attrelid AND p.col OPERATOR(pg_catalog.=) a.attname
     WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
$$;
COMMENT ON FUNCTION privacy._export_columns(oid, name[]) IS
  'Select list of an export: plaintext of protected and tokenized columns for a caller allowed to read it, marked values otherwise';

-- The registered table each table of the subject graph hangs off: itself
-- when registered, else the origin of a parent it reaches through a foreign
-- key (the shallowest, then the lowest oid), so that a table reached only
-- through foreign keys shares its purpose and categories.
CREATE OR REPLACE FUNCTION privacy._subject_origins() RETURNS TABLE (relid oid, origin oid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g       record;
    origins jsonb := '{}';
    tbls    oid[];
    o       oid;
BEGIN
    SELECT pg_catalog.array_agg(x.relid) INTO tbls FROM privacy._subject_graph() x;
    FOR g IN SELECT x.relid, x.depth FROM privacy._subject_graph() x ORDER BY x.depth, x.relid LOOP
        IF EXISTS (SELECT 1 FROM privacy.subject_tables s WHERE s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) g.relid) THEN
            o := g.relid;
        ELSE
            SELECT (origins OPERATOR(pg_catalog.->>) e.parent::pg_catalog.text)::pg_catalog.oid INTO o
              FROM privacy._subject_edges(tbls) e
             WHERE e.child OPERATOR(pg_catalog.=) g.relid AND origins OPERATOR(pg_catalog.?) e.parent::pg_catalog.text
             ORDER BY e.parent LIMIT 1;
        END IF;
        origins := origins OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(g.relid::pg_catalog.text, o);
        relid := g.relid; origin := o;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION privacy._subject_origins() IS
  'Every table of the subject graph with the registered table it hangs off (itself when registered)';

-- A table's retention as an object {period, counted_from, action}: its
-- retention policy (privacy.retention_policies), else the period registered
-- with register_subject_table; NULL when neither says.
CREATE OR REPLACE FUNCTION privacy._subject_retention_policy(tbl oid) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(
        (SELECT pg_catalog.jsonb_build_object('period', p.keep::pg_catalog.text,
                    'counted_from', COALESCE(p.since_column::pg_catalog.text, 'latest change'),
                    'action', p.action)
           FROM privacy.retention_policies p WHERE p.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1),
        (SELECT pg_catalog.jsonb_build_object('period', s.retention, 'counted_from', NULL,
                    'action', CASE s.on_erasure WHEN 'retain' THEN 'retain' END)
           FROM privacy.subject_tables s
          WHERE s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1 AND s.retention IS NOT NULL))
$$;
COMMENT ON FUNCTION privacy._subject_retention_policy(oid) IS
  'Retention of a table as {period, counted_from, action}: its retention policy, else its registered period';

-- Processing metadata of one table of the subject graph; purpose, categories
-- and automated decisions come from origin, the registered table it hangs off.
CREATE OR REPLACE FUNCTION privacy._subject_processing(relid oid, on_erasure text, origin oid) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.jsonb_build_object(
        'reached_by', CASE WHEN s.subject_column IS NOT NULL THEN 'subject column'
                           ELSE 'foreign key' END,
        'subject_column', s.subject_column,
        'inherited_from', CASE WHEN o.tbl::pg_catalog.oid OPERATOR(pg_catalog.<>) $1 THEN o.tbl::pg_catalog.text END,
        'categories', COALESCE(pg_catalog.to_jsonb(o.categories), '[]'),
        'purpose', o.purpose,
        'retention', privacy._subject_retention_policy($1),
        'on_erasure', $2,
        'automated_decisions', COALESCE(o.automated_decisions, 'none'),
        'source', COALESCE(s.source, o.source),
        'provided_by_subject', COALESCE(s.provided, false),
        'recipients', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                    'name', r.name, 'purpose', r.purpose, 'country', r.country,
                                    'safeguard', r.safeguard) ORDER BY r.name)
                                  FROM privacy.recipients r
                                 WHERE r.tbl IS NULL OR r.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1), '[]'))
      FROM (SELECT 1) one
      LEFT JOIN privacy.subject_tables s ON s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1
      LEFT JOIN privacy.subject_tables o ON o.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $3
$$;
COMMENT ON FUNCTION privacy._subject_processing(oid, text, oid) IS
  'Processing record of a table for an export: categories, purpose, retention policy, on-erasure rule, automated decisions, source, recipients';

-- The data subject's rights (GDPR Art. 15(1)(e), (f)), in plain sentences.
CREATE OR REPLACE FUNCTION privacy._subject_rights(authority text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.jsonb_build_object(
        'access', 'You may ask for a copy of the personal data we hold about you and how we use it (GDPR Art. 15); this is that copy.',
        'rectification', 'You may ask us to correct inaccurate data about you and to complete incomplete data (Art. 16).',
        'erasure', 'You may ask us to erase your data (Art. 17); data we must keep by law is kept until that obligation ends, the rest is erased.',
        'restriction', 'You may ask us to restrict the processing of your data: we then keep it but do not use it (Art. 18).',
        'objection', 'You may object at any time to processing based on our legitimate interests and to direct marketing (Art. 21), and withdraw a consent at any time.',
        'portability', 'You may receive the data you gave us in a structured, machine-readable format, or have it sent to another controller (Art. 20).',
        'complaint', 'You may lodge a complaint with a supervisory authority'
                     OPERATOR(pg_catalog.||) COALESCE(': ' OPERATOR(pg_catalog.||) NULLIF(authority, ''), '')
                     OPERATOR(pg_catalog.||) ' (Art. 77).')
$$;
COMMENT ON FUNCTION privacy._subject_rights(text) IS
  'The data subject''s rights (access, rectification, erasure, restriction, objection, portability, complaint) as sentences';

CREATE OR REPLACE FUNCTION privacy._export_subject(subject text, ctx jsonb, sets jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g          record;
    keys       text[];
    rows       jsonb;
    tname      text;
    data       jsonb := '{}';
    processing jsonb := '{}';
    portable   jsonb := '[]';
    unreadable jsonb := '{}';
    n          bigint;
    authority  text := NULLIF(pg_catalog.current_setting('privacy.supervisory_authority'), '');
BEGIN
    FOR g IN SELECT x.*, COALESCE(s.tokenized_columns, '{}') AS tokenized, COALESCE(s.provided, false) AS provided,
                    o.origin
               FROM privacy._subject_rules() x
               LEFT JOIN privacy.subject_tables s ON s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) x.relid
               LEFT JOIN privacy._subject_origins() o ON o.relid OPERATOR(pg_catalog.=) x.relid
              ORDER BY x.depth, x.relid LOOP
        tname := g.relid::pg_catalog.regclass::pg_catalog.text;
        processing := processing OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
                          tname, privacy._subject_processing(g.relid, g.on_erasure, g.origin));
        keys := privacy._keys_of(sets, g.relid);
        CONTINUE WHEN pg_catalog.cardinality(keys) OPERATOR(pg_catalog.=) 0;
        rows := privacy._export_rows(g.relid, keys, g.tokenized);
        IF pg_catalog.cardinality(g.tokenized) OPERATOR(pg_catalog.>) 0
           AND pg_catalog.has_function_privilege('privacy.detokenize(pg_catalog.text, pg_catalog.text)', 'EXECUTE') THEN
            -- tokens read as the owner, detokenized with the caller's rights
            rows := (SELECT COALESCE(pg_catalog.jsonb_agg(r.v OPERATOR(pg_catalog.||) COALESCE(
                         (SELECT pg_catalog.jsonb_object_agg(c, privacy.detokenize(r.v OPERATOR(pg_catalog.->>) c))
                            FROM pg_catalog.unnest(g.tokenized) c WHERE r.v OPERATOR(pg_catalog.?) c), '{}')
                         ORDER BY r.i), '[]')
                       FROM pg_catalog.jsonb_array_elements(rows) WITH ORDINALITY r(v, i));
        END IF;
        data := data OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(tname, rows);
        -- values the caller could not read: the copy is incomplete
        n := (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_array_elements(rows) r, pg_catalog.jsonb_each(r) c
               WHERE pg_catalog.jsonb_typeof(c.value) OPERATOR(pg_catalog.=) 'object'
                 AND (c.value OPERATOR(pg_catalog.@>) '{"encrypted": true}' OR c.value OPERATOR(pg_catalog.@>) '{"tokenized": true}'));
        IF n OPERATOR(pg_catalog.>) 0 THEN
            unreadable := unreadable OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(tname, n);
        END IF;
        IF g.provided THEN
            portable := portable OPERATOR(pg_catalog.||) pg_catalog.to_jsonb(tname);
        END IF;
    END LOOP;
    IF unreadable OPERATOR(pg_catalog.<>) '{}' THEN
        RAISE WARNING 'the export of this data subject is incomplete: some values are exported as ciphertext or tokens'
            USING DETAIL = pg_catalog.format('Values not readable by role %s, per table: %s.', current_user,
                               (SELECT pg_catalog.string_agg(pg_catalog.format('%s (%s)', k, v), ', ' ORDER BY k)
                                  FROM pg_catalog.jsonb_each_text(unreadable) u(k, v))),
                  HINT = 'Export with a role allowed to read the plaintext: privacy.grant_subject_rights(role, plaintext => true).';
    END IF;
    RETURN pg_catalog.jsonb_build_object(
        'meta', pg_catalog.jsonb_build_object(
            'subject', subject,
            'generated_at', pg_catalog.clock_timestamp(),
            'data_found', data OPERATOR(pg_catalog.<>) '{}',
            'complete', unreadable OPERATOR(pg_catalog.=) '{}',
            'controller', NULLIF(pg_catalog.current_setting('privacy.controller'), ''),
            'dpo_contact', NULLIF(pg_catalog.current_setting('privacy.dpo_contact'), ''),
            'supervisory_authority', authority,
            'request_id', ctx OPERATOR(pg_catalog.->) 'request_id',
            'restricted', ctx OPERATOR(pg_catalog.->) 'restricted',
            'format', 'privacy-export/1'),
        'rights', privacy._subject_rights(authority),
        'data', data,
        'processing', processing,
        'portability', pg_catalog.jsonb_build_object(
            'tables', portable,
            'note', 'Tables whose data the subject provided (GDPR Art. 20); their rows are under "data".'),
        'consents', ctx OPERATOR(pg_catalog.->) 'consents',
        'requests', ctx OPERATOR(pg_catalog.->) 'requests',
        'holds', ctx OPERATOR(pg_catalog.->) 'holds');
END
$$;
COMMENT ON FUNCTION privacy._export_subject(text, jsonb, jsonb) IS
  'Builds the export of a subject''s rows found by _subject_rows, each table read as its owner (called by export_subject)';
REVOKE ALL ON FUNCTION privacy._export_subject(text, jsonb, jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.export_subject(subject text, request_id int DEFAULT NULL,
                                                  close_request boolean DEFAULT true) RETURNS jsonb
AS 'MODULE_PATHNAME', 'privacy_export_subject' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.export_subject(text, int, boolean) IS
  'Everything held about a subject (GDPR Art. 15 and 20): meta, rights, data per table, processing, portability, consents, requests, holds; closes the access request answered unless close_request is false; audited';
REVOKE ALL ON FUNCTION privacy.export_subject(text, int, boolean) FROM PUBLIC;

-- Internal functions of this fragment executable by PUBLIC (the default, kept on
-- purpose), each for the reason given; the others are REVOKEd from PUBLIC above.
-- PUBLIC: invoker-rights helpers of export/erasure (run by a DPO): they read only the
-- catalog and the PUBLIC-readable registry, or compute on their arguments.
-- _key_values: only for a caller with SELECT on the whole table and no row-level security applying
-- to it; reads as the table owner (restricted), so the owner's casts never run with the caller's rights.
GRANT EXECUTE ON FUNCTION privacy._row_identity(oid), privacy._key_values(oid, name[], text[]), privacy._keys_of(jsonb, oid),
    privacy._export_columns(oid, name[]), privacy._subject_processing(oid, text, oid),
    privacy._subject_origins(), privacy._subject_retention_policy(oid), privacy._subject_rights(text) TO PUBLIC;
