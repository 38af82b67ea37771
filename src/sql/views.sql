-- Masking rules and masked views (src/views.c).  The rules are security
-- labels of provider "privacy", checked by the C module when they are set;
-- privacy.masking_rules and the views of the masked schema (GUC
-- privacy.masked_schema) are rebuilt from them by refresh_masked_views(),
-- which event triggers call after DDL.  Neither is dumped: pg_dump dumps the
-- labels, and restoring them rebuilds both.

-- One row per masked column: expr is an SQL expression over the table's
-- columns by their bare names, deparsed with search_path = pg_catalog, pg_temp
-- (run it under that search_path).
CREATE TABLE IF NOT EXISTS privacy.masking_rules (
    tbl  regclass NOT NULL,
    col  name NOT NULL,
    expr text NOT NULL,
    PRIMARY KEY (tbl, col)
);
REVOKE ALL ON privacy.masking_rules FROM PUBLIC;
COMMENT ON TABLE privacy.masking_rules IS
  'Masked columns and their masking expressions, rebuilt from the security labels of provider privacy';

CREATE OR REPLACE FUNCTION privacy._mask_rule(tbl regclass, col name, label text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_mask_rule' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION privacy._mask_rule(regclass, name, text) FROM PUBLIC;
COMMENT ON FUNCTION privacy._mask_rule(regclass, name, text) IS
  'Checks a column label of provider privacy; its masking expression, deparsed (NULL for NOT MASKED)';

-- The query of a table's masked view: every column in order, masked ones
-- through their rules.  The view is a security_barrier, so a row filter added
-- here (restricted data subjects) cannot be bypassed by leaky functions, and
-- security_invoker: the reader's grants and row-level security policies on
-- the table apply (the permission hook admits a masked session's read of the
-- table only through the view).
-- The row filter comes from the subject module, which owns the registry and
-- the restrictions (privacy._masked_view_filter, defined in requests.sql).
CREATE OR REPLACE FUNCTION privacy._masked_view_query(tbl regclass) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT pg_catalog.format('SELECT %s FROM %s t%s',
               pg_catalog.string_agg(
                   CASE WHEN r.expr IS NULL THEN pg_catalog.quote_ident(a.attname)
                        ELSE pg_catalog.format('(%s) AS %I', r.expr, a.attname) END,
                   ', ' ORDER BY a.attnum),
               $1, privacy._masked_view_filter($1))
      FROM pg_catalog.pg_attribute a
      LEFT JOIN privacy.masking_rules r
        ON r.tbl OPERATOR(pg_catalog.=) $1 AND r.col OPERATOR(pg_catalog.=) a.attname
     WHERE a.attrelid OPERATOR(pg_catalog.=) $1
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped);
END
$$;
REVOKE ALL ON FUNCTION privacy._masked_view_query(regclass) FROM PUBLIC;
COMMENT ON FUNCTION privacy._masked_view_query(regclass) IS
  'SELECT statement of a table''s masked view';

-- Roles labelled MASKED (directly; members of them inherit their grants).
CREATE OR REPLACE FUNCTION privacy._masked_roles() RETURNS SETOF oid
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.objoid FROM pg_catalog.pg_shseclabel s
     WHERE s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass
       AND s.provider OPERATOR(pg_catalog.=) 'privacy'
       AND pg_catalog.upper(pg_catalog.btrim(s.label)) OPERATOR(pg_catalog.=) 'MASKED'
$$;
REVOKE ALL ON FUNCTION privacy._masked_roles() FROM PUBLIC;
COMMENT ON FUNCTION privacy._masked_roles() IS 'Roles labelled MASKED';

-- Relations of schema privacy that the masked views read (a row filter of
-- the subject module reads privacy.restrictions): masked views are
-- security_invoker, so masked roles need SELECT on them; the permission hook
-- lets a masked session read them only through a masked view.
CREATE OR REPLACE FUNCTION privacy._masked_view_reads() RETURNS SETOF regclass
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT DISTINCT d.refobjid::pg_catalog.regclass
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_rewrite w ON w.oid OPERATOR(pg_catalog.=) d.objid
      JOIN pg_catalog.pg_class v ON v.oid OPERATOR(pg_catalog.=) w.ev_class
      JOIN pg_catalog.pg_namespace vn ON vn.oid OPERATOR(pg_catalog.=) v.relnamespace
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.refobjid
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
       AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND vn.nspname OPERATOR(pg_catalog.=) pg_catalog.current_setting('privacy.masked_schema')
       AND c.relnamespace OPERATOR(pg_catalog.=) 'privacy'::pg_catalog.regnamespace
       AND c.relkind IN ('r', 'v', 'p')
$$;
REVOKE ALL ON FUNCTION privacy._masked_view_reads() FROM PUBLIC;
COMMENT ON FUNCTION privacy._masked_view_reads() IS
  'Relations of schema privacy read by the masked views (their row filters)';

-- Give a masked role, in this database, USAGE on the masked schema, SELECT on
-- its views (and on what their row filters read), a search_path that starts
-- with it (and the library loaded at connection, so that the permission hook
-- is there even without shared_preload_libraries); or take all of that back.
-- The views are security_invoker: the role also needs SELECT on the tables
-- it may read, as for the tables themselves (a DBA grants those).
CREATE OR REPLACE FUNCTION privacy._setup_masked_role(role oid, masked boolean) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r    text := pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(role));
    db   text := pg_catalog.quote_ident(pg_catalog.current_database());
    nsp  name := pg_catalog.current_setting('privacy.masked_schema');
    rel  pg_catalog.regclass;
BEGIN
    IF masked THEN
        PERFORM privacy._create_masked_schema(nsp);
        EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', nsp, r);
        EXECUTE pg_catalog.format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %s', nsp, r);
        FOR rel IN SELECT x FROM privacy._masked_view_reads() x LOOP
            EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', rel, r);
        END LOOP;
        EXECUTE pg_catalog.format('ALTER ROLE %s IN DATABASE %s SET search_path = %I, "$user", public',
                                  r, db, nsp);
        EXECUTE pg_catalog.format('ALTER ROLE %s IN DATABASE %s SET session_preload_libraries = privacy',
                                  r, db);
    ELSE
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) nsp) THEN
            FOR rel IN SELECT x FROM privacy._masked_view_reads() x LOOP
                EXECUTE pg_catalog.format('REVOKE SELECT ON %s FROM %s', rel, r);
            END LOOP;
            EXECUTE pg_catalog.format('REVOKE SELECT ON ALL TABLES IN SCHEMA %I FROM %s', nsp, r);
            EXECUTE pg_catalog.format('REVOKE USAGE ON SCHEMA %I FROM %s', nsp, r);
        END IF;
        EXECUTE pg_catalog.format('ALTER ROLE %s IN DATABASE %s RESET search_path', r, db);
        EXECUTE pg_catalog.format('ALTER ROLE %s IN DATABASE %s RESET session_preload_libraries', r, db);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION privacy._setup_masked_role(oid, boolean) FROM PUBLIC;
COMMENT ON FUNCTION privacy._setup_masked_role(oid, boolean) IS
  'Grants a masked role the masked schema (and what its views'' row filters read) and its search_path in this database, or takes them back';

-- The masked schema, owned by the extension owner, closed to PUBLIC.
CREATE OR REPLACE FUNCTION privacy._create_masked_schema(nsp name) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) nsp) THEN
        EXECUTE pg_catalog.format('CREATE SCHEMA %I', nsp);
        EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', nsp);
        EXECUTE pg_catalog.format('COMMENT ON SCHEMA %I IS %L', nsp,
                                  'Masked views of tables with masking rules (privacy.refresh_masked_views)');
    END IF;
END
$$;
REVOKE ALL ON FUNCTION privacy._create_masked_schema(name) FROM PUBLIC;
COMMENT ON FUNCTION privacy._create_masked_schema(name) IS 'Creates the masked schema if it is missing';

-- Tables with a column labelled by provider privacy: one masked view each.
-- Tables with masking labels that get a masked view.  Views keep their table's
-- name, so when several labelled tables share a name, a table owned by a
-- superuser or by the database owner takes it before tables of other owners
-- (which then have no masked view: masked roles cannot read them at all); a
-- tie is refused by refresh_masked_views.
CREATE OR REPLACE FUNCTION privacy._labelled_tables() RETURNS TABLE (tbl oid, relname name)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH labelled AS (
        SELECT DISTINCT c.oid, c.relname,
               (r.rolsuper OR c.relowner OPERATOR(pg_catalog.=) d.datdba) AS trusted
          FROM pg_catalog.pg_seclabel s
          JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) s.objoid
          JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) c.relowner
          JOIN pg_catalog.pg_database d ON d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
         WHERE s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND s.provider OPERATOR(pg_catalog.=) 'privacy' AND s.objsubid OPERATOR(pg_catalog.>) 0),
    ranked AS (
        SELECT l.oid, l.relname,
               pg_catalog.rank() OVER (PARTITION BY l.relname ORDER BY l.trusted DESC) AS rk
          FROM labelled l)
    SELECT k.oid, k.relname FROM ranked k WHERE k.rk OPERATOR(pg_catalog.=) 1
$$;
REVOKE ALL ON FUNCTION privacy._labelled_tables() FROM PUBLIC;
COMMENT ON FUNCTION privacy._labelled_tables() IS
  'Tables with masking labels that get a masked view (trusted owners first when names collide)';

CREATE OR REPLACE FUNCTION privacy.refresh_masked_views() RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp    name := pg_catalog.current_setting('privacy.masked_schema');
    nspoid oid;
    r      record;
    v      text;
    n      int := 0;
BEGIN
    -- the rules, from the labels (each one checked again)
    DELETE FROM privacy.masking_rules;
    -- (materialized: _mask_rule must see only existing, labelled columns)
    WITH labels AS MATERIALIZED (
        SELECT s.objoid AS tbl, a.attname AS col, s.label
          FROM pg_catalog.pg_seclabel s
          JOIN pg_catalog.pg_attribute a
            ON a.attrelid OPERATOR(pg_catalog.=) s.objoid AND a.attnum OPERATOR(pg_catalog.=) s.objsubid
         WHERE s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND s.provider OPERATOR(pg_catalog.=) 'privacy'
           AND s.objsubid OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped),
    rules AS MATERIALIZED (
        SELECT l.tbl, l.col, privacy._mask_rule(l.tbl, l.col, l.label) AS expr FROM labels l)
    INSERT INTO privacy.masking_rules (tbl, col, expr)
    SELECT ru.tbl, ru.col, ru.expr FROM rules ru WHERE ru.expr IS NOT NULL;

    SELECT pg_catalog.string_agg(l.tbl::pg_catalog.regclass::text, ', ') AS tables, l.relname INTO r
      FROM privacy._labelled_tables() l GROUP BY l.relname HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'tables % would have the same masked view %.%', r.tables, nsp, r.relname
            USING ERRCODE = 'duplicate_table',
                  HINT = 'Masked views keep their table''s name: rename one of the tables.';
    END IF;

    IF NOT EXISTS (SELECT 1 FROM privacy._labelled_tables())
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace ns WHERE ns.nspname OPERATOR(pg_catalog.=) nsp) THEN
        RETURN 0;
    END IF;
    PERFORM privacy._create_masked_schema(nsp);
    SELECT ns.oid INTO nspoid FROM pg_catalog.pg_namespace ns WHERE ns.nspname OPERATOR(pg_catalog.=) nsp;

    -- views of tables that lost their rules or are gone
    FOR r IN SELECT c.relname FROM pg_catalog.pg_class c
              WHERE c.relnamespace OPERATOR(pg_catalog.=) nspoid AND c.relkind OPERATOR(pg_catalog.=) 'v'
                AND c.relname NOT IN (SELECT l.relname FROM privacy._labelled_tables() l) LOOP
        EXECUTE pg_catalog.format('DROP VIEW %I.%I', nsp, r.relname);
    END LOOP;

    FOR r IN SELECT l.tbl, l.relname FROM privacy._labelled_tables() l ORDER BY l.relname LOOP
        v := pg_catalog.format('%I.%I', nsp, r.relname);
        BEGIN
            EXECUTE pg_catalog.format('CREATE OR REPLACE VIEW %s WITH (security_barrier, security_invoker) AS %s',
                                      v, privacy._masked_view_query(r.tbl));
        EXCEPTION WHEN invalid_table_definition THEN
            -- a column renamed, dropped or of another type: start afresh
            EXECUTE pg_catalog.format('DROP VIEW %s', v);
            EXECUTE pg_catalog.format('CREATE VIEW %s WITH (security_barrier, security_invoker) AS %s',
                                      v, privacy._masked_view_query(r.tbl));
        END;
        EXECUTE pg_catalog.format('COMMENT ON VIEW %s IS %L', v,
                                  pg_catalog.format('Masked view of %s (privacy.refresh_masked_views)', r.tbl::pg_catalog.regclass));
        n := n OPERATOR(pg_catalog.+) 1;
    END LOOP;

    FOR r IN SELECT m.role FROM privacy._masked_roles() m(role)
              WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.oid OPERATOR(pg_catalog.=) m.role) LOOP
        PERFORM privacy._setup_masked_role(r.role, true);
    END LOOP;
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION privacy.refresh_masked_views() FROM PUBLIC;
COMMENT ON FUNCTION privacy.refresh_masked_views() IS
  'Rebuilds privacy.masking_rules and the masked views from the masking labels; returns the number of views';

CREATE OR REPLACE FUNCTION privacy.mask_column(tbl regclass, col name, expr text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF expr IS NOT NULL THEN   -- removing a rule stays possible
        PERFORM privacy._citus_refuse(tbl, 'privacy.mask_column',
            'Masked roles would need SELECT on the table for Citus''s shard queries and could read it on a worker: '
            'give such roles a view or a copy with privacy.pseudonymize()/mask_*() applied instead.');
    END IF;
    EXECUTE pg_catalog.format('SECURITY LABEL FOR privacy ON COLUMN %s.%I IS %L', tbl, col,
                              CASE WHEN expr IS NOT NULL THEN 'MASKED WITH FUNCTION ' OPERATOR(pg_catalog.||) expr END);
END
$$;
COMMENT ON FUNCTION privacy.mask_column(regclass, name, text) IS
  'Sets the masking rule of a column (SECURITY LABEL ... IS ''MASKED WITH FUNCTION expr''); NULL removes it';

-- Keep the masked schema in step with DDL: labels set, tables and columns
-- renamed, added, retyped or dropped.
CREATE OR REPLACE FUNCTION privacy._views_on_ddl_end(tag text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tag OPERATOR(pg_catalog.=) 'SECURITY LABEL'
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() d
                   JOIN pg_catalog.pg_seclabel s ON s.objoid OPERATOR(pg_catalog.=) d.objid
                  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND s.provider OPERATOR(pg_catalog.=) 'privacy') THEN
        PERFORM privacy.refresh_masked_views();
    END IF;
END
$$;
REVOKE ALL ON FUNCTION privacy._views_on_ddl_end(text) FROM PUBLIC;
COMMENT ON FUNCTION privacy._views_on_ddl_end(text) IS
  'ddl_command_end handler of the views module (called by privacy._on_ddl_end): rebuilds the masked views after a label or a labelled table changes';

CREATE OR REPLACE FUNCTION privacy._views_on_sql_drop() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_dropped_objects() d
                WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                  AND (d.objid IN (SELECT r.tbl::pg_catalog.oid FROM privacy.masking_rules r)
                       OR d.objid IN (SELECT s.objoid FROM pg_catalog.pg_seclabel s
                                       WHERE s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                                         AND s.provider OPERATOR(pg_catalog.=) 'privacy'))) THEN
        PERFORM privacy.refresh_masked_views();
    END IF;
END
$$;
REVOKE ALL ON FUNCTION privacy._views_on_sql_drop() FROM PUBLIC;
COMMENT ON FUNCTION privacy._views_on_sql_drop() IS
  'sql_drop handler of the views module (called by privacy._on_sql_drop): rebuilds the masked views after a labelled table or column is dropped';

-- Masked views made by 0.1.0 read their tables with their owner's rights:
-- bring them to security_invoker, and give masked roles what the views' row
-- filters read.  (Nothing to do in a database without masked views.)
DO $$
DECLARE
    nsp name := COALESCE(pg_catalog.current_setting('privacy.masked_schema', true), 'privacy_masked');
    v   pg_catalog.regclass;
    m   oid;
BEGIN
    FOR v IN SELECT c.oid FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
              WHERE n.nspname OPERATOR(pg_catalog.=) nsp AND c.relkind OPERATOR(pg_catalog.=) 'v'
                AND NOT COALESCE(c.reloptions OPERATOR(pg_catalog.@>) '{security_invoker=true}', false) LOOP
        EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', v);
    END LOOP;
    IF FOUND THEN
        FOR m IN SELECT x FROM privacy._masked_roles() x
                  WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles o WHERE o.oid OPERATOR(pg_catalog.=) x) LOOP
            PERFORM privacy._setup_masked_role(m, true);
        END LOOP;
    END IF;
END
$$;
