-- Citus: one key ring for the cluster (src/citus.c).  The coordinator's
-- privacy.keys is the ring; every change is copied to every worker in the
-- same (two-phase committed) transaction.  On a single node these objects
-- are inert.

-- On a worker: the fingerprint of the ring the coordinator copied here last.
-- Keyed functions refuse to run on a worker without a row.
CREATE TABLE IF NOT EXISTS privacy.ring_sync (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    fingerprint text NOT NULL,
    synced_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON privacy.ring_sync FROM PUBLIC;
COMMENT ON TABLE privacy.ring_sync IS
  'On a Citus worker: fingerprint of the key ring last copied from the coordinator';

CREATE OR REPLACE FUNCTION privacy.key_ring_fingerprint() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(COALESCE(pg_catalog.string_agg(
           pg_catalog.concat_ws('/', k.key_id, k.version, k.name, k.purpose, k.status,
                                pg_catalog.encode(k.wrapped, 'hex'), pg_catalog.encode(k.master_key_id, 'hex')),
           ';' ORDER BY k.key_id, k.version), ''), 'UTF8')), 'hex')
  FROM privacy.keys k
$$;
REVOKE ALL ON FUNCTION privacy.key_ring_fingerprint() FROM PUBLIC;
COMMENT ON FUNCTION privacy.key_ring_fingerprint() IS
  'SHA-256 over every key version of this node''s ring (wrapped material included); equal on nodes holding the same ring';

CREATE OR REPLACE FUNCTION privacy._keys_row_sync() RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_keys_row_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._keys_row_sync() FROM PUBLIC;
COMMENT ON FUNCTION privacy._keys_row_sync() IS
  'Row trigger on privacy.keys: collects changed key ids for the copy to Citus workers';
CREATE OR REPLACE TRIGGER keys_row_sync
    AFTER INSERT OR UPDATE OR DELETE ON privacy.keys
    FOR EACH ROW EXECUTE FUNCTION privacy._keys_row_sync();

CREATE OR REPLACE FUNCTION privacy._keys_worker_guard() RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_keys_worker_guard' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._keys_worker_guard() FROM PUBLIC;
COMMENT ON FUNCTION privacy._keys_worker_guard() IS
  'Statement trigger on privacy.keys: on a Citus worker only the copy from the coordinator writes the ring';
CREATE OR REPLACE TRIGGER keys_worker_guard
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.keys
    FOR EACH STATEMENT EXECUTE FUNCTION privacy._keys_worker_guard();

CREATE OR REPLACE FUNCTION privacy._ring_apply(rows jsonb, key_ids int[], fingerprint text)
RETURNS void
AS 'MODULE_PATHNAME', 'privacy_ring_apply' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._ring_apply(jsonb, int[], text) FROM PUBLIC;
COMMENT ON FUNCTION privacy._ring_apply(jsonb, int[], text) IS
  'On a Citus worker: replaces the ring (key_ids NULL) or the given keys with rows sent by the coordinator';

CREATE OR REPLACE FUNCTION privacy.sync_key_ring() RETURNS int
AS 'MODULE_PATHNAME', 'privacy_sync_key_ring' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy.sync_key_ring() FROM PUBLIC;
COMMENT ON FUNCTION privacy.sync_key_ring() IS
  'On a Citus coordinator: copies the whole key ring and the protected columns of distributed tables to every worker (run after citus_add_node); returns the number of workers';

-- Each node's master-key id and ring fingerprint, as seen from the coordinator.
CREATE OR REPLACE FUNCTION privacy.key_ring_status()
RETURNS TABLE (nodename text, nodeport int, is_coordinator boolean, master_key_id text,
               fingerprint text, synced boolean, in_step boolean)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'citus') THEN
        RETURN QUERY SELECT 'localhost'::text, pg_catalog.current_setting('port')::int, true,
                            privacy.master_key_id(), privacy.key_ring_fingerprint(), true, true;
        RETURN;
    END IF;
    RETURN QUERY EXECUTE $q$
        WITH r AS (
            SELECT n.nodename::text AS nodename, n.nodeport, n.groupid OPERATOR(pg_catalog.=) 0 AS coord,
                   CASE WHEN c.success THEN c.result END AS res
              FROM pg_catalog.run_command_on_all_nodes(
                       $c$SELECT privacy.master_key_id() || ' ' || privacy.key_ring_fingerprint() || ' '
                                 || (privacy._citus_worker() IS FALSE OR EXISTS (SELECT FROM privacy.ring_sync))$c$) c
              JOIN pg_catalog.pg_dist_node n USING (nodeid)
        ), s AS (
            SELECT nodename, nodeport, coord, pg_catalog.split_part(res, ' ', 1) AS mk,
                   pg_catalog.split_part(res, ' ', 2) AS fp, pg_catalog.split_part(res, ' ', 3) = 'true' AS synced
              FROM r
        )
        SELECT s.nodename, s.nodeport, s.coord, s.mk, s.fp, s.synced,
               s.synced AND s.fp = c.fp AND s.mk = c.mk
          FROM s LEFT JOIN s c ON c.coord
         ORDER BY NOT s.coord, s.nodeport
    $q$;
END
$$;
REVOKE ALL ON FUNCTION privacy.key_ring_status() FROM PUBLIC;
COMMENT ON FUNCTION privacy.key_ring_status() IS
  'Each node''s master-key id and key-ring fingerprint; in_step is false where a node differs from the coordinator';

-- The error of bookkeeping functions evaluated on a Citus worker: consents,
-- restrictions and the other registries live on the coordinator only.
CREATE OR REPLACE FUNCTION privacy._citus_coordinator_only(fn text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '% cannot run on a Citus worker', fn
        USING ERRCODE = 'feature_not_supported',
              DETAIL = 'It reads bookkeeping that is kept on the coordinator only; on a worker it would answer for nobody.',
              HINT = 'Call it on the coordinator (with constant arguments, or on rows fetched to the coordinator), '
                     'not with a column of a distributed table in a query Citus pushes down.';
END
$$;
COMMENT ON FUNCTION privacy._citus_coordinator_only(text) IS
  'Raises the documented error of a coordinator-only function evaluated on a Citus worker';
REVOKE ALL ON FUNCTION privacy._citus_coordinator_only(text) FROM PUBLIC;

-- Citus table kind of a relation: 'distributed', 'reference', 'citus local',
-- or NULL (not a Citus table, or no Citus in this database).
CREATE OR REPLACE FUNCTION privacy._citus_kind(tbl regclass) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE $q$SELECT CASE WHEN p.partmethod OPERATOR(pg_catalog.<>) 'n' OR p.colocationid OPERATOR(pg_catalog.<>) 0
                                AND p.repmodel OPERATOR(pg_catalog.<>) 't' THEN 'distributed'
                           WHEN p.repmodel OPERATOR(pg_catalog.=) 't' THEN 'reference'
                           ELSE 'citus local' END
                 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1$q$
       INTO k USING tbl;
    RETURN k;
END
$$;
COMMENT ON FUNCTION privacy._citus_kind(regclass) IS
  'Citus kind of a table: distributed, reference, citus local, or NULL';

-- The documented refusal of a capability on Citus tables (README, "Scaling out with Citus").
CREATE OR REPLACE FUNCTION privacy._citus_refuse(tbl regclass, capability text, instead text,
                                                 kinds text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text := privacy._citus_kind(tbl);
BEGIN
    IF k IS NOT NULL AND (kinds IS NULL OR k OPERATOR(pg_catalog.=) ANY (kinds)) THEN
        RAISE EXCEPTION '% is not supported on the Citus % table "%"', capability, k, tbl
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'See "Scaling out with Citus" in the privacy README for what works on which table kind.',
                  HINT = instead;
    END IF;
END
$$;
COMMENT ON FUNCTION privacy._citus_refuse(regclass, text, text, text[]) IS
  'Raises the documented feature_not_supported error when tbl is a Citus table (of one of kinds)';

-- reencrypt on a distributed table: the same C functions, labelled IMMUTABLE
-- only so that Citus pushes one UPDATE down to every shard (it refuses
-- VOLATILE and column-fed STABLE functions there).  Not for indexes.
CREATE OR REPLACE FUNCTION privacy._reencrypt_shard_value(value text, context text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_reencrypt_value' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy._reencrypt_shard_value(value bytea, context text) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_reencrypt_value' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy._needs_reencrypt_shard(value text) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_needs_reencrypt' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy._needs_reencrypt_shard(value bytea) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_needs_reencrypt' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy._reencrypt_shard_value(text, text) IS
  'privacy._reencrypt_value for the pushed-down UPDATE of reencrypt on a Citus distributed table';
COMMENT ON FUNCTION privacy._reencrypt_shard_value(bytea, text) IS
  'privacy._reencrypt_value for the pushed-down UPDATE of reencrypt on a Citus distributed table';
COMMENT ON FUNCTION privacy._needs_reencrypt_shard(text) IS
  'privacy._needs_reencrypt for the pushed-down UPDATE of reencrypt on a Citus distributed table';
COMMENT ON FUNCTION privacy._needs_reencrypt_shard(bytea) IS
  'privacy._needs_reencrypt for the pushed-down UPDATE of reencrypt on a Citus distributed table';

-- protect_column / unprotect_column on a distributed table: every row is
-- rewritten by one UPDATE that Citus pushes down to every shard.  Protecting
-- (unprotect_context NULL) touches the rows so that the protection trigger,
-- on every shard, encrypts them; a value already in ciphertext form would pass
-- the trigger unchanged (on a local table protect_column encrypts it again):
-- refused, never kept silently.  Unprotecting decrypts with
-- _decrypt_shard_column.  The new values go through privacy._keep_expiry, so
-- that the retention trigger on the shards keeps every row's expiry (as the
-- rewrite of a local table does).
CREATE OR REPLACE FUNCTION privacy._citus_convert_rows(tbl regclass, col name, unprotect_context text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n  bigint;
BEGIN
    IF unprotect_context IS NOT NULL THEN
        EXECUTE pg_catalog.format('UPDATE %s SET %I = privacy._keep_expiry(privacy._decrypt_shard_column(%I, %L)) WHERE %I IS NOT NULL',
                                  tbl, col, col, unprotect_context, col);
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE privacy.is_ciphertext(%I)', tbl, col) INTO n;
    IF n OPERATOR(pg_catalog.>) 0 THEN
        RAISE EXCEPTION 'column "%" of the Citus distributed table "%" holds % values in ciphertext form', col, tbl, n
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'On a distributed table the protection trigger encrypts the rows; it keeps ciphertexts as they are.',
                  HINT = 'Decrypt those values (or clear them) first, then protect the column.';
    END IF;
    EXECUTE pg_catalog.format('UPDATE %s SET %I = privacy._keep_expiry(%I) WHERE %I IS NOT NULL', tbl, col, col, col);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION privacy._citus_convert_rows(regclass, name, text) IS
  'protect_column (context NULL) / unprotect_column on a Citus distributed table: one pushed-down UPDATE of every shard';

-- unprotect_column on a distributed table: privacy._decrypt_column labelled
-- IMMUTABLE only so that Citus pushes the UPDATE down to every shard (as
-- _reencrypt_shard_value); the same access check runs on the worker.  Not for indexes.
CREATE OR REPLACE FUNCTION privacy._decrypt_shard_column(value text, context text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_decrypt_column' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy._decrypt_shard_column(value bytea, context text) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_decrypt_column' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy._decrypt_shard_column(text, text) IS
  'privacy._decrypt_column for the pushed-down UPDATE of unprotect_column on a Citus distributed table';
COMMENT ON FUNCTION privacy._decrypt_shard_column(bytea, text) IS
  'privacy._decrypt_column for the pushed-down UPDATE of unprotect_column on a Citus distributed table';

-- On a worker: the coordinator's registry rows of one protected distributed
-- table (its shell table here), for the access check of _decrypt_column.
CREATE OR REPLACE FUNCTION privacy._registry_apply(tbl text, rows jsonb) RETURNS void
AS 'MODULE_PATHNAME', 'privacy_registry_apply' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._registry_apply(text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION privacy._registry_apply(text, jsonb) IS
  'On a Citus worker: replaces the protected-column rows of a distributed table with those sent by the coordinator';

-- Internal functions executable by PUBLIC (README, "Security notes"), each for its reason:
-- PUBLIC: catalog-only (pg_dist_partition, which Citus lets everyone read); called by
-- invoker-rights functions (protect_column, set_retention, mask_column, export) to refuse.
REVOKE ALL ON FUNCTION privacy._citus_kind(regclass), privacy._citus_refuse(regclass, text, text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy._citus_kind(regclass), privacy._citus_refuse(regclass, text, text, text[]) TO PUBLIC;
-- PUBLIC: as _reencrypt_value and _needs_reencrypt (no plaintext out); reencrypt's UPDATE runs them as the table owner.
REVOKE ALL ON FUNCTION privacy._reencrypt_shard_value(text, text), privacy._reencrypt_shard_value(bytea, text),
    privacy._needs_reencrypt_shard(text), privacy._needs_reencrypt_shard(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy._reencrypt_shard_value(text, text), privacy._reencrypt_shard_value(bytea, text),
    privacy._needs_reencrypt_shard(text), privacy._needs_reencrypt_shard(bytea) TO PUBLIC;
-- PUBLIC: as _decrypt_column (checks the reader's rights itself); unprotect_column runs it as its caller.
REVOKE ALL ON FUNCTION privacy._decrypt_shard_column(text, text), privacy._decrypt_shard_column(bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy._decrypt_shard_column(text, text), privacy._decrypt_shard_column(bytea, text) TO PUBLIC;
-- PUBLIC: invoker-rights helper of protect_column/unprotect_column (its UPDATE runs with the caller's rights).
REVOKE ALL ON FUNCTION privacy._citus_convert_rows(regclass, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy._citus_convert_rows(regclass, name, text) TO PUBLIC;
