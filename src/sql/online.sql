-- Online bulk operations: protect, unprotect and re-encrypt a column as
-- procedures that commit every batch, so that ordinary writers wait for one
-- batch at most, with progress readable from any session (privacy.progress)
-- and resumable after an interruption (call the procedure again).
--
-- Each run is a row of privacy.bulk_operations, updated in the same
-- transaction as each batch: the cursor (partition, next page), rows done and
-- rows total.  A batch converts the rows of a page range that are not in the
-- final format yet (the format is recognised from the value itself), so a
-- batch repeated after a crash changes nothing twice; a final sweep converts
-- rows that concurrent updates moved behind the cursor.
CREATE TABLE IF NOT EXISTS privacy.bulk_operations (
    id          bigserial PRIMARY KEY,
    operation   text NOT NULL,
    tbl         regclass NOT NULL,
    col         name NOT NULL,
    leaf        oid,
    next_page   bigint NOT NULL DEFAULT 0,
    end_page    bigint,
    rows_done   bigint NOT NULL DEFAULT 0,
    rows_total  bigint,
    batches     bigint NOT NULL DEFAULT 0,
    started     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    updated     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished    timestamptz,
    started_by  name NOT NULL DEFAULT CURRENT_USER,
    pid         int
);
CREATE UNIQUE INDEX IF NOT EXISTS bulk_operations_running
    ON privacy.bulk_operations (tbl, col) WHERE finished IS NULL;
COMMENT ON TABLE privacy.bulk_operations IS
  'Online bulk operations (protect, unprotect, re-encrypt): cursor and progress, committed with every batch';
REVOKE ALL ON privacy.bulk_operations FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON privacy.bulk_operations TO PUBLIC;
GRANT USAGE ON SEQUENCE privacy.bulk_operations_id_seq TO PUBLIC;
ALTER TABLE privacy.bulk_operations ENABLE ROW LEVEL SECURITY;
-- progress is readable by everyone; a role records operations on tables it owns only
DROP POLICY IF EXISTS bulk_operations_read ON privacy.bulk_operations;
CREATE POLICY bulk_operations_read ON privacy.bulk_operations FOR SELECT USING (true);
DROP POLICY IF EXISTS bulk_operations_owner ON privacy.bulk_operations;
CREATE POLICY bulk_operations_owner ON privacy.bulk_operations
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) tbl), 'USAGE'))
    WITH CHECK (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                         WHERE c.oid OPERATOR(pg_catalog.=) tbl), 'USAGE'));
SELECT pg_catalog.pg_extension_config_dump('privacy.bulk_operations', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.bulk_operations_id_seq', '');

-- Is the column being unprotected online?  (Its trigger and view leave it out.)
CREATE OR REPLACE FUNCTION privacy._unprotecting(tbl regclass, col name) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM privacy.bulk_operations b
                    WHERE b.tbl OPERATOR(pg_catalog.=) $1 AND b.col OPERATOR(pg_catalog.=) $2
                      AND b.operation OPERATOR(pg_catalog.=) 'unprotect' AND b.finished IS NULL)
$$;
COMMENT ON FUNCTION privacy._unprotecting(regclass, name) IS
  'Whether an online unprotect of the column is under way';

-- Progress of online bulk operations, running, interrupted or finished.
CREATE OR REPLACE VIEW privacy.progress AS
SELECT b.id, b.operation, b.tbl AS "table", b.col AS "column", b.rows_done, b.rows_total, b.started,
       CASE WHEN b.finished IS NOT NULL THEN 'finished'
            WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                          WHERE a.pid OPERATOR(pg_catalog.=) b.pid) THEN 'running'
            ELSE 'interrupted' END AS state,
       r.rate AS rows_per_second,
       CASE WHEN b.finished IS NOT NULL THEN b.finished
            WHEN r.rate OPERATOR(pg_catalog.>) 0 AND b.rows_total IS NOT NULL
            THEN b.updated OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs =>
                     GREATEST(b.rows_total OPERATOR(pg_catalog.-) b.rows_done, 0)
                     OPERATOR(pg_catalog./) r.rate) END AS estimated_end,
       b.batches, b.updated, b.finished, b.started_by, b.pid
  FROM privacy.bulk_operations b,
       LATERAL (SELECT (b.rows_done::pg_catalog.float8 OPERATOR(pg_catalog./)
                        NULLIF(pg_catalog.date_part('epoch', b.updated OPERATOR(pg_catalog.-) b.started), 0))
                       ::pg_catalog.numeric(20, 1) AS rate) r;
GRANT SELECT ON privacy.progress TO PUBLIC;
COMMENT ON VIEW privacy.progress IS
  'Online bulk operations: operation, table, column, rows done and total, started, rate, estimated end';

-- Convert the rows of bulk operation op_id: UPDATE ... SET set_clause for rows
-- matching pred (those not in the final format), a page range of about batch
-- rows per transaction, then a sweep for rows moved behind the cursor.  Runs
-- with the caller's rights; a procedure that commits cannot have a SET clause:
-- every name is qualified and each batch pins search_path for its transaction.
-- Executable by PUBLIC (like _batch_update): the procedures that call it run
-- with the caller's rights, and so does it.
CREATE OR REPLACE PROCEDURE privacy._convert_online(op_id bigint, set_clause text, pred text,
                                                    batch int, notice_every int, sweep boolean DEFAULT true)
LANGUAGE plpgsql
AS $$
DECLARE
    st     record;
    prog   record;
    part   oid;
    pages  bigint;
    step   bigint;
    lo     bigint;
    n      bigint;
    ids    tid[];
    nb     bigint := 0;
    sweeps bigint;
    max_sweeps bigint;
BEGIN
    IF batch IS NULL OR batch OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'batch size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO st FROM privacy.bulk_operations b WHERE b.id OPERATOR(pg_catalog.=) op_id;
    UPDATE privacy.bulk_operations b SET pid = pg_catalog.pg_backend_pid() WHERE b.id OPERATOR(pg_catalog.=) op_id;
    COMMIT;
    -- a plain table, or the leaves of a partitioned one, in oid order
    FOR part IN SELECT l.relid FROM (SELECT t.relid::pg_catalog.oid AS relid
                                       FROM pg_catalog.pg_partition_tree(st.tbl) t WHERE t.isleaf
                                     UNION ALL
                                     SELECT c.oid FROM pg_catalog.pg_class c
                                      WHERE c.oid OPERATOR(pg_catalog.=) st.tbl
                                        AND c.relkind OPERATOR(pg_catalog.=) 'r') l
                 WHERE l.relid OPERATOR(pg_catalog.>=) COALESCE(st.leaf, 0)
                 ORDER BY 1 LOOP
        -- the pages present when the partition was started; rows added later are
        -- written in the final format, rows moved there are found by the sweep
        IF part OPERATOR(pg_catalog.=) st.leaf THEN
            lo := st.next_page;
            pages := st.end_page;
        ELSE
            lo := 0;
            pages := pg_catalog.pg_relation_size(part::pg_catalog.regclass)
                     OPERATOR(pg_catalog./) pg_catalog.current_setting('block_size')::pg_catalog.int8;
            UPDATE privacy.bulk_operations b SET leaf = part, next_page = 0, end_page = pages
             WHERE b.id OPERATOR(pg_catalog.=) op_id;
            COMMIT;
        END IF;
        SELECT GREATEST(1, (batch OPERATOR(pg_catalog./)
                   GREATEST(c.reltuples OPERATOR(pg_catalog./) NULLIF(c.relpages, 0), 1))::pg_catalog.int8)
          INTO step FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) part;
        WHILE lo OPERATOR(pg_catalog.<) pages LOOP
            -- no SET clause on a procedure that commits: pin search_path per transaction
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            -- a conversion keeps each row's retention expiry (the flag ends with the transaction)
            PERFORM privacy._retention_keep_expiry(st.operation OPERATOR(pg_catalog.<>) 'restamp');
            EXECUTE pg_catalog.format('UPDATE ONLY %s SET %s WHERE ctid OPERATOR(pg_catalog.>=) $1 '
                                      'AND ctid OPERATOR(pg_catalog.<) $2 AND (%s)',
                                      part::pg_catalog.regclass, set_clause, pred)
               USING pg_catalog.format('(%s,0)', lo)::pg_catalog.tid,
                     pg_catalog.format('(%s,0)', lo OPERATOR(pg_catalog.+) step)::pg_catalog.tid;
            GET DIAGNOSTICS n = ROW_COUNT;
            lo := lo OPERATOR(pg_catalog.+) step;
            UPDATE privacy.bulk_operations b
               SET next_page = lo, rows_done = b.rows_done OPERATOR(pg_catalog.+) n,
                   batches = b.batches OPERATOR(pg_catalog.+) 1, updated = pg_catalog.clock_timestamp()
             WHERE b.id OPERATOR(pg_catalog.=) op_id;
            COMMIT;
            nb := nb OPERATOR(pg_catalog.+) 1;
            IF notice_every OPERATOR(pg_catalog.>) 0 AND nb OPERATOR(pg_catalog.%) notice_every OPERATOR(pg_catalog.=) 0 THEN
                SELECT * INTO prog FROM privacy.progress p WHERE p.id OPERATOR(pg_catalog.=) op_id;
                RAISE NOTICE '%: % of % rows of %.% (% rows/s, estimated end %)', prog.operation, prog.rows_done,
                    prog.rows_total, prog."table", prog."column", prog.rows_per_second, prog.estimated_end;
            END IF;
        END LOOP;
        -- the sweep: rows that concurrent updates moved behind the cursor
        sweeps := 0;
        -- at most every tuple the table can hold now (291 a page), batch by batch
        max_sweeps := pg_catalog.pg_relation_size(part::pg_catalog.regclass)
                      OPERATOR(pg_catalog./) pg_catalog.current_setting('block_size')::pg_catalog.int8
                      OPERATOR(pg_catalog.*) 291 OPERATOR(pg_catalog./) batch OPERATOR(pg_catalog.+) 10;
        LOOP
            EXIT WHEN NOT sweep;
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(ctid) FROM (SELECT ctid FROM ONLY %s WHERE %s LIMIT %s) s',
                                      part::pg_catalog.regclass, pred, batch) INTO ids;
            EXIT WHEN ids IS NULL;
            PERFORM privacy._retention_keep_expiry(st.operation OPERATOR(pg_catalog.<>) 'restamp');
            EXECUTE pg_catalog.format('UPDATE ONLY %s SET %s WHERE ctid OPERATOR(pg_catalog.=) ANY ($1) AND (%s)',
                                      part::pg_catalog.regclass, set_clause, pred) USING ids;
            GET DIAGNOSTICS n = ROW_COUNT;
            -- a conversion that leaves rows matching pred must not loop for ever
            -- (n = 0 is fine: writers converted the rows meanwhile)
            sweeps := sweeps OPERATOR(pg_catalog.+) 1;
            IF sweeps OPERATOR(pg_catalog.>) max_sweeps THEN
                RAISE EXCEPTION 'online conversion of "%" does not converge', part::pg_catalog.regclass
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          DETAIL = 'Rows still match the conversion''s condition after a sweep over the table.';
            END IF;
            UPDATE privacy.bulk_operations b
               SET next_page = pages, rows_done = b.rows_done OPERATOR(pg_catalog.+) n,
                   batches = b.batches OPERATOR(pg_catalog.+) 1, updated = pg_catalog.clock_timestamp()
             WHERE b.id OPERATOR(pg_catalog.=) op_id;
            COMMIT;
        END LOOP;
        st.leaf := NULL;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE privacy._convert_online(bigint, text, text, int, int, boolean) IS
  'Converts a column batch by batch for an online bulk operation, committing each batch with its progress';

-- The unfinished bulk operation on a column, or a new one (committed).
CREATE OR REPLACE FUNCTION privacy._bulk_operation(op text, tbl regclass, col name, OUT id bigint, OUT resumed boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    other text;
    fn    text := CASE op WHEN 'protect' THEN 'protect_column' WHEN 'unprotect' THEN 'unprotect_column'
                          WHEN 'restamp' THEN 'set_retention' ELSE op END;
BEGIN
    -- batches are page ranges of one table (ctid): Citus tables keep their rows in shards
    PERFORM privacy._citus_refuse(tbl, pg_catalog.format('privacy.%s_online', fn),
        pg_catalog.format('Call privacy.%s(), which converts every shard in one transaction.', fn));
    -- the batches run with the caller's rights, so the caller must be the
    -- table's owner itself (not a superuser or a member): the table's triggers,
    -- defaults and index expressions then never run with more rights than theirs
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) c.relowner
                    WHERE c.oid OPERATOR(pg_catalog.=) $2 AND r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
        RAISE EXCEPTION 'an online % of "%" must run as the table''s owner', op, tbl
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'SET ROLE to the owner of the table first, or use the one-transaction function.';
    END IF;
    SELECT b.id, b.operation INTO id, other FROM privacy.bulk_operations b
     WHERE b.tbl OPERATOR(pg_catalog.=) $2 AND b.col OPERATOR(pg_catalog.=) $3 AND b.finished IS NULL;
    IF FOUND AND other OPERATOR(pg_catalog.<>) op THEN
        RAISE EXCEPTION 'an online % of column "%" of table "%" is unfinished', other, col, tbl
            USING ERRCODE = 'object_in_use', HINT = pg_catalog.format('Call privacy.%s_online() again to finish it.',
                CASE other WHEN 'protect' THEN 'protect_column' WHEN 'unprotect' THEN 'unprotect_column'
                          WHEN 'restamp' THEN 'set_retention' ELSE other END);
    END IF;
    resumed := FOUND;
    IF NOT FOUND THEN
        INSERT INTO privacy.bulk_operations (operation, tbl, col, pid)
        VALUES (op, tbl, col, pg_catalog.pg_backend_pid()) RETURNING bulk_operations.id INTO id;
    END IF;
END
$$;
COMMENT ON FUNCTION privacy._bulk_operation(text, regclass, name) IS
  'The unfinished online bulk operation on a column, or a new record of one';

-- Record the number of rows an operation will convert (once per operation).
CREATE OR REPLACE FUNCTION privacy._bulk_total(op_id bigint, pred text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regclass;
    n bigint;
BEGIN
    SELECT b.tbl INTO t FROM privacy.bulk_operations b
     WHERE b.id OPERATOR(pg_catalog.=) op_id AND b.rows_total IS NULL;
    IF NOT FOUND THEN
        RETURN;     -- counted by an earlier run
    END IF;
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE %s', t, pred) INTO n;
    UPDATE privacy.bulk_operations b SET rows_total = n WHERE b.id OPERATOR(pg_catalog.=) op_id;
END
$$;
COMMENT ON FUNCTION privacy._bulk_total(bigint, text) IS 'Counts the rows an online bulk operation will convert';

-- Mark an online bulk operation finished, once (src/protect.c): its rows, or
-- NULL when it is finished already or not the caller's to finish.  Finishing
-- a re-encryption writes its reencrypt audit row (as privacy.reencrypt does,
-- with "online": true), for the table's owner with EXECUTE on reencrypt_online.
CREATE OR REPLACE FUNCTION privacy._bulk_finish(op_id bigint, batch int) RETURNS bigint
AS 'MODULE_PATHNAME', 'privacy_bulk_finish' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._bulk_finish(bigint, int) IS
  'Marks an online bulk operation finished (once) and returns its rows; a re-encryption is audited';

CREATE OR REPLACE PROCEDURE privacy.protect_column_online(tbl regclass, col name, key_name text DEFAULT 'default',
                                                          deterministic boolean DEFAULT false,
                                                          batch int DEFAULT 1000, notice_every int DEFAULT 10)
LANGUAGE plpgsql
AS $$
DECLARE
    op   record;
    ctx  text;
    pred text := pg_catalog.format('%I IS NOT NULL AND NOT privacy.is_ciphertext(%I)', col, col);
BEGIN
    op := privacy._bulk_operation('protect', tbl, col);
    IF NOT op.resumed THEN
        -- from here on the trigger encrypts every write; the rows follow in batches
        PERFORM privacy._protect_column_setup(tbl, col, key_name, deterministic);
    END IF;
    COMMIT;     -- the trigger's lock is released before the count
    PERFORM privacy._bulk_total(op.id, pred);
    COMMIT;
    SELECT p.context INTO ctx FROM privacy.protected_columns p
     WHERE p.tbl OPERATOR(pg_catalog.=) protect_column_online.tbl AND p.col OPERATOR(pg_catalog.=) protect_column_online.col;
    CALL privacy._convert_online(op.id, pg_catalog.format('%I = privacy._protect_value(%I, %L)', col, col, ctx),
                                 pred, batch, notice_every);
    PERFORM privacy._bulk_finish(op.id, batch);
END
$$;
COMMENT ON PROCEDURE privacy.protect_column_online(regclass, name, text, boolean, int, int) IS
  'protect_column for large tables: commits every batch, resumable, progress in privacy.progress';

CREATE OR REPLACE PROCEDURE privacy.unprotect_column_online(tbl regclass, col name,
                                                            batch int DEFAULT 1000, notice_every int DEFAULT 10)
LANGUAGE plpgsql
AS $$
DECLARE
    op   record;
    r    record;
    acl  aclitem[];
    pred text := pg_catalog.format('privacy.is_ciphertext(%I)', col);
BEGIN
    SELECT * INTO r FROM privacy.protected_columns p
     WHERE p.tbl OPERATOR(pg_catalog.=) unprotect_column_online.tbl
       AND p.col OPERATOR(pg_catalog.=) unprotect_column_online.col;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of table "%" is not protected', col, tbl USING ERRCODE = 'undefined_object';
    END IF;
    op := privacy._bulk_operation('unprotect', tbl, col);
    IF NOT op.resumed THEN
        -- from here on the trigger and the view leave the column alone
        acl := privacy._drop_decrypted_view(tbl);
        PERFORM privacy._rebuild_protection(tbl, acl);
    END IF;
    COMMIT;     -- the trigger's lock is released before the count
    PERFORM privacy._bulk_total(op.id, pred);
    COMMIT;
    CALL privacy._convert_online(op.id, pg_catalog.format('%I = privacy._decrypt_column(%I, %L)', col, col, r.context),
                                 pred, batch, notice_every);
    PERFORM privacy._registry_remove(tbl, col);
    IF r.max_chars IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s', tbl, col, r.original_type);
    END IF;
    PERFORM privacy._bulk_finish(op.id, batch);
    acl := privacy._drop_decrypted_view(tbl);
    PERFORM privacy._rebuild_protection(tbl, acl);
END
$$;
COMMENT ON PROCEDURE privacy.unprotect_column_online(regclass, name, int, int) IS
  'unprotect_column for large tables: commits every batch, resumable, progress in privacy.progress';

CREATE OR REPLACE PROCEDURE privacy.reencrypt_online(tbl regclass, col name, batch int DEFAULT 1000,
                                                     context text DEFAULT NULL, notice_every int DEFAULT 10)
LANGUAGE plpgsql
AS $$
DECLARE
    op   record;
    ctx  text := context;
    pred text := pg_catalog.format('privacy._needs_reencrypt(%I)', col);
BEGIN
    SELECT p.context INTO ctx FROM privacy.protected_columns p
     WHERE p.tbl OPERATOR(pg_catalog.=) reencrypt_online.tbl AND p.col OPERATOR(pg_catalog.=) reencrypt_online.col;
    IF FOUND AND context IS NOT NULL THEN
        RAISE EXCEPTION 'column "%" of table "%" is protected; its context is registered', col, tbl
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Call privacy.reencrypt_online() without a context.';
    ELSIF NOT FOUND THEN
        ctx := context;
    END IF;
    op := privacy._bulk_operation('reencrypt', tbl, col);
    PERFORM privacy._bulk_total(op.id, pred);
    COMMIT;
    CALL privacy._convert_online(op.id, pg_catalog.format('%I = privacy._reencrypt_value(%I, %L)', col, col, ctx),
                                 pred, batch, notice_every);
    PERFORM privacy._bulk_finish(op.id, batch);
END
$$;
COMMENT ON PROCEDURE privacy.reencrypt_online(regclass, name, int, text, int) IS
  'reencrypt for large tables: commits every batch, resumable, progress in privacy.progress';
REVOKE ALL ON PROCEDURE privacy.reencrypt_online(regclass, name, int, text, int) FROM PUBLIC;

CREATE OR REPLACE PROCEDURE privacy.set_retention_online(tbl regclass, keep interval, since_column name DEFAULT NULL,
                                                         action text DEFAULT 'delete',
                                                         expiry_column name DEFAULT 'expires_at',
                                                         batch int DEFAULT 1000, notice_every int DEFAULT 10)
LANGUAGE plpgsql
AS $$
DECLARE
    op   record;
    old  privacy.retention_policies;
    pol  privacy.retention_policies;
    pred text;
BEGIN
    op := privacy._bulk_operation('restamp', tbl, expiry_column);
    IF NOT op.resumed THEN
        old := privacy._retention_setup(tbl, keep, since_column, action, expiry_column);
        IF since_column IS NULL AND old.tbl IS NOT NULL AND old.since_column IS NULL
           AND old.keep OPERATOR(pg_catalog.<>) keep THEN
            RAISE EXCEPTION 'set_retention_online cannot change the period of a policy counted from the latest write'
                USING ERRCODE = 'feature_not_supported',
                      HINT = 'Call privacy.set_retention(): it moves each expiry by the change in one transaction.';
        END IF;
        -- from here on the trigger stamps every write; the rows follow in batches
        PERFORM privacy._drop_retention_trigger(tbl);
        PERFORM privacy._retention_create_trigger(tbl, keep, since_column, expiry_column);
    END IF;
    COMMIT;
    SELECT * INTO pol FROM privacy.retention_policies p
     WHERE p.tbl OPERATOR(pg_catalog.=) set_retention_online.tbl;
    -- rows are re-stamped by touching them: the trigger computes the expiry
    -- (anonymized rows, stamped infinity, stay kept)
    IF pol.since_column IS NOT NULL THEN
        pred := pg_catalog.format('%1$I IS DISTINCT FROM %2$I OPERATOR(pg_catalog.+) %3$L::pg_catalog.interval '
                                  'AND %1$I IS DISTINCT FROM ''infinity''',
                                  pol.expiry_column, pol.since_column, pol.keep);
    ELSE
        pred := pg_catalog.format('%1$I IS DISTINCT FROM ''infinity''', pol.expiry_column);
    END IF;
    PERFORM privacy._bulk_total(op.id, pred);
    COMMIT;
    -- counted from now, a stamp is never final: no sweep (rows that writers
    -- moved behind the cursor were stamped by the trigger)
    CALL privacy._convert_online(op.id, pg_catalog.format('%1$I = %1$I', pol.expiry_column), pred, batch,
                                 notice_every, pol.since_column IS NOT NULL);
    PERFORM privacy._bulk_finish(op.id, batch);
END
$$;
COMMENT ON PROCEDURE privacy.set_retention_online(regclass, interval, name, text, name, int, int) IS
  'set_retention for large tables: re-stamps existing rows in batches that commit, resumable, progress in privacy.progress';

-- Internal routines executable by PUBLIC (the default, kept on purpose), for the
-- reason given.  PUBLIC: the invoker-rights helpers of the *_online procedures,
-- which run with the caller's rights: the conversion UPDATEs and counts run as
-- the caller, privacy.bulk_operations lets a role record operations only on
-- tables it owns (row-level security), and _unprotecting only reads it.
-- _bulk_finish writes an audit row only when it finishes an unfinished
-- re-encryption, once, for the table's owner itself with EXECUTE on
-- reencrypt_online; the row's action, object and details are its own.
GRANT EXECUTE ON FUNCTION privacy._unprotecting(regclass, name), privacy._bulk_operation(text, regclass, name),
    privacy._bulk_total(bigint, text), privacy._bulk_finish(bigint, int) TO PUBLIC;
GRANT EXECUTE ON PROCEDURE privacy._convert_online(bigint, text, text, int, int, boolean) TO PUBLIC;
