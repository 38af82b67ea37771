-- Retention: per-table policies stamped by a C row trigger, legal holds, the
-- batched purge and its evidence (privacy.deletion_log).  The registries are
-- extension configuration (dumped by pg_dump); they are written only through
-- the owner-checked functions below.
CREATE TABLE IF NOT EXISTS privacy.retention_policies (
    tbl           regclass PRIMARY KEY,
    keep          interval NOT NULL CHECK (keep OPERATOR(pg_catalog.>) '0'::pg_catalog.interval),
    since_column  name,
    action        text NOT NULL CHECK (action IN ('delete', 'anonymize')),
    expiry_column name NOT NULL,
    set_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    set_by        name NOT NULL
);
REVOKE ALL ON privacy.retention_policies FROM PUBLIC;
GRANT SELECT ON privacy.retention_policies TO PUBLIC;
COMMENT ON TABLE privacy.retention_policies IS
  'Retention policy per table: how long rows are kept, counted from which column, and what happens then';
SELECT pg_catalog.pg_extension_config_dump('privacy.retention_policies', '');

-- A hold covers a whole table (predicate NULL) or the rows of a table matching
-- a predicate; subject names the data subject it was placed for, if any.
CREATE TABLE IF NOT EXISTS privacy.legal_holds (
    id          serial PRIMARY KEY,
    reason      text NOT NULL,
    tbl         regclass,           -- NULL: a hold on a subject in every table
    subject     text,
    predicate   text,
    until       timestamptz,
    placed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    placed_by   name NOT NULL,
    released_at timestamptz,
    released_by name,
    CHECK (tbl IS NOT NULL OR (subject IS NOT NULL AND predicate IS NULL))
);
CREATE INDEX IF NOT EXISTS legal_holds_tbl_idx ON privacy.legal_holds (tbl) WHERE released_at IS NULL;
CREATE INDEX IF NOT EXISTS legal_holds_subject_idx ON privacy.legal_holds (subject) WHERE subject IS NOT NULL;
REVOKE ALL ON privacy.legal_holds FROM PUBLIC;
COMMENT ON TABLE privacy.legal_holds IS
  'Legal holds: held tables and rows are never purged or erased while the hold lasts';
SELECT pg_catalog.pg_extension_config_dump('privacy.legal_holds', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.legal_holds_id_seq', '');

CREATE OR REPLACE VIEW privacy.active_holds AS
SELECT h.* FROM privacy.legal_holds h
 WHERE h.released_at IS NULL AND (h.until IS NULL OR h.until OPERATOR(pg_catalog.>) pg_catalog.now());
REVOKE ALL ON privacy.active_holds FROM PUBLIC;
COMMENT ON VIEW privacy.active_holds IS 'Legal holds in force now';

-- Evidence: one row per table and purge run (and, later, per erasure).  The
-- row of a running purge is updated in the transaction of each batch, so the
-- count always matches what was committed, even after a crash.
CREATE SEQUENCE IF NOT EXISTS privacy.purge_run_seq;
CREATE TABLE IF NOT EXISTS privacy.deletion_log (
    id          bigserial PRIMARY KEY,
    run_id      bigint,
    at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at timestamptz,
    relid       oid NOT NULL,
    table_name  text NOT NULL,
    partition   text,
    policy      text NOT NULL,
    action      text NOT NULL,
    rows        bigint NOT NULL DEFAULT 0,
    role        name NOT NULL,
    note        text,
    error       text
);
ALTER TABLE privacy.deletion_log ADD COLUMN IF NOT EXISTS held bigint NOT NULL DEFAULT 0;
ALTER TABLE privacy.deletion_log ADD COLUMN IF NOT EXISTS kept bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN privacy.deletion_log.held IS 'Expired rows left in place because a legal hold covers them (note: which)';
COMMENT ON COLUMN privacy.deletion_log.kept IS 'Expired rows left in place because rows that stay still reference them';
CREATE INDEX IF NOT EXISTS deletion_log_relid_idx ON privacy.deletion_log (relid, id);
CREATE INDEX IF NOT EXISTS deletion_log_at_idx ON privacy.deletion_log (at);
REVOKE ALL ON privacy.deletion_log FROM PUBLIC;
COMMENT ON TABLE privacy.deletion_log IS
  'Evidence of deletion: per table and purge run, the policy, action, rows removed and role';
SELECT pg_catalog.pg_extension_config_dump('privacy.deletion_log', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.deletion_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.purge_run_seq', '');

CREATE OR REPLACE FUNCTION privacy._retention_trigger() RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_retention_trigger' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._retention_trigger() IS
  'Row trigger of retained tables: stamps the expiry column on INSERT and UPDATE';

-- Maintenance rewrites of the extension (protect_column, unprotect_column,
-- reencrypt, through privacy._batch_update) keep each row's expiry: while on,
-- the retention trigger stamps an updated row with the expiry it had.
-- Executable by PUBLIC on purpose: those rewrites run with the caller's
-- rights, and all it allows is to keep an existing expiry.
-- A maintenance rewrite pushed down to Citus shards: the rows of the statement
-- whose new values go through it keep their expiry (src/retention.c).
-- IMMUTABLE only so that Citus runs it on the shards; not for indexes.
CREATE OR REPLACE FUNCTION privacy._keep_expiry(value anyelement) RETURNS anyelement
AS 'MODULE_PATHNAME', 'privacy_keep_expiry' LANGUAGE C IMMUTABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._keep_expiry(anyelement) IS
  'Returns its argument; the rows the current statement rewrites keep their retention expiry (Citus maintenance rewrites)';
REVOKE ALL ON FUNCTION privacy._keep_expiry(anyelement) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy._retention_keep_expiry(keep boolean) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_retention_keep_expiry_sql' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._retention_keep_expiry(boolean) IS
  'While on, updates keep each row''s retention expiry (maintenance rewrites); returns the previous setting';

CREATE OR REPLACE FUNCTION privacy._policy_write(tbl regclass, keep interval, since_column name,
                                      action text, expiry_column name)
RETURNS void AS 'MODULE_PATHNAME', 'privacy_policy_write' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE OR REPLACE FUNCTION privacy._policy_remove(tbl regclass)
RETURNS boolean AS 'MODULE_PATHNAME', 'privacy_policy_remove' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._policy_write(regclass, interval, name, text, name) IS
  'Records a table''s retention policy (table owner only); audited';
COMMENT ON FUNCTION privacy._policy_remove(regclass) IS
  'Forgets a table''s retention policy (table owner only); audited';

-- The text of a policy, as written to the deletion log and the report.
CREATE OR REPLACE FUNCTION privacy._policy_text(keep interval, since_column name, action text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.format('keep %s after %s, then %s', keep,
                         COALESCE(pg_catalog.quote_ident(since_column), 'the latest write'), action)
$$;
COMMENT ON FUNCTION privacy._policy_text(interval, name, text) IS
  'Human-readable form of a retention policy';

-- Tables a hold placed on tbl reaches: tbl and, when tbl is in the subject
-- graph (privacy._subject_graph), every table of the graph that references it
-- through foreign keys, at any depth.  Table level only: the subject's rows in
-- them are found by the graph walk of export and erasure.
CREATE OR REPLACE FUNCTION privacy._hold_reach(tbl oid) RETURNS oid[]
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbls     oid[];
    reach    oid[] := ARRAY[tbl];
    frontier oid[] := ARRAY[tbl];
BEGIN
    SELECT pg_catalog.array_agg(x.relid) INTO tbls FROM privacy._subject_graph() x;
    IF tbls IS NULL OR NOT tbl OPERATOR(pg_catalog.=) ANY (tbls) THEN
        RETURN reach;
    END IF;
    WHILE pg_catalog.cardinality(frontier) OPERATOR(pg_catalog.>) 0 LOOP
        frontier := ARRAY(SELECT DISTINCT e.child FROM privacy._subject_edges(tbls) e
                           WHERE e.parent OPERATOR(pg_catalog.=) ANY (frontier)
                             AND NOT e.child OPERATOR(pg_catalog.=) ANY (reach));
        reach := reach OPERATOR(pg_catalog.||) frontier;
    END LOOP;
    RETURN reach;
END
$$;
REVOKE ALL ON FUNCTION privacy._hold_reach(oid) FROM PUBLIC;
COMMENT ON FUNCTION privacy._hold_reach(oid) IS
  'A table and the tables of the subject graph referencing it through foreign keys, at any depth';

-- The active holds covering rows of tbl, one row each: a hold on the table
-- without a subject (cond: its predicate, or 'true' for the whole table), or
-- a hold on a subject (cond NULL, subject set) placed on no table, on tbl, or
-- on a table of the subject graph that tbl references through foreign keys
-- or that references tbl (the tables identifying the subject stay with it).
-- A hold on a subject and a table outside the subject graph holds that table.
-- SECURITY DEFINER: it only reads privacy.legal_holds and the catalogs; the
-- purge finds the subject's rows (the walk of export and erasure) and builds their
-- condition (privacy._subject_hold_condition) itself.
CREATE OR REPLACE FUNCTION privacy._holds_on(tbl regclass)
RETURNS TABLE (hold_id int, reason text, subject text, cond text)
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h        record;
    in_graph boolean;
BEGIN
    in_graph := EXISTS (SELECT 1 FROM privacy._subject_graph() x WHERE x.relid OPERATOR(pg_catalog.=) $1::pg_catalog.oid);
    FOR h IN SELECT a.* FROM privacy.active_holds a ORDER BY a.id LOOP
        hold_id := h.id; reason := h.reason; subject := NULL; cond := NULL;
        IF h.tbl OPERATOR(pg_catalog.=) $1 AND (h.predicate IS NOT NULL OR h.subject IS NULL OR NOT in_graph) THEN
            cond := CASE WHEN h.predicate IS NULL THEN 'true'
                         ELSE pg_catalog.format('COALESCE((%s), false)', h.predicate) END;
            RETURN NEXT;
        ELSIF h.subject IS NOT NULL AND h.predicate IS NULL AND in_graph
              AND (h.tbl IS NULL OR $1::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (privacy._hold_reach(h.tbl))
                   OR h.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (privacy._hold_reach($1))) THEN
            subject := h.subject;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION privacy._holds_on(regclass) FROM PUBLIC;
COMMENT ON FUNCTION privacy._holds_on(regclass) IS
  'Active legal holds covering rows of a table: whole-table and predicate holds with their condition, subject holds with their subject';

-- SQL condition over tbl's columns matching a subject's rows of tbl, from the
-- rows the graph walk of export and erasure found (privacy._subject_rows, run
-- by the purge for the caller, each lookup as its table's owner),
-- given as rows, {relid: [row identity, ...]}:
-- on a registered table its subject column; on a table reached through
-- foreign keys, the foreign-key values of the subject's rows in the tables it
-- references.  Values, not row addresses: rows updated or added meanwhile are
-- matched too.  Runs with the caller's rights (the purge: the table's owner).
CREATE OR REPLACE FUNCTION privacy._subject_hold_condition(tbl regclass, subject text, rows jsonb) RETURNS text
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col   name;
    tbls  oid[];
    e     record;
    keys  text[];
    vals  jsonb[];
    ids   text[];
    types text[];
    conds text[] := '{}';
BEGIN
    SELECT s.subject_column INTO col FROM privacy.subject_tables s
     WHERE s.tbl OPERATOR(pg_catalog.=) $1 AND s.subject_column IS NOT NULL;
    IF FOUND THEN
        -- a registered table: the subject column's values of the subject's
        -- rows, in the column's type (its index serves the condition)
        keys := privacy._keys_of(rows, $1::pg_catalog.oid);
        IF pg_catalog.cardinality(keys) OPERATOR(pg_catalog.>) 0 THEN
            ids := ARRAY(SELECT v OPERATOR(pg_catalog.->>) 0
                           FROM pg_catalog.unnest(privacy._key_values($1, ARRAY[col], keys)) v);
            RETURN pg_catalog.format('%I = ANY (%L::%s[])', col, ids::pg_catalog.text,
                       (SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
                         WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) col));
        END IF;
        RETURN pg_catalog.format('(%I)::pg_catalog.text OPERATOR(pg_catalog.=) %L', col, subject);
    END IF;
    SELECT pg_catalog.array_agg(x.relid) INTO tbls FROM privacy._subject_graph() x;
    FOR e IN SELECT * FROM privacy._subject_edges(tbls) x WHERE x.child OPERATOR(pg_catalog.=) $1::pg_catalog.oid LOOP
        keys := privacy._keys_of(rows, e.parent);
        CONTINUE WHEN pg_catalog.cardinality(keys) OPERATOR(pg_catalog.=) 0;
        -- the referenced columns' values of the subject's rows in the parent
        vals := privacy._key_values(e.parent, e.parent_cols, keys);
        CONTINUE WHEN vals IS NULL;
        types := ARRAY(SELECT pg_catalog.format_type(a.atttypid, a.atttypmod)
                         FROM pg_catalog.unnest(e.child_cols) WITH ORDINALITY c(n, i)
                         JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) e.child
                                                       AND a.attname OPERATOR(pg_catalog.=) c.n
                        ORDER BY c.i);
        IF pg_catalog.cardinality(e.child_cols) OPERATOR(pg_catalog.=) 1 THEN
            conds := conds OPERATOR(pg_catalog.||) pg_catalog.format('%I = ANY (%L::%s[])', e.child_cols[1],
                         (SELECT pg_catalog.array_agg(v OPERATOR(pg_catalog.->>) 0) FROM pg_catalog.unnest(vals) v)::pg_catalog.text,
                         types[1]);
        ELSE
            conds := conds OPERATOR(pg_catalog.||) pg_catalog.format('(%s) IN (%s)',
                         (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(x), ', ') FROM pg_catalog.unnest(e.child_cols) x),
                         (SELECT pg_catalog.string_agg('(' OPERATOR(pg_catalog.||)
                                     (SELECT pg_catalog.string_agg(pg_catalog.format('%L::%s', v OPERATOR(pg_catalog.->>) (i::int OPERATOR(pg_catalog.-) 1), types[i]), ', ')
                                        FROM pg_catalog.generate_subscripts(types, 1) i)
                                     OPERATOR(pg_catalog.||) ')', ', ')
                            FROM pg_catalog.unnest(vals) v));
        END IF;
    END LOOP;
    IF pg_catalog.cardinality(conds) OPERATOR(pg_catalog.=) 0 THEN
        RETURN 'false';
    END IF;
    RETURN '(' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(conds, ' OR ') OPERATOR(pg_catalog.||) ')';
END
$$;
COMMENT ON FUNCTION privacy._subject_hold_condition(regclass, text, jsonb) IS
  'SQL condition matching a subject''s rows of a table, from the rows the subject graph walk found';

-- SQL condition true for the rows of tbl (written as outer_ref) that rows of
-- other tables still reference through a foreign key: the purge keeps them
-- (children are purged first, so what remains there is kept).
CREATE OR REPLACE FUNCTION privacy._referenced_condition(tbl regclass, outer_ref text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(pg_catalog.string_agg(pg_catalog.format(
               'EXISTS (SELECT 1 FROM %s privacy_ref WHERE (%s) = (%s)%s)',
               c.conrelid::pg_catalog.regclass,
               (SELECT pg_catalog.string_agg(pg_catalog.format('privacy_ref.%I', a.attname), ', ' ORDER BY k.i)
                  FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.conrelid
                                                AND a.attnum OPERATOR(pg_catalog.=) k.n),
               (SELECT pg_catalog.string_agg(pg_catalog.format('%s.%I', outer_ref, a.attname), ', ' ORDER BY k.i)
                  FROM pg_catalog.unnest(c.confkey) WITH ORDINALITY k(n, i)
                  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.confrelid
                                                AND a.attnum OPERATOR(pg_catalog.=) k.n),
               CASE WHEN c.conrelid OPERATOR(pg_catalog.=) c.confrelid
                    THEN pg_catalog.format(' AND privacy_ref.ctid OPERATOR(pg_catalog.<>) %s.ctid', outer_ref) ELSE '' END),
               ' OR ' ORDER BY c.oid), 'false')
      FROM pg_catalog.pg_constraint c
     WHERE c.contype OPERATOR(pg_catalog.=) 'f' AND c.conparentid OPERATOR(pg_catalog.=) 0
       AND c.confrelid OPERATOR(pg_catalog.=) $1
$$;
REVOKE ALL ON FUNCTION privacy._referenced_condition(regclass, text) FROM PUBLIC;
COMMENT ON FUNCTION privacy._referenced_condition(regclass, text) IS
  'SQL condition matching the rows of a table that foreign keys of other rows still reference';

-- Retained tables in purge order: a table after every retained table
-- referencing it through a foreign key (their rows go first, so one run
-- clears a chain); in a cycle, the table with the lowest oid first.
CREATE OR REPLACE FUNCTION privacy._purge_order() RETURNS TABLE (tbl oid, ord int)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    remaining oid[];
    pick      oid[];
    n         int := 0;
    t         oid;
BEGIN
    SELECT COALESCE(pg_catalog.array_agg(p.tbl::pg_catalog.oid ORDER BY p.tbl::pg_catalog.oid), '{}') INTO remaining
      FROM privacy.retention_policies p;
    WHILE pg_catalog.cardinality(remaining) OPERATOR(pg_catalog.>) 0 LOOP
        pick := ARRAY(SELECT r FROM pg_catalog.unnest(remaining) r
                       WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                                          WHERE c.contype OPERATOR(pg_catalog.=) 'f'
                                            AND c.confrelid OPERATOR(pg_catalog.=) r
                                            AND c.conrelid OPERATOR(pg_catalog.<>) r
                                            AND c.conrelid OPERATOR(pg_catalog.=) ANY (remaining))
                       ORDER BY r);
        IF pg_catalog.cardinality(pick) OPERATOR(pg_catalog.=) 0 THEN
            pick := remaining[1:1];
        END IF;
        FOREACH t IN ARRAY pick LOOP
            n := n OPERATOR(pg_catalog.+) 1;
            tbl := t; ord := n;
            RETURN NEXT;
        END LOOP;
        remaining := ARRAY(SELECT r FROM pg_catalog.unnest(remaining) r WHERE NOT r OPERATOR(pg_catalog.=) ANY (pick) ORDER BY r);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION privacy._purge_order() FROM PUBLIC;
COMMENT ON FUNCTION privacy._purge_order() IS
  'Retained tables in foreign-key order: referencing tables first, cycles broken by oid';

-- Drop a table's retention trigger if it has one.
CREATE OR REPLACE FUNCTION privacy._drop_retention_trigger(tbl regclass) RETURNS void
LANGUAGE plpgsql STRICT VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF privacy._citus_kind(tbl) IS NOT NULL THEN
        -- the retention trigger only reads its own row: safe on every shard
        PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid OPERATOR(pg_catalog.=) tbl AND t.tgparentid OPERATOR(pg_catalog.=) 0
                  AND t.tgname OPERATOR(pg_catalog.=) 'zz_privacy_retention') THEN
        EXECUTE pg_catalog.format('DROP TRIGGER zz_privacy_retention ON %s', tbl);
    END IF;
END
$$;
COMMENT ON FUNCTION privacy._drop_retention_trigger(regclass) IS 'Drops a table''s retention trigger if it has one';

-- Checks, registry row, expiry column and its index of a retention policy
-- about to be set; returns the previous policy (NULLs when there was none).
-- The rows are re-stamped by set_retention (one transaction) or
-- set_retention_online (batches).
CREATE OR REPLACE FUNCTION privacy._retention_setup(tbl regclass, keep interval, since_column name,
                                                   action text, expiry_column name)
RETURNS privacy.retention_policies
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind     "char";
    typ      oid;
    old      privacy.retention_policies;
    expiry   text := pg_catalog.quote_ident(expiry_column);
    attnum   int2;
    citus    text;
BEGIN
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tbl;
    IF kind IS NULL OR kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'cannot set a retention policy on "%"', tbl
            USING ERRCODE = 'wrong_object_type', DETAIL = 'Only tables can have a retention policy.';
    END IF;
    citus := privacy._citus_kind(tbl);
    PERFORM privacy._citus_refuse(tbl, 'privacy.set_retention',
        'Delete expired rows with DELETE ... WHERE <time column> < now() - <period>, which Citus runs on every placement.',
        ARRAY['reference', 'citus local']);
    IF action OPERATOR(pg_catalog.=) 'anonymize' THEN
        PERFORM privacy._citus_refuse(tbl, 'Retention with action ''anonymize''',
            'Use action ''delete'', or anonymize expired rows with an UPDATE of your own.');
    END IF;
    IF keep IS NULL OR keep OPERATOR(pg_catalog.<=) '0'::pg_catalog.interval THEN
        RAISE EXCEPTION 'retention period must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF action IS NULL OR action NOT IN ('delete', 'anonymize') THEN
        RAISE EXCEPTION 'unknown retention action "%"', action
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''delete'' or ''anonymize''.';
    END IF;
    IF expiry_column IS NULL OR expiry_column OPERATOR(pg_catalog.=) since_column THEN
        RAISE EXCEPTION 'expiry column must be a column of its own' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF since_column IS NOT NULL THEN
        SELECT a.atttypid INTO typ FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) since_column
           AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'column "%" of relation "%" does not exist', since_column, tbl
                USING ERRCODE = 'undefined_column';
        END IF;
        IF typ NOT IN ('pg_catalog.timestamptz'::pg_catalog.regtype, 'pg_catalog.timestamp'::pg_catalog.regtype,
                       'pg_catalog.date'::pg_catalog.regtype) THEN
            RAISE EXCEPTION 'since column "%" must be of type timestamptz, timestamp or date', since_column
                USING ERRCODE = 'datatype_mismatch';
        END IF;
    END IF;
    IF action OPERATOR(pg_catalog.=) 'anonymize' THEN
        PERFORM privacy._masking_assignments(tbl);
    END IF;

    SELECT * INTO old FROM privacy.retention_policies p WHERE p.tbl OPERATOR(pg_catalog.=) $1;
    IF citus IS NOT NULL AND since_column IS NULL AND old.tbl IS NOT NULL AND old.since_column IS NULL
       AND old.keep OPERATOR(pg_catalog.<>) keep THEN
        PERFORM privacy._citus_refuse(tbl, 'Changing the period of a ''latest write'' retention policy',
            'Drop the policy and set it again (expiries then count from now), or use a since column.');
    END IF;
    -- the registry first: it also checks that the caller owns the table
    PERFORM privacy._policy_write(tbl, keep, since_column, action, expiry_column);

    SELECT a.atttypid, a.attnum INTO typ, attnum FROM pg_catalog.pg_attribute a
     WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) expiry_column
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN %s pg_catalog.timestamptz', tbl, expiry);
        SELECT a.attnum INTO attnum FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) expiry_column;
    ELSIF typ OPERATOR(pg_catalog.<>) 'pg_catalog.timestamptz'::pg_catalog.regtype THEN
        RAISE EXCEPTION 'expiry column "%" must be of type timestamptz', expiry_column
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                    WHERE i.indrelid OPERATOR(pg_catalog.=) tbl
                      AND i.indkey[0] OPERATOR(pg_catalog.=) attnum AND i.indpred IS NULL) THEN
        EXECUTE pg_catalog.format('CREATE INDEX ON %s (%s)', tbl, expiry);
    END IF;
    RETURN old;
END
$$;
COMMENT ON FUNCTION privacy._retention_setup(regclass, interval, name, text, name) IS
  'Checks and records a retention policy, adds and indexes its expiry column; returns the previous policy';

-- The retention trigger of a table, for its current policy.
CREATE OR REPLACE FUNCTION privacy._retention_create_trigger(tbl regclass, keep interval, since_column name,
                                                            expiry_column name)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE pg_catalog.format('CREATE TRIGGER zz_privacy_retention BEFORE INSERT OR UPDATE ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION privacy._retention_trigger(%L, %L%s)',
                              tbl, expiry_column, keep,
                              CASE WHEN since_column IS NULL THEN '' ELSE pg_catalog.format(', %L', since_column) END);
END
$$;
COMMENT ON FUNCTION privacy._retention_create_trigger(regclass, interval, name, name) IS
  'Creates a table''s retention trigger (expiry stamped on INSERT and UPDATE)';

CREATE OR REPLACE FUNCTION privacy.set_retention(tbl regclass, keep interval, since_column name DEFAULT NULL,
                                      action text DEFAULT 'delete', expiry_column name DEFAULT 'expires_at')
RETURNS int
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind     "char";
    old      privacy.retention_policies;
    n        bigint := 0;
    expiry   text := pg_catalog.quote_ident(expiry_column);
    since    text := pg_catalog.quote_ident(since_column);
    leaf     regclass;
    citus    text := privacy._citus_kind(tbl);
BEGIN
    old := privacy._retention_setup(tbl, keep, since_column, action, expiry_column);
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tbl;
    PERFORM privacy._drop_retention_trigger(tbl);
    -- re-stamp existing rows (anonymized rows, stamped infinity, stay kept),
    -- partition by partition: ctids are unique within one table only (on
    -- Citus: below, through the trigger)
    FOR leaf IN SELECT t.relid FROM pg_catalog.pg_partition_tree(tbl) t WHERE t.isleaf AND citus IS NULL
                UNION ALL SELECT tbl WHERE kind OPERATOR(pg_catalog.=) 'r' AND citus IS NULL LOOP
        IF since_column IS NOT NULL THEN
            n := n OPERATOR(pg_catalog.+) privacy._batch_update(leaf,
                     pg_catalog.format('%s = %s OPERATOR(pg_catalog.+) %L::pg_catalog.interval', expiry, since, keep),
                     pg_catalog.format('%1$s IS DISTINCT FROM %2$s OPERATOR(pg_catalog.+) %3$L::pg_catalog.interval '
                                       'AND %1$s IS DISTINCT FROM ''infinity''', expiry, since, keep),
                     10000);
        ELSIF old.tbl IS NOT NULL AND old.since_column IS NULL THEN
            -- counted from the latest write: move each expiry by the change of period
            IF old.keep OPERATOR(pg_catalog.<>) keep THEN
                n := n OPERATOR(pg_catalog.+) privacy._batch_update(leaf,
                         pg_catalog.format('%1$s = %1$s OPERATOR(pg_catalog.-) %2$L::pg_catalog.interval '
                                           'OPERATOR(pg_catalog.+) %3$L::pg_catalog.interval', expiry, old.keep, keep),
                         pg_catalog.format('%1$s IS NOT NULL AND %1$s OPERATOR(pg_catalog.<>) ''infinity''', expiry),
                         10000);
            END IF;
            n := n OPERATOR(pg_catalog.+) privacy._batch_update(leaf,
                     pg_catalog.format('%s = pg_catalog.now() OPERATOR(pg_catalog.+) %L::pg_catalog.interval', expiry, keep),
                     pg_catalog.format('%s IS NULL', expiry), 10000);
        ELSE
            -- the latest write before the policy is unknown: count from now
            n := n OPERATOR(pg_catalog.+) privacy._batch_update(leaf,
                     pg_catalog.format('%s = pg_catalog.now() OPERATOR(pg_catalog.+) %L::pg_catalog.interval', expiry, keep),
                     pg_catalog.format('%1$s IS NULL OR %1$s OPERATOR(pg_catalog.<>) ''infinity''', expiry), 10000);
        END IF;
    END LOOP;
    PERFORM privacy._retention_create_trigger(tbl, keep, since_column, expiry_column);
    IF citus IS NOT NULL THEN
        -- Citus distributed table: the trigger stamps each row of every shard
        -- it updates; one UPDATE that Citus pushes down (no column-fed
        -- expression, which it would refuse)
        EXECUTE pg_catalog.format('UPDATE %s SET %2$s = %2$s WHERE %2$s IS NULL%3$s', tbl, expiry,
                    CASE WHEN since_column IS NOT NULL OR old.tbl IS NULL
                         THEN pg_catalog.format(' OR %s OPERATOR(pg_catalog.<>) ''infinity''', expiry) ELSE '' END);
        GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    RETURN n::int;
END
$$;
COMMENT ON FUNCTION privacy.set_retention(regclass, interval, name, text, name) IS
  'Sets a table''s retention policy: stamps the expiry column (created and indexed if missing) and re-stamps existing rows; returns the rows re-stamped';

CREATE OR REPLACE FUNCTION privacy.drop_retention(tbl regclass) RETURNS boolean
LANGUAGE plpgsql STRICT VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT privacy._policy_remove(tbl) THEN
        RETURN false;
    END IF;
    PERFORM privacy._drop_retention_trigger(tbl);
    RETURN true;
END
$$;
COMMENT ON FUNCTION privacy.drop_retention(regclass) IS
  'Removes a table''s retention policy and trigger (the expiry column stays); false when it had none';

-- SET clause applying a table's masking rules (privacy.masking_rules, kept by
-- the masking module from the security labels) in place; an error when the
-- table has none.  C: only the table's owner or a role that may UPDATE it
-- gets an answer; the rules are read as the extension owner.
CREATE OR REPLACE FUNCTION privacy._masking_assignments(tbl regclass) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_masking_assignments' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy._masking_assignments(regclass) IS
  'SET clause that applies a table''s masking rules in place, for the anonymize action';

CREATE OR REPLACE FUNCTION privacy.place_hold(reason text, tbl regclass DEFAULT NULL, subject text DEFAULT NULL,
                                   until timestamptz DEFAULT NULL, predicate text DEFAULT NULL)
RETURNS int AS 'MODULE_PATHNAME', 'privacy_place_hold' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.place_hold(text, regclass, text, timestamptz, text) IS
  'Places a legal hold on a table, or on its rows matching a predicate (table owner only); audited';

CREATE OR REPLACE FUNCTION privacy.release_hold(hold_id int) RETURNS void
AS 'MODULE_PATHNAME', 'privacy_release_hold' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.release_hold(int) IS
  'Releases a legal hold (owner of the held table only); audited';

CREATE OR REPLACE FUNCTION privacy.purge(batch_size int DEFAULT 10000, dry_run boolean DEFAULT false)
RETURNS TABLE(tbl regclass, action text, rows bigint)
AS 'MODULE_PATHNAME', 'privacy_purge' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.purge(int, boolean) IS
  'Purges expired rows of every retained table in short batches, in the caller''s transaction; logged to privacy.deletion_log';
REVOKE ALL ON FUNCTION privacy.purge(int, boolean) FROM PUBLIC;

CREATE OR REPLACE PROCEDURE privacy.run_purge(batch_size int DEFAULT 10000)
AS 'MODULE_PATHNAME', 'privacy_run_purge' LANGUAGE C;
COMMENT ON PROCEDURE privacy.run_purge(int) IS
  'Purges expired rows of every retained table, committing each batch; logged to privacy.deletion_log';
REVOKE ALL ON PROCEDURE privacy.run_purge(int) FROM PUBLIC;

-- Latest purge per retained table.
CREATE OR REPLACE VIEW privacy.purge_status AS
SELECT p.tbl, privacy._policy_text(p.keep, p.since_column, p.action) AS policy,
       l.run_id AS last_run, l.at AS last_run_at, l.finished_at AS last_finished_at,
       COALESCE(l.rows, 0) AS last_rows, l.error AS last_error, l.note AS last_note,
       (SELECT pg_catalog.count(*) FROM privacy.deletion_log e
         WHERE e.relid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid AND e.error IS NOT NULL) AS errors,
       (SELECT pg_catalog.sum(e.rows) FROM privacy.deletion_log e
         WHERE e.relid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid) AS rows_purged
  FROM privacy.retention_policies p
  LEFT JOIN LATERAL (SELECT d.* FROM privacy.deletion_log d
                      WHERE d.relid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid
                      ORDER BY d.id DESC LIMIT 1) l ON true;
REVOKE ALL ON privacy.purge_status FROM PUBLIC;
COMMENT ON VIEW privacy.purge_status IS
  'Per retained table: the latest purge run, its rows and error, errors and rows purged so far';

CREATE OR REPLACE FUNCTION privacy._retention_counts(tbl regclass, expiry_column name,
                                          OUT rows_total bigint, OUT rows_expired bigint,
                                          OUT rows_held bigint, OUT oldest_expired timestamptz,
                                          OUT rows_kept bigint, OUT held_by jsonb)
AS 'MODULE_PATHNAME', 'privacy_retention_counts' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._retention_counts(regclass, name) IS
  'Rows, expired rows, held rows, oldest expiry, expired rows kept because still referenced, and rows per hold of a table, counted as its owner (hold predicates are the owner''s SQL)';
REVOKE ALL ON FUNCTION privacy._retention_counts(regclass, name) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.retention_report()
RETURNS TABLE(tbl regclass, policy text, expiry_column name, rows_total bigint, rows_expired bigint,
              rows_held bigint, oldest_expired timestamptz, last_purge timestamptz,
              rows_kept bigint, held_by jsonb)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT r.* FROM privacy.retention_policies r ORDER BY r.tbl::pg_catalog.text LOOP
        tbl := p.tbl;
        policy := privacy._policy_text(p.keep, p.since_column, p.action);
        expiry_column := p.expiry_column;
        -- counted as the table's owner: hold predicates are the owner's SQL
        SELECT c.rows_total, c.rows_expired, c.rows_held, c.oldest_expired, c.rows_kept, c.held_by
          INTO rows_total, rows_expired, rows_held, oldest_expired, rows_kept, held_by
          FROM privacy._retention_counts(p.tbl, p.expiry_column) c;
        SELECT pg_catalog.max(d.at) INTO last_purge FROM privacy.deletion_log d
         WHERE d.relid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid AND d.error IS NULL;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION privacy.retention_report() IS
  'Per retained table: policy, rows, rows expired but not yet purged, rows held (held_by: rows per legal hold), oldest expired row, last purge, expired rows kept because rows that stay reference them';
REVOKE ALL ON FUNCTION privacy.retention_report() FROM PUBLIC;

-- Rows each active hold covers, per table: the tables with a retention policy
-- or in the subject graph, and the tables holds name.  Counting walks the
-- subject graph for every subject hold, so it is a function, not a column of
-- privacy.active_holds.
CREATE OR REPLACE FUNCTION privacy.hold_coverage()
RETURNS TABLE(hold_id int, reason text, tbl regclass, rows bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t oid;
BEGIN
    FOR t IN SELECT DISTINCT x.t FROM (
                 SELECT p.tbl::pg_catalog.oid AS t FROM privacy.retention_policies p
                 UNION SELECT g.relid FROM privacy._subject_graph() g
                 UNION SELECT h.tbl::pg_catalog.oid FROM privacy.active_holds h WHERE h.tbl IS NOT NULL) x
             WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) x.t)
             ORDER BY x.t LOOP
        RETURN QUERY
            SELECT (e OPERATOR(pg_catalog.->>) 'hold_id')::int, e OPERATOR(pg_catalog.->>) 'reason', t::pg_catalog.regclass,
                   (e OPERATOR(pg_catalog.->>) 'rows')::bigint
              FROM pg_catalog.jsonb_array_elements((SELECT c.held_by FROM privacy._retention_counts(t::pg_catalog.regclass, NULL) c)) e;
    END LOOP;
END
$$;
COMMENT ON FUNCTION privacy.hold_coverage() IS
  'Rows each active legal hold covers, per table (counted as each table''s owner; the caller needs SELECT on the tables)';
REVOKE ALL ON FUNCTION privacy.hold_coverage() FROM PUBLIC;

-- Dropped tables leave the policy registry; their holds are released.
CREATE OR REPLACE FUNCTION privacy._retention_on_sql_drop() RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM privacy.retention_policies p
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND p.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid;
    UPDATE privacy.legal_holds h SET released_at = pg_catalog.now(), released_by = CURRENT_USER
      FROM pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND h.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid AND h.released_at IS NULL;
END
$$;
REVOKE ALL ON FUNCTION privacy._retention_on_sql_drop() FROM PUBLIC;
COMMENT ON FUNCTION privacy._retention_on_sql_drop() IS
  'sql_drop handler of the retention module (called by privacy._on_sql_drop): forgets the retention policy of dropped tables and releases their holds';

-- Internal functions executable by PUBLIC (the default, kept on purpose), each for the reason given.
-- PUBLIC: the trigger function set_retention_policy installs as the table's owner (CREATE TRIGGER needs EXECUTE).
GRANT EXECUTE ON FUNCTION privacy._retention_trigger() TO PUBLIC;
-- PUBLIC: set_retention_policy/drop_retention_policy run with the table owner's rights; the C
-- functions check table ownership (or UPDATE, for _masking_assignments) themselves, the others
-- are invoker-rights DDL or pure text.
GRANT EXECUTE ON FUNCTION privacy._policy_write(regclass, interval, name, text, name),
    privacy._policy_remove(regclass), privacy._policy_text(interval, name, text),
    privacy._drop_retention_trigger(regclass), privacy._masking_assignments(regclass),
    privacy._retention_setup(regclass, interval, name, text, name),
    privacy._retention_create_trigger(regclass, interval, name, name) TO PUBLIC;
-- PUBLIC: the purge runs it as each table's owner (invoker rights: it reads, with the owner's own
-- rights, the rows given to it, and returns SQL text); _retention_keep_expiry is called by
-- _batch_update with the rewriting owner's rights and only keeps each row's existing expiry.
GRANT EXECUTE ON FUNCTION privacy._subject_hold_condition(regclass, text, jsonb),
    privacy._retention_keep_expiry(boolean) TO PUBLIC;
-- PUBLIC: in the UPDATEs that reencrypt, protect_column and unprotect_column push down to Citus
-- shards with the rewriting role's rights; it only lets rows the role may UPDATE keep the expiry
-- they have (never a later one).
GRANT EXECUTE ON FUNCTION privacy._keep_expiry(anyelement) TO PUBLIC;
