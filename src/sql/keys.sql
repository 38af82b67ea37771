-- Key ring.  Every row is one version of one data key: 256 random bits wrapped
-- under the master key (AES-256-GCM; key id, version, purpose and master-key id
-- bound as associated data).  Only the extension owner reads or writes it; the
-- C functions below do so on the caller's behalf.
CREATE TABLE IF NOT EXISTS privacy.keys (
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
CREATE UNIQUE INDEX IF NOT EXISTS keys_one_active_idx ON privacy.keys (key_id) WHERE status = 'active';
CREATE SEQUENCE IF NOT EXISTS privacy.keys_key_id_seq AS int OWNED BY privacy.keys.key_id;
REVOKE ALL ON privacy.keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE privacy.keys_key_id_seq FROM PUBLIC;
COMMENT ON TABLE privacy.keys IS
  'Data keys, wrapped under the master key; readable by no ordinary role';

-- Key metadata without key material, for DBAs (grant it as needed).
CREATE OR REPLACE VIEW privacy.key_ring AS
SELECT key_id, name, purpose, version, status, created_at, created_by,
       retired_at, destroyed_at, pg_catalog.encode(master_key_id, 'hex') AS master_key_id
FROM privacy.keys;
REVOKE ALL ON privacy.key_ring FROM PUBLIC;
COMMENT ON VIEW privacy.key_ring IS 'Key versions and their status, without key material';

-- Any change to the key ring makes every backend drop its key cache.
CREATE OR REPLACE FUNCTION privacy._keys_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'privacy_keys_changed' LANGUAGE C;
REVOKE ALL ON FUNCTION privacy._keys_changed() FROM PUBLIC;
COMMENT ON FUNCTION privacy._keys_changed() IS
  'Trigger of privacy.keys: every backend drops its key cache after a change of the key ring';
CREATE OR REPLACE TRIGGER keys_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.keys
    FOR EACH STATEMENT EXECUTE FUNCTION privacy._keys_changed();

-- Restore support: pg_dump dumps the key ring as extension configuration, and a
-- restore runs CREATE EXTENSION first, which makes fresh default keys with the
-- same (key_id, version).  A restored row replaces such an untouched default.
CREATE OR REPLACE FUNCTION privacy._keys_restore() RETURNS trigger
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
COMMENT ON FUNCTION privacy._keys_restore() IS
  'Trigger of privacy.keys: a restored key row replaces the untouched default key made by CREATE EXTENSION';
CREATE OR REPLACE TRIGGER keys_restore
    BEFORE INSERT ON privacy.keys
    FOR EACH ROW WHEN (NEW.origin = 'extension')
    EXECUTE FUNCTION privacy._keys_restore();

SELECT pg_catalog.pg_extension_config_dump('privacy.keys', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.keys_key_id_seq', '');

CREATE OR REPLACE FUNCTION privacy.create_key(name text, purpose text DEFAULT 'encrypt')
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_create_key' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy.create_key(text, text) IS
  'Creates a random data key (purpose encrypt, deterministic, pseudonymize or tokenize), wrapped under the master key; returns its id';

CREATE OR REPLACE FUNCTION privacy.rotate_key(name text)
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_rotate_key' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy.rotate_key(text) IS
  'Adds a new active version of a key; older versions still decrypt; returns the new version';

CREATE OR REPLACE FUNCTION privacy.destroy_key(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'privacy_destroy_key' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy.destroy_key(text) IS
  'Erases every version of a key: what it encrypted can never be decrypted again (crypto-shredding)';

CREATE OR REPLACE FUNCTION privacy.rewrap_keys()
RETURNS int
AS 'MODULE_PATHNAME', 'privacy_rewrap_keys' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION privacy.rewrap_keys() IS
  'Rewraps every data key under the master key of privacy.new_master_key_command/_file; data is not re-encrypted';

CREATE OR REPLACE FUNCTION privacy.master_key_id()
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_master_key_id' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION privacy.master_key_id() IS
  'Identifier (not the key) of the master key this server loaded';

CREATE OR REPLACE FUNCTION privacy._new_master_key_id()
RETURNS text
AS 'MODULE_PATHNAME', 'privacy_new_master_key_id' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy._new_master_key_id() IS
  'Identifier of the next master key (privacy.new_master_key_command/_file), NULL when none is configured';
REVOKE ALL ON FUNCTION privacy._new_master_key_id() FROM PUBLIC;

-- Where this database's data keys are wrapped: under the master key the
-- server loaded, under the next one (rewrapped, waiting for the switch), or
-- under another (a database not rewrapped before a switch: its keys no longer
-- open).  A master-key change is done when every database answers
-- under_other = 0; the key ring is per database, so ask each one (the README
-- gives the loop over pg_database).
CREATE OR REPLACE FUNCTION privacy.master_key_status()
RETURNS TABLE (database name, master_key_id text, new_master_key_id text, live_keys int,
               under_master_key int, under_new_master_key int, under_other int)
LANGUAGE sql STABLE PARALLEL RESTRICTED
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.current_database(), m.cur, m.nxt,
           pg_catalog.count(k.key_id)::int,
           (pg_catalog.count(k.key_id) FILTER (WHERE pg_catalog.encode(k.master_key_id, 'hex') OPERATOR(pg_catalog.=) m.cur))::int,
           (pg_catalog.count(k.key_id) FILTER (WHERE pg_catalog.encode(k.master_key_id, 'hex') OPERATOR(pg_catalog.=) m.nxt))::int,
           (pg_catalog.count(k.key_id) FILTER (WHERE pg_catalog.encode(k.master_key_id, 'hex') IS DISTINCT FROM m.cur
                                                AND pg_catalog.encode(k.master_key_id, 'hex') IS DISTINCT FROM m.nxt))::int
      FROM (SELECT privacy.master_key_id() AS cur, privacy._new_master_key_id() AS nxt) m
      LEFT JOIN privacy.keys k ON k.status OPERATOR(pg_catalog.<>) 'destroyed'
     GROUP BY m.cur, m.nxt
$$;
COMMENT ON FUNCTION privacy.master_key_status() IS
  'This database''s live data keys by the master key wrapping them: the loaded one, the next one (privacy.new_master_key_*), another';

-- The same for every database accepting connections, read by one background
-- worker per database (one at a time; each needs a max_worker_processes slot):
-- status 'ok', 'no extension', or why the database could not be read.
CREATE OR REPLACE FUNCTION privacy.master_key_status_all()
RETURNS TABLE (database name, master_key_id text, new_master_key_id text, live_keys int,
               under_master_key int, under_new_master_key int, under_other int, status text)
AS 'MODULE_PATHNAME', 'privacy_master_key_status_all' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.master_key_status_all() IS
  'master_key_status() of every database of the cluster, read by a background worker per database (superuser)';

REVOKE ALL ON FUNCTION privacy.create_key(text, text), privacy.rotate_key(text),
    privacy.destroy_key(text), privacy.rewrap_keys(), privacy.master_key_id(),
    privacy.master_key_status(), privacy.master_key_status_all() FROM PUBLIC;

-- The keys the functions use by default.  Their creation is not audited (the
-- audit log is restored from dumps as is); origin 'extension' marks them.
-- Made once, at the first install (an upgrade keeps the existing ring), and
-- never on a Citus worker: the coordinator copies its ring there (citus.sql).
CREATE OR REPLACE FUNCTION privacy._citus_worker() RETURNS boolean
AS 'MODULE_PATHNAME', 'privacy_citus_worker' LANGUAGE C STRICT STABLE PARALLEL SAFE;
REVOKE ALL ON FUNCTION privacy._citus_worker() FROM PUBLIC;
COMMENT ON FUNCTION privacy._citus_worker() IS 'Whether this database is a Citus worker node';
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM privacy.keys) AND NOT privacy._citus_worker() THEN
        PERFORM privacy.create_key('default', 'encrypt');
        PERFORM privacy.create_key('deterministic', 'deterministic');
        PERFORM privacy.create_key('pseudonym', 'pseudonymize');
        PERFORM privacy.create_key('token', 'tokenize');
        UPDATE privacy.keys SET origin = 'extension';
    END IF;
END
$$;
