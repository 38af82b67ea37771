-- Data subjects (GDPR Art. 15-21): the registry of where a subject's data
-- lives (subject tables, recipients, the foreign-key graph, data_map),
-- per-subject keys and the rights a DPO role is granted.  The other parts of
-- the data-subject module: requests.sql (requests, consent, restriction),
-- export.sql (finding a subject's rows, export_subject), erasure.sql
-- (erase_subject) and render.sql (export_subject_html).
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
-- bookkeeping (ledger, holds, key destruction, deletion log) runs as the
-- extension owner.  None of them is
-- executable by PUBLIC but subject_key_name(); privacy.grant_subject_rights(role)
-- grants the set (is_restricted included: restriction status is personal data).

-- The erasure actions, the one definition every part reads (registration,
-- erasure, export, data_map): what erase_subject does with a table's rows of
-- the subject, ordered from least to most kept.  A table reached through
-- foreign keys without a rule of its own takes the greatest of its parents'.
DO $$
BEGIN
    IF pg_catalog.to_regtype('privacy.erasure_action') IS NULL THEN
        CREATE TYPE privacy.erasure_action AS ENUM ('delete', 'anonymize', 'retain');
    END IF;
END
$$;
COMMENT ON TYPE privacy.erasure_action IS
  'What erase_subject does with a table''s rows of the subject: delete, anonymize (masking rules or safe defaults) or retain (kept as required by law)';

CREATE TABLE IF NOT EXISTS privacy.subject_tables (
    tbl               regclass PRIMARY KEY,
    subject_column    name,
    categories        text[],
    purpose           text,
    on_erasure        privacy.erasure_action NOT NULL DEFAULT 'delete',
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
-- 0.1.0 stored on_erasure as text with a CHECK of its own
DO $$
BEGIN
    IF (SELECT a.atttypid FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) 'privacy.subject_tables'::pg_catalog.regclass
           AND a.attname OPERATOR(pg_catalog.=) 'on_erasure') OPERATOR(pg_catalog.=) 'pg_catalog.text'::pg_catalog.regtype THEN
        ALTER TABLE privacy.subject_tables DROP CONSTRAINT IF EXISTS subject_tables_on_erasure_check;
        ALTER TABLE privacy.subject_tables ALTER COLUMN on_erasure DROP DEFAULT;
        ALTER TABLE privacy.subject_tables ALTER COLUMN on_erasure TYPE privacy.erasure_action
            USING on_erasure::privacy.erasure_action;
        ALTER TABLE privacy.subject_tables ALTER COLUMN on_erasure SET DEFAULT 'delete';
    END IF;
END
$$;
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
    IF NOT COALESCE(on_erasure, '') OPERATOR(pg_catalog.=)
           ANY (pg_catalog.enum_range(NULL::privacy.erasure_action)::pg_catalog.text[]) THEN
        RAISE EXCEPTION 'invalid on_erasure rule "%"', on_erasure
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = pg_catalog.format('Use one of %s.', pg_catalog.array_to_string(
                      pg_catalog.enum_range(NULL::privacy.erasure_action)::pg_catalog.text[], ', '));
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
    VALUES (tbl, subject_column, categories, purpose, on_erasure::privacy.erasure_action, source, COALESCE(provided, false),
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
-- followed tables not registered inherit the greatest of their parents'
-- (in privacy.erasure_action's order: retain over anonymize over delete).
CREATE OR REPLACE FUNCTION privacy._subject_rules()
RETURNS TABLE (relid oid, subject_column name, depth int, on_erasure text, registered boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g      record;
    rules  jsonb := '{}';
    tbls   oid[];
BEGIN
    SELECT pg_catalog.array_agg(x.relid) INTO tbls FROM privacy._subject_graph() x;
    FOR g IN SELECT x.relid, x.subject_column, x.depth, s.on_erasure
               FROM privacy._subject_graph() x
               LEFT JOIN privacy.subject_tables s ON s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) x.relid
              ORDER BY x.depth, x.relid LOOP
        IF g.on_erasure IS NULL THEN
            SELECT COALESCE(pg_catalog.max((rules OPERATOR(pg_catalog.->>) e.parent::pg_catalog.text)::privacy.erasure_action),
                            'delete')
              INTO g.on_erasure
              FROM privacy._subject_edges(tbls) e
             WHERE e.child OPERATOR(pg_catalog.=) g.relid AND e.parent OPERATOR(pg_catalog.<>) g.relid;
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

-- Internal functions of this fragment executable by PUBLIC (the default, kept on
-- purpose), each for the reason given; the others are REVOKEd from PUBLIC above.
-- PUBLIC: invoker-rights helpers of export/erasure and of the data_map view (read by DPOs):
-- they read only the catalog and the PUBLIC-readable registry, or compute on their arguments.
GRANT EXECUTE ON FUNCTION privacy._subject_graph(), privacy._subject_edges(oid[]),
    privacy._has_leading_index(oid, name[]), privacy._subject_index_warnings(oid), privacy._subject_rules(),
    privacy._subject_retention(oid), privacy._subject_masked(oid, name) TO PUBLIC;
