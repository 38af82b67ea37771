-- Data subjects (GDPR Art. 15-21): where a subject's data lives, export,
-- erasure with crypto-shredding, requests, the consent ledger and restriction.
--
-- Who may call what.  The public entry points that write bookkeeping
-- (register_*, open_request, close_request, record_consent, restrict,
-- unrestrict) are C functions that check the caller's rights and then run
-- their PL/pgSQL implementation (privacy._<name>) as the extension owner.
-- export_subject and erase_subject check the caller's privileges on every
-- table (a DPO role needs SELECT, and for erasure DELETE and UPDATE, on them;
-- plaintext of protected columns only with the rights to the table's
-- _decrypted view) and then read and change each table as its owner in a
-- security-restricted operation, so that no code of a table owner (domain
-- checks, operators, triggers, policies) runs with the DPO's rights; their
-- bookkeeping (ledger, holds, key
-- destruction, deletion log) runs as the extension owner.  None of them is
-- executable by PUBLIC but subject_key_name(); privacy.grant_subject_rights(role)
-- grants the set (is_restricted included: restriction status is personal data).

CREATE TABLE IF NOT EXISTS privacy.subject_tables (
    tbl               regclass PRIMARY KEY,
    subject_column    name,
    categories        text[],
    purpose           text,
    on_erasure        text NOT NULL DEFAULT 'delete' CHECK (on_erasure IN ('delete', 'anonymize', 'retain')),
    source            text,
    provided          boolean NOT NULL DEFAULT false,
    retention         text,
    tokenized_columns name[] NOT NULL DEFAULT '{}',
    registered_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    registered_by     name NOT NULL
);
REVOKE ALL ON privacy.subject_tables FROM PUBLIC;
GRANT SELECT ON privacy.subject_tables TO PUBLIC;
COMMENT ON TABLE privacy.subject_tables IS
  'Tables holding personal data of data subjects: subject column (NULL: reached through foreign keys), categories, purpose, on-erasure rule';
ALTER TABLE privacy.subject_tables ADD COLUMN IF NOT EXISTS automated_decisions text NOT NULL DEFAULT 'none';
COMMENT ON COLUMN privacy.subject_tables.automated_decisions IS
  'Automated decision-making or profiling based on the table''s data (GDPR Art. 15(1)(h), 22): ''none'' or a description';
SELECT pg_catalog.pg_extension_config_dump('privacy.subject_tables', '');

CREATE TABLE IF NOT EXISTS privacy.recipients (
    id            serial PRIMARY KEY,
    name          text NOT NULL,
    purpose       text,
    country       text,
    safeguard     text,
    tbl           regclass,
    registered_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE UNIQUE INDEX IF NOT EXISTS recipients_name_tbl_idx ON privacy.recipients (name, (COALESCE(tbl::oid, 0::oid)));
REVOKE ALL ON privacy.recipients FROM PUBLIC;
GRANT SELECT ON privacy.recipients TO PUBLIC;
COMMENT ON TABLE privacy.recipients IS
  'Recipients of personal data and transfers (country, safeguard), for one table or (tbl NULL) every subject table';
SELECT pg_catalog.pg_extension_config_dump('privacy.recipients', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.recipients_id_seq', '');

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

-- ---------------------------------------------------------------- registry

-- Tables where subjects' data lives: registered tables with a subject column
-- (depth 0), then, level by level, every table with a foreign key to one
-- already found (registered without a subject column, or not registered).
-- Each table appears once, at its shallowest depth; cycles end the walk.
CREATE OR REPLACE FUNCTION privacy._subject_graph()
RETURNS TABLE (relid oid, subject_column name, depth int)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    seen     oid[];
    frontier oid[];
    nxt      oid[];
    d        int := 0;
BEGIN
    SELECT COALESCE(pg_catalog.array_agg(s.tbl::pg_catalog.oid), '{}') INTO frontier
      FROM privacy.subject_tables s WHERE s.subject_column IS NOT NULL;
    seen := frontier;
    RETURN QUERY SELECT s.tbl::pg_catalog.oid, s.subject_column, 0
                   FROM privacy.subject_tables s WHERE s.subject_column IS NOT NULL;
    WHILE pg_catalog.cardinality(frontier) OPERATOR(pg_catalog.>) 0 LOOP
        d := d OPERATOR(pg_catalog.+) 1;
        SELECT pg_catalog.array_agg(DISTINCT c.conrelid) INTO nxt
          FROM pg_catalog.pg_constraint c
          JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) c.conrelid
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) r.relnamespace
         WHERE c.contype OPERATOR(pg_catalog.=) 'f' AND c.conparentid OPERATOR(pg_catalog.=) 0
           AND c.confrelid OPERATOR(pg_catalog.=) ANY (frontier)
           AND NOT c.conrelid OPERATOR(pg_catalog.=) ANY (seen)
           AND n.nspname NOT IN ('privacy', 'pg_catalog', 'information_schema');
        EXIT WHEN nxt IS NULL;
        seen := seen OPERATOR(pg_catalog.||) nxt;
        frontier := nxt;
        RETURN QUERY SELECT x, NULL::pg_catalog.name, d FROM pg_catalog.unnest(nxt) x;
    END LOOP;
END
$$;
COMMENT ON FUNCTION privacy._subject_graph() IS
  'Registered subject tables and the tables reaching them through foreign keys, with their depth';

-- Foreign keys between tables of the subject graph: child columns, parent columns.
CREATE OR REPLACE FUNCTION privacy._subject_edges(tbls oid[])
RETURNS TABLE (child oid, parent oid, child_cols name[], parent_cols name[])
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.conrelid, c.confrelid,
           ARRAY(SELECT a.attname FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY k(n, i)
                   JOIN pg_catalog.pg_attribute a
                     ON a.attrelid OPERATOR(pg_catalog.=) c.conrelid AND a.attnum OPERATOR(pg_catalog.=) k.n
                  ORDER BY k.i),
           ARRAY(SELECT a.attname FROM pg_catalog.unnest(c.confkey) WITH ORDINALITY k(n, i)
                   JOIN pg_catalog.pg_attribute a
                     ON a.attrelid OPERATOR(pg_catalog.=) c.confrelid AND a.attnum OPERATOR(pg_catalog.=) k.n
                  ORDER BY k.i)
      FROM pg_catalog.pg_constraint c
     WHERE c.contype OPERATOR(pg_catalog.=) 'f' AND c.conparentid OPERATOR(pg_catalog.=) 0
       AND c.conrelid OPERATOR(pg_catalog.=) ANY (tbls) AND c.confrelid OPERATOR(pg_catalog.=) ANY (tbls)
     ORDER BY c.conrelid, c.oid
$$;
COMMENT ON FUNCTION privacy._subject_edges(oid[]) IS
  'Foreign keys among the given tables, as column-name lists of child and parent';

-- Whether some index of tbl starts with exactly these columns (in any order).
CREATE OR REPLACE FUNCTION privacy._has_leading_index(tbl oid, cols name[]) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index i
         WHERE i.indrelid OPERATOR(pg_catalog.=) tbl AND i.indisvalid
           AND pg_catalog.cardinality(cols) OPERATOR(pg_catalog.<=) i.indnkeyatts
           AND (SELECT pg_catalog.array_agg(a.attname ORDER BY a.attname)
                  FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid OPERATOR(pg_catalog.=) tbl
                   AND a.attnum OPERATOR(pg_catalog.=) ANY ((i.indkey::pg_catalog.int2[])[0:pg_catalog.cardinality(cols) OPERATOR(pg_catalog.-) 1]))
               OPERATOR(pg_catalog.=) (SELECT pg_catalog.array_agg(c ORDER BY c) FROM pg_catalog.unnest(cols) c))
$$;
COMMENT ON FUNCTION privacy._has_leading_index(oid, name[]) IS
  'Whether an index of the table leads with the given columns';

-- WARNING with the CREATE INDEX to run for every subject column and followed
-- foreign key without an index: export and erasure would scan those tables.
-- With tbl, only those of that table: its subject column and the foreign keys
-- from or to it (register_subject_table warns about the table registered).
CREATE OR REPLACE FUNCTION privacy._subject_index_warnings(tbl oid DEFAULT NULL) RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g      record;
    tbls   oid[];
    n      int := 0;
    stmt   text;
BEGIN
    SELECT pg_catalog.array_agg(x.relid) INTO tbls FROM privacy._subject_graph() x;
    FOR g IN
        SELECT x.relid AS tbl, ARRAY[x.subject_column] AS cols
          FROM privacy._subject_graph() x
         WHERE x.subject_column IS NOT NULL AND ($1 IS NULL OR x.relid OPERATOR(pg_catalog.=) $1)
        UNION ALL
        SELECT e.child, e.child_cols FROM privacy._subject_edges(tbls) e
         WHERE $1 IS NULL OR $1 OPERATOR(pg_catalog.=) ANY (ARRAY[e.child, e.parent])
    LOOP
        CONTINUE WHEN privacy._has_leading_index(g.tbl, g.cols);
        stmt := pg_catalog.format('CREATE INDEX ON %s (%s)', g.tbl::pg_catalog.regclass,
                    (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(g.cols) c));
        RAISE WARNING 'no index on %(%): exporting and erasing a subject will scan the table',
                      g.tbl::pg_catalog.regclass, pg_catalog.array_to_string(g.cols, ', ')
            USING HINT = pg_catalog.format('Run: %s;', stmt);
        n := n OPERATOR(pg_catalog.+) 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION privacy._subject_index_warnings(oid) IS
  'Warns, with the CREATE INDEX to run, about subject columns and followed foreign keys without an index (of one table, or all)';

CREATE OR REPLACE FUNCTION privacy._register_subject_table(tbl regclass, subject_column name, categories text[],
                                                purpose text, on_erasure text, source text,
                                                provided boolean, retention text, tokenized_columns name[],
                                                automated_decisions text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c name;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF (SELECT r.relkind FROM pg_catalog.pg_class r WHERE r.oid OPERATOR(pg_catalog.=) tbl) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;
    IF COALESCE(on_erasure, '') NOT IN ('delete', 'anonymize', 'retain') THEN
        RAISE EXCEPTION 'invalid on_erasure rule "%"', on_erasure
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ''delete'', ''anonymize'' or ''retain''.';
    END IF;
    FOREACH c IN ARRAY ARRAY[subject_column] OPERATOR(pg_catalog.||) COALESCE(tokenized_columns, '{}') LOOP
        IF c IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM pg_catalog.pg_attribute a
                WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) c
                  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column "%" of relation "%" does not exist', c, tbl USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
    INSERT INTO privacy.subject_tables AS s
           (tbl, subject_column, categories, purpose, on_erasure, source, provided, retention,
            tokenized_columns, automated_decisions, registered_by)
    VALUES (tbl, subject_column, categories, purpose, on_erasure, source, COALESCE(provided, false),
            retention, COALESCE(tokenized_columns, '{}'), COALESCE(automated_decisions, 'none'), session_user)
    ON CONFLICT ON CONSTRAINT subject_tables_pkey DO UPDATE
       SET subject_column = EXCLUDED.subject_column, categories = EXCLUDED.categories,
           purpose = EXCLUDED.purpose, on_erasure = EXCLUDED.on_erasure, source = EXCLUDED.source,
           provided = EXCLUDED.provided, retention = EXCLUDED.retention,
           tokenized_columns = EXCLUDED.tokenized_columns, automated_decisions = EXCLUDED.automated_decisions,
           registered_at = pg_catalog.now(), registered_by = EXCLUDED.registered_by;
    PERFORM privacy._subject_index_warnings(tbl);
END
$$;
COMMENT ON FUNCTION privacy._register_subject_table(regclass, name, text[], text, text, text, boolean, text, name[], text) IS
  'Implementation of register_subject_table, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._register_subject_table(regclass, name, text[], text, text, text, boolean, text, name[], text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.register_subject_table(tbl regclass, subject_column name,
                                               categories text[] DEFAULT NULL, purpose text DEFAULT NULL,
                                               on_erasure text DEFAULT 'delete', source text DEFAULT NULL,
                                               provided boolean DEFAULT false, retention text DEFAULT NULL,
                                               tokenized_columns name[] DEFAULT NULL,
                                               automated_decisions text DEFAULT 'none')
RETURNS void
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.register_subject_table(regclass, name, text[], text, text, text, boolean, text, name[], text) IS
  'Registers a table holding subjects'' data (table owner only); subject_column NULL: rows are found through foreign keys; automated_decisions: profiling or automated decisions based on it (''none'')';

CREATE OR REPLACE FUNCTION privacy._unregister_subject_table(tbl regclass) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM privacy.subject_tables s WHERE s.tbl OPERATOR(pg_catalog.=) $1;
$$;
COMMENT ON FUNCTION privacy._unregister_subject_table(regclass) IS
  'Implementation of unregister_subject_table, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._unregister_subject_table(regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.unregister_subject_table(tbl regclass) RETURNS void
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.unregister_subject_table(regclass) IS
  'Removes a table from the subject registry (table owner only)';

CREATE OR REPLACE FUNCTION privacy._register_recipient(name text, purpose text, country text, safeguard text, tbl regclass)
RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid int;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'recipient name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM privacy.recipients r
     WHERE r.name OPERATOR(pg_catalog.=) $1
       AND COALESCE(r.tbl::pg_catalog.oid, 0::pg_catalog.oid) OPERATOR(pg_catalog.=) COALESCE($5::pg_catalog.oid, 0::pg_catalog.oid);
    INSERT INTO privacy.recipients (name, purpose, country, safeguard, tbl)
    VALUES ($1, $2, $3, $4, $5) RETURNING id INTO rid;
    RETURN rid;
END
$$;
COMMENT ON FUNCTION privacy._register_recipient(text, text, text, text, regclass) IS
  'Implementation of register_recipient, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._register_recipient(text, text, text, text, regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.register_recipient(name text, purpose text DEFAULT NULL, country text DEFAULT NULL,
                                           safeguard text DEFAULT NULL, tbl regclass DEFAULT NULL)
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.register_recipient(text, text, text, text, regclass) IS
  'Records a recipient of personal data (country, transfer safeguard) for one table or, tbl NULL, all; returns its id';
REVOKE ALL ON FUNCTION privacy.register_recipient(text, text, text, text, regclass) FROM PUBLIC;

-- On-erasure rule of every table of the graph: registered tables their own;
-- followed tables not registered inherit the strictest of their parents
-- (retain over anonymize over delete).
CREATE OR REPLACE FUNCTION privacy._subject_rules()
RETURNS TABLE (relid oid, subject_column name, depth int, on_erasure text, registered boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g      record;
    rules  jsonb := '{}';
    tbls   oid[];
    rank   text[] := ARRAY['delete', 'anonymize', 'retain'];
    best   int;
BEGIN
    SELECT pg_catalog.array_agg(x.relid) INTO tbls FROM privacy._subject_graph() x;
    FOR g IN SELECT x.relid, x.subject_column, x.depth, s.on_erasure
               FROM privacy._subject_graph() x
               LEFT JOIN privacy.subject_tables s ON s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) x.relid
              ORDER BY x.depth, x.relid LOOP
        IF g.on_erasure IS NULL THEN
            SELECT COALESCE(pg_catalog.max(pg_catalog.array_position(rank, rules OPERATOR(pg_catalog.->>) e.parent::pg_catalog.text)), 1)
              INTO best
              FROM privacy._subject_edges(tbls) e
             WHERE e.child OPERATOR(pg_catalog.=) g.relid AND e.parent OPERATOR(pg_catalog.<>) g.relid;
            g.on_erasure := rank[best];
        END IF;
        rules := rules OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(g.relid::pg_catalog.text, g.on_erasure);
        relid := g.relid; subject_column := g.subject_column; depth := g.depth;
        on_erasure := g.on_erasure;
        registered := EXISTS (SELECT 1 FROM privacy.subject_tables s WHERE s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) g.relid);
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION privacy._subject_rules() IS
  'Every table of the subject graph with its on-erasure rule (followed tables inherit the strictest parent rule)';

-- Retention policies of a table (privacy.retention_policies, if retention is installed).
CREATE OR REPLACE FUNCTION privacy._subject_retention(tbl oid) RETURNS TABLE (keep interval, action text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT p.keep, p.action::pg_catalog.text FROM privacy.retention_policies p
                  WHERE p.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1;
END
$$;
COMMENT ON FUNCTION privacy._subject_retention(oid) IS
  'Retention policy of a table from privacy.retention_policies';

-- Masking rules of a table (privacy.masking_rules).
-- SECURITY DEFINER: the rules table is readable by no ordinary role, and an
-- erasure (with the caller's rights) must apply them.
CREATE OR REPLACE FUNCTION privacy._subject_mask_rules(tbl oid) RETURNS TABLE (col name, expr text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT m.col::pg_catalog.name, m.expr::pg_catalog.text FROM privacy.masking_rules m
                  WHERE m.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1 ORDER BY m.col;
END
$$;
COMMENT ON FUNCTION privacy._subject_mask_rules(oid) IS
  'Masking rules (column, expression) of a table from privacy.masking_rules';
REVOKE ALL ON FUNCTION privacy._subject_mask_rules(oid) FROM PUBLIC;

-- Legal holds on a table for a subject: the contract with retention is this
-- function, privacy._subject_held(tbl, subject), NULL when not held, else the
-- reasons.  It reads retention's privacy.active_holds: a
-- hold in force on the table (or on no table) for this subject, or for no
-- subject (a whole-table hold, or one on rows matching a predicate, taken as
-- covering the subject's rows too); a hold on the subject placed on a table
-- also covers the tables referencing it and those it references, which
-- identify the subject (privacy._hold_reach).  Called as the extension owner.
CREATE OR REPLACE FUNCTION privacy._subject_held(tbl regclass, subject text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    reason text;
BEGIN
    -- "in force" is privacy.active_holds' definition, written once there
    SELECT pg_catalog.string_agg(h.reason, '; ' ORDER BY h.id) INTO reason
      FROM privacy.active_holds h
     WHERE (h.tbl OPERATOR(pg_catalog.=) $1 AND (h.subject IS NULL OR h.subject OPERATOR(pg_catalog.=) $2))
        OR (h.subject OPERATOR(pg_catalog.=) $2 AND h.predicate IS NULL
            AND (h.tbl IS NULL OR $1::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (privacy._hold_reach(h.tbl))
                 OR h.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (privacy._hold_reach($1))));
    RETURN reason;
END
$$;
COMMENT ON FUNCTION privacy._subject_held(regclass, text) IS
  'Reasons of the legal holds (privacy.legal_holds) covering a subject''s rows of a table, or NULL';
REVOKE ALL ON FUNCTION privacy._subject_held(regclass, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy._subject_masked(tbl oid, col name) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM privacy._subject_mask_rules(tbl) m WHERE m.col OPERATOR(pg_catalog.=) $2)
$$;
COMMENT ON FUNCTION privacy._subject_masked(oid, name) IS 'Whether a column has a masking rule';

-- Record of processing: one row per column of every table holding subjects' data.
CREATE OR REPLACE VIEW privacy.data_map AS
SELECT g.relid::pg_catalog.regclass AS tbl,
       a.attname AS col,
       g.subject_column IS NOT NULL AND a.attname OPERATOR(pg_catalog.=) g.subject_column AS subject_column,
       CASE WHEN g.registered THEN 'registered' ELSE 'foreign key' END AS reached_by,
       g.depth,
       s.categories, s.purpose,
       COALESCE(s.retention, (SELECT pg_catalog.string_agg(p.keep::pg_catalog.text, ', ')
                                FROM privacy._subject_retention(g.relid) p)) AS retention,
       g.on_erasure, s.source, COALESCE(s.provided, false) AS provided,
       (SELECT pg_catalog.array_agg(r.name ORDER BY r.name) FROM privacy.recipients r
         WHERE r.tbl IS NULL OR r.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) g.relid) AS recipients,
       EXISTS (SELECT 1 FROM privacy.protected_columns p
                WHERE p.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) g.relid AND p.col OPERATOR(pg_catalog.=) a.attname) AS encrypted,
       COALESCE(a.attname OPERATOR(pg_catalog.=) ANY (s.tokenized_columns), false) AS tokenized,
       privacy._subject_masked(g.relid, a.attname) AS masked
  FROM privacy._subject_rules() g
  JOIN pg_catalog.pg_attribute a
    ON a.attrelid OPERATOR(pg_catalog.=) g.relid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
  LEFT JOIN privacy.subject_tables s ON s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) g.relid;
REVOKE ALL ON privacy.data_map FROM PUBLIC;
COMMENT ON VIEW privacy.data_map IS
  'Record of processing: per column of every table holding subjects'' data, categories, purpose, retention, recipients, protection';

-- Forget registry rows of dropped tables.
CREATE OR REPLACE FUNCTION privacy._subject_on_sql_drop() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM privacy.subject_tables s
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND d.objid OPERATOR(pg_catalog.=) s.tbl::pg_catalog.oid;
    DELETE FROM privacy.recipients r
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND d.objid OPERATOR(pg_catalog.=) r.tbl::pg_catalog.oid;
END
$$;
COMMENT ON FUNCTION privacy._subject_on_sql_drop() IS
  'sql_drop handler of the subject module (called by privacy._on_sql_drop): removes dropped tables from the subject registry';
REVOKE ALL ON FUNCTION privacy._subject_on_sql_drop() FROM PUBLIC;

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

-- ---------------------------------------------------------------- per-subject keys

CREATE OR REPLACE FUNCTION privacy.subject_key_name(subject text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_subject_key_name' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.subject_key_name(text) IS
  'Name of a subject''s own key: ''subject:'' and 32 hex digits of SHA-256 of the subject';

CREATE OR REPLACE FUNCTION privacy.encrypt_for_subject(subject text, data text, context text DEFAULT NULL) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt_for_subject' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.encrypt_for_subject(text, text, text) IS
  'Encrypts under the subject''s own key (created on first use); erase_subject destroys it, and with it every such ciphertext, backups included';
REVOKE ALL ON FUNCTION privacy.encrypt_for_subject(text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------- export and erasure

-- A row's identity during one export or erasure: "tableoid:ctid" (unique in a
-- partitioned table too).  _key_match is the predicate selecting the rows of
-- alias t whose ctids are $1 and identities $2 (a TID scan, not a table scan).
CREATE OR REPLACE FUNCTION privacy._key_expr(alias text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('(%1$I.tableoid::pg_catalog.text OPERATOR(pg_catalog.||) '':'' '
                             'OPERATOR(pg_catalog.||) %1$I.ctid::pg_catalog.text)', alias)
$$;
COMMENT ON FUNCTION privacy._key_expr(text) IS 'SQL expression of a row identity (tableoid:ctid) of a table alias';

CREATE OR REPLACE FUNCTION privacy._key_match(alias text, ctids int, keys int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('%1$I.ctid OPERATOR(pg_catalog.=) ANY ($%2$s) AND %3$s OPERATOR(pg_catalog.=) ANY ($%4$s)',
                             alias, ctids, privacy._key_expr(alias), keys)
$$;
COMMENT ON FUNCTION privacy._key_match(text, int, int) IS
  'SQL predicate: rows of a table alias whose ctids and identities are the given parameters';

CREATE OR REPLACE FUNCTION privacy._key_ctids(keys text[]) RETURNS tid[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(pg_catalog.array_agg(pg_catalog.split_part(k, ':', 2)::pg_catalog.tid), '{}')
      FROM pg_catalog.unnest(keys) k
$$;
COMMENT ON FUNCTION privacy._key_ctids(text[]) IS 'ctids of row identities';

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
    -- Citus: rows are identified by physical address here, which repeats across shards
    PERFORM privacy._citus_refuse(r, 'Export and erasure of data subjects',
        'Query and delete the subject''s rows directly (Citus routes WHERE <subject column> = ... to its shard), '
        'and destroy the subject''s key with privacy.destroy_key(privacy.subject_key_name(subject)).')
       FROM pg_catalog.unnest(tbls) r;
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

-- Safe anonymization of a table without masking rules, for an erasure that
-- must keep a row other kept rows reference: every nullable column outside
-- the keys (primary key, foreign keys either way, retention's columns) set to
-- NULL, every NOT NULL text column to the fixed text '[erased]' (cut to the
-- column's length); other NOT NULL columns (numbers, dates) are left as they
-- are.  Returns (column, SQL expression), in column order.
CREATE OR REPLACE FUNCTION privacy._erasure_defaults(tbl oid) RETURNS TABLE (col name, expr text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.attname,
           CASE WHEN NOT a.attnotnull THEN 'NULL'
                ELSE pg_catalog.format('%L::%s', '[erased]', pg_catalog.format_type(a.atttypid, a.atttypmod)) END
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) a.atttypid
     WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
       AND a.attgenerated OPERATOR(pg_catalog.=) '' AND a.attidentity OPERATOR(pg_catalog.=) ''
       AND (NOT a.attnotnull OR ty.typcategory OPERATOR(pg_catalog.=) 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                        WHERE (c.conrelid OPERATOR(pg_catalog.=) $1 AND c.contype IN ('p', 'f')
                               AND a.attnum OPERATOR(pg_catalog.=) ANY (c.conkey))
                           OR (c.confrelid OPERATOR(pg_catalog.=) $1 AND c.contype OPERATOR(pg_catalog.=) 'f'
                               AND a.attnum OPERATOR(pg_catalog.=) ANY (c.confkey)))
       AND NOT EXISTS (SELECT 1 FROM privacy.retention_policies p
                        WHERE p.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1
                          AND a.attname IN (p.expiry_column, p.since_column))
     ORDER BY a.attnum
$$;
COMMENT ON FUNCTION privacy._erasure_defaults(oid) IS
  'Safe anonymization of a table without masking rules: nullable non-key columns to NULL, NOT NULL text to ''[erased]''';

-- Delete, or anonymize with its masking rules, the subject's rows of tbl that
-- the erasure in progress found itself (narrowed to subset when not NULL):
-- the caller needs DELETE or UPDATE on it; the statement runs as the table's
-- owner in a security-restricted operation, so that the table's triggers and
-- checks never run with the rights of the role that erases.
-- Returns {"rows": n} and, for an anonymization, "cleared" (the columns
-- changed) and "anonymized_with" ('masking rules' or 'safe defaults', see
-- privacy._erasure_defaults, used when the table has no masking rules).
CREATE OR REPLACE FUNCTION privacy._erase_subject_rows(tbl oid, action text, subset text[], why text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'privacy_erase_subject_rows' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._erase_subject_rows(oid, text, text[], text) IS
  'Deletes or anonymizes the subject''s rows of a table found by the erasure in progress, as the table''s owner (erase_subject only)';
REVOKE ALL ON FUNCTION privacy._erase_subject_rows(oid, text, text[], text) FROM PUBLIC;
-- PUBLIC: refuses outside erase_subject of the same user; acts only on rows that erasure found; caller's DELETE/UPDATE checked.
GRANT EXECUTE ON FUNCTION privacy._erase_subject_rows(oid, text, text[], text) TO PUBLIC;

-- Erasure of the rows _subject_rows found (called by erase_subject).  Plans first,
-- while row identities are stable: rows of held tables, of 'retain' and
-- 'anonymize' tables stay; a row of a 'delete' table that a staying row
-- references through a foreign key stays too, anonymized (to a fixed point).
-- Then changes tables children first, so no foreign key breaks.
CREATE OR REPLACE FUNCTION privacy._erase_subject(subject text, reason text, ctx jsonb, sets jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rules     jsonb := '{}';
    actions   jsonb := '{}';
    kept      jsonb := '{}';
    forced    jsonb := '{}';
    forced_by jsonb := '{}';
    held      jsonb := '{}';
    tbls      oid[];
    remaining oid[];
    pick      oid[];
    ordered   oid[] := '{}';
    g         record;
    e         record;
    t         oid;
    keys      text[];
    added     text[];
    changed   boolean;
    n         bigint;
    res       jsonb;
    reg       record;
    report    jsonb := '[]';
    entry     jsonb;
    why       text;
BEGIN
    FOR g IN SELECT x.relid, x.on_erasure FROM privacy._subject_rules() x ORDER BY x.depth DESC, x.relid LOOP
        tbls := tbls OPERATOR(pg_catalog.||) g.relid;
        rules := rules OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(g.relid::pg_catalog.text, g.on_erasure);
    END LOOP;
    FOR g IN SELECT h OPERATOR(pg_catalog.->>) 'relid' AS relid, h OPERATOR(pg_catalog.->>) 'reason' AS reason
               FROM pg_catalog.jsonb_array_elements(ctx OPERATOR(pg_catalog.->) 'holds') h LOOP
        held := held OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(g.relid, g.reason);
    END LOOP;
    -- deepest first (the order of tbls)
    remaining := ARRAY(SELECT r FROM pg_catalog.unnest(tbls) WITH ORDINALITY x(r, i)
                        WHERE sets OPERATOR(pg_catalog.?) r::pg_catalog.text ORDER BY x.i);

    -- plan
    FOREACH t IN ARRAY remaining LOOP
        actions := actions OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(t::pg_catalog.text,
                       CASE WHEN held OPERATOR(pg_catalog.?) t::pg_catalog.text THEN 'held'
                            ELSE rules OPERATOR(pg_catalog.->>) t::pg_catalog.text END);
        IF actions OPERATOR(pg_catalog.->>) t::pg_catalog.text OPERATOR(pg_catalog.<>) 'delete' THEN
            kept := kept OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(t::pg_catalog.text, sets OPERATOR(pg_catalog.->) t::pg_catalog.text);
        END IF;
    END LOOP;
    LOOP
        changed := false;
        FOR e IN SELECT * FROM privacy._subject_edges(tbls) x
                  WHERE actions OPERATOR(pg_catalog.->>) x.parent::pg_catalog.text OPERATOR(pg_catalog.=) 'delete'
                    AND kept OPERATOR(pg_catalog.?) x.child::pg_catalog.text LOOP
            keys := privacy._keys_of(kept, e.child);
            added := privacy._related_keys(e.child, e.child_cols, keys,
                                           e.parent, e.parent_cols, privacy._keys_of(sets, e.parent));
            added := ARRAY(SELECT k FROM pg_catalog.unnest(added) k
                           EXCEPT SELECT k FROM pg_catalog.unnest(privacy._keys_of(kept, e.parent)) k);
            IF pg_catalog.cardinality(added) OPERATOR(pg_catalog.>) 0 THEN
                kept := kept OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(e.parent::pg_catalog.text,
                            privacy._keys_of(kept, e.parent) OPERATOR(pg_catalog.||) added);
                forced := forced OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(e.parent::pg_catalog.text,
                            privacy._keys_of(forced, e.parent) OPERATOR(pg_catalog.||) added);
                forced_by := forced_by OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(e.parent::pg_catalog.text,
                            COALESCE(forced_by OPERATOR(pg_catalog.->) e.parent::pg_catalog.text, '[]')
                            OPERATOR(pg_catalog.||) pg_catalog.to_jsonb(e.child::pg_catalog.regclass::pg_catalog.text));
                changed := true;
            END IF;
        END LOOP;
        EXIT WHEN NOT changed;
    END LOOP;

    -- order: a table after every other table referencing it; in a cycle, the
    -- deepest table first (its rows must not be referenced by then, e.g. a
    -- nullable foreign key left NULL, or the erasure fails and changes nothing)
    WHILE pg_catalog.cardinality(remaining) OPERATOR(pg_catalog.>) 0 LOOP
        pick := ARRAY(SELECT r FROM pg_catalog.unnest(remaining) WITH ORDINALITY y(r, i)
                       WHERE NOT EXISTS (SELECT 1 FROM privacy._subject_edges(tbls) x
                                          WHERE x.parent OPERATOR(pg_catalog.=) r AND x.child OPERATOR(pg_catalog.<>) r
                                            AND x.child OPERATOR(pg_catalog.=) ANY (remaining))
                       ORDER BY y.i);
        IF pg_catalog.cardinality(pick) OPERATOR(pg_catalog.=) 0 THEN
            pick := remaining[1:1];
        END IF;
        ordered := ordered OPERATOR(pg_catalog.||) pick;
        remaining := ARRAY(SELECT r FROM pg_catalog.unnest(remaining) WITH ORDINALITY y(r, i)
                            WHERE NOT r OPERATOR(pg_catalog.=) ANY (pick) ORDER BY y.i);
    END LOOP;

    -- act
    FOREACH t IN ARRAY ordered LOOP
        keys := privacy._keys_of(sets, t);
        entry := pg_catalog.jsonb_build_object('table', t::pg_catalog.regclass::pg_catalog.text,
                     'on_erasure', rules OPERATOR(pg_catalog.->>) t::pg_catalog.text,
                     'rows', pg_catalog.cardinality(keys), 'deleted', 0, 'anonymized', 0, 'retained', 0, 'held', 0);
        CASE actions OPERATOR(pg_catalog.->>) t::pg_catalog.text
        WHEN 'held' THEN
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('held', pg_catalog.cardinality(keys),
                         'note', 'held: ' OPERATOR(pg_catalog.||) (held OPERATOR(pg_catalog.->>) t::pg_catalog.text),
                         'legal_reason', 'legal hold: ' OPERATOR(pg_catalog.||) (held OPERATOR(pg_catalog.->>) t::pg_catalog.text));
        WHEN 'retain' THEN
            SELECT s.tbl, s.purpose, s.retention INTO reg
              FROM privacy._subject_origins() o JOIN privacy.subject_tables s ON s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) o.origin
             WHERE o.relid OPERATOR(pg_catalog.=) t;
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('retained', pg_catalog.cardinality(keys),
                         'legal_reason', pg_catalog.format('kept as required by law (on_erasure rule "retain" of %s)%s%s',
                             COALESCE(reg.tbl::pg_catalog.text, t::pg_catalog.regclass::pg_catalog.text),
                             ': ' OPERATOR(pg_catalog.||) reg.purpose,
                             ', for ' OPERATOR(pg_catalog.||) COALESCE(
                                 privacy._subject_retention_policy(t) OPERATOR(pg_catalog.->>) 'period', reg.retention)));
        WHEN 'anonymize' THEN
            res := privacy._erase_subject_rows(t, 'anonymize', NULL, 'Its on_erasure rule is anonymize.');
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('anonymized', res OPERATOR(pg_catalog.->) 'rows',
                         'cleared', res OPERATOR(pg_catalog.->) 'cleared', 'anonymized_with', res OPERATOR(pg_catalog.->) 'anonymized_with');
        ELSE
            added := privacy._keys_of(forced, t);
            keys := ARRAY(SELECT k FROM pg_catalog.unnest(keys) k EXCEPT SELECT k FROM pg_catalog.unnest(added) k);
            n := (privacy._erase_subject_rows(t, 'delete', keys) OPERATOR(pg_catalog.->>) 'rows')::bigint;
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('deleted', n);
            IF pg_catalog.cardinality(added) OPERATOR(pg_catalog.>) 0 THEN
                why := pg_catalog.format('%s rows are still referenced by rows kept in %s, so they are anonymized instead of deleted.',
                           pg_catalog.cardinality(added),
                           (SELECT pg_catalog.string_agg(DISTINCT b, ', ') FROM pg_catalog.jsonb_array_elements_text(
                                forced_by OPERATOR(pg_catalog.->) t::pg_catalog.text) b));
                res := privacy._erase_subject_rows(t, 'anonymize', added, why);
                entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('anonymized', res OPERATOR(pg_catalog.->) 'rows',
                             'cleared', res OPERATOR(pg_catalog.->) 'cleared',
                             'anonymized_with', res OPERATOR(pg_catalog.->) 'anonymized_with', 'note', why);
            END IF;
        END CASE;
        report := report OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(entry);
    END LOOP;

    RETURN pg_catalog.jsonb_build_object(
        'subject', subject,
        'reason', reason,
        'request_id', ctx OPERATOR(pg_catalog.->) 'request_id',
        'erased_at', pg_catalog.clock_timestamp(),
        'status', CASE WHEN pg_catalog.jsonb_array_length(ctx OPERATOR(pg_catalog.->) 'holds') OPERATOR(pg_catalog.>) 0
                       THEN 'partial' ELSE 'complete' END,
        'tables', report,
        'held', ctx OPERATOR(pg_catalog.->) 'holds');
END
$$;
COMMENT ON FUNCTION privacy._erase_subject(text, text, jsonb, jsonb) IS
  'Erases a subject''s rows found by _subject_rows, per on_erasure, in foreign-key order, each table changed as its owner (called by erase_subject)';
REVOKE ALL ON FUNCTION privacy._erase_subject(text, text, jsonb, jsonb) FROM PUBLIC;

-- After an erasure, as the extension owner: destroy the subject's own key
-- (unless some of the subject's data is held) and write the deletion log
-- (privacy.deletion_log of retention, when installed).  Returns the report
-- completed with what was done.
CREATE OR REPLACE FUNCTION privacy._finish_erasure(subject text, report jsonb, caller text, close_request boolean)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kname  text := privacy.subject_key_name(subject);
    status text;
    key    jsonb;
    logged boolean := false;
    e      jsonb;
    act    text;
    closed boolean := false;
    erased text[];
BEGIN
    SELECT k.status INTO status FROM privacy.keys k
     WHERE k.name OPERATOR(pg_catalog.=) kname ORDER BY k.version DESC LIMIT 1;
    IF status IS NULL THEN
        key := pg_catalog.jsonb_build_object('name', kname, 'existed', false, 'destroyed', false);
    ELSIF status OPERATOR(pg_catalog.=) 'destroyed' THEN
        key := pg_catalog.jsonb_build_object('name', kname, 'existed', true, 'destroyed', true);
    ELSIF pg_catalog.jsonb_array_length(report OPERATOR(pg_catalog.->) 'held') OPERATOR(pg_catalog.>) 0 THEN
        key := pg_catalog.jsonb_build_object('name', kname, 'existed', true, 'destroyed', false,
                                             'note', 'kept: some of the subject''s data is held');
    ELSE
        PERFORM privacy.destroy_key(kname);
        key := pg_catalog.jsonb_build_object('name', kname, 'existed', true, 'destroyed', true);
    END IF;

    IF pg_catalog.to_regclass('privacy.deletion_log') IS NOT NULL
       AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a
             WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('privacy.deletion_log')
               AND NOT a.attisdropped
               AND a.attname IN ('relid', 'table_name', 'policy', 'action', 'rows', 'role', 'note'))
           OPERATOR(pg_catalog.=) 7 THEN
        FOR e IN SELECT x FROM pg_catalog.jsonb_array_elements(report OPERATOR(pg_catalog.->) 'tables') x LOOP
            FOREACH act IN ARRAY ARRAY['deleted', 'anonymized'] LOOP
                CONTINUE WHEN (e OPERATOR(pg_catalog.->>) act)::bigint OPERATOR(pg_catalog.=) 0;
                EXECUTE 'INSERT INTO privacy.deletion_log (relid, table_name, policy, action, rows, role, note) '
                        'VALUES ($1, $2, ''erasure'', $3, $4, $5, $6)'
                  USING (e OPERATOR(pg_catalog.->>) 'table')::pg_catalog.regclass::pg_catalog.oid,
                        e OPERATOR(pg_catalog.->>) 'table',
                        CASE act WHEN 'deleted' THEN 'delete' ELSE 'anonymize' END,
                        (e OPERATOR(pg_catalog.->>) act)::bigint, caller,
                        pg_catalog.format('erase_subject, request %s: %s',
                                          COALESCE(report OPERATOR(pg_catalog.->>) 'request_id', 'none'),
                                          report OPERATOR(pg_catalog.->>) 'reason');
            END LOOP;
        END LOOP;
        logged := true;
    END IF;
    IF close_request THEN
        closed := privacy._close_answered_request(report,
                      'erased by erase_subject (' OPERATOR(pg_catalog.||) (report OPERATOR(pg_catalog.->>) 'status')
                      OPERATOR(pg_catalog.||) ')');
    END IF;
    -- Art. 19: the recipients of the tables whose rows were deleted or anonymized
    erased := ARRAY(SELECT x OPERATOR(pg_catalog.->>) 'table' FROM pg_catalog.jsonb_array_elements(report OPERATOR(pg_catalog.->) 'tables') x
                     WHERE (x OPERATOR(pg_catalog.->>) 'deleted')::bigint OPERATOR(pg_catalog.>) 0
                        OR (x OPERATOR(pg_catalog.->>) 'anonymized')::bigint OPERATOR(pg_catalog.>) 0);
    RETURN report OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
        'erased_by', caller,
        'controller', NULLIF(pg_catalog.current_setting('privacy.controller'), ''),
        'recipients_to_notify', COALESCE((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('name', r.name, 'country', r.country,
                       'tables', CASE WHEN r.tbl IS NULL THEN pg_catalog.to_jsonb(erased)
                                      ELSE pg_catalog.jsonb_build_array(r.tbl::pg_catalog.text) END) ORDER BY r.name, r.id)
              FROM privacy.recipients r
             WHERE pg_catalog.cardinality(erased) OPERATOR(pg_catalog.>) 0
               AND (r.tbl IS NULL OR r.tbl::pg_catalog.text OPERATOR(pg_catalog.=) ANY (erased))), '[]'),
        'backups', 'Erased rows remain in existing backups and archived WAL until these expire; restoring one must be '
                   'followed by this erasure again (see privacy.deletion_log). Values encrypted with the subject''s own key '
                   'cannot be decrypted in any copy once that key is destroyed.',
        'request_closed', closed,
        'key', key, 'deletion_log', logged);
END
$$;
COMMENT ON FUNCTION privacy._finish_erasure(text, jsonb, text, boolean) IS
  'Destroys the subject''s key unless data is held, writes privacy.deletion_log, closes the erasure request, adds actor, controller, recipients to notify and the note on backups, as the extension owner';
REVOKE ALL ON FUNCTION privacy._finish_erasure(text, jsonb, text, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.erase_subject(subject text, reason text, request_id int DEFAULT NULL,
                                                 close_request boolean DEFAULT true) RETURNS jsonb
AS 'MODULE_PATHNAME', 'privacy_erase_subject' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.erase_subject(text, text, int, boolean) IS
  'Right to erasure (GDPR Art. 17) across the registered tables in foreign-key order, per on_erasure; held data is kept and listed; destroys the subject''s key; closes the erasure request unless close_request is false; audited';
REVOKE ALL ON FUNCTION privacy.erase_subject(text, text, int, boolean) FROM PUBLIC;

-- ---------------------------------------------------------------- rights

-- Grants a role (a DPO) everything needed to answer requests: the
-- data-subject functions and views, USAGE on the schemas and SELECT, UPDATE
-- and DELETE on every table of the subject graph (export reads them, erasure
-- deletes and anonymizes), and with plaintext SELECT on their _decrypted
-- views (protected columns exported in clear).  Runs with the caller's rights:
-- the caller must be able to grant each of these (the tables' owner, or a
-- superuser).  Call it again after registering more tables.
CREATE OR REPLACE FUNCTION privacy.grant_subject_rights(role regrole, plaintext boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.export_subject(pg_catalog.text, pg_catalog.int4, pg_catalog.bool), '
        'privacy.export_subject_html(pg_catalog.text, pg_catalog.int4), '
        'privacy.erase_subject(pg_catalog.text, pg_catalog.text, pg_catalog.int4, pg_catalog.bool), '
        'privacy.open_request(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz), '
        'privacy.close_request(pg_catalog.int4, pg_catalog.text), '
        'privacy.record_consent(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.text), '
        'privacy.has_consent(pg_catalog.text, pg_catalog.text), privacy.consent_history(pg_catalog.text), '
        'privacy.restrict(pg_catalog.text, pg_catalog.text), privacy.unrestrict(pg_catalog.text), '
        'privacy.is_restricted(pg_catalog.text), '
        'privacy.register_recipient(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.regclass), '
        'privacy._subject_mask_rules(pg_catalog.oid) '
        'TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.data_map, privacy.open_requests, privacy.overdue_requests TO %s', role);
    FOR t IN SELECT g.relid::pg_catalog.regclass AS tbl, n.nspname
               FROM privacy._subject_graph() g
               JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) g.relid
               JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
              ORDER BY g.depth, g.relid LOOP
        EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', t.nspname, role);
        EXECUTE pg_catalog.format('GRANT SELECT, UPDATE, DELETE ON %s TO %s', t.tbl, role);
    END LOOP;
    IF plaintext THEN
        FOR t IN SELECT DISTINCT p.view
                   FROM privacy.protected_columns p
                   JOIN privacy._subject_graph() g ON g.relid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid
                  WHERE p.view IS NOT NULL LOOP
            EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', t.view, role);
        END LOOP;
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION privacy.detokenize(pg_catalog.text, pg_catalog.text) TO %s', role);
    END IF;
END
$$;
COMMENT ON FUNCTION privacy.grant_subject_rights(regrole, boolean) IS
  'Grants a role (a DPO) the data-subject functions and views and the rights on the registered tables export and erasure need; with plaintext, their _decrypted views and detokenize';
REVOKE ALL ON FUNCTION privacy.grant_subject_rights(regrole, boolean) FROM PUBLIC;

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

-- Registering, changing or unregistering a table with masking rules changes
-- its masked view's filter (a row trigger: statements touching no row, such as
-- the clean-up after DROP TABLE, must not rebuild views mid-command).
CREATE OR REPLACE FUNCTION privacy._subject_tables_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE'
       AND EXISTS (SELECT 1 FROM privacy.masking_rules m WHERE m.tbl OPERATOR(pg_catalog.=) NEW.tbl) THEN
        PERFORM privacy.refresh_masked_views();
    ELSIF TG_OP OPERATOR(pg_catalog.=) 'DELETE'
       AND EXISTS (SELECT 1 FROM privacy.masking_rules m WHERE m.tbl OPERATOR(pg_catalog.=) OLD.tbl)
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) OLD.tbl) THEN
        PERFORM privacy.refresh_masked_views();
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION privacy._subject_tables_changed() FROM PUBLIC;
COMMENT ON FUNCTION privacy._subject_tables_changed() IS
  'Trigger of privacy.subject_tables: rebuilds the masked views whose row filter (restricted subjects) a registration changes';
CREATE OR REPLACE TRIGGER subject_tables_changed
    AFTER INSERT OR UPDATE OR DELETE ON privacy.subject_tables
    FOR EACH ROW EXECUTE FUNCTION privacy._subject_tables_changed();

-- Internal functions of this module executable by PUBLIC (the default, kept on
-- purpose), each for the reason given; the others are REVOKEd from PUBLIC above.
-- PUBLIC: invoker-rights helpers of export/erasure and of the data_map view (read by DPOs):
-- they read only the catalog and the PUBLIC-readable registry, or compute on their arguments.
GRANT EXECUTE ON FUNCTION privacy._subject_graph(), privacy._subject_edges(oid[]),
    privacy._has_leading_index(oid, name[]), privacy._subject_index_warnings(oid), privacy._subject_rules(),
    privacy._subject_retention(oid), privacy._subject_masked(oid, name), privacy._key_expr(text),
    privacy._key_match(text, int, int), privacy._key_ctids(text[]), privacy._keys_of(jsonb, oid),
    privacy._export_columns(oid, name[]), privacy._subject_processing(oid, text, oid),
    privacy._subject_origins(), privacy._subject_retention_policy(oid), privacy._subject_rights(text),
    privacy._erasure_defaults(oid) TO PUBLIC;
