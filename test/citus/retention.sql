-- Retention on a Citus distributed table (must show 4 of the Citus issue):
-- set_retention stamps the rows of every shard, purge and the background
-- worker delete every expired row of every shard and log the true count,
-- holds still win.
SET client_min_messages = warning;
SELECT plan(24);

CREATE TABLE ct_sms (id bigint PRIMARY KEY, subscriber text, sent_at timestamptz);
SELECT create_distributed_table('ct_sms', 'id', shard_count => 8);
-- 71 expired rows (3 of them held below), 29 kept
INSERT INTO ct_sms SELECT i, 's' || (i % 10), now() - interval '40 days' FROM generate_series(1, 71) i;
INSERT INTO ct_sms SELECT i, 's' || (i % 10), now() - interval '1 day' FROM generate_series(72, 100) i;

-- in one transaction, so that the background worker does not purge first
BEGIN;
SELECT is(privacy.set_retention('ct_sms', '30 days', 'sent_at'), 100, 'set_retention stamps the 100 rows of every shard');
SELECT is((SELECT count(*) FROM ct_sms WHERE expires_at = sent_at + interval '30 days'), 100::bigint,
          'every row carries its expiry');
INSERT INTO ct_sms VALUES (1000, 's0', now() - interval '60 days');
SELECT expires_at = sent_at + interval '30 days' AS stamped FROM ct_sms WHERE id = 1000 \gset
SELECT ok(:'stamped', 'a new row is stamped on its shard by the trigger');
SELECT ok(privacy.place_hold('litigation', 'ct_sms', predicate => $$id IN (1, 2, 3)$$) > 0,
          'a hold on 3 expired rows');
SELECT is((SELECT rows FROM privacy.purge(dry_run => true) WHERE tbl = 'ct_sms'::regclass), 69::bigint,
          'dry run: 69 rows would go (72 expired, 3 held)');
SELECT is((SELECT rows FROM privacy.purge() WHERE tbl = 'ct_sms'::regclass), 69::bigint,
          'purge deletes 69 rows and says so');
COMMIT;
SELECT is((SELECT count(*) FROM ct_sms), 32::bigint, '29 kept and 3 held rows remain');
SELECT is((SELECT array_agg(id ORDER BY id) FROM ct_sms WHERE expires_at < now()), '{1,2,3}'::bigint[],
          'the held rows are still there: holds win');
SELECT is((SELECT rows FROM privacy.deletion_log WHERE relid = 'ct_sms'::regclass AND run_id IS NOT NULL
            ORDER BY id DESC LIMIT 1), 69::bigint, 'the deletion log holds the true count');
SELECT privacy.release_hold(h.id) FROM privacy.legal_holds h WHERE h.tbl = 'ct_sms'::regclass;

-- the background worker (privacy.purge_interval = 1s on the coordinator)
INSERT INTO ct_sms SELECT i, 'w', now() - interval '50 days' FROM generate_series(2000, 2019) i;
CREATE FUNCTION pg_temp.wait_purged() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    FOR i IN 1 .. 300 LOOP
        SELECT count(*) INTO n FROM ct_sms WHERE expires_at < now();
        EXIT WHEN n = 0;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN n;
END
$$;
SELECT is(pg_temp.wait_purged(), 0::bigint, 'the background worker removes every expired row, held ones once released');
SELECT is((SELECT count(*) FROM ct_sms), 29::bigint, 'the 29 unexpired rows remain');
SELECT is((SELECT sum(rows)::bigint FROM privacy.deletion_log WHERE relid = 'ct_sms'::regclass), 69::bigint + 23,
          'the deletion log counts every deleted row (69 + 3 released + 20 new)');

-- The rewrites of protect_column, reencrypt and unprotect_column keep the
-- expiries a 'latest write' policy stamped, on every shard; the next write
-- stamps as usual, also in the same transaction.
CREATE TABLE ct_lw (id bigint PRIMARY KEY, email text);
SELECT create_distributed_table('ct_lw', 'id', shard_count => 4);
INSERT INTO ct_lw SELECT i, 'u' || i || '@example.com' FROM generate_series(1, 40) i;
SELECT is(privacy.set_retention('ct_lw', '30 days'), 40, 'a ''latest write'' policy on a distributed table');
SELECT array_agg(expires_at ORDER BY id)::text AS lw_before FROM ct_lw \gset
SELECT privacy.create_key('ct_lw_key');
SELECT privacy.protect_column('ct_lw', 'email', 'ct_lw_key');
SELECT is((SELECT count(*) FROM ct_lw WHERE privacy.is_ciphertext(email)), 40::bigint,
          'protect_column encrypts the 40 rows of every shard');
SELECT is((SELECT array_agg(expires_at ORDER BY id)::text FROM ct_lw), :'lw_before',
          'and every row keeps its expiry');
SELECT privacy.rotate_key('ct_lw_key');
BEGIN;
SELECT is(privacy.reencrypt('ct_lw', 'email'), 40::bigint, 'reencrypt moves the 40 rows to the new key version');
SELECT is((SELECT array_agg(expires_at ORDER BY id)::text FROM ct_lw), :'lw_before',
          'and every row keeps its expiry');
UPDATE ct_lw SET email = 'new@example.com' WHERE id = 2;
-- (fetched first: Citus would push a single-shard query down whole, pgTAP call included)
SELECT expires_at > now() + interval '29 days' AND expires_at <> (:'lw_before'::timestamptz[])[2] AS lw_restamped
  FROM ct_lw WHERE id = 2 \gset
SELECT ok(:'lw_restamped', 'a write later in the same transaction is stamped as usual');
COMMIT;
SELECT privacy.unprotect_column('ct_lw', 'email');
SELECT is((SELECT count(*) FROM ct_lw WHERE privacy.is_ciphertext(email)), 0::bigint,
          'unprotect_column decrypts the rows of every shard');
SELECT email AS lw_email FROM ct_lw WHERE id = 7 \gset
SELECT is(:'lw_email'::text, 'u7@example.com', 'to their plaintext');
SELECT is((SELECT count(*) FROM ct_lw WHERE id <> 2 AND expires_at = (:'lw_before'::timestamptz[])[id]), 39::bigint,
          'and the rows keep their expiries');
SELECT ok(privacy.drop_retention('ct_lw'), 'drop_retention');
DROP TABLE ct_lw;

-- what stays refused
SELECT is(ct.try($$SELECT privacy.set_retention('ct_sms', '30 days', 'sent_at', 'anonymize')$$),
          'ERROR 0A000: Retention with action ''anonymize'' is not supported on the Citus distributed table "public.ct_sms"',
          'anonymizing retention is refused on a distributed table');
SELECT ok(privacy.drop_retention('ct_sms'), 'drop_retention on a distributed table');
DROP TABLE ct_sms;
SELECT * FROM finish();
