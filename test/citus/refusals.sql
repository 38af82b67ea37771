-- Each capability that privacy does not support on Citus distributed or
-- reference tables raises its documented error (feature_not_supported,
-- naming the capability, the table kind and what to do instead).
SET client_min_messages = warning;
SELECT plan(32);

CREATE TABLE ct_dist (id int PRIMARY KEY, subscriber text, email text, created_at timestamptz DEFAULT now());
SELECT create_distributed_table('ct_dist', 'id');
CREATE TABLE ct_ref (id int PRIMARY KEY, subscriber text, email text, created_at timestamptz DEFAULT now());
SELECT create_reference_table('ct_ref');
INSERT INTO ct_dist SELECT i, 's' || (i % 3), 'e' || i || '@example.com' FROM generate_series(1, 12) i;
INSERT INTO ct_ref SELECT i, 's' || (i % 3), 'e' || i || '@example.com' FROM generate_series(1, 12) i;


-- protect_column works on distributed tables (test/citus/protect.sql), but not over values that
-- already are ciphertexts: the trigger that encrypts the shards would keep them as they are
CREATE TABLE ct_cx (id int PRIMARY KEY, v bytea);
SELECT create_distributed_table('ct_cx', 'id');
INSERT INTO ct_cx VALUES (1, 'plain'), (2, privacy.encrypt('x'::text));
SELECT is(ct.try($$SELECT privacy.protect_column('ct_cx', 'v')$$),
          'ERROR 0A000: column "v" of the Citus distributed table "public.ct_cx" holds 1 values in ciphertext form',
          'protect_column refuses a distributed column holding ciphertexts');
SELECT is(ct.results($$SELECT count(*) FROM privacy.protected_columns$$), '{0,0,0}'::text[],
          'and registers nothing, on any node');
DROP TABLE ct_cx;
SELECT is(ct.try($$SELECT privacy.protect_column('ct_ref', 'email')$$),
          'ERROR 0A000: privacy.protect_column is not supported on the Citus reference table "public.ct_ref"',
          'protect_column refuses a reference table');
SELECT is(privacy.set_retention('ct_dist', '30 days'), 12, 'latest-write retention on a distributed table');
SELECT is(ct.try($$SELECT privacy.set_retention('ct_dist', '40 days')$$),
          'ERROR 0A000: Changing the period of a ''latest write'' retention policy is not supported on the Citus distributed table "public.ct_dist"',
          'changing its period is refused (expiries cannot be moved on the shards)');
SELECT ok(privacy.drop_retention('ct_dist'), 'and it can be dropped');
SELECT is(ct.try($$SELECT privacy.set_retention('ct_ref', '30 days', 'created_at')$$),
          'ERROR 0A000: privacy.set_retention is not supported on the Citus reference table "public.ct_ref"',
          'set_retention refuses a reference table');
SELECT is(ct.try($$SELECT privacy.mask_column('ct_dist', 'email', 'privacy.mask_email(email)')$$),
          'ERROR 0A000: privacy.mask_column is not supported on the Citus distributed table "public.ct_dist"',
          'mask_column refuses a distributed table');
SELECT is(ct.try($$SELECT privacy.mask_column('ct_ref', 'email', 'privacy.mask_email(email)')$$),
          'ERROR 0A000: privacy.mask_column is not supported on the Citus reference table "public.ct_ref"',
          'mask_column refuses a reference table');
-- the online procedures batch by physical row address (ctid): refused on every Citus table
SELECT is(ct.try($$CALL privacy.protect_column_online('ct_dist', 'email')$$),
          'ERROR 0A000: privacy.protect_column_online is not supported on the Citus distributed table "public.ct_dist"',
          'protect_column_online refuses a distributed table');
SELECT is(ct.try($$CALL privacy.protect_column_online('ct_ref', 'email')$$),
          'ERROR 0A000: privacy.protect_column_online is not supported on the Citus reference table "public.ct_ref"',
          'protect_column_online refuses a reference table');
SELECT is(ct.try($$CALL privacy.set_retention_online('ct_dist', '30 days', 'created_at')$$),
          'ERROR 0A000: privacy.set_retention_online is not supported on the Citus distributed table "public.ct_dist"',
          'set_retention_online refuses a distributed table');
SELECT is(ct.try($$CALL privacy.reencrypt_online('ct_dist', 'email')$$),
          'ERROR 0A000: privacy.reencrypt_online is not supported on the Citus distributed table "public.ct_dist"',
          'reencrypt_online refuses a distributed table');
SELECT is(ct.results($$SELECT count(*) FROM privacy.bulk_operations$$), '{0,0,0}'::text[],
          'no online operation was recorded');
SELECT is(ct.try($$SELECT privacy.reencrypt('ct_ref', 'email')$$),
          'ERROR 0A000: privacy.reencrypt is not supported on the Citus reference table "ct_ref"',
          'reencrypt refuses a reference table (randomized encryption would differ per placement)');
SELECT is(ct.try($$SECURITY LABEL FOR privacy ON COLUMN ct_dist.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)'$$),
          'ERROR 0A000: Masking rules (SECURITY LABEL FOR privacy) is not supported on the Citus distributed table "public.ct_dist"',
          'a masking label on a distributed table is refused');
SELECT is(ct.try($$SECURITY LABEL FOR privacy ON COLUMN ct_ref.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)'$$),
          'ERROR 0A000: Masking rules (SECURITY LABEL FOR privacy) is not supported on the Citus reference table "public.ct_ref"',
          'a masking label on a reference table is refused');
SELECT is((SELECT count(*) FROM pg_seclabel WHERE provider = 'privacy'), 0::bigint, 'no masking rule was set');

-- data subjects: rows of Citus tables are identified by primary key (test/citus/subject.sql); a Citus
-- table of the subject graph without one is refused before anything is read or changed
CREATE TABLE ct_nopk (subscriber text, email text);
SELECT create_distributed_table('ct_nopk', 'subscriber');
INSERT INTO ct_nopk SELECT 's' || (i % 3), 'e' || i || '@example.com' FROM generate_series(1, 12) i;
CREATE TABLE ct_nopk_ref (subscriber text, email text);
SELECT create_reference_table('ct_nopk_ref');
INSERT INTO ct_nopk_ref SELECT 's' || (i % 3), 'e' || i || '@example.com' FROM generate_series(1, 12) i;
SELECT privacy.register_subject_table('ct_dist', 'subscriber');
SELECT privacy.register_subject_table('ct_nopk', 'subscriber');
SELECT is(ct.try($$SELECT privacy.export_subject('s1')$$),
          'ERROR 0A000: export and erasure of data subjects need a primary key on the Citus distributed table "public.ct_nopk"',
          'export_subject refuses a distributed subject table without a primary key');
SELECT is(ct.try($$SELECT privacy.erase_subject('s1', 'test')$$),
          'ERROR 0A000: export and erasure of data subjects need a primary key on the Citus distributed table "public.ct_nopk"',
          'erase_subject refuses a distributed subject table without a primary key');
SELECT is((SELECT count(*) FROM ct_dist) + (SELECT count(*) FROM ct_nopk), 24::bigint,
          'nothing was erased, in any table');
SELECT privacy.unregister_subject_table('ct_nopk');
SELECT privacy.register_subject_table('ct_nopk_ref', 'subscriber');
SELECT is(ct.try($$SELECT privacy.export_subject('s1')$$),
          'ERROR 0A000: export and erasure of data subjects need a primary key on the Citus reference table "public.ct_nopk_ref"',
          'export_subject refuses a reference subject table without a primary key');
SELECT is(ct.try($$SELECT privacy.erase_subject('s1', 'test')$$),
          'ERROR 0A000: export and erasure of data subjects need a primary key on the Citus reference table "public.ct_nopk_ref"',
          'erase_subject refuses a reference subject table without a primary key');
SELECT is((SELECT count(*) FROM ct_dist) + (SELECT count(*) FROM ct_nopk_ref), 24::bigint,
          'nothing was erased, in any table');
SELECT privacy.unregister_subject_table('ct_nopk_ref');
SELECT privacy.unregister_subject_table('ct_dist');
DROP TABLE ct_nopk, ct_nopk_ref;

-- bookkeeping read on a worker: refused rather than false for everyone
SELECT privacy.record_consent('s1', 'newsletter', true);
SELECT privacy.restrict('s2', 'test');
SELECT matches(ct.try($$SELECT count(*) FROM ct_dist WHERE privacy.has_consent(subscriber, 'newsletter')$$),
               'privacy.has_consent cannot run on a Citus worker',
               'has_consent pushed down to the shards of a distributed table is refused');
SELECT matches(ct.try($$SELECT count(*) FROM ct_dist WHERE privacy.is_restricted(subscriber)$$),
               'privacy.is_restricted cannot run on a Citus worker',
               'is_restricted pushed down to the shards of a distributed table is refused');
SELECT matches(ct.on_worker(1, $$SELECT privacy.has_consent('s1', 'newsletter')$$),
               'cannot run on a Citus worker', 'has_consent called on a worker is refused');
SELECT matches(ct.on_worker(2, $$SELECT privacy.is_restricted('s2')$$),
               'cannot run on a Citus worker', 'is_restricted called on a worker is refused');
SELECT ok(privacy.has_consent('s1', 'newsletter') AND privacy.is_restricted('s2'),
          'both answer on the coordinator');
SELECT privacy.unrestrict('s2');

-- key management on a worker
SELECT matches(ct.on_worker(1, $$SELECT privacy.rotate_key('default')$$),
               'written by the coordinator only', 'rotate_key on a worker is refused');

-- a table with a retention policy made a reference table afterwards: purge refuses it, never a silent 0
BEGIN;   -- the background worker must not purge it while it is still a local table
CREATE TABLE ct_ret (id int PRIMARY KEY, created_at timestamptz DEFAULT now() - interval '2 days');
SELECT privacy.set_retention('ct_ret', '1 day', 'created_at');
INSERT INTO ct_ret SELECT i FROM generate_series(1, 10) i;
SET citus.enable_unsafe_triggers = on;
SELECT create_reference_table('ct_ret');
RESET citus.enable_unsafe_triggers;
COMMIT;
SELECT is((SELECT string_agg(action, ',') FROM privacy.purge() WHERE tbl = 'ct_ret'::regclass), 'failed',
          'purge reports a reference table as failed');
SELECT is((SELECT count(*) FROM ct_ret), 10::bigint, 'and deletes nothing behind Citus''s back');
SET citus.enable_unsafe_triggers = on;
SELECT privacy.drop_retention('ct_ret');
RESET citus.enable_unsafe_triggers;

DROP TABLE ct_dist, ct_ref, ct_ret;
SELECT * FROM finish();
