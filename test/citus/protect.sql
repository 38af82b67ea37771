-- Transparent column encryption on a Citus distributed table: the protection
-- trigger on every shard, the registry of protected columns on every worker
-- (for the access check of the _decrypted view, which decrypts on the shards),
-- reencrypt after rotation, unprotect back to plaintext.
SET client_min_messages = warning;
SELECT plan(39);

-- a table owned by an ordinary role (Citus connects to the workers as that role)
CREATE ROLE cp_app LOGIN;
CREATE ROLE cp_reader LOGIN;
CREATE ROLE cp_nobody LOGIN;
CREATE SCHEMA cp AUTHORIZATION cp_app;
GRANT USAGE ON SCHEMA cp TO cp_reader, cp_nobody;
GRANT USAGE ON SCHEMA ct TO cp_app, cp_reader, cp_nobody;
CREATE TABLE cp.msg (id int PRIMARY KEY, phone varchar(20), body text, note bytea);
SELECT create_distributed_table('cp.msg', 'id', shard_count => 4);
ALTER TABLE cp.msg OWNER TO cp_app;
INSERT INTO cp.msg SELECT i, '+3361234' || lpad(i::text, 4, '0'), 'hello ' || i, convert_to('n' || i, 'UTF8')
  FROM generate_series(1, 40) i;
SELECT privacy.create_key('cp_k', 'encrypt');

-- Per shard: ciphertexts of body/phone/note, then rows.
CREATE FUNCTION ct.cp_shards() RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(result ORDER BY shardid)
      FROM run_command_on_shards('cp.msg',
               $q$SELECT count(*) FILTER (WHERE privacy.is_ciphertext(body)) || '/'
                         || count(*) FILTER (WHERE privacy.is_ciphertext(phone)) || '/'
                         || count(*) FILTER (WHERE privacy.is_ciphertext(note)) || '/' || count(*) FROM %s$q$)
$$;
-- The expected body of row id.
CREATE FUNCTION ct.cp_body(id int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN id % 10 = 1 THEN 'changed ' ELSE 'hello ' END || id
$$;
-- Run q on the i-th worker as role r; 'DO' or the error.
CREATE FUNCTION ct.cp_worker_as(i int, r text, q text) RETURNS text LANGUAGE sql AS $f$
    SELECT ct.on_worker(i, format($d$DO $x$ BEGIN SET LOCAL ROLE %I; %s; END $x$ $d$, r, q))
$f$;

SELECT is((SELECT count(DISTINCT s.nodeport) FROM citus_shards s
             JOIN run_command_on_shards('cp.msg', 'SELECT count(*) FROM %s') r USING (shardid)
            WHERE r.result::int > 0), 2::bigint, 'the rows are on both workers');

-- 1. protect_column, by the table's owner
SET ROLE cp_app;
SELECT is(privacy.protect_column('cp.msg', 'body', 'cp_k'), 40::bigint, 'protect_column encrypts the 40 rows');
SELECT is(privacy.protect_column('cp.msg', 'phone', deterministic => true), 40::bigint,
          'a varchar(20) column, deterministic');
SELECT is(privacy.protect_column('cp.msg', 'note'), 40::bigint, 'a bytea column');
RESET ROLE;
SELECT ok((SELECT bool_and(split_part(s, '/', 1) = split_part(s, '/', 4) AND split_part(s, '/', 2) = split_part(s, '/', 4)
                           AND split_part(s, '/', 3) = split_part(s, '/', 4)) FROM unnest(ct.cp_shards()) s),
          'every shard stores ciphertexts only');
SELECT is((SELECT array_agg(DISTINCT result) FROM run_command_on_shards('cp.msg',
               $$SELECT count(*) FROM pg_trigger WHERE tgrelid = '%s'::regclass AND tgname LIKE 'zz\_privacy\_protect%%'$$)),
          '{1}'::text[], 'the protection trigger is on every shard');
SELECT is(ct.results($$SELECT count(*) FROM privacy.protected_columns WHERE tbl = 'cp.msg'::regclass$$),
          '{3,3,3}'::text[], 'the protected columns are registered on every node');
SELECT ok(ct.same_everywhere($$SELECT string_agg(col || ':' || context || ':' || key_name, ',' ORDER BY col)
                                FROM privacy.protected_columns WHERE tbl = 'cp.msg'::regclass$$),
          'with the same context and key everywhere');
SELECT is(ct.results($$SELECT count(*) FROM privacy.protected_columns WHERE tbl = 'cp.msg'::regclass AND view IS NOT NULL$$),
          '{3,0,0}'::text[], 'the view is recorded on the coordinator only (workers find it themselves)');

-- 2. writes after protecting: encrypted on the shards
INSERT INTO cp.msg SELECT i, '+3361234' || lpad(i::text, 4, '0'), 'hello ' || i, convert_to('n' || i, 'UTF8')
  FROM generate_series(41, 50) i;
UPDATE cp.msg SET body = ct.cp_body(id) WHERE id % 10 = 1;
SELECT is((SELECT sum(split_part(s, '/', 1)::int) FROM unnest(ct.cp_shards()) s), 50::bigint,
          'inserted and updated values are stored encrypted');
SELECT ok((SELECT bool_and(split_part(s, '/', 1) = split_part(s, '/', 4)) FROM unnest(ct.cp_shards()) s),
          'no plaintext on any shard');
SELECT is(ct.try($$INSERT INTO cp.msg VALUES (100, '+3361234000012345678901', 'x')$$),
          'ERROR 22001: value too long for type character varying(20)', 'the varchar limit holds on the shards');

-- 3. the _decrypted view, from the coordinator
SELECT is((SELECT count(*) FROM cp.msg_decrypted
            WHERE body = ct.cp_body(id) AND phone = '+3361234' || lpad(id::text, 4, '0')
              AND note = convert_to('n' || id, 'UTF8')), 50::bigint, 'the _decrypted view returns the plaintext of every row');
-- (a query of one shard goes to the worker whole: read the value first)
SELECT body AS body21 FROM cp.msg_decrypted WHERE id = 21 \gset
SELECT is(:'body21'::text, 'changed 21', 'and the updated value');
SELECT is((SELECT pg_typeof(phone)::text FROM cp.msg_decrypted LIMIT 1), 'character varying',
          'with the original types');
SET ROLE cp_app;
SELECT is((SELECT count(*) FROM cp.msg_decrypted WHERE body = ct.cp_body(id)), 50::bigint, 'the table''s owner reads it');
GRANT SELECT ON cp.msg, cp.msg_decrypted TO cp_reader;
GRANT SELECT ON cp.msg TO cp_nobody;
RESET ROLE;
SET ROLE cp_reader;
SELECT is((SELECT count(*) FROM cp.msg_decrypted WHERE body = ct.cp_body(id)), 50::bigint,
          'a role granted SELECT on the view reads the plaintext');
RESET ROLE;

-- 4. a role without rights on the view gets no plaintext, from the coordinator or on a worker
SELECT context AS ctx FROM privacy.protected_columns WHERE tbl = 'cp.msg'::regclass AND col = 'body' \gset
SET ROLE cp_nobody;
SELECT is(ct.try($$SELECT * FROM cp.msg_decrypted$$), 'ERROR 42501: permission denied for view msg_decrypted',
          'a role without rights on the view is refused it');
SELECT is(ct.try(format($$SELECT privacy._decrypt_column(body, %L) FROM cp.msg$$, :'ctx')),
          'ERROR 42501: permission denied to decrypt protected column "body" of table "msg"',
          'decrypting in a query pushed down to the shards is refused there');
SELECT is(ct.try(format($$SELECT privacy._decrypt_shard_column(body, %L) FROM cp.msg$$, :'ctx')),
          'ERROR 42501: permission denied to decrypt protected column "body" of table "msg"',
          'so is the twin used by unprotect_column');
SELECT is((SELECT count(*) FROM cp.msg WHERE NOT privacy.is_ciphertext(body)), 0::bigint,
          'the base table shows it only ciphertexts');
RESET ROLE;
SELECT shard_name AS shard1 FROM citus_shards WHERE table_name = 'cp.msg'::regclass
 ORDER BY nodeport, shardid LIMIT 1 \gset
SELECT matches(ct.cp_worker_as(1, 'cp_nobody', format('PERFORM privacy._decrypt_column(body, %L) FROM %s', :'ctx', :'shard1')),
               'permission denied to decrypt protected column', 'on a worker, reading a shard directly: refused');
SELECT matches(ct.cp_worker_as(1, 'cp_nobody', format('PERFORM privacy._decrypt_column(body, %L) FROM cp.msg', :'ctx')),
               'permission denied to decrypt protected column', 'on a worker, through the table: refused');
SELECT is(ct.cp_worker_as(1, 'cp_reader', format('PERFORM privacy._decrypt_column(body, %L) FROM %s', :'ctx', :'shard1')),
          'DO', 'on a worker, a role granted the view decrypts');
CREATE SCHEMA cpn AUTHORIZATION cp_nobody;
SET ROLE cp_nobody;
SELECT is(ct.try(format($$CREATE VIEW cpn.msg_decrypted AS SELECT privacy._decrypt_column(body, %L) AS body FROM cp.msg$$,
                        :'ctx')), 'done', 'a role makes a view of its own like the _decrypted view');
SELECT is(ct.try($$SELECT * FROM cpn.msg_decrypted$$),
          'ERROR 42501: permission denied to decrypt protected column "body" of table "msg"',
          'it does not stand in for the table''s _decrypted view on the workers');
RESET ROLE;
DROP SCHEMA cpn CASCADE;

-- 5. rotate_key + reencrypt
SELECT is(privacy.rotate_key('cp_k'), 2, 'rotate_key gives version 2');
SELECT is(privacy.reencrypt('cp.msg', 'body'), 50::bigint, 'reencrypt moves the 50 rows of every shard');
SELECT is((SELECT array_agg(DISTINCT result) FROM run_command_on_shards('cp.msg',
               $$SELECT array_agg(DISTINCT privacy.key_version(body)) FROM %s$$)), '{"{2}"}'::text[],
          'every shard is at version 2');
SELECT is((SELECT count(*) FROM cp.msg_decrypted WHERE body = ct.cp_body(id)), 50::bigint, 'and the view still decrypts');

-- 6. the online procedures refuse Citus tables (their batches are page ranges)
SELECT is(ct.try($$CALL privacy.reencrypt_online('cp.msg', 'body')$$),
          'ERROR 0A000: privacy.reencrypt_online is not supported on the Citus distributed table "cp.msg"',
          'reencrypt_online refuses a distributed table');

-- 7. unprotect_column restores the plaintext
SET ROLE cp_app;
SELECT is(privacy.unprotect_column('cp.msg', 'body'), 50::bigint, 'unprotect_column decrypts the 50 rows');
RESET ROLE;
SELECT is(ct.results($$SELECT count(*) FROM privacy.protected_columns WHERE tbl = 'cp.msg'::regclass$$),
          '{2,2,2}'::text[], 'the column leaves the registry on every node');
SELECT is((SELECT count(*) FROM cp.msg_decrypted WHERE body = ct.cp_body(id) AND phone = '+3361234' || lpad(id::text, 4, '0')),
          50::bigint, 'the view still decrypts the other columns');
SET ROLE cp_app;
SELECT is(privacy.unprotect_column('cp.msg', 'phone') + privacy.unprotect_column('cp.msg', 'note'), 100::bigint,
          'the other two columns');
RESET ROLE;
SELECT is(ct.cp_shards(), (SELECT array_agg('0/0/0/' || count ORDER BY shardid) FROM
              (SELECT shardid, result AS count FROM run_command_on_shards('cp.msg', 'SELECT count(*) FROM %s')) c),
          'every shard holds plaintext again');
SELECT is((SELECT count(*) FROM cp.msg WHERE body = ct.cp_body(id) AND phone = '+3361234' || lpad(id::text, 4, '0')
              AND note = convert_to('n' || id, 'UTF8')), 50::bigint, 'the original values');
SELECT is(format_type((SELECT atttypid FROM pg_attribute WHERE attrelid = 'cp.msg'::regclass AND attname = 'phone'),
                      (SELECT atttypmod FROM pg_attribute WHERE attrelid = 'cp.msg'::regclass AND attname = 'phone')),
          'character varying(20)', 'with the original type');
SELECT is(ct.results($$SELECT count(*) FROM privacy.protected_columns$$) || ct.results($$SELECT to_regclass('cp.msg_decrypted')::text$$),
          '{0,0,0,"","",""}'::text[], 'no registry row and no view is left on any node');

DROP SCHEMA cp CASCADE;
DROP FUNCTION ct.cp_shards(), ct.cp_body(int), ct.cp_worker_as(int, text, text);
REVOKE USAGE ON SCHEMA ct FROM cp_app, cp_reader, cp_nobody;
SELECT privacy.destroy_key('cp_k');
DROP ROLE cp_app, cp_reader, cp_nobody;
SELECT * FROM finish();
