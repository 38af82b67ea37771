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
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.format('keep %s after %s, then %s', keep,
                         COALESCE(pg_catalog.quote_ident(since_column), 'the latest write'), action)
$$;
COMMENT ON FUNCTION privacy._policy_text(interval, name, text) IS
  'Human-readable form of a retention policy';

-- The condition (SQL text over the table's columns) of the rows of tbl under
-- an active legal hold: 'false' when none, 'true' when the whole table is held.
-- Condition matching the rows of tbl held for a subject by a subject-wide hold
-- (one with no table): nothing here; the subject module, which knows each
-- table's subject column, replaces this function.
CREATE OR REPLACE FUNCTION privacy._subject_holds_condition(tbl regclass) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT NULL::pg_catalog.text $$;
REVOKE ALL ON FUNCTION privacy._subject_holds_condition(regclass) FROM PUBLIC;
COMMENT ON FUNCTION privacy._subject_holds_condition(regclass) IS
  'SQL condition matching a table''s rows of subjects under a subject-wide legal hold, or NULL';

CREATE OR REPLACE FUNCTION privacy._held_condition(tbl regclass) RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    whole   boolean;
    parts   text;
    subject text := privacy._subject_holds_condition(tbl);
BEGIN
    SELECT pg_catalog.bool_or(h.predicate IS NULL),
           pg_catalog.string_agg(pg_catalog.format('COALESCE((%s), false)', h.predicate), ' OR ' ORDER BY h.id)
      INTO whole, parts
      FROM privacy.active_holds h
     WHERE h.tbl OPERATOR(pg_catalog.=) $1;
    IF whole THEN
        RETURN 'true';
    END IF;
    IF subject IS NOT NULL THEN
        parts := COALESCE(parts OPERATOR(pg_catalog.||) ' OR ', '')
                 OPERATOR(pg_catalog.||) pg_catalog.format('COALESCE((%s), false)', subject);
    END IF;
    RETURN COALESCE(parts, 'false');
END
$$;
COMMENT ON FUNCTION privacy._held_condition(regclass) IS
  'SQL condition matching the rows of a table under an active legal hold';
REVOKE ALL ON FUNCTION privacy._held_condition(regclass) FROM PUBLIC;

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

CREATE OR REPLACE FUNCTION privacy.set_retention(tbl regclass, keep interval, since_column name DEFAULT NULL,
                                      action text DEFAULT 'delete', expiry_column name DEFAULT 'expires_at')
RETURNS int
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind     "char";
    typ      oid;
    old      record;
    n        bigint := 0;
    expiry   text := pg_catalog.quote_ident(expiry_column);
    since    text := pg_catalog.quote_ident(since_column);
    attnum   int2;
    leaf     regclass;
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

    IF citus IS NOT NULL AND since_column IS NULL AND old.tbl IS NOT NULL AND old.since_column IS NULL
       AND old.keep OPERATOR(pg_catalog.<>) keep THEN
        PERFORM privacy._citus_refuse(tbl, 'Changing the period of a ''latest write'' retention policy',
            'Drop the policy and set it again (expiries then count from now), or use a since column.');
    END IF;
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
    EXECUTE pg_catalog.format('CREATE TRIGGER zz_privacy_retention BEFORE INSERT OR UPDATE ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION privacy._retention_trigger(%L, %L%s)',
                              tbl, expiry_column, keep,
                              CASE WHEN since_column IS NULL THEN '' ELSE pg_catalog.format(', %L', since_column) END);
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
                                          OUT rows_held bigint, OUT oldest_expired timestamptz)
AS 'MODULE_PATHNAME', 'privacy_retention_counts' LANGUAGE C STRICT STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._retention_counts(regclass, name) IS
  'Rows, expired rows, held rows and oldest expiry of a retained table, counted as its owner (hold predicates are the owner''s SQL)';
REVOKE ALL ON FUNCTION privacy._retention_counts(regclass, name) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.retention_report()
RETURNS TABLE(tbl regclass, policy text, expiry_column name, rows_total bigint, rows_expired bigint,
              rows_held bigint, oldest_expired timestamptz, last_purge timestamptz)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
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
        SELECT c.rows_total, c.rows_expired, c.rows_held, c.oldest_expired
          INTO rows_total, rows_expired, rows_held, oldest_expired
          FROM privacy._retention_counts(p.tbl, p.expiry_column) c;
        SELECT pg_catalog.max(d.at) INTO last_purge FROM privacy.deletion_log d
         WHERE d.relid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid AND d.error IS NULL;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION privacy.retention_report() IS
  'Per retained table: policy, rows, rows expired but not yet purged, rows held, oldest expired row, last purge';
REVOKE ALL ON FUNCTION privacy.retention_report() FROM PUBLIC;

-- Dropped tables leave the policy registry; their holds are released.
CREATE OR REPLACE FUNCTION privacy._retention_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SECURITY DEFINER
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
  'Event trigger: forgets the retention policy of dropped tables and releases their holds';
DROP EVENT TRIGGER IF EXISTS privacy_retention_sql_drop;
CREATE EVENT TRIGGER privacy_retention_sql_drop ON sql_drop
    EXECUTE FUNCTION privacy._retention_on_sql_drop();

-- Internal functions executable by PUBLIC (the default, kept on purpose), each for the reason given.
-- PUBLIC: the trigger function set_retention_policy installs as the table's owner (CREATE TRIGGER needs EXECUTE).
GRANT EXECUTE ON FUNCTION privacy._retention_trigger() TO PUBLIC;
-- PUBLIC: set_retention_policy/drop_retention_policy run with the table owner's rights; the C
-- functions check table ownership (or UPDATE, for _masking_assignments) themselves, the others
-- are invoker-rights DDL or pure text.
GRANT EXECUTE ON FUNCTION privacy._policy_write(regclass, interval, name, text, name),
    privacy._policy_remove(regclass), privacy._policy_text(interval, name, text),
    privacy._drop_retention_trigger(regclass), privacy._masking_assignments(regclass) TO PUBLIC;
