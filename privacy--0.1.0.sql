-- privacy 0.1.0: generated from src/sql/*.sql by the Makefile; edit the fragments.
\echo Use "CREATE EXTENSION privacy" to load this file. \quit

-- ---- src/sql/schema.sql ----
-- Schema-wide set-up.  The extension creates schema "privacy" itself (privacy.control).
REVOKE ALL ON SCHEMA privacy FROM PUBLIC;
GRANT USAGE ON SCHEMA privacy TO PUBLIC;

-- ---- src/sql/audit.sql ----
-- Audit log: append-only record of key changes, re-encryptions, exports, erasures,
-- purges, detokenizations and decryptions.  Written by the extension's C code as
-- the extension owner; readable by no ordinary role unless a DBA grants it.
CREATE TABLE privacy.audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    session_role name NOT NULL,
    acting_role  name NOT NULL,
    action       text NOT NULL,
    object       text,
    subject      text,
    details      jsonb,
    xact_id      xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id()
);
CREATE INDEX audit_log_at_idx ON privacy.audit_log (at);
CREATE INDEX audit_log_subject_idx ON privacy.audit_log (subject) WHERE subject IS NOT NULL;
REVOKE ALL ON privacy.audit_log FROM PUBLIC;
COMMENT ON TABLE privacy.audit_log IS
  'Append-only audit trail of key changes, re-encryptions, exports, erasures, purges and detokenizations';

-- Append-only ledgers (this audit log, the consent ledger): refuse UPDATE,
-- DELETE and TRUNCATE, even for the owner.  TG_ARGV[0] says what to do instead.
CREATE FUNCTION privacy._append_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'privacy.% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = pg_catalog.format('%s is not allowed on privacy.%s.%s', TG_OP, TG_TABLE_NAME,
                                         COALESCE(' ' OPERATOR(pg_catalog.||) TG_ARGV[0], '')),
              HINT = 'A superuser may disable the table''s triggers for maintenance.';
END
$$;
COMMENT ON FUNCTION privacy._append_only() IS 'Refuses UPDATE, DELETE and TRUNCATE of an append-only ledger';
REVOKE ALL ON FUNCTION privacy._append_only() FROM PUBLIC;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON privacy.audit_log
    FOR EACH ROW EXECUTE FUNCTION privacy._append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON privacy.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION privacy._append_only();

SELECT pg_catalog.pg_extension_config_dump('privacy.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_log_id_seq', '');

-- ---- src/sql/keys.sql ----
-- Key ring.  Every row is one version of one data key: 256 random bits wrapped
-- under the master key (AES-256-GCM; key id, version, purpose and master-key id
-- bound as associated data).  Only the extension owner reads or writes it; the
-- C functions below do so on the caller's behalf.
CREATE TABLE privacy.keys (
    key_id        int NOT NULL,
    version       int NOT NULL CHECK (version > 0),
    name          text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 63),
    purpose       text NOT NULL
                  CHECK (purpose IN ('encrypt', 'deterministic', 'pseudonymize', 'tokenize')),
    status        text NOT NULL CHECK (status IN ('active', 'retired', 'destroyed')),
    wrapped       bytea,
    master_key_id bytea,
    origin        text NOT NULL DEFAULT 'user' CHECK (origin IN ('extension', 'user')),
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by    name NOT NULL,
    retired_at    timestamptz,
    destroyed_at  timestamptz,
    PRIMARY KEY (key_id, version),
    UNIQUE (name, version),
    CHECK ((status = 'destroyed') = (wrapped IS NULL))
);
CREATE UNIQUE INDEX keys_one_active_idx ON privacy.keys (key_id) WHERE status = 'active';
CREATE SEQUENCE privacy.keys_key_id_seq AS int OWNED BY privacy.keys.key_id;
REVOKE ALL ON privacy.keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE privacy.keys_key_id_seq FROM PUBLIC;
COMMENT ON TABLE privacy.keys IS
  'Data keys, wrapped under the master key; readable by no ordinary role';

-- Key metadata without key material, for DBAs (grant it as needed).
CREATE VIEW privacy.key_ring AS
SELECT key_id, name, purpose, version, status, created_at, created_by,
       retired_at, destroyed_at, pg_catalog.encode(master_key_id, 'hex') AS master_key_id
FROM privacy.keys;
REVOKE ALL ON privacy.key_ring FROM PUBLIC;
COMMENT ON VIEW privacy.key_ring IS 'Key versions and their status, without key material';

-- Any change to the key ring makes every backend drop its key cache.
CREATE FUNCTION privacy._keys_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_keys_changed' LANGUAGE C;
REVOKE ALL ON FUNCTION privacy._keys_changed() FROM PUBLIC;
CREATE TRIGGER keys_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.keys
    FOR EACH STATEMENT EXECUTE FUNCTION privacy._keys_changed();

-- Restore support: pg_dump dumps the key ring as extension configuration, and a
-- restore runs CREATE EXTENSION first, which makes fresh default keys with the
-- same (key_id, version).  A restored row replaces such an untouched default.
CREATE FUNCTION privacy._keys_restore() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM privacy.keys k
     WHERE k.key_id OPERATOR(pg_catalog.=) NEW.key_id
       AND k.version OPERATOR(pg_catalog.=) NEW.version
       AND k.origin OPERATOR(pg_catalog.=) 'extension'
       AND NEW.origin OPERATOR(pg_catalog.=) 'extension'
       AND k.name OPERATOR(pg_catalog.=) NEW.name;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION privacy._keys_restore() FROM PUBLIC;
CREATE TRIGGER keys_restore
    BEFORE INSERT ON privacy.keys
    FOR EACH ROW WHEN (NEW.origin = 'extension')
    EXECUTE FUNCTION privacy._keys_restore();

SELECT pg_catalog.pg_extension_config_dump('privacy.keys', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.keys_key_id_seq', '');

CREATE FUNCTION privacy.create_key(name text, purpose text DEFAULT 'encrypt')
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_create_key' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy.create_key(text, text) IS
  'Creates a random data key (purpose encrypt, deterministic, pseudonymize or tokenize), wrapped under the master key; returns its id';

CREATE FUNCTION privacy.rotate_key(name text)
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_rotate_key' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy.rotate_key(text) IS
  'Adds a new active version of a key; older versions still decrypt; returns the new version';

CREATE FUNCTION privacy.destroy_key(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'privacy_destroy_key' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy.destroy_key(text) IS
  'Erases every version of a key: what it encrypted can never be decrypted again (crypto-shredding)';

CREATE FUNCTION privacy.rewrap_keys()
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_rewrap_keys' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy.rewrap_keys() IS
  'Rewraps every data key under the master key of privacy.new_master_key_command/_file; data is not re-encrypted';

CREATE FUNCTION privacy.master_key_id()
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_master_key_id' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION privacy.master_key_id() IS
  'Identifier (not the key) of the master key this server loaded';

REVOKE ALL ON FUNCTION privacy.create_key(text, text), privacy.rotate_key(text),
    privacy.destroy_key(text), privacy.rewrap_keys(), privacy.master_key_id() FROM PUBLIC;

-- The keys the functions use by default.  Their creation is not audited (the
-- audit log is restored from dumps as is); origin 'extension' marks them.
SELECT privacy.create_key('default', 'encrypt');
SELECT privacy.create_key('deterministic', 'deterministic');
SELECT privacy.create_key('pseudonym', 'pseudonymize');
SELECT privacy.create_key('token', 'tokenize');
UPDATE privacy.keys SET origin = 'extension';

-- ---- src/sql/crypto.sql ----
-- Encryption.  NULL in, NULL out.  Decrypting functions are not executable by
-- PUBLIC: a DBA grants them.  encrypt, encrypt_deterministic and blind_index
-- are executable by everyone (applications need them for writes and lookups);
-- note that deterministic encryption and blind indexes answer "is this the
-- value?" for whoever can call them.
CREATE FUNCTION privacy.encrypt(data bytea, key_name text DEFAULT 'default', context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt' LANGUAGE C VOLATILE PARALLEL SAFE;
CREATE FUNCTION privacy.encrypt(data text, key_name text DEFAULT 'default', context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.encrypt(bytea, text, text) IS
  'AES-256-GCM with a random nonce under the active version of a key; context is bound as associated data';
COMMENT ON FUNCTION privacy.encrypt(text, text, text) IS
  'AES-256-GCM with a random nonce under the active version of a key; context is bound as associated data';

CREATE FUNCTION privacy.encrypt_deterministic(data bytea, key_name text DEFAULT 'deterministic', context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt_deterministic' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION privacy.encrypt_deterministic(data text, key_name text DEFAULT 'deterministic', context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt_deterministic' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.encrypt_deterministic(bytea, text, text) IS
  'AES-256-SIV: equal input and context give equal output (equality lookups, unique indexes); decrypt with privacy.decrypt';
COMMENT ON FUNCTION privacy.encrypt_deterministic(text, text, text) IS
  'AES-256-SIV: equal input and context give equal output (equality lookups, unique indexes); decrypt with privacy.decrypt';

CREATE FUNCTION privacy.decrypt(ciphertext bytea, context text DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_decrypt' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy.decrypt(bytea, text) IS
  'Decrypts a ciphertext of privacy.encrypt or privacy.encrypt_deterministic; errors on any mismatch, never returns wrong data';

CREATE FUNCTION privacy.decrypt_text(ciphertext bytea, context text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_decrypt_text' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy.decrypt_text(bytea, text) IS
  'Decrypts to text, checking the result is valid in the database encoding';

REVOKE ALL ON FUNCTION privacy.decrypt(bytea, text), privacy.decrypt_text(bytea, text) FROM PUBLIC;
-- PARALLEL RESTRICTED: decryptions are counted in the leader for the audit log.

-- IMMUTABLE so that it can back an expression index: rotating or destroying
-- the key changes or breaks its output, and such indexes must then be rebuilt.
CREATE FUNCTION privacy.blind_index(data text, key_name text DEFAULT 'pseudonym', bits int DEFAULT 64)
RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_blind_index' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.blind_index(text, text, int) IS
  'HMAC-SHA-256 under a pseudonymize key, truncated to bits: an index key for searching randomized ciphertexts';

CREATE FUNCTION privacy.key_id(ciphertext bytea) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_key_id_of' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION privacy.key_id(ciphertext text) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_key_id_of' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION privacy.key_version(ciphertext bytea) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_key_version_of' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION privacy.key_version(ciphertext text) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_key_version_of' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION privacy.is_ciphertext(value bytea) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_is_ciphertext_sql' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION privacy.is_ciphertext(value text) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_is_ciphertext_sql' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.key_id(bytea) IS 'Key id in a ciphertext header (NULL if the value is not a ciphertext)';
COMMENT ON FUNCTION privacy.key_id(text) IS 'Key id in a stored "$pv1$" ciphertext (NULL if the value is not one)';
COMMENT ON FUNCTION privacy.key_version(bytea) IS 'Key version in a ciphertext header (NULL if the value is not a ciphertext)';
COMMENT ON FUNCTION privacy.key_version(text) IS 'Key version in a stored "$pv1$" ciphertext (NULL if the value is not one)';
COMMENT ON FUNCTION privacy.is_ciphertext(bytea) IS 'Whether a value has the privacy ciphertext format (header check only)';
COMMENT ON FUNCTION privacy.is_ciphertext(text) IS 'Whether a text value is a stored "$pv1$" ciphertext (header check only)';

CREATE FUNCTION privacy._siv_selftest(iterations int DEFAULT 1000) RETURNS int
AS 'MODULE_PATHNAME', 'privacy_siv_selftest' LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION privacy._siv_selftest(int) FROM PUBLIC;
COMMENT ON FUNCTION privacy._siv_selftest(int) IS
  'Test only: checks the AES-256-SIV implementation against OpenSSL for random inputs';

-- ---- src/sql/protect.sql ----
-- Transparent column encryption.  The registry is extension configuration
-- (dumped by pg_dump); each protected column has a stable random context, so
-- renaming the table or restoring a dump does not break decryption.
CREATE TABLE privacy.protected_columns (
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

CREATE FUNCTION privacy._protect_trigger() RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_protect_trigger' LANGUAGE C;
COMMENT ON FUNCTION privacy._protect_trigger() IS
  'Row trigger of protected tables: encrypts plaintext written to protected columns';

-- Plaintext of a protected column, for its _decrypted view.  Executable by
-- PUBLIC but it checks, once per query, that the caller owns the table or may
-- SELECT from the table's _decrypted view (42501 otherwise).
CREATE FUNCTION privacy._decrypt_column(value text, context text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_decrypt_column' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
CREATE FUNCTION privacy._decrypt_column(value bytea, context text) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_decrypt_column' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy._decrypt_column(text, text) IS
  'Decrypts a protected column value for a role allowed to read the table''s _decrypted view';
COMMENT ON FUNCTION privacy._decrypt_column(bytea, text) IS
  'Decrypts a protected column value for a role allowed to read the table''s _decrypted view';

-- Re-encryption helpers: they return ciphertexts only.
CREATE FUNCTION privacy._reencrypt_value(value text, context text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_reencrypt_value' LANGUAGE C VOLATILE;
CREATE FUNCTION privacy._reencrypt_value(value bytea, context text) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_reencrypt_value' LANGUAGE C VOLATILE;
CREATE FUNCTION privacy._needs_reencrypt(value text) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_needs_reencrypt' LANGUAGE C STRICT STABLE;
CREATE FUNCTION privacy._needs_reencrypt(value bytea) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_needs_reencrypt' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION privacy._reencrypt_value(text, text) IS 'A stored ciphertext re-encrypted under the active key version';
COMMENT ON FUNCTION privacy._reencrypt_value(bytea, text) IS 'A ciphertext re-encrypted under the active key version';
COMMENT ON FUNCTION privacy._needs_reencrypt(text) IS 'Whether a stored ciphertext uses a key version that is not active';
COMMENT ON FUNCTION privacy._needs_reencrypt(bytea) IS 'Whether a ciphertext uses a key version that is not active';

-- Registry writes: C, table owner only, written as the extension owner.  The
-- column's type and its random context come from the C code, never from the
-- caller.
CREATE FUNCTION privacy._registry_write(tbl regclass, col name, key_name text, deterministic boolean)
RETURNS text AS 'MODULE_PATHNAME', 'privacy_registry_write' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION privacy._registry_remove(tbl regclass, col name)
RETURNS void AS 'MODULE_PATHNAME', 'privacy_registry_remove' LANGUAGE C STRICT;
CREATE FUNCTION privacy._registry_set_view(tbl regclass, view regclass)
RETURNS void AS 'MODULE_PATHNAME', 'privacy_registry_set_view' LANGUAGE C;
COMMENT ON FUNCTION privacy._registry_write(regclass, name, text, boolean) IS
  'Records a protected column (table owner only); returns its new random context';

CREATE FUNCTION privacy._protect_value(value text, context text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_protect_value' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION privacy._protect_value(value bytea, context text) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_protect_value' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy._protect_value(text, text) IS
  'A value encrypted for the protected column with this context, in stored form (table owner only)';
COMMENT ON FUNCTION privacy._protect_value(bytea, text) IS
  'A value encrypted for the protected column with this context (table owner only)';
COMMENT ON FUNCTION privacy._registry_remove(regclass, name) IS 'Forgets a protected column (table owner only)';
COMMENT ON FUNCTION privacy._registry_set_view(regclass, regclass) IS 'Records a table''s _decrypted view (table owner only)';

-- UPDATE tbl SET <set_clause> for the rows matching <where_clause>, batch rows
-- per statement, in one pass over the table.  Runs with the caller's rights.
CREATE FUNCTION privacy._batch_update(tbl regclass, set_clause text, where_clause text, batch int)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ids   tid[] := '{}';
    r     record;
    n     bigint;
    total bigint := 0;
    upd   text := pg_catalog.format('UPDATE ONLY %s SET %s WHERE ctid OPERATOR(pg_catalog.=) ANY ($1)',
                                    tbl, set_clause);
BEGIN
    -- ctids are unique per table only: a partitioned table goes leaf by leaf
    IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tbl)
       OPERATOR(pg_catalog.=) 'p' THEN
        SELECT COALESCE(pg_catalog.sum(privacy._batch_update(t.relid, set_clause, where_clause, batch)), 0)
          INTO total
          FROM pg_catalog.pg_partition_tree(tbl) t WHERE t.isleaf;
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
    RETURN total;
END
$$;
COMMENT ON FUNCTION privacy._batch_update(regclass, text, text, int) IS
  'Batched UPDATE used by protect_column, unprotect_column and reencrypt';

-- Drop a table's _decrypted view if it exists, returning its privileges.
CREATE FUNCTION privacy._drop_decrypted_view(tbl regclass) RETURNS aclitem[]
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

-- Drop a table's protection trigger if it has one.
CREATE FUNCTION privacy._drop_protect_trigger(tbl regclass) RETURNS void
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

-- Recreate a table's protection trigger and _decrypted view from the registry,
-- giving the view the privileges in acl.
CREATE FUNCTION privacy._rebuild_protection(tbl regclass, acl aclitem[] DEFAULT NULL) RETURNS void
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
      FROM privacy.protected_columns p WHERE p.tbl OPERATOR(pg_catalog.=) $1;
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

CREATE FUNCTION privacy.protect_column(tbl regclass, col name, key_name text DEFAULT 'default',
                                       deterministic boolean DEFAULT false, batch int DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql
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
    -- every existing value is data to protect, even one that looks like a ciphertext
    RETURN privacy._batch_update(tbl,
               pg_catalog.format('%I = privacy._protect_value(%I, %L)', col, col, ctx),
               pg_catalog.format('%I IS NOT NULL', col),
               batch);
END
$$;
COMMENT ON FUNCTION privacy.protect_column(regclass, name, text, boolean, int) IS
  'Encrypts a text, varchar or bytea column in place and keeps new writes encrypted; plaintext through <table>_decrypted';

CREATE FUNCTION privacy.unprotect_column(tbl regclass, col name, batch int DEFAULT 10000)
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

CREATE FUNCTION privacy.reencrypt(tbl regclass, col name, batch int DEFAULT 10000, context text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'privacy_reencrypt' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.reencrypt(regclass, name, int, text) IS
  'Moves a column''s ciphertexts to the active version of their key, batch rows per UPDATE; audited';
REVOKE ALL ON FUNCTION privacy.reencrypt(regclass, name, int, text) FROM PUBLIC;

-- Keep the registry in step with DDL.  Dropped tables leave the registry;
-- dropping or renaming a protected column is refused (unprotect it first); a
-- renamed table's _decrypted view follows the new name.  These run as the
-- extension owner, so they only ever touch rows of the objects the command
-- itself dropped or altered, and build no SQL from registry text.
CREATE FUNCTION privacy._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
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
REVOKE ALL ON FUNCTION privacy._on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER privacy_sql_drop ON sql_drop EXECUTE FUNCTION privacy._on_sql_drop();

CREATE FUNCTION privacy._on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
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
REVOKE ALL ON FUNCTION privacy._on_ddl_end() FROM PUBLIC;
CREATE EVENT TRIGGER privacy_ddl_end ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE') EXECUTE FUNCTION privacy._on_ddl_end();

-- Give a table's _decrypted view the table's current name, if that is free.
CREATE FUNCTION privacy._rename_decrypted_view(relid oid, view oid) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    want name;
    nsp  oid;
BEGIN
    SELECT (c.relname OPERATOR(pg_catalog.||) '_decrypted')::pg_catalog.name, c.relnamespace
      INTO want, nsp FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) relid;
    IF want IS NULL
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                   WHERE c.relname OPERATOR(pg_catalog.=) want AND c.relnamespace OPERATOR(pg_catalog.=) nsp) THEN
        RETURN;
    END IF;
    EXECUTE pg_catalog.format('ALTER VIEW %s RENAME TO %I', view::pg_catalog.regclass, want);
END
$$;
REVOKE ALL ON FUNCTION privacy._rename_decrypted_view(oid, oid) FROM PUBLIC;

CREATE FUNCTION privacy.protected_value(tbl regclass, col name, value text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_protected_value' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy.protected_value(regclass, name, text) IS
  'Stored form of a value in a deterministically protected text column, for indexed equality lookups';

-- ---- src/sql/mask.sql ----
-- Masking and generalization (src/mask.c).  Key-free, NULL in NULL out.
-- Only ASCII 0-9 count as digits; text is handled by characters, not bytes.

CREATE FUNCTION privacy.mask_email(email pg_catalog.text) RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_mask_email'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_email(pg_catalog.text) IS
  'E-mail with the local part reduced to its first character and "****" (split at the last "@"); the domain is kept';

CREATE FUNCTION privacy.mask_phone(phone pg_catalog.text) RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_mask_phone'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_phone(pg_catalog.text) IS
  'Phone number with every digit replaced by X except the last 4 (at most half of the digits); other characters kept';

CREATE FUNCTION privacy.mask_card(card pg_catalog.text) RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_mask_card'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.mask_card(pg_catalog.text) IS
  'Card number masked with * (PCI DSS): at most the first 6 and last 4 digits shown, at least 6 hidden; spaces and dashes kept';

CREATE FUNCTION privacy.partial(value pg_catalog.text, prefix pg_catalog.int4,
                                padding pg_catalog.text, suffix pg_catalog.int4)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_partial'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.partial(pg_catalog.text, pg_catalog.int4, pg_catalog.text, pg_catalog.int4) IS
  'First prefix characters, then padding, then last suffix characters; only the padding when prefix + suffix would show the whole value';

CREATE FUNCTION privacy.truncate_ip(addr pg_catalog.inet, v4_bits pg_catalog.int4 DEFAULT 24,
                                    v6_bits pg_catalog.int4 DEFAULT 48)
    RETURNS pg_catalog.inet
    AS 'MODULE_PATHNAME', 'privacy_truncate_ip'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.truncate_ip(pg_catalog.inet, pg_catalog.int4, pg_catalog.int4) IS
  'Network prefix of an address: the first v4_bits (IPv4) or v6_bits (IPv6) bits kept, the rest zeroed, netmask set to that length';

CREATE FUNCTION privacy.generalize(ts pg_catalog.timestamptz, unit pg_catalog.text)
    RETURNS pg_catalog.timestamptz
    AS 'MODULE_PATHNAME', 'privacy_generalize_timestamptz'
    LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.generalize(pg_catalog.timestamptz, pg_catalog.text) IS
  'Timestamp truncated to its day, month or year in the session time zone';

CREATE FUNCTION privacy.generalize(d pg_catalog.date, unit pg_catalog.text)
    RETURNS pg_catalog.date
    AS 'MODULE_PATHNAME', 'privacy_generalize_date'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.generalize(pg_catalog.date, pg_catalog.text) IS
  'Date truncated to its day, month or year (first day of the month or year)';

CREATE FUNCTION privacy.age_range(birth pg_catalog.date, width pg_catalog.int4 DEFAULT 10,
                                  "at" pg_catalog.date DEFAULT CURRENT_DATE)
    RETURNS pg_catalog.int4range
    AS 'MODULE_PATHNAME', 'privacy_age_range'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.age_range(pg_catalog.date, pg_catalog.int4, pg_catalog.date) IS
  'Age in whole years on date "at", generalized to a band of width years: age 34, width 10 gives [30,40)';

CREATE FUNCTION privacy.noise(value pg_catalog.numeric, ratio pg_catalog.float8)
    RETURNS pg_catalog.numeric
    AS 'MODULE_PATHNAME', 'privacy_noise'
    LANGUAGE C STRICT VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.noise(pg_catalog.numeric, pg_catalog.float8) IS
  'Value times (1 + ratio * U), U uniform in [-1, 1) from a strong random source, rounded to the scale of value';

CREATE FUNCTION privacy.redact(value anyelement) RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_redact'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.redact(anyelement) IS
  'The text [REDACTED] for any non-NULL value, NULL for NULL';

CREATE FUNCTION privacy.k_anonymity(tbl pg_catalog.regclass, quasi_identifiers pg_catalog.text[])
    RETURNS pg_catalog.int8
    AS 'MODULE_PATHNAME', 'privacy_k_anonymity'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy.k_anonymity(pg_catalog.regclass, pg_catalog.text[]) IS
  'Size of the smallest group of rows sharing the same values of the quasi-identifier columns (0 for an empty table); runs as the caller';

-- ---- src/sql/tokenize.sql ----
-- Keyed pseudonyms and format-preserving tokenization (src/tokenize.c).
-- IMMUTABLE: the output is a function of the value and the key, so it can back
-- expression indexes and masked views.  Tokenize keys cannot be rotated
-- (tokens carry no key version); rotating or destroying a pseudonymize key
-- changes pseudonyms, and indexes built on them must then be rebuilt.

CREATE FUNCTION privacy.pseudonymize(value pg_catalog.text,
                                     key_name pg_catalog.text DEFAULT 'pseudonym')
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_pseudonymize'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.pseudonymize(pg_catalog.text, pg_catalog.text) IS
  'Keyed pseudonym: ''ps_'' and 26 base32 characters (first 128 bits of HMAC-SHA-256 under the key''s pseudonym subkey); stable across tables and sessions';

CREATE FUNCTION privacy.tokenize(value pg_catalog.text,
                                 key_name pg_catalog.text DEFAULT 'token')
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_tokenize'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.tokenize(pg_catalog.text, pg_catalog.text) IS
  'Format-preserving token: FF1 (NIST SP 800-38G, AES-256) over the ASCII digits, other characters kept; at least 6 digits';

-- VOLATILE and PARALLEL UNSAFE: it writes an audit row (once per statement).
CREATE FUNCTION privacy.detokenize(token pg_catalog.text,
                                   key_name pg_catalog.text DEFAULT 'token')
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_detokenize'
    LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.detokenize(pg_catalog.text, pg_catalog.text) IS
  'Original value of a token made by privacy.tokenize; audited once per statement; not executable by PUBLIC';
REVOKE ALL ON FUNCTION privacy.detokenize(pg_catalog.text, pg_catalog.text) FROM PUBLIC;

CREATE FUNCTION privacy._ff1_test(key pg_catalog.bytea, tweak pg_catalog.bytea,
                                  radix pg_catalog.int4, input pg_catalog.text,
                                  decrypt pg_catalog.bool DEFAULT false)
    RETURNS pg_catalog.text
    AS 'MODULE_PATHNAME', 'privacy_ff1_test'
    LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy._ff1_test(pg_catalog.bytea, pg_catalog.bytea, pg_catalog.int4, pg_catalog.text, pg_catalog.bool) IS
  'Test only: FF1 under a raw AES key (16, 24 or 32 bytes), radix 2..36, numerals 0-9a-z; for the NIST SP 800-38G sample vectors';
REVOKE ALL ON FUNCTION privacy._ff1_test(pg_catalog.bytea, pg_catalog.bytea, pg_catalog.int4, pg_catalog.text, pg_catalog.bool) FROM PUBLIC;

-- ---- src/sql/views.sql ----
-- Masking rules and masked views (src/views.c).  The rules are security
-- labels of provider "privacy", checked by the C module when they are set;
-- privacy.masking_rules and the views of the masked schema (GUC
-- privacy.masked_schema) are rebuilt from them by refresh_masked_views(),
-- which event triggers call after DDL.  Neither is dumped: pg_dump dumps the
-- labels, and restoring them rebuilds both.

-- One row per masked column: expr is an SQL expression over the table's
-- columns by their bare names, deparsed with search_path = pg_catalog, pg_temp
-- (run it under that search_path).
CREATE TABLE privacy.masking_rules (
    tbl  regclass NOT NULL,
    col  name NOT NULL,
    expr text NOT NULL,
    PRIMARY KEY (tbl, col)
);
REVOKE ALL ON privacy.masking_rules FROM PUBLIC;
COMMENT ON TABLE privacy.masking_rules IS
  'Masked columns and their masking expressions, rebuilt from the security labels of provider privacy';

CREATE FUNCTION privacy._mask_rule(tbl regclass, col name, label text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_mask_rule' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION privacy._mask_rule(regclass, name, text) FROM PUBLIC;
COMMENT ON FUNCTION privacy._mask_rule(regclass, name, text) IS
  'Checks a column label of provider privacy; its masking expression, deparsed (NULL for NOT MASKED)';

-- The query of a table's masked view: every column in order, masked ones
-- through their rules.  The view is a security_barrier, so a row filter added
-- here (restricted data subjects) cannot be bypassed by leaky functions.
-- Row filter of a table's masked view: none here; the subject module replaces
-- this function to leave out subjects under restriction.
CREATE FUNCTION privacy._masked_view_filter(tbl regclass) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ''::pg_catalog.text $$;
REVOKE ALL ON FUNCTION privacy._masked_view_filter(regclass) FROM PUBLIC;
COMMENT ON FUNCTION privacy._masked_view_filter(regclass) IS
  'WHERE clause (or nothing) of a table''s masked view, over the table aliased t';

CREATE FUNCTION privacy._masked_view_query(tbl regclass) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('SELECT %s FROM %s t%s',
               pg_catalog.string_agg(
                   CASE WHEN r.expr IS NULL THEN pg_catalog.quote_ident(a.attname)
                        ELSE pg_catalog.format('(%s) AS %I', r.expr, a.attname) END,
                   ', ' ORDER BY a.attnum),
               $1, privacy._masked_view_filter($1))
      FROM pg_catalog.pg_attribute a
      LEFT JOIN privacy.masking_rules r
        ON r.tbl OPERATOR(pg_catalog.=) $1 AND r.col OPERATOR(pg_catalog.=) a.attname
     WHERE a.attrelid OPERATOR(pg_catalog.=) $1
       AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
$$;
REVOKE ALL ON FUNCTION privacy._masked_view_query(regclass) FROM PUBLIC;
COMMENT ON FUNCTION privacy._masked_view_query(regclass) IS
  'SELECT statement of a table''s masked view';

-- Roles labelled MASKED (directly; members of them inherit their grants).
CREATE FUNCTION privacy._masked_roles() RETURNS SETOF oid
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

-- Give a masked role, in this database, USAGE on the masked schema, SELECT on
-- its views and a search_path that starts with it (and the library loaded at
-- connection, so that the permission hook is there even without
-- shared_preload_libraries); or take all of that back.
CREATE FUNCTION privacy._setup_masked_role(role oid, masked boolean) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r    text := pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(role));
    db   text := pg_catalog.quote_ident(pg_catalog.current_database());
    nsp  name := pg_catalog.current_setting('privacy.masked_schema');
BEGIN
    IF masked THEN
        PERFORM privacy._create_masked_schema(nsp);
        EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO %s', nsp, r);
        EXECUTE pg_catalog.format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %s', nsp, r);
        EXECUTE pg_catalog.format('ALTER ROLE %s IN DATABASE %s SET search_path = %I, "$user", public',
                                  r, db, nsp);
        EXECUTE pg_catalog.format('ALTER ROLE %s IN DATABASE %s SET session_preload_libraries = privacy',
                                  r, db);
    ELSE
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) nsp) THEN
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
  'Grants a masked role the masked schema and its search_path in this database, or takes them back';

-- The masked schema, owned by the extension owner, closed to PUBLIC.
CREATE FUNCTION privacy._create_masked_schema(nsp name) RETURNS void
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
CREATE FUNCTION privacy._labelled_tables() RETURNS TABLE (tbl oid, relname name)
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

CREATE FUNCTION privacy.refresh_masked_views() RETURNS int
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
            EXECUTE pg_catalog.format('CREATE OR REPLACE VIEW %s WITH (security_barrier) AS %s',
                                      v, privacy._masked_view_query(r.tbl));
        EXCEPTION WHEN invalid_table_definition THEN
            -- a column renamed, dropped or of another type: start afresh
            EXECUTE pg_catalog.format('DROP VIEW %s', v);
            EXECUTE pg_catalog.format('CREATE VIEW %s WITH (security_barrier) AS %s',
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

CREATE FUNCTION privacy.mask_column(tbl regclass, col name, expr text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE pg_catalog.format('SECURITY LABEL FOR privacy ON COLUMN %s.%I IS %L', tbl, col,
                              CASE WHEN expr IS NOT NULL THEN 'MASKED WITH FUNCTION ' OPERATOR(pg_catalog.||) expr END);
END
$$;
COMMENT ON FUNCTION privacy.mask_column(regclass, name, text) IS
  'Sets the masking rule of a column (SECURITY LABEL ... IS ''MASKED WITH FUNCTION expr''); NULL removes it';

-- Keep the masked schema in step with DDL: labels set, tables and columns
-- renamed, added, retyped or dropped.
CREATE FUNCTION privacy._views_on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tg_tag OPERATOR(pg_catalog.=) 'SECURITY LABEL'
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() d
                   JOIN pg_catalog.pg_seclabel s ON s.objoid OPERATOR(pg_catalog.=) d.objid
                  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND s.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND s.provider OPERATOR(pg_catalog.=) 'privacy') THEN
        PERFORM privacy.refresh_masked_views();
    END IF;
END
$$;
REVOKE ALL ON FUNCTION privacy._views_on_ddl_end() FROM PUBLIC;
CREATE EVENT TRIGGER privacy_views_ddl_end ON ddl_command_end
    WHEN TAG IN ('SECURITY LABEL', 'ALTER TABLE') EXECUTE FUNCTION privacy._views_on_ddl_end();

CREATE FUNCTION privacy._views_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
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
CREATE EVENT TRIGGER privacy_views_sql_drop ON sql_drop
    EXECUTE FUNCTION privacy._views_on_sql_drop();

-- ---- src/sql/retention.sql ----
-- Retention: per-table policies stamped by a C row trigger, legal holds, the
-- batched purge and its evidence (privacy.deletion_log).  The registries are
-- extension configuration (dumped by pg_dump); they are written only through
-- the owner-checked functions below.
CREATE TABLE privacy.retention_policies (
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
CREATE TABLE privacy.legal_holds (
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
CREATE INDEX legal_holds_tbl_idx ON privacy.legal_holds (tbl) WHERE released_at IS NULL;
CREATE INDEX legal_holds_subject_idx ON privacy.legal_holds (subject) WHERE subject IS NOT NULL;
REVOKE ALL ON privacy.legal_holds FROM PUBLIC;
COMMENT ON TABLE privacy.legal_holds IS
  'Legal holds: held tables and rows are never purged or erased while the hold lasts';
SELECT pg_catalog.pg_extension_config_dump('privacy.legal_holds', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.legal_holds_id_seq', '');

CREATE VIEW privacy.active_holds AS
SELECT h.* FROM privacy.legal_holds h
 WHERE h.released_at IS NULL AND (h.until IS NULL OR h.until OPERATOR(pg_catalog.>) pg_catalog.now());
REVOKE ALL ON privacy.active_holds FROM PUBLIC;
COMMENT ON VIEW privacy.active_holds IS 'Legal holds in force now';

-- Evidence: one row per table and purge run (and, later, per erasure).  The
-- row of a running purge is updated in the transaction of each batch, so the
-- count always matches what was committed, even after a crash.
CREATE SEQUENCE privacy.purge_run_seq;
CREATE TABLE privacy.deletion_log (
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
CREATE INDEX deletion_log_relid_idx ON privacy.deletion_log (relid, id);
CREATE INDEX deletion_log_at_idx ON privacy.deletion_log (at);
REVOKE ALL ON privacy.deletion_log FROM PUBLIC;
COMMENT ON TABLE privacy.deletion_log IS
  'Evidence of deletion: per table and purge run, the policy, action, rows removed and role';
SELECT pg_catalog.pg_extension_config_dump('privacy.deletion_log', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.deletion_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.purge_run_seq', '');

CREATE FUNCTION privacy._retention_trigger() RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_retention_trigger' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._retention_trigger() IS
  'Row trigger of retained tables: stamps the expiry column on INSERT and UPDATE';

CREATE FUNCTION privacy._policy_write(tbl regclass, keep interval, since_column name,
                                      action text, expiry_column name)
RETURNS void AS 'MODULE_PATHNAME', 'privacy_policy_write' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION privacy._policy_remove(tbl regclass)
RETURNS boolean AS 'MODULE_PATHNAME', 'privacy_policy_remove' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._policy_write(regclass, interval, name, text, name) IS
  'Records a table''s retention policy (table owner only); audited';
COMMENT ON FUNCTION privacy._policy_remove(regclass) IS
  'Forgets a table''s retention policy (table owner only); audited';

-- The text of a policy, as written to the deletion log and the report.
CREATE FUNCTION privacy._policy_text(keep interval, since_column name, action text) RETURNS text
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
CREATE FUNCTION privacy._subject_holds_condition(tbl regclass) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT NULL::pg_catalog.text $$;
REVOKE ALL ON FUNCTION privacy._subject_holds_condition(regclass) FROM PUBLIC;
COMMENT ON FUNCTION privacy._subject_holds_condition(regclass) IS
  'SQL condition matching a table''s rows of subjects under a subject-wide legal hold, or NULL';

CREATE FUNCTION privacy._held_condition(tbl regclass) RETURNS text
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
CREATE FUNCTION privacy._drop_retention_trigger(tbl regclass) RETURNS void
LANGUAGE plpgsql STRICT VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid OPERATOR(pg_catalog.=) tbl AND t.tgparentid OPERATOR(pg_catalog.=) 0
                  AND t.tgname OPERATOR(pg_catalog.=) 'zz_privacy_retention') THEN
        EXECUTE pg_catalog.format('DROP TRIGGER zz_privacy_retention ON %s', tbl);
    END IF;
END
$$;
COMMENT ON FUNCTION privacy._drop_retention_trigger(regclass) IS 'Drops a table''s retention trigger if it has one';

CREATE FUNCTION privacy.set_retention(tbl regclass, keep interval, since_column name DEFAULT NULL,
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
BEGIN
    SELECT c.relkind INTO kind FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tbl;
    IF kind IS NULL OR kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'cannot set a retention policy on "%"', tbl
            USING ERRCODE = 'wrong_object_type', DETAIL = 'Only tables can have a retention policy.';
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

    PERFORM privacy._drop_retention_trigger(tbl);
    -- re-stamp existing rows (anonymized rows, stamped infinity, stay kept),
    -- partition by partition: ctids are unique within one table only
    FOR leaf IN SELECT t.relid FROM pg_catalog.pg_partition_tree(tbl) t WHERE t.isleaf
                UNION ALL SELECT tbl WHERE kind OPERATOR(pg_catalog.=) 'r' LOOP
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
    RETURN n::int;
END
$$;
COMMENT ON FUNCTION privacy.set_retention(regclass, interval, name, text, name) IS
  'Sets a table''s retention policy: stamps the expiry column (created and indexed if missing) and re-stamps existing rows; returns the rows re-stamped';

CREATE FUNCTION privacy.drop_retention(tbl regclass) RETURNS boolean
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
-- table has none.  SECURITY DEFINER: the rules table is the extension owner's,
-- and this only reads it (masking expressions are not secret).
CREATE FUNCTION privacy._masking_assignments(tbl regclass) RETURNS text
LANGUAGE plpgsql STRICT STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sets text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%I = (%s)', m.col, m.expr), ', ' ORDER BY m.col)
      INTO sets
      FROM privacy.masking_rules m WHERE m.tbl OPERATOR(pg_catalog.=) $1;
    IF sets IS NULL THEN
        RAISE EXCEPTION 'table "%" has no masking rules', tbl
            USING ERRCODE = 'undefined_object',
                  DETAIL = 'Retention action ''anonymize'' applies the table''s masking rules in place.',
                  HINT = 'Define masking rules for the table''s personal columns first (privacy.mask_column), or use action ''delete''.';
    END IF;
    RETURN sets;
END
$$;
COMMENT ON FUNCTION privacy._masking_assignments(regclass) IS
  'SET clause that applies a table''s masking rules in place, for the anonymize action';

CREATE FUNCTION privacy.place_hold(reason text, tbl regclass DEFAULT NULL, subject text DEFAULT NULL,
                                   until timestamptz DEFAULT NULL, predicate text DEFAULT NULL)
RETURNS int AS 'MODULE_PATHNAME', 'privacy_place_hold' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.place_hold(text, regclass, text, timestamptz, text) IS
  'Places a legal hold on a table, or on its rows matching a predicate (table owner only); audited';

CREATE FUNCTION privacy.release_hold(hold_id int) RETURNS void
AS 'MODULE_PATHNAME', 'privacy_release_hold' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.release_hold(int) IS
  'Releases a legal hold (owner of the held table only); audited';

CREATE FUNCTION privacy.purge(batch_size int DEFAULT 10000, dry_run boolean DEFAULT false)
RETURNS TABLE(tbl regclass, action text, rows bigint)
AS 'MODULE_PATHNAME', 'privacy_purge' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.purge(int, boolean) IS
  'Purges expired rows of every retained table in short batches, in the caller''s transaction; logged to privacy.deletion_log';
REVOKE ALL ON FUNCTION privacy.purge(int, boolean) FROM PUBLIC;

CREATE PROCEDURE privacy.run_purge(batch_size int DEFAULT 10000)
AS 'MODULE_PATHNAME', 'privacy_run_purge' LANGUAGE C;
COMMENT ON PROCEDURE privacy.run_purge(int) IS
  'Purges expired rows of every retained table, committing each batch; logged to privacy.deletion_log';
REVOKE ALL ON PROCEDURE privacy.run_purge(int) FROM PUBLIC;

-- Latest purge per retained table.
CREATE VIEW privacy.purge_status AS
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

CREATE FUNCTION privacy._retention_counts(tbl regclass, expiry_column name,
                                          OUT rows_total bigint, OUT rows_expired bigint,
                                          OUT rows_held bigint, OUT oldest_expired timestamptz)
AS 'MODULE_PATHNAME', 'privacy_retention_counts' LANGUAGE C STRICT STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._retention_counts(regclass, name) IS
  'Rows, expired rows, held rows and oldest expiry of a retained table, counted as its owner (hold predicates are the owner''s SQL)';
REVOKE ALL ON FUNCTION privacy._retention_counts(regclass, name) FROM PUBLIC;

CREATE FUNCTION privacy.retention_report()
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
CREATE FUNCTION privacy._retention_on_sql_drop() RETURNS event_trigger
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
CREATE EVENT TRIGGER privacy_retention_sql_drop ON sql_drop
    EXECUTE FUNCTION privacy._retention_on_sql_drop();

-- ---- src/sql/subject.sql ----
-- Data subjects (GDPR Art. 15-21): where a subject's data lives, export,
-- erasure with crypto-shredding, requests, the consent ledger and restriction.
--
-- Who may call what.  The public entry points that write bookkeeping
-- (register_*, open_request, close_request, record_consent, restrict,
-- unrestrict) are C functions that check the caller's rights and then run
-- their PL/pgSQL implementation (privacy._<name>) as the extension owner.
-- export_subject and erase_subject read and change the registered tables with
-- the caller's own privileges (a DPO role needs SELECT, and for erasure DELETE
-- and UPDATE, on them; plaintext of protected columns only with the rights to
-- the table's _decrypted view); only their bookkeeping (ledger, holds, key
-- destruction, deletion log) runs as the extension owner.  None of them is
-- executable by PUBLIC but is_restricted() (masked views filter on it) and
-- subject_key_name(); privacy.grant_subject_rights(role) grants the set.

CREATE TABLE privacy.subject_tables (
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
SELECT pg_catalog.pg_extension_config_dump('privacy.subject_tables', '');

CREATE TABLE privacy.recipients (
    id            serial PRIMARY KEY,
    name          text NOT NULL,
    purpose       text,
    country       text,
    safeguard     text,
    tbl           regclass,
    registered_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE UNIQUE INDEX recipients_name_tbl_idx ON privacy.recipients (name, (COALESCE(tbl::oid, 0::oid)));
REVOKE ALL ON privacy.recipients FROM PUBLIC;
GRANT SELECT ON privacy.recipients TO PUBLIC;
COMMENT ON TABLE privacy.recipients IS
  'Recipients of personal data and transfers (country, safeguard), for one table or (tbl NULL) every subject table';
SELECT pg_catalog.pg_extension_config_dump('privacy.recipients', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.recipients_id_seq', '');

CREATE TABLE privacy.requests (
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
CREATE INDEX requests_subject_idx ON privacy.requests (subject);
CREATE INDEX requests_open_due_idx ON privacy.requests (due) WHERE closed_at IS NULL;
REVOKE ALL ON privacy.requests FROM PUBLIC;
COMMENT ON TABLE privacy.requests IS 'Data-subject requests, their deadline and outcome';
SELECT pg_catalog.pg_extension_config_dump('privacy.requests', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.requests_id_seq', '');

CREATE TABLE privacy.consents (
    id          bigserial PRIMARY KEY,
    subject     text NOT NULL,
    purpose     text NOT NULL,
    granted     boolean NOT NULL,
    source      text,
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    recorded_by name NOT NULL
);
CREATE INDEX consents_subject_purpose_idx ON privacy.consents (subject, purpose, id);
REVOKE ALL ON privacy.consents FROM PUBLIC;
COMMENT ON TABLE privacy.consents IS
  'Consent ledger, append-only: the latest record per subject and purpose is in force';
SELECT pg_catalog.pg_extension_config_dump('privacy.consents', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.consents_id_seq', '');

CREATE TRIGGER consents_append_only
    BEFORE UPDATE OR DELETE ON privacy.consents
    FOR EACH ROW EXECUTE FUNCTION privacy._append_only('Record a new consent instead.');
CREATE TRIGGER consents_no_truncate
    BEFORE TRUNCATE ON privacy.consents
    FOR EACH STATEMENT EXECUTE FUNCTION privacy._append_only('Record a new consent instead.');

CREATE TABLE privacy.restrictions (
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
CREATE FUNCTION privacy._subject_graph()
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
CREATE FUNCTION privacy._subject_edges(tbls oid[])
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
CREATE FUNCTION privacy._has_leading_index(tbl oid, cols name[]) RETURNS boolean
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
CREATE FUNCTION privacy._subject_index_warnings() RETURNS int
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
          FROM privacy._subject_graph() x WHERE x.subject_column IS NOT NULL
        UNION ALL
        SELECT e.child, e.child_cols FROM privacy._subject_edges(tbls) e
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
COMMENT ON FUNCTION privacy._subject_index_warnings() IS
  'Warns, with the CREATE INDEX to run, about subject columns and followed foreign keys without an index';

CREATE FUNCTION privacy._register_subject_table(tbl regclass, subject_column name, categories text[],
                                                purpose text, on_erasure text, source text,
                                                provided boolean, retention text, tokenized_columns name[])
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
            tokenized_columns, registered_by)
    VALUES (tbl, subject_column, categories, purpose, on_erasure, source, COALESCE(provided, false),
            retention, COALESCE(tokenized_columns, '{}'), session_user)
    ON CONFLICT ON CONSTRAINT subject_tables_pkey DO UPDATE
       SET subject_column = EXCLUDED.subject_column, categories = EXCLUDED.categories,
           purpose = EXCLUDED.purpose, on_erasure = EXCLUDED.on_erasure, source = EXCLUDED.source,
           provided = EXCLUDED.provided, retention = EXCLUDED.retention,
           tokenized_columns = EXCLUDED.tokenized_columns, registered_at = pg_catalog.now(),
           registered_by = EXCLUDED.registered_by;
    PERFORM privacy._subject_index_warnings();
END
$$;
COMMENT ON FUNCTION privacy._register_subject_table(regclass, name, text[], text, text, text, boolean, text, name[]) IS
  'Implementation of register_subject_table, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._register_subject_table(regclass, name, text[], text, text, text, boolean, text, name[]) FROM PUBLIC;

CREATE FUNCTION privacy.register_subject_table(tbl regclass, subject_column name,
                                               categories text[] DEFAULT NULL, purpose text DEFAULT NULL,
                                               on_erasure text DEFAULT 'delete', source text DEFAULT NULL,
                                               provided boolean DEFAULT false, retention text DEFAULT NULL,
                                               tokenized_columns name[] DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.register_subject_table(regclass, name, text[], text, text, text, boolean, text, name[]) IS
  'Registers a table holding subjects'' data (table owner only); subject_column NULL: rows are found through foreign keys';

CREATE FUNCTION privacy._unregister_subject_table(tbl regclass) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM privacy.subject_tables s WHERE s.tbl OPERATOR(pg_catalog.=) $1;
$$;
COMMENT ON FUNCTION privacy._unregister_subject_table(regclass) IS
  'Implementation of unregister_subject_table, run as the extension owner';
REVOKE ALL ON FUNCTION privacy._unregister_subject_table(regclass) FROM PUBLIC;

CREATE FUNCTION privacy.unregister_subject_table(tbl regclass) RETURNS void
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.unregister_subject_table(regclass) IS
  'Removes a table from the subject registry (table owner only)';

CREATE FUNCTION privacy._register_recipient(name text, purpose text, country text, safeguard text, tbl regclass)
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

CREATE FUNCTION privacy.register_recipient(name text, purpose text DEFAULT NULL, country text DEFAULT NULL,
                                           safeguard text DEFAULT NULL, tbl regclass DEFAULT NULL)
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.register_recipient(text, text, text, text, regclass) IS
  'Records a recipient of personal data (country, transfer safeguard) for one table or, tbl NULL, all; returns its id';
REVOKE ALL ON FUNCTION privacy.register_recipient(text, text, text, text, regclass) FROM PUBLIC;

-- On-erasure rule of every table of the graph: registered tables their own;
-- followed tables not registered inherit the strictest of their parents
-- (retain over anonymize over delete).
CREATE FUNCTION privacy._subject_rules()
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
CREATE FUNCTION privacy._subject_retention(tbl oid) RETURNS TABLE (keep interval, action text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.to_regclass('privacy.retention_policies') IS NOT NULL THEN
        RETURN QUERY EXECUTE 'SELECT p.keep, p.action::pg_catalog.text FROM privacy.retention_policies p '
                             'WHERE p.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1' USING tbl;
    END IF;
END
$$;
COMMENT ON FUNCTION privacy._subject_retention(oid) IS
  'Retention policy of a table from privacy.retention_policies, when that table exists';

-- Masking rules of a table (privacy.masking_rules, if masking rules are installed).
-- SECURITY DEFINER: the rules table is readable by no ordinary role, and an
-- erasure (with the caller's rights) must apply them.
CREATE FUNCTION privacy._subject_mask_rules(tbl oid) RETURNS TABLE (col name, expr text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.to_regclass('privacy.masking_rules') IS NOT NULL THEN
        RETURN QUERY EXECUTE 'SELECT m.col::pg_catalog.name, m.expr::pg_catalog.text FROM privacy.masking_rules m '
                             'WHERE m.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1 ORDER BY m.col' USING tbl;
    END IF;
END
$$;
COMMENT ON FUNCTION privacy._subject_mask_rules(oid) IS
  'Masking rules (column, expression) of a table from privacy.masking_rules, when that table exists';
REVOKE ALL ON FUNCTION privacy._subject_mask_rules(oid) FROM PUBLIC;

-- Legal holds on a table for a subject: the contract with retention is this
-- function, privacy._subject_held(tbl, subject), NULL when not held, else the
-- reasons.  It reads retention's privacy.legal_holds when that is installed: a
-- hold in force on the table (or on no table) for this subject, or for no
-- subject (a whole-table hold, or one on rows matching a predicate, taken as
-- covering the subject's rows too).  Called as the extension owner.
CREATE FUNCTION privacy._subject_held(tbl regclass, subject text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    reason text;
BEGIN
    IF pg_catalog.to_regclass('privacy.legal_holds') IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT pg_catalog.string_agg(h.reason, ''; '' ORDER BY h.id) FROM privacy.legal_holds h '
            'WHERE h.released_at IS NULL AND (h.until IS NULL OR h.until OPERATOR(pg_catalog.>) pg_catalog.now()) '
            'AND (h.tbl IS NULL OR h.tbl OPERATOR(pg_catalog.=) $1) '
            'AND (h.subject IS NULL OR h.subject OPERATOR(pg_catalog.=) $2)'
       INTO reason USING tbl, subject;
    RETURN reason;
END
$$;
COMMENT ON FUNCTION privacy._subject_held(regclass, text) IS
  'Reasons of the legal holds (privacy.legal_holds) covering a subject''s rows of a table, or NULL';
REVOKE ALL ON FUNCTION privacy._subject_held(regclass, text) FROM PUBLIC;

CREATE FUNCTION privacy._subject_masked(tbl oid, col name) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM privacy._subject_mask_rules(tbl) m WHERE m.col OPERATOR(pg_catalog.=) $2)
$$;
COMMENT ON FUNCTION privacy._subject_masked(oid, name) IS 'Whether a column has a masking rule';

-- Record of processing: one row per column of every table holding subjects' data.
CREATE VIEW privacy.data_map AS
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
CREATE FUNCTION privacy._subject_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
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
COMMENT ON FUNCTION privacy._subject_on_sql_drop() IS 'Removes dropped tables from the subject registry';
REVOKE ALL ON FUNCTION privacy._subject_on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER privacy_subject_sql_drop ON sql_drop EXECUTE FUNCTION privacy._subject_on_sql_drop();

-- ---------------------------------------------------------------- requests

CREATE FUNCTION privacy._open_request(subject text, kind text, received timestamptz) RETURNS int
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
    BEGIN
        deadline := pg_catalog.current_setting('privacy.request_deadline')::pg_catalog.interval;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
        RAISE EXCEPTION 'invalid value for privacy.request_deadline: "%"',
                        pg_catalog.current_setting('privacy.request_deadline')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Set it to an interval, e.g. ''30 days''.';
    END;
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

CREATE FUNCTION privacy.open_request(subject text, kind text, received timestamptz DEFAULT pg_catalog.now())
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.open_request(text, text, timestamptz) IS
  'Records a data-subject request (access, erasure, rectification, restriction, objection, portability) due after privacy.request_deadline; returns its id';
REVOKE ALL ON FUNCTION privacy.open_request(text, text, timestamptz) FROM PUBLIC;

CREATE FUNCTION privacy._close_request(id int, outcome text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE privacy.requests r SET closed_at = pg_catalog.now(), closed_by = session_user,
                                  outcome = $2
     WHERE r.id OPERATOR(pg_catalog.=) $1 AND r.closed_at IS NULL;
    IF NOT FOUND THEN
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

CREATE FUNCTION privacy.close_request(id int, outcome text) RETURNS void
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.close_request(int, text) IS 'Closes an open data-subject request with its outcome';
REVOKE ALL ON FUNCTION privacy.close_request(int, text) FROM PUBLIC;

CREATE VIEW privacy.open_requests AS
SELECT r.id, r.subject, r.kind, r.received, r.due,
       pg_catalog.ceil(pg_catalog.date_part('epoch', r.due OPERATOR(pg_catalog.-) pg_catalog.now())
                       OPERATOR(pg_catalog./) 86400)::int AS days_remaining,
       r.opened_by
  FROM privacy.requests r
 WHERE r.closed_at IS NULL;
REVOKE ALL ON privacy.open_requests FROM PUBLIC;
COMMENT ON VIEW privacy.open_requests IS 'Open data-subject requests with the days left before their deadline (negative: overdue)';

CREATE VIEW privacy.overdue_requests AS
SELECT r.id, r.subject, r.kind, r.received, r.due,
       pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) r.due)
                        OPERATOR(pg_catalog./) 86400)::int AS days_overdue,
       r.opened_by
  FROM privacy.requests r
 WHERE r.closed_at IS NULL AND r.due OPERATOR(pg_catalog.<) pg_catalog.now();
REVOKE ALL ON privacy.overdue_requests FROM PUBLIC;
COMMENT ON VIEW privacy.overdue_requests IS 'Open data-subject requests past their deadline, with the days overdue';

-- ---------------------------------------------------------------- consent

CREATE FUNCTION privacy._record_consent(subject text, purpose text, granted boolean, source text) RETURNS bigint
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

CREATE FUNCTION privacy.record_consent(subject text, purpose text, granted boolean, source text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.record_consent(text, text, boolean, text) IS
  'Appends a consent (granted true) or withdrawal (false) for a subject and purpose to the ledger; returns its id';
REVOKE ALL ON FUNCTION privacy.record_consent(text, text, boolean, text) FROM PUBLIC;

CREATE FUNCTION privacy.has_consent(subject text, purpose text) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE((SELECT c.granted FROM privacy.consents c
                      WHERE c.subject OPERATOR(pg_catalog.=) $1 AND c.purpose OPERATOR(pg_catalog.=) $2
                      ORDER BY c.id DESC LIMIT 1), false)
$$;
COMMENT ON FUNCTION privacy.has_consent(text, text) IS
  'Whether the subject''s latest consent record for the purpose grants it; no record means no consent';
REVOKE ALL ON FUNCTION privacy.has_consent(text, text) FROM PUBLIC;

CREATE FUNCTION privacy.consent_history(subject text)
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

CREATE FUNCTION privacy._restrict(subject text, reason text) RETURNS boolean
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

CREATE FUNCTION privacy.restrict(subject text, reason text DEFAULT NULL) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.restrict(text, text) IS
  'Restricts processing of a subject''s data (GDPR Art. 18): masked views leave the subject out; false if already restricted';
REVOKE ALL ON FUNCTION privacy.restrict(text, text) FROM PUBLIC;

CREATE FUNCTION privacy._unrestrict(subject text) RETURNS boolean
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

CREATE FUNCTION privacy.unrestrict(subject text) RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_subject_owner_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.unrestrict(text) IS 'Lifts the restriction of processing of a subject; false if none was in force';
REVOKE ALL ON FUNCTION privacy.unrestrict(text) FROM PUBLIC;

-- Executable by PUBLIC: masked views filter rows with it.
CREATE FUNCTION privacy.is_restricted(subject text) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM privacy.restrictions r WHERE r.subject OPERATOR(pg_catalog.=) $1)
$$;
COMMENT ON FUNCTION privacy.is_restricted(text) IS 'Whether processing of the subject''s data is restricted';

-- ---------------------------------------------------------------- per-subject keys

CREATE FUNCTION privacy.subject_key_name(subject text) RETURNS text
AS 'MODULE_PATHNAME', 'privacy_subject_key_name' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION privacy.subject_key_name(text) IS
  'Name of a subject''s own key: ''subject:'' and 32 hex digits of SHA-256 of the subject';

CREATE FUNCTION privacy.encrypt_for_subject(subject text, data text, context text DEFAULT NULL) RETURNS bytea
AS 'MODULE_PATHNAME', 'privacy_encrypt_for_subject' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.encrypt_for_subject(text, text, text) IS
  'Encrypts under the subject''s own key (created on first use); erase_subject destroys it, and with it every such ciphertext, backups included';
REVOKE ALL ON FUNCTION privacy.encrypt_for_subject(text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------- export and erasure

-- A row's identity during one export or erasure: "tableoid:ctid" (unique in a
-- partitioned table too).  _key_match is the predicate selecting the rows of
-- alias t whose ctids are $1 and identities $2 (a TID scan, not a table scan).
CREATE FUNCTION privacy._key_expr(alias text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('(%1$I.tableoid::pg_catalog.text OPERATOR(pg_catalog.||) '':'' '
                             'OPERATOR(pg_catalog.||) %1$I.ctid::pg_catalog.text)', alias)
$$;
COMMENT ON FUNCTION privacy._key_expr(text) IS 'SQL expression of a row identity (tableoid:ctid) of a table alias';

CREATE FUNCTION privacy._key_match(alias text, ctids int, keys int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('%1$I.ctid OPERATOR(pg_catalog.=) ANY ($%2$s) AND %3$s OPERATOR(pg_catalog.=) ANY ($%4$s)',
                             alias, ctids, privacy._key_expr(alias), keys)
$$;
COMMENT ON FUNCTION privacy._key_match(text, int, int) IS
  'SQL predicate: rows of a table alias whose ctids and identities are the given parameters';

CREATE FUNCTION privacy._key_ctids(keys text[]) RETURNS tid[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(pg_catalog.array_agg(pg_catalog.split_part(k, ':', 2)::pg_catalog.tid), '{}')
      FROM pg_catalog.unnest(keys) k
$$;
COMMENT ON FUNCTION privacy._key_ctids(text[]) IS 'ctids of row identities';

-- Keys of a jsonb map (relid -> row identities) as text[] ('{}' when absent).
CREATE FUNCTION privacy._keys_of(sets jsonb, relid oid) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(pg_catalog.array_agg(k), '{}')
      FROM pg_catalog.jsonb_array_elements_text(COALESCE(sets OPERATOR(pg_catalog.->) relid::pg_catalog.text, '[]')) k
$$;
COMMENT ON FUNCTION privacy._keys_of(jsonb, oid) IS 'Row identities recorded for a table in a jsonb map';

-- The subject's rows, per table: registered tables by their subject column
-- (through its index), then every followed table through its foreign keys to
-- rows already found, until nothing is added (so cycles end).  Runs with the
-- caller's rights, so it tells nobody more than they may SELECT: executable by
-- PUBLIC.  Returns {relid: [row identity, ...]}.
CREATE FUNCTION privacy._subject_rows(subject text) RETURNS jsonb
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
    typ    text;
    keys   text[];
    cur    text[];
    added  text[];
BEGIN
    SELECT pg_catalog.array_agg(x.relid), pg_catalog.array_agg(x.relid) FILTER (WHERE x.subject_column IS NOT NULL)
      INTO tbls, roots FROM privacy._subject_graph() x;
    queue := '{}';
    FOR g IN SELECT x.relid, x.subject_column FROM privacy._subject_graph() x WHERE x.subject_column IS NOT NULL LOOP
        SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO typ FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) g.relid AND a.attname OPERATOR(pg_catalog.=) g.subject_column;
        BEGIN
            EXECUTE pg_catalog.format('SELECT COALESCE(pg_catalog.array_agg(%s), ''{}'') FROM %s t '
                                      'WHERE t.%I OPERATOR(pg_catalog.=) $1::%s',
                                      privacy._key_expr('t'), g.relid::pg_catalog.regclass, g.subject_column, typ)
               INTO keys USING subject;
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
            EXECUTE pg_catalog.format(
                'SELECT COALESCE(pg_catalog.array_agg(%s), ''{}'') FROM %s c WHERE (%s) IN (SELECT %s FROM %s p WHERE %s)',
                privacy._key_expr('c'), e.child::pg_catalog.regclass,
                (SELECT pg_catalog.string_agg('c.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(x), ', ') FROM pg_catalog.unnest(e.child_cols) x),
                (SELECT pg_catalog.string_agg('p.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(x), ', ') FROM pg_catalog.unnest(e.parent_cols) x),
                t::pg_catalog.regclass, privacy._key_match('p', 1, 2))
               INTO added USING privacy._key_ctids(keys), keys;
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

-- Bookkeeping for an export or erasure, read as the extension owner: consent
-- history, requests, restriction, holds on the tables of the subject graph
-- (privacy._subject_held(tbl, subject)), and
-- the request answered (given, or the latest open one of these kinds).
CREATE FUNCTION privacy._subject_context(subject text, request_id int, kinds text[]) RETURNS jsonb
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
-- else {"encrypted": true, "ciphertext": ...}; tokenized columns detokenized
-- when the caller may call privacy.detokenize, else {"tokenized": true, "token": ...}.
CREATE FUNCTION privacy._export_columns(tbl oid, tokenized name[]) RETURNS text
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
        THEN pg_catalog.format('privacy.detokenize(t.%1$I::pg_catalog.text) AS %1$I', a.attname)
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

-- Processing metadata of one table of the subject graph.
CREATE FUNCTION privacy._subject_processing(relid oid, on_erasure text) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.jsonb_build_object(
        'reached_by', CASE WHEN s.subject_column IS NOT NULL THEN 'subject column'
                           ELSE 'foreign key' END,
        'subject_column', s.subject_column,
        'categories', COALESCE(pg_catalog.to_jsonb(s.categories), '[]'),
        'purpose', s.purpose,
        'retention', COALESCE(s.retention, (SELECT pg_catalog.string_agg(p.keep::pg_catalog.text, ', ')
                                              FROM privacy._subject_retention($1) p)),
        'on_erasure', $2,
        'source', s.source,
        'provided_by_subject', COALESCE(s.provided, false),
        'recipients', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                    'name', r.name, 'purpose', r.purpose, 'country', r.country,
                                    'safeguard', r.safeguard) ORDER BY r.name)
                                  FROM privacy.recipients r
                                 WHERE r.tbl IS NULL OR r.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1), '[]'))
      FROM (SELECT 1) one
      LEFT JOIN privacy.subject_tables s ON s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1
$$;
COMMENT ON FUNCTION privacy._subject_processing(oid, text) IS
  'Processing record of a table for an export: categories, purpose, retention, on-erasure rule, source, recipients';

CREATE FUNCTION privacy._export_subject(subject text, ctx jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sets       jsonb := privacy._subject_rows(subject);
    g          record;
    keys       text[];
    rows       jsonb;
    tname      text;
    data       jsonb := '{}';
    processing jsonb := '{}';
    portable   jsonb := '[]';
BEGIN
    FOR g IN SELECT x.*, COALESCE(s.tokenized_columns, '{}') AS tokenized, COALESCE(s.provided, false) AS provided
               FROM privacy._subject_rules() x
               LEFT JOIN privacy.subject_tables s ON s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) x.relid
              ORDER BY x.depth, x.relid LOOP
        tname := g.relid::pg_catalog.regclass::pg_catalog.text;
        processing := processing OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
                          tname, privacy._subject_processing(g.relid, g.on_erasure));
        keys := privacy._keys_of(sets, g.relid);
        CONTINUE WHEN pg_catalog.cardinality(keys) OPERATOR(pg_catalog.=) 0;
        EXECUTE pg_catalog.format('SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r)), ''[]'') '
                                  'FROM (SELECT %s FROM %s t WHERE %s ORDER BY t.ctid) r',
                                  privacy._export_columns(g.relid, g.tokenized), g.relid::pg_catalog.regclass,
                                  privacy._key_match('t', 1, 2))
           INTO rows USING privacy._key_ctids(keys), keys;
        data := data OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(tname, rows);
        IF g.provided THEN
            portable := portable OPERATOR(pg_catalog.||) pg_catalog.to_jsonb(tname);
        END IF;
    END LOOP;
    RETURN pg_catalog.jsonb_build_object(
        'meta', pg_catalog.jsonb_build_object(
            'subject', subject,
            'generated_at', pg_catalog.clock_timestamp(),
            'controller', pg_catalog.current_setting('privacy.controller'),
            'request_id', ctx OPERATOR(pg_catalog.->) 'request_id',
            'restricted', ctx OPERATOR(pg_catalog.->) 'restricted',
            'format', 'privacy-export/1'),
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
COMMENT ON FUNCTION privacy._export_subject(text, jsonb) IS
  'Builds the export of a subject with the caller''s rights (called by export_subject)';
REVOKE ALL ON FUNCTION privacy._export_subject(text, jsonb) FROM PUBLIC;

CREATE FUNCTION privacy.export_subject(subject text, request_id int DEFAULT NULL) RETURNS jsonb
AS 'MODULE_PATHNAME', 'privacy_export_subject' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.export_subject(text, int) IS
  'Everything held about a subject (GDPR Art. 15 and 20): meta, data per table, processing, portability, consents, requests, holds; audited';
REVOKE ALL ON FUNCTION privacy.export_subject(text, int) FROM PUBLIC;

-- Delete, or anonymize with its masking rules, the given rows of tbl: the caller
-- needs DELETE or UPDATE on it; the statement runs as the table's owner in a
-- security-restricted operation, so that the table's triggers and checks never
-- run with the rights of the role that erases.
CREATE FUNCTION privacy._erase_rows(tbl oid, action text, keys text[], why text DEFAULT NULL) RETURNS bigint
AS 'MODULE_PATHNAME', 'privacy_erase_rows' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy._erase_rows(oid, text, text[], text) IS
  'Deletes or anonymizes the given rows of a table as its owner (caller needs DELETE or UPDATE on it)';

-- Erasure with the caller's rights (called by erase_subject).  Plans first,
-- while row identities are stable: rows of held tables, of 'retain' and
-- 'anonymize' tables stay; a row of a 'delete' table that a staying row
-- references through a foreign key stays too, anonymized (to a fixed point).
-- Then changes tables children first, so no foreign key breaks.
CREATE FUNCTION privacy._erase_subject(subject text, reason text, ctx jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sets      jsonb := privacy._subject_rows(subject);
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
            EXECUTE pg_catalog.format(
                'SELECT COALESCE(pg_catalog.array_agg(%s), ''{}'') FROM %s p WHERE %s AND EXISTS '
                '(SELECT 1 FROM %s c WHERE (%s) OPERATOR(pg_catalog.=) (%s) AND %s)',
                privacy._key_expr('p'), e.parent::pg_catalog.regclass, privacy._key_match('p', 1, 2),
                e.child::pg_catalog.regclass,
                (SELECT pg_catalog.string_agg('c.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(x), ', ') FROM pg_catalog.unnest(e.child_cols) x),
                (SELECT pg_catalog.string_agg('p.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(x), ', ') FROM pg_catalog.unnest(e.parent_cols) x),
                privacy._key_match('c', 3, 4))
               INTO added
              USING privacy._key_ctids(privacy._keys_of(sets, e.parent)), privacy._keys_of(sets, e.parent),
                    privacy._key_ctids(keys), keys;
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
                         'note', 'held: ' OPERATOR(pg_catalog.||) (held OPERATOR(pg_catalog.->>) t::pg_catalog.text));
        WHEN 'retain' THEN
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('retained', pg_catalog.cardinality(keys));
        WHEN 'anonymize' THEN
            n := privacy._erase_rows(t, 'anonymize', keys, 'Its on_erasure rule is anonymize.');
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('anonymized', n);
        ELSE
            added := privacy._keys_of(forced, t);
            keys := ARRAY(SELECT k FROM pg_catalog.unnest(keys) k EXCEPT SELECT k FROM pg_catalog.unnest(added) k);
            n := privacy._erase_rows(t, 'delete', keys);
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('deleted', n);
            IF pg_catalog.cardinality(added) OPERATOR(pg_catalog.>) 0 THEN
                why := pg_catalog.format('%s rows are still referenced by rows kept in %s, so they are anonymized instead of deleted.',
                           pg_catalog.cardinality(added),
                           (SELECT pg_catalog.string_agg(DISTINCT b, ', ') FROM pg_catalog.jsonb_array_elements_text(
                                forced_by OPERATOR(pg_catalog.->) t::pg_catalog.text) b));
                n := privacy._erase_rows(t, 'anonymize', added, why);
                entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('anonymized', n, 'note', why);
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
COMMENT ON FUNCTION privacy._erase_subject(text, text, jsonb) IS
  'Erases a subject with the caller''s rights, per on_erasure, in foreign-key order (called by erase_subject)';
REVOKE ALL ON FUNCTION privacy._erase_subject(text, text, jsonb) FROM PUBLIC;

-- After an erasure, as the extension owner: destroy the subject's own key
-- (unless some of the subject's data is held) and write the deletion log
-- (privacy.deletion_log of retention, when installed).  Returns the report
-- completed with what was done.
CREATE FUNCTION privacy._finish_erasure(subject text, report jsonb, caller text) RETURNS jsonb
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
    RETURN report OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('key', key, 'deletion_log', logged);
END
$$;
COMMENT ON FUNCTION privacy._finish_erasure(text, jsonb, text) IS
  'Destroys the subject''s key unless data is held and writes privacy.deletion_log, as the extension owner';
REVOKE ALL ON FUNCTION privacy._finish_erasure(text, jsonb, text) FROM PUBLIC;

CREATE FUNCTION privacy.erase_subject(subject text, reason text, request_id int DEFAULT NULL) RETURNS jsonb
AS 'MODULE_PATHNAME', 'privacy_erase_subject' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.erase_subject(text, text, int) IS
  'Right to erasure (GDPR Art. 17) across the registered tables in foreign-key order, per on_erasure; held data is kept and listed; destroys the subject''s key; audited';
REVOKE ALL ON FUNCTION privacy.erase_subject(text, text, int) FROM PUBLIC;

-- ---------------------------------------------------------------- human-readable copy

-- One JSON value as HTML text.
CREATE FUNCTION privacy._html_value(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
               CASE pg_catalog.jsonb_typeof(v) WHEN 'string' THEN v OPERATOR(pg_catalog.#>>) '{}'
                                               WHEN 'null' THEN '' ELSE v::pg_catalog.text END,
               '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')
$$;
COMMENT ON FUNCTION privacy._html_value(jsonb) IS 'A JSON value as escaped HTML text';

-- An array of JSON objects as an HTML table (columns: keys of the first object).
CREATE FUNCTION privacy._html_table(rows jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN pg_catalog.jsonb_array_length(rows) OPERATOR(pg_catalog.=) 0 THEN '<p>None.</p>' ELSE
           '<table><tr>' OPERATOR(pg_catalog.||)
           (SELECT pg_catalog.string_agg('<th>' OPERATOR(pg_catalog.||) privacy._html_value(pg_catalog.to_jsonb(k)) OPERATOR(pg_catalog.||) '</th>', '')
              FROM pg_catalog.jsonb_object_keys(rows OPERATOR(pg_catalog.->) 0) k)
           OPERATOR(pg_catalog.||) '</tr>' OPERATOR(pg_catalog.||)
           (SELECT pg_catalog.string_agg('<tr>' OPERATOR(pg_catalog.||)
                       (SELECT pg_catalog.string_agg('<td>' OPERATOR(pg_catalog.||) COALESCE(privacy._html_value(r OPERATOR(pg_catalog.->) k), '')
                                                     OPERATOR(pg_catalog.||) '</td>', '')
                          FROM pg_catalog.jsonb_object_keys(rows OPERATOR(pg_catalog.->) 0) k)
                       OPERATOR(pg_catalog.||) '</tr>', '' ORDER BY i)
              FROM pg_catalog.jsonb_array_elements(rows) WITH ORDINALITY x(r, i))
           OPERATOR(pg_catalog.||) '</table>' END
$$;
COMMENT ON FUNCTION privacy._html_table(jsonb) IS 'An array of JSON objects as an HTML table';

CREATE FUNCTION privacy._export_html(export jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Personal data of '
        OPERATOR(pg_catalog.||) privacy._html_value(export OPERATOR(pg_catalog.#>) '{meta,subject}')
        OPERATOR(pg_catalog.||) '</title></head><body><h1>Personal data held about '
        OPERATOR(pg_catalog.||) privacy._html_value(export OPERATOR(pg_catalog.#>) '{meta,subject}')
        OPERATOR(pg_catalog.||) '</h1><p>Controller: '
        OPERATOR(pg_catalog.||) privacy._html_value(export OPERATOR(pg_catalog.#>) '{meta,controller}')
        OPERATOR(pg_catalog.||) '. Generated at '
        OPERATOR(pg_catalog.||) privacy._html_value(export OPERATOR(pg_catalog.#>) '{meta,generated_at}')
        OPERATOR(pg_catalog.||) '.</p><h2>Your data</h2>'
        OPERATOR(pg_catalog.||) COALESCE((SELECT pg_catalog.string_agg(
               '<h3>' OPERATOR(pg_catalog.||) privacy._html_value(pg_catalog.to_jsonb(d.key)) OPERATOR(pg_catalog.||) '</h3>'
               OPERATOR(pg_catalog.||) '<p>Purpose: ' OPERATOR(pg_catalog.||)
               COALESCE(privacy._html_value(export OPERATOR(pg_catalog.->) 'processing' OPERATOR(pg_catalog.->) d.key OPERATOR(pg_catalog.->) 'purpose'), '')
               OPERATOR(pg_catalog.||) '. Categories: ' OPERATOR(pg_catalog.||)
               COALESCE(privacy._html_value(export OPERATOR(pg_catalog.->) 'processing' OPERATOR(pg_catalog.->) d.key OPERATOR(pg_catalog.->) 'categories'), '')
               OPERATOR(pg_catalog.||) '. Retention: ' OPERATOR(pg_catalog.||)
               COALESCE(privacy._html_value(export OPERATOR(pg_catalog.->) 'processing' OPERATOR(pg_catalog.->) d.key OPERATOR(pg_catalog.->) 'retention'), 'not set')
               OPERATOR(pg_catalog.||) '. Recipients: ' OPERATOR(pg_catalog.||)
               COALESCE(privacy._html_value(export OPERATOR(pg_catalog.->) 'processing' OPERATOR(pg_catalog.->) d.key OPERATOR(pg_catalog.->) 'recipients'), '')
               OPERATOR(pg_catalog.||) '.</p>' OPERATOR(pg_catalog.||) privacy._html_table(d.value), '' ORDER BY d.key)
             FROM pg_catalog.jsonb_each(export OPERATOR(pg_catalog.->) 'data') d), '<p>None.</p>')
        OPERATOR(pg_catalog.||) '<h2>Consents</h2>' OPERATOR(pg_catalog.||) privacy._html_table(export OPERATOR(pg_catalog.->) 'consents')
        OPERATOR(pg_catalog.||) '<h2>Requests</h2>' OPERATOR(pg_catalog.||) privacy._html_table(export OPERATOR(pg_catalog.->) 'requests')
        OPERATOR(pg_catalog.||) '<h2>Legal holds</h2>' OPERATOR(pg_catalog.||) privacy._html_table(export OPERATOR(pg_catalog.->) 'holds')
        OPERATOR(pg_catalog.||) '</body></html>'
$$;
COMMENT ON FUNCTION privacy._export_html(jsonb) IS 'An export of export_subject as a human-readable HTML page';

CREATE FUNCTION privacy.export_subject_html(subject text, request_id int DEFAULT NULL) RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT privacy._export_html(privacy.export_subject(subject, request_id))
$$;
COMMENT ON FUNCTION privacy.export_subject_html(text, int) IS
  'export_subject as a human-readable HTML page (a copy for the subject); audited like export_subject';
REVOKE ALL ON FUNCTION privacy.export_subject_html(text, int) FROM PUBLIC;

-- ---------------------------------------------------------------- rights

-- Grants a role (a DPO) everything needed to answer requests, but not the
-- data itself: give it SELECT (export), DELETE and UPDATE (erasure) on the
-- registered tables, and the _decrypted views for plaintext, yourself.
CREATE FUNCTION privacy.grant_subject_rights(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION privacy.export_subject(pg_catalog.text, pg_catalog.int4), '
        'privacy.export_subject_html(pg_catalog.text, pg_catalog.int4), '
        'privacy.erase_subject(pg_catalog.text, pg_catalog.text, pg_catalog.int4), '
        'privacy.open_request(pg_catalog.text, pg_catalog.text, pg_catalog.timestamptz), '
        'privacy.close_request(pg_catalog.int4, pg_catalog.text), '
        'privacy.record_consent(pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.text), '
        'privacy.has_consent(pg_catalog.text, pg_catalog.text), privacy.consent_history(pg_catalog.text), '
        'privacy.restrict(pg_catalog.text, pg_catalog.text), privacy.unrestrict(pg_catalog.text), '
        'privacy.register_recipient(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.regclass), '
        'privacy._subject_mask_rules(pg_catalog.oid) '
        'TO %s', role);
    EXECUTE pg_catalog.format('GRANT SELECT ON privacy.data_map, privacy.open_requests, privacy.overdue_requests TO %s', role);
END
$$;
COMMENT ON FUNCTION privacy.grant_subject_rights(regrole) IS
  'Grants a role the data-subject functions and views (export, erasure, requests, consent, restriction, data map)';
REVOKE ALL ON FUNCTION privacy.grant_subject_rights(regrole) FROM PUBLIC;

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

-- Registering, changing or unregistering a table with masking rules changes
-- its masked view's filter (a row trigger: statements touching no row, such as
-- the clean-up after DROP TABLE, must not rebuild views mid-command).
CREATE FUNCTION privacy._subject_tables_changed() RETURNS trigger
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
CREATE TRIGGER subject_tables_changed
    AFTER INSERT OR UPDATE OR DELETE ON privacy.subject_tables
    FOR EACH ROW EXECUTE FUNCTION privacy._subject_tables_changed();

-- ---------------------------------------------------------------- subject-wide legal holds

-- Rows of a registered table (with a subject column) whose subject is under a
-- subject-wide hold: the purge and the retention report leave them alone.
CREATE OR REPLACE FUNCTION privacy._subject_holds_condition(tbl regclass) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.format('(%I)::pg_catalog.text OPERATOR(pg_catalog.=) ANY (%L::pg_catalog.text[])',
                             s.subject_column, pg_catalog.array_agg(DISTINCT h.subject))
      FROM privacy.subject_tables s, privacy.active_holds h
     WHERE s.tbl OPERATOR(pg_catalog.=) $1 AND s.subject_column IS NOT NULL
       AND h.tbl IS NULL AND h.subject IS NOT NULL
     GROUP BY s.subject_column
$$;
