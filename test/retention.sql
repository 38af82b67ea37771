-- Retention: the expiry trigger in both modes, NULL since, re-stamping on a
-- policy change, the anonymize action, legal holds, batched purge and its
-- deletion log, partitions past their retention.
BEGIN;
SELECT plan(48);

-- Rows last written long ago: stamp an expiry in the past behind the trigger's back.
CREATE FUNCTION pg_temp.age_rows(t regclass, ago interval, cond text DEFAULT 'true') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s DISABLE TRIGGER zz_privacy_retention', t);
    EXECUTE format('UPDATE %s SET expires_at = now() - %L::interval WHERE %s', t, ago, cond);
    EXECUTE format('ALTER TABLE %s ENABLE TRIGGER zz_privacy_retention', t);
END $$;

-- ---- since mode ----
CREATE TABLE ret_clients (id int PRIMARY KEY, name text, closed_at timestamptz);
INSERT INTO ret_clients VALUES (1, 'old', now() - interval '100 days'), (2, 'recent', now() - interval '10 days'),
                               (3, 'open', NULL);
SELECT is(privacy.set_retention('ret_clients', '90 days', 'closed_at'), 2,
          'set_retention stamps the existing rows that have a since value');
SELECT has_column('ret_clients', 'expires_at', 'the expiry column is created');
SELECT ok(EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = 'ret_clients'::regclass AND a.attname = 'expires_at'),
          'and indexed');
SELECT is((SELECT expires_at FROM ret_clients WHERE id = 1), now() - interval '10 days',
          'expiry = since + keep');
SELECT is((SELECT expires_at FROM ret_clients WHERE id = 3), NULL, 'NULL since: never expires');
INSERT INTO ret_clients VALUES (4, 'new', now() - interval '1 day');
SELECT is((SELECT expires_at FROM ret_clients WHERE id = 4), now() + interval '89 days', 'INSERT is stamped');
UPDATE ret_clients SET closed_at = now() - interval '200 days' WHERE id = 3;
SELECT is((SELECT expires_at FROM ret_clients WHERE id = 3), now() - interval '110 days',
          'closing an account (UPDATE of since) re-stamps');
UPDATE ret_clients SET name = 'renamed', expires_at = 'infinity' WHERE id = 1;
SELECT is((SELECT expires_at FROM ret_clients WHERE id = 1), now() - interval '10 days',
          'an UPDATE cannot set its own expiry');
SELECT is(privacy.set_retention('ret_clients', '30 days', 'closed_at'), 4,
          'a policy change re-stamps the rows whose expiry changes');
SELECT is((SELECT expires_at FROM ret_clients WHERE id = 2), now() + interval '20 days',
          'with the new period');
SELECT is((SELECT count(*) FROM privacy.retention_policies WHERE tbl = 'ret_clients'::regclass), 1::bigint,
          'one policy per table');
SELECT is((SELECT details->>'keep' FROM privacy.audit_log WHERE action = 'set_retention'
            AND object = 'public.ret_clients' ORDER BY id DESC LIMIT 1), '30 days',
          'policy changes are audited');

-- ---- latest-write mode ----
CREATE TABLE ret_forms (id int PRIMARY KEY, email text);
SELECT privacy.set_retention('ret_forms', '6 months');
INSERT INTO ret_forms VALUES (1, 'a@example.com'), (2, 'b@example.com');
SELECT is((SELECT expires_at FROM ret_forms WHERE id = 1), now() + interval '6 months', 'INSERT: now() + keep');
SELECT pg_temp.age_rows('ret_forms', '1 day');
UPDATE ret_forms SET email = 'a2@example.com' WHERE id = 1;
SELECT is((SELECT expires_at FROM ret_forms WHERE id = 1), now() + interval '6 months',
          'every UPDATE counts as engagement and re-stamps');
SELECT is(privacy.set_retention('ret_forms', '7 months'), 2, 'a new period moves every expiry');
SELECT is((SELECT expires_at FROM ret_forms WHERE id = 2), now() - interval '1 day' + interval '1 month',
          'by the change of period (the latest write is kept)');
SELECT throws_ok($$ SELECT privacy.set_retention('ret_forms', '1 day', action => 'shred') $$, '22023',
                 'unknown retention action "shred"', 'unknown actions are refused');
SELECT throws_ok($$ SELECT privacy.set_retention('ret_forms', '1 day', 'email') $$, '42804',
                 'since column "email" must be of type timestamptz, timestamp or date',
                 'the since column must be a time');

-- ---- purge: batches and the deletion log ----
CREATE TABLE ret_tickets (id int PRIMARY KEY, body text, opened_at timestamptz);
INSERT INTO ret_tickets SELECT g, 'ticket ' || g, now() - (g || ' days')::interval FROM generate_series(1, 20) g;
SELECT privacy.set_retention('ret_tickets', '15 days', 'opened_at');
SELECT pg_temp.age_rows('ret_forms', '1 day', 'id = 2');
CREATE TEMP TABLE mark AS SELECT coalesce(max(id), 0) AS last FROM privacy.deletion_log;
SELECT results_eq($$ SELECT tbl::text, rows FROM privacy.purge(dry_run => true)
                     WHERE tbl::text LIKE 'ret\_%' ORDER BY 1 $$,
                  $$ VALUES ('ret_clients', 2::bigint), ('ret_forms', 1), ('ret_tickets', 5) $$,
                  'dry run: what would be purged');
SELECT is((SELECT count(*) FROM privacy.deletion_log WHERE id > (SELECT last FROM mark)), 0::bigint,
          'a dry run removes and logs nothing');
SELECT results_eq($$ SELECT tbl::text, action, rows FROM privacy.purge(batch_size => 1)
                     WHERE tbl::text LIKE 'ret\_%' ORDER BY 1 $$,
                  $$ VALUES ('ret_clients', 'delete', 2::bigint), ('ret_forms', 'delete', 1), ('ret_tickets', 'delete', 5) $$,
                  'purge(batch_size => 1) removes exactly the expired rows');
SELECT is((SELECT array_agg(id ORDER BY id) FROM ret_tickets), ARRAY[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15],
          'unexpired rows stay');
SELECT is((SELECT count(*) FROM ret_clients WHERE id = 3), 0::bigint, 'the expired client is gone');
SELECT results_eq($$ SELECT table_name, action, rows, policy, role::text, finished_at IS NOT NULL
                       FROM privacy.deletion_log WHERE id > (SELECT last FROM mark) AND table_name LIKE 'public.ret\_%'
                      ORDER BY table_name $$,
                  $$ VALUES ('public.ret_clients', 'delete', 2::bigint, 'keep 30 days after closed_at, then delete', current_user::text, true),
                            ('public.ret_forms', 'delete', 1::bigint, 'keep 7 mons after the latest write, then delete', current_user::text, true),
                            ('public.ret_tickets', 'delete', 5::bigint, 'keep 15 days after opened_at, then delete', current_user::text, true) $$,
                  'the deletion log has one row per table and run, with the counts');
SELECT is((SELECT count(DISTINCT run_id) FROM privacy.deletion_log WHERE id > (SELECT last FROM mark)), 1::bigint,
          'all of one run');

-- ---- legal holds ----
SELECT pg_temp.age_rows('ret_tickets', '1 hour', 'id > 12');
SELECT lives_ok($$ SELECT privacy.place_hold('litigation 2024-17', 'ret_tickets') $$, 'a table hold');
UPDATE mark SET last = (SELECT max(id) FROM privacy.deletion_log);
SELECT results_eq($$ SELECT action, rows FROM privacy.purge() WHERE tbl = 'ret_tickets'::regclass $$,
                  $$ VALUES ('held', 0::bigint) $$, 'a held table loses nothing to the purge');
SELECT is((SELECT count(*) FROM ret_tickets), 15::bigint, 'its rows are all there');
SELECT is((SELECT note FROM privacy.deletion_log WHERE id > (SELECT last FROM mark) AND table_name = 'public.ret_tickets'),
          'table under legal hold', 'the log says why');
SELECT is((SELECT rows_held FROM privacy.retention_report() WHERE tbl = 'ret_tickets'::regclass), 15::bigint,
          'retention_report counts held rows');
SELECT is((SELECT rows_expired FROM privacy.retention_report() WHERE tbl = 'ret_tickets'::regclass), 3::bigint,
          'and expired rows not yet purged');
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'place_hold' AND object = 'public.ret_tickets'),
          1::bigint, 'placing a hold is audited');
SELECT lives_ok($$ SELECT privacy.place_hold('claim by client 14', 'ret_tickets', subject => 'client-14',
                                             predicate => 'id = 14') $$, 'a row hold for a subject');
SELECT privacy.release_hold(id) FROM privacy.legal_holds WHERE tbl = 'ret_tickets'::regclass AND predicate IS NULL;
SELECT results_eq($$ SELECT action, rows FROM privacy.purge() WHERE tbl = 'ret_tickets'::regclass $$,
                  $$ VALUES ('delete', 2::bigint) $$, 'after release, the next purge removes the unheld rows');
SELECT is((SELECT array_agg(id ORDER BY id) FROM ret_tickets WHERE id > 12), ARRAY[14],
          'the held row of the subject stays');
SELECT privacy.release_hold(id) FROM privacy.legal_holds WHERE subject = 'client-14';
SELECT results_eq($$ SELECT action, rows FROM privacy.purge() WHERE tbl = 'ret_tickets'::regclass $$,
                  $$ VALUES ('delete', 1::bigint) $$, 'and once that hold is released, it goes too');
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'release_hold' AND object = 'public.ret_tickets'),
          2::bigint, 'releases are audited');
SELECT throws_ok($$ SELECT privacy.place_hold('x', 'ret_tickets', predicate => 'id = 1; DROP TABLE ret_forms') $$,
                 '42601', NULL, 'a predicate is one expression');
SELECT throws_ok($$ SELECT privacy.place_hold('x', 'ret_tickets', predicate => 'no_such_column = 1') $$,
                 '42703', NULL, 'over the table''s columns');
SELECT throws_ok($$ SELECT privacy.place_hold('x') $$, '22004',
                 'a legal hold needs a table or a subject', 'a hold needs a table or a subject');
SELECT throws_ok($$ SELECT privacy.place_hold('x', 'ret_tickets', until => now() - interval '1 day') $$, '22023',
                 'a legal hold must last beyond now', 'a hold cannot end in the past');

-- ---- anonymize ----
CREATE TABLE ret_web_logs (id int PRIMARY KEY, ip inet, path text, at timestamptz);
INSERT INTO ret_web_logs VALUES (1, '192.0.2.77', '/a', now() - interval '400 days'),
                                (2, '198.51.100.9', '/b', now() - interval '1 day');
SELECT throws_ok($$ SELECT privacy.set_retention('ret_web_logs', '1 year', 'at', 'anonymize') $$, '42704',
                 'table "public.ret_web_logs" has no masking rules', 'anonymize needs masking rules');
SELECT privacy.mask_column('ret_web_logs', 'ip', 'privacy.truncate_ip(ip)');
SELECT privacy.set_retention('ret_web_logs', '1 year', 'at', 'anonymize');
SELECT results_eq($$ SELECT action, rows FROM privacy.purge() WHERE tbl = 'ret_web_logs'::regclass $$,
                  $$ VALUES ('anonymize', 1::bigint) $$, 'anonymize: the expired row is masked in place');
SELECT results_eq($$ SELECT id, ip, expires_at FROM ret_web_logs ORDER BY id $$,
                  $$ VALUES (1, '192.0.2.0/24'::inet, 'infinity'::timestamptz),
                            (2, '198.51.100.9'::inet, now() + interval '1 year' - interval '1 day') $$,
                  'kept, with a truncated IP and no further expiry');
UPDATE ret_web_logs SET path = '/c' WHERE id = 1;
SELECT is((SELECT expires_at FROM ret_web_logs WHERE id = 1), 'infinity'::timestamptz,
          'an anonymized row stays kept after an UPDATE');

-- ---- partitions past their retention are dropped ----
CREATE TABLE ret_events (id int, at date NOT NULL, v text) PARTITION BY RANGE (at);
CREATE TABLE ret_events_old PARTITION OF ret_events FOR VALUES FROM ('2000-01-01') TO ('2000-02-01');
CREATE TABLE ret_events_now PARTITION OF ret_events FOR VALUES FROM ('2000-02-01') TO (MAXVALUE);
INSERT INTO ret_events VALUES (1, '2000-01-10', 'a'), (2, '2000-01-20', 'b'), (3, '2000-02-10', 'c'),
                              (4, current_date, 'd');
SELECT privacy.set_retention('ret_events', '1 year', 'at');
SELECT results_eq($$ SELECT action, rows FROM privacy.purge() WHERE tbl = 'ret_events'::regclass $$,
                  $$ VALUES ('delete', 3::bigint) $$, 'a partitioned table is purged');
SELECT is(to_regclass('ret_events_old'), NULL, 'the partition wholly past its retention was dropped');
SELECT results_eq($$ SELECT action, partition, rows FROM privacy.deletion_log
                      WHERE table_name = 'public.ret_events' ORDER BY id $$,
                  $$ VALUES ('delete', NULL, 1::bigint), ('drop_partition', 'public.ret_events_old', 2::bigint) $$,
                  'the drop and the row deletes are both logged');

SELECT * FROM finish();
ROLLBACK;
