-- Transparent column encryption.  The registry is extension configuration
-- (dumped by pg_dump); each protected column has a stable random context, so
-- renaming the table or restoring a dump does not break decryption.
CREATE TABLE IF NOT EXISTS privacy.protected_columns (
    tbl           regclass NOT NULL,
    col           name NOT NULL,
    key_name      text NOT NULL,
    deterministic boolean NOT NULL,
    original_type text NOT NULL,
    max_chars     int,
    context       text NOT NULL UNIQUE,
    view          regclass,
    protected_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    protected_by  name NOT NULL,
    PRIMARY KEY (tbl, col)
);
REVOKE ALL ON privacy.protected_columns FROM PUBLIC;
GRANT SELECT ON privacy.protected_columns TO PUBLIC;
COMMENT ON TABLE privacy.protected_columns IS
  'Columns under transparent encryption: key, mode, original type, stable context, _decrypted view';
SELECT pg_catalog.pg_extension_config_dump('privacy.protected_columns', '');

CREATE OR REPLACE FUNCTION privacy._protect_trigger() RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_protect_trigger' LANGUAGE C;
COMMENT ON FUNCTION privacy._protect_trigger() IS
  'Row trigger of protected tables: encrypts plaintext written to protected columns';

-- Plaintext of a protected column, for its _decrypted view.  Executable by
-- PUBLIC but it checks, once per query, that the caller owns the table or may
-- SELECT from the table's _decrypted view (42501 otherwise).
CREATE OR REPLACE FUNCTION privacy._decrypt_column(value text, context text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_decrypt_column' LANGUAGE C STRICT STABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION privacy._decrypt_column(value bytea, context text) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_decrypt_column' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy._decrypt_column(text, text) IS
  'Decrypts a protected column value for a role allowed to read the table''s _decrypted view';
COMMENT ON FUNCTION privacy._decrypt_column(bytea, text) IS
  'Decrypts a protected column value for a role allowed to read the table''s _decrypted view';

-- Re-encryption helpers: they return ciphertexts only.
CREATE OR REPLACE FUNCTION privacy._reencrypt_value(value text, context text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_reencrypt_value' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION privacy._reencrypt_value(value bytea, context text) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_reencrypt_value' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION privacy._needs_reencrypt(value text) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_needs_reencrypt' LANGUAGE C STRICT STABLE;
CREATE OR REPLACE FUNCTION privacy._needs_reencrypt(value bytea) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_needs_reencrypt' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION privacy._reencrypt_value(text, text) IS 'A stored ciphertext re-encrypted under the active key version';
COMMENT ON FUNCTION privacy._reencrypt_value(bytea, text) IS 'A ciphertext re-encrypted under the active key version';
COMMENT ON FUNCTION privacy._needs_reencrypt(text) IS 'Whether a stored ciphertext uses a key version that is not active';
COMMENT ON FUNCTION privacy._needs_reencrypt(bytea) IS 'Whether a ciphertext uses a key version that is not active';

-- Registry writes: C, table owner only, written as the extension owner.  The
-- column's type and its random context come from the C code, never from the
-- caller.
CREATE OR REPLACE FUNCTION privacy._registry_write(tbl regclass, col name, key_name text, deterministic boolean)
RETURNS text AS 'MODULE_PATHNAME', 'privacy_registry_write' LANGUAGE C STRICT VOLATILE;
CREATE OR REPLACE FUNCTION privacy._registry_remove(tbl regclass, col name)
RETURNS void AS 'MODULE_PATHNAME', 'privacy_registry_remove' LANGUAGE C STRICT;
CREATE OR REPLACE FUNCTION privacy._registry_set_view(tbl regclass, view regclass)
RETURNS void AS 'MODULE_PATHNAME', 'privacy_registry_set_view' LANGUAGE C;
COMMENT ON FUNCTION privacy._registry_write(regclass, name, text, boolean) IS
  'Records a protected column (table owner only); returns its new random context';

CREATE OR REPLACE FUNCTION privacy._protect_value(value text, context text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_protect_value' LANGUAGE C STRICT VOLATILE;
CREATE OR REPLACE FUNCTION privacy._protect_value(value bytea, context text) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_protect_value' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy._protect_value(text, text) IS
  'A value encrypted for the protected column with this context, in stored form (table owner only)';
COMMENT ON FUNCTION privacy._protect_value(bytea, text) IS
  'A value encrypted for the protected column with this context (table owner only)';
COMMENT ON FUNCTION privacy._registry_remove(regclass, name) IS 'Forgets a protected column (table owner only)';
COMMENT ON FUNCTION privacy._registry_set_view(regclass, regclass) IS 'Records a table''s _decrypted view (table owner only)';

-- UPDATE tbl SET <set_clause> for the rows matching <where_clause>, batch rows
-- per statement, in one pass over the table.  Runs with the caller's rights.
CREATE OR REPLACE FUNCTION privacy._batch_update(tbl regclass, set_clause text, where_clause text, batch int)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ids   tid[] := '{}';
    r     record;
    n     bigint;
    total bigint := 0;
    keep  boolean := privacy._retention_keep_expiry(true);  -- rewrites keep retention expiries
    upd   text := pg_catalog.format('UPDATE ONLY %s SET %s WHERE ctid OPERATOR(pg_catalog.=) ANY ($1)',
                                    tbl, set_clause);
BEGIN
    -- ctids are unique per table only: a partitioned table goes leaf by leaf
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tbl)
       OPERATOR(pg_catalog.=) 'p' THEN
        SELECT COALESCE(pg_catalog.sum(privacy._batch_update(t.relid, set_clause, where_clause, batch)), 0)
          INTO total
          FROM pg_catalog.pg_partition_tree(tbl) t WHERE t.isleaf;
        PERFORM privacy._retention_keep_expiry(keep);
        RETURN total;
    END IF;
    FOR r IN EXECUTE pg_catalog.format('SELECT ctid FROM ONLY %s WHERE %s', tbl, where_clause) LOOP
        ids := ids OPERATOR(pg_catalog.||) r.ctid;
        IF pg_catalog.cardinality(ids) OPERATOR(pg_catalog.>=) batch THEN
            EXECUTE upd USING ids;
            GET DIAGNOSTICS n = ROW_COUNT;
            total := total OPERATOR(pg_catalog.+) n;
            ids := '{}';
        END IF;
    END LOOP;
    IF pg_catalog.cardinality(ids) OPERATOR(pg_catalog.>) 0 THEN
        EXECUTE upd USING ids;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total OPERATOR(pg_catalog.+) n;
    END IF;
    PERFORM privacy._retention_keep_expiry(keep);
    RETURN total;
END
$$;
COMMENT ON FUNCTION privacy._batch_update(regclass, text, text, int) IS
  'Batched UPDATE used by protect_column, unprotect_column and reencrypt';

-- Drop a table's _decrypted view if it exists, returning its privileges.
CREATE OR REPLACE FUNCTION privacy._drop_decrypted_view(tbl regclass) RETURNS aclitem[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v   regclass;
    acl aclitem[];
BEGIN
    SELECT p.view INTO v FROM privacy.protected_columns p
     WHERE p.tbl OPERATOR(pg_catalog.=) $1 AND p.view IS NOT NULL LIMIT 1;
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT c.relacl INTO acl FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) v;
    PERFORM privacy._registry_set_view(tbl, NULL);
    EXECUTE pg_catalog.format('DROP VIEW %s', v);
    RETURN acl;
END
$$;
COMMENT ON FUNCTION privacy._drop_decrypted_view(regclass) IS
  'Drops a table''s _decrypted view if it exists; returns its privileges';

-- Drop a table's protection trigger if it has one.
CREATE OR REPLACE FUNCTION privacy._drop_protect_trigger(tbl regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid OPERATOR(pg_catalog.=) tbl
                  AND t.tgname OPERATOR(pg_catalog.=) 'zz_privacy_protect') THEN
        EXECUTE pg_catalog.format('DROP TRIGGER zz_privacy_protect ON %s', tbl);
    END IF;
END
$$;
COMMENT ON FUNCTION privacy._drop_protect_trigger(regclass) IS
  'Drops a table''s protection trigger if it has one';

-- Recreate a table's protection trigger and _decrypted view from the registry,
-- giving the view the privileges in acl.
CREATE OR REPLACE FUNCTION privacy._rebuild_protection(tbl regclass, acl aclitem[] DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    args  text;
    cols  text;
    nsp   name;
    rel   name;
    vname text;
    g     record;
BEGIN
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE c.oid OPERATOR(pg_catalog.=) tbl;
    PERFORM privacy._drop_protect_trigger(tbl);

    SELECT pg_catalog.string_agg(pg_catalog.format('%L, %L, %L, %L', p.col,
               CASE WHEN p.deterministic THEN 'siv' ELSE 'gcm' END
                 OPERATOR(pg_catalog.||) COALESCE(':' OPERATOR(pg_catalog.||) p.max_chars::text, ''),
               p.key_name, p.context), ', ' ORDER BY p.col)
      INTO args
      FROM privacy.protected_columns p WHERE p.tbl OPERATOR(pg_catalog.=) $1
       AND NOT privacy._unprotecting(p.tbl, p.col);
    IF args IS NULL THEN
        RETURN;
    END IF;
    EXECUTE pg_catalog.format('CREATE TRIGGER zz_privacy_protect BEFORE INSERT OR UPDATE ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION privacy._protect_trigger(%s)', tbl, args);

    SELECT pg_catalog.string_agg(
               CASE WHEN p.col IS NULL THEN pg_catalog.quote_ident(a.attname)
                    ELSE pg_catalog.format('privacy._decrypt_column(%I, %L)::%s AS %I',
                                           a.attname, p.context, p.original_type, a.attname) END,
               ', ' ORDER BY a.attnum)
      INTO cols
      FROM pg_catalog.pg_attribute a
      LEFT JOIN privacy.protected_columns p
        ON p.tbl OPERATOR(pg_catalog.=) $1 AND p.col OPERATOR(pg_catalog.=) a.attname
       AND NOT privacy._unprotecting(p.tbl, p.col)
     WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.>) 0
       AND NOT a.attisdropped;
    vname := pg_catalog.format('%I.%I', nsp, rel OPERATOR(pg_catalog.||) '_decrypted');
    EXECUTE pg_catalog.format('CREATE VIEW %s AS SELECT %s FROM %s', vname, cols, tbl);
    EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', vname);
    FOR g IN SELECT x.grantee, x.privilege_type, x.is_grantable
               FROM pg_catalog.aclexplode(acl) x
              WHERE x.grantee OPERATOR(pg_catalog.<>) x.grantor LOOP
        EXECUTE pg_catalog.format('GRANT %s ON %s TO %s%s', g.privilege_type, vname,
                    CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                         ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END,
                    CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    PERFORM privacy._registry_set_view(tbl, vname::pg_catalog.regclass);
END
$$;
COMMENT ON FUNCTION privacy._rebuild_protection(regclass, aclitem[]) IS
  'Recreates a table''s protection trigger and _decrypted view from the registry, with the given view privileges';

-- Checks, registry row, trigger and _decrypted view of a column about to be
-- protected; returns its context.  The rows themselves are converted by
-- protect_column (one transaction) or protect_column_online (batches).
CREATE OR REPLACE FUNCTION privacy._protect_column_setup(tbl regclass, col name, key_name text, deterministic boolean)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    typ      oid;
    typmod   int;
    tname    text;
    kind     "char";
    maxchars int;
    keyn     text := key_name;
    acl      aclitem[];
    ctx      text;
BEGIN
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tbl;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'cannot protect a column of "%"', tbl
            USING ERRCODE = 'wrong_object_type', DETAIL = 'Only tables can have protected columns.';
    END IF;
    PERFORM privacy._citus_refuse(tbl, 'privacy.protect_column',
        'Encrypt in the statements that write the column (privacy.encrypt() runs on the workers) '
        'and move old key versions with privacy.reencrypt().');
    SELECT a.atttypid, a.atttypmod, pg_catalog.format_type(a.atttypid, a.atttypmod)
      INTO typ, typmod, tname
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) col
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, tbl USING ERRCODE = 'undefined_column';
    END IF;
    IF typ NOT IN ('pg_catalog.text'::pg_catalog.regtype, 'pg_catalog.varchar'::pg_catalog.regtype,
                   'pg_catalog.bytea'::pg_catalog.regtype) THEN
        RAISE EXCEPTION 'cannot protect column "%" of type %', col, tname
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Protected columns must be text, varchar or bytea. Convert the column to text, '
                         'or encrypt the value yourself with privacy.encrypt().';
    END IF;
    IF EXISTS (SELECT 1 FROM privacy.protected_columns p
                WHERE p.tbl OPERATOR(pg_catalog.=) $1 AND p.col OPERATOR(pg_catalog.=) $2) THEN
        RAISE EXCEPTION 'column "%" of table "%" is already protected', col, tbl USING ERRCODE = 'duplicate_object';
    END IF;
    IF deterministic AND keyn OPERATOR(pg_catalog.=) 'default' THEN
        keyn := 'deterministic';
    END IF;
    -- the key must exist and serve this mode
    IF deterministic THEN
        PERFORM privacy.encrypt_deterministic(''::text, keyn);
    ELSE
        PERFORM privacy.encrypt(''::text, keyn);
    END IF;
    IF typ OPERATOR(pg_catalog.=) 'pg_catalog.varchar'::pg_catalog.regtype AND typmod OPERATOR(pg_catalog.>) 4 THEN
        maxchars := typmod OPERATOR(pg_catalog.-) 4;
    END IF;

    acl := privacy._drop_decrypted_view(tbl);
    ctx := privacy._registry_write(tbl, col, keyn, deterministic);
    IF maxchars IS NOT NULL THEN
        -- ciphertexts are longer than the plaintext: the trigger keeps the limit
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE pg_catalog.varchar', tbl, col);
    END IF;
    PERFORM privacy._rebuild_protection(tbl, acl);
    RETURN ctx;
END
$$;
COMMENT ON FUNCTION privacy._protect_column_setup(regclass, name, text, boolean) IS
  'Registers a column for protection (trigger, _decrypted view); returns its context; rows are converted by the caller';

CREATE OR REPLACE FUNCTION privacy.protect_column(tbl regclass, col name, key_name text DEFAULT 'default',
                                       deterministic boolean DEFAULT false, batch int DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- every existing value is data to protect, even one that looks like a ciphertext
    RETURN privacy._batch_update(tbl,
               pg_catalog.format('%I = privacy._protect_value(%I, %L)', col, col,
                                 privacy._protect_column_setup(tbl, col, key_name, deterministic)),
               pg_catalog.format('%I IS NOT NULL', col),
               batch);
END
$$;
COMMENT ON FUNCTION privacy.protect_column(regclass, name, text, boolean, int) IS
  'Encrypts a text, varchar or bytea column in place and keeps new writes encrypted; plaintext through <table>_decrypted';

CREATE OR REPLACE FUNCTION privacy.unprotect_column(tbl regclass, col name, batch int DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r   record;
    acl aclitem[];
    n   bigint;
BEGIN
    SELECT * INTO r FROM privacy.protected_columns p
     WHERE p.tbl OPERATOR(pg_catalog.=) $1 AND p.col OPERATOR(pg_catalog.=) $2;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of table "%" is not protected', col, tbl USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM privacy._citus_refuse(tbl, 'privacy.unprotect_column',
        'Undistribute the table (undistribute_table()) first, then unprotect the column.');
    acl := privacy._drop_decrypted_view(tbl);
    PERFORM privacy._drop_protect_trigger(tbl);
    n := privacy._batch_update(tbl,
             pg_catalog.format('%I = privacy._decrypt_column(%I, %L)', col, col, r.context),
             pg_catalog.format('%I IS NOT NULL', col), batch);
    PERFORM privacy._registry_remove(tbl, col);
    IF r.max_chars IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s', tbl, col, r.original_type);
    END IF;
    PERFORM privacy._rebuild_protection(tbl, acl);
    RETURN n;
END
$$;
COMMENT ON FUNCTION privacy.unprotect_column(regclass, name, int) IS
  'Decrypts a protected column back to plaintext and removes its protection';

CREATE OR REPLACE FUNCTION privacy.reencrypt(tbl regclass, col name, batch int DEFAULT 10000, context text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'privacy_reencrypt' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.reencrypt(regclass, name, int, text) IS
  'Moves a column''s ciphertexts to the active version of their key, batch rows per UPDATE; audited';
REVOKE ALL ON FUNCTION privacy.reencrypt(regclass, name, int, text) FROM PUBLIC;

-- Keep the registry in step with DDL.  Dropped tables leave the registry;
-- dropping or renaming a protected column is refused (unprotect it first); a
-- renamed table's _decrypted view follows the new name.  Called by the event
-- triggers of events.sql, which run as the extension owner, so they only ever
-- touch rows of the objects the command itself dropped or altered, and build
-- no SQL from registry text.
CREATE OR REPLACE FUNCTION privacy._protect_on_sql_drop() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT p.tbl::pg_catalog.oid AS relid, p.col INTO r
      FROM privacy.protected_columns p
      JOIN pg_catalog.pg_event_trigger_dropped_objects() d
        ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid
       AND d.objsubid OPERATOR(pg_catalog.>) 0
     WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid OPERATOR(pg_catalog.=) p.tbl
                          AND a.attname OPERATOR(pg_catalog.=) p.col AND NOT a.attisdropped)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot drop protected column "%" of table "%"', r.col, r.relid::pg_catalog.regclass
            USING ERRCODE = 'object_in_use',
                  HINT = 'Call privacy.unprotect_column() first.';
    END IF;

    UPDATE privacy.protected_columns p SET view = NULL
      FROM pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND p.view::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid;
    DELETE FROM privacy.protected_columns p
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND d.objid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid;
END
$$;
REVOKE ALL ON FUNCTION privacy._protect_on_sql_drop() FROM PUBLIC;
COMMENT ON FUNCTION privacy._protect_on_sql_drop() IS
  'sql_drop handler of the protect module (called by privacy._on_sql_drop): refuses dropping a protected column, forgets dropped tables and views';

CREATE OR REPLACE FUNCTION privacy._protect_on_ddl_end(tag text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    IF tag OPERATOR(pg_catalog.<>) 'ALTER TABLE' THEN
        RETURN;
    END IF;
    FOR r IN
        SELECT DISTINCT p.tbl::pg_catalog.oid AS relid, p.col, p.view::pg_catalog.oid AS view,
               EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid OPERATOR(pg_catalog.=) p.tbl
                          AND a.attname OPERATOR(pg_catalog.=) p.col AND NOT a.attisdropped) AS col_exists
          FROM privacy.protected_columns p
          JOIN pg_catalog.pg_event_trigger_ddl_commands() d
            ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.objid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid
    LOOP
        IF NOT r.col_exists THEN
            RAISE EXCEPTION 'cannot rename protected column "%" of table "%"', r.col, r.relid::pg_catalog.regclass
                USING ERRCODE = 'object_in_use',
                      HINT = 'Call privacy.unprotect_column() first, rename, then protect the column again.';
        END IF;
        -- a renamed table's view follows, unless that name is taken
        IF r.view IS NOT NULL THEN
            PERFORM privacy._rename_decrypted_view(r.relid, r.view);
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION privacy._protect_on_ddl_end(text) FROM PUBLIC;
COMMENT ON FUNCTION privacy._protect_on_ddl_end(text) IS
  'ddl_command_end handler of the protect module (called by privacy._on_ddl_end): refuses renaming a protected column, renames a renamed table''s _decrypted view';

-- Give a table's _decrypted view the table's current name, if that is free:
-- only a view whose rule reads the table and that the table's owner owns,
-- renamed as that owner in a security-restricted operation.
CREATE OR REPLACE FUNCTION privacy._rename_decrypted_view(relid oid, view oid) RETURNS void
AS 'MODULE_PATHNAME', 'privacy_rename_decrypted_view' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy._rename_decrypted_view(oid, oid) IS
  'Renames a table''s _decrypted view after the table, as the table''s owner (DDL event trigger)';
REVOKE ALL ON FUNCTION privacy._rename_decrypted_view(oid, oid) FROM PUBLIC;

-- col is text, not name: the result then takes the collation of value (the
-- default one for literals and parameters), which yields to the column's own
-- collation, so that the comparison matches the column's indexes.
CREATE OR REPLACE FUNCTION privacy.protected_value(tbl regclass, col text, value text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_protected_value' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.protected_value(regclass, text, text) IS
  'Stored form of a value in a deterministically protected text column, for indexed equality lookups';

-- Internal functions executable by PUBLIC (the default, kept on purpose), each
-- for the reason given; every other internal function of privacy is REVOKEd
-- from PUBLIC (test/attack_owner.sql lists them and compares with the README's
-- "Internal functions open to PUBLIC").
-- PUBLIC: the trigger function protect_column installs, as the table's owner (CREATE TRIGGER needs EXECUTE).
GRANT EXECUTE ON FUNCTION privacy._protect_trigger() TO PUBLIC;
-- PUBLIC: read through every table's _decrypted view by its readers; checks the reader's rights itself.
GRANT EXECUTE ON FUNCTION privacy._decrypt_column(text, text), privacy._decrypt_column(bytea, text) TO PUBLIC;
-- PUBLIC: return no plaintext (a ciphertext re-encrypted, or whether it needs it).
GRANT EXECUTE ON FUNCTION privacy._reencrypt_value(text, text), privacy._reencrypt_value(bytea, text),
    privacy._needs_reencrypt(text), privacy._needs_reencrypt(bytea) TO PUBLIC;
-- PUBLIC: protect_column/unprotect_column run with the table owner's rights; each checks
-- table ownership itself, and _registry_set_view accepts only the view protect_column made.
GRANT EXECUTE ON FUNCTION privacy._registry_write(regclass, name, text, boolean),
    privacy._registry_remove(regclass, name), privacy._registry_set_view(regclass, regclass),
    privacy._protect_value(text, text), privacy._protect_value(bytea, text) TO PUBLIC;
-- PUBLIC: invoker-rights PL/pgSQL of protect_column/unprotect_column (DDL and UPDATE with the caller's own rights).
GRANT EXECUTE ON FUNCTION privacy._batch_update(regclass, text, text, int),
    privacy._drop_decrypted_view(regclass), privacy._drop_protect_trigger(regclass),
    privacy._rebuild_protection(regclass, aclitem[]),
    privacy._protect_column_setup(regclass, name, text, boolean) TO PUBLIC;
