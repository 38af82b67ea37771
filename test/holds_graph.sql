-- Legal holds across foreign keys (issue 16): a hold on a subject protects its
-- rows in every table reached from the registered subject tables, at any
-- depth, from the purge (row deletes, the anonymize action, partition drops)
-- and from erasure; the purge goes in foreign-key order, so one run clears a
-- chain, and rows that rows staying still reference are kept, not failures.
BEGIN;
SELECT plan(29);

-- subscribers (registered) <- messages <- message_events, both retained 1 year
CREATE TABLE hg_subscribers (id int PRIMARY KEY, phone text NOT NULL);
CREATE INDEX ON hg_subscribers (phone);
CREATE TABLE hg_messages (id int PRIMARY KEY, subscriber_id int NOT NULL REFERENCES hg_subscribers,
                          body text, sent_at timestamptz NOT NULL);
CREATE INDEX ON hg_messages (subscriber_id);
CREATE TABLE hg_message_events (id int PRIMARY KEY, message_id int NOT NULL REFERENCES hg_messages,
                                kind text, at timestamptz NOT NULL);
CREATE INDEX ON hg_message_events (message_id);
SELECT privacy.register_subject_table('hg_subscribers', 'phone');
INSERT INTO hg_subscribers VALUES (1, 's1'), (2, 's2');
INSERT INTO hg_messages VALUES (10, 1, 'old s1', now() - interval '2 years'), (11, 1, 'new s1', now()),
                               (20, 2, 'old s2', now() - interval '2 years'), (21, 2, 'new s2', now());
INSERT INTO hg_message_events VALUES (100, 10, 'sent', now() - interval '2 years'), (101, 11, 'sent', now()),
                                     (200, 20, 'sent', now() - interval '2 years'),
                                     (201, 21, 'sent', now() - interval '2 years');
-- the table referencing the other is registered first: the run must still go in foreign-key order
SELECT privacy.set_retention('hg_messages', '1 year', 'sent_at');
SELECT privacy.set_retention('hg_message_events', '1 year', 'at');

-- ---- 1. a hold on s1: the purge removes s2's expired rows, keeps all of s1's
CREATE TEMP TABLE hg_hold AS SELECT privacy.place_hold('litigation', subject => 's1') AS id;
SELECT results_eq($$ SELECT tbl::text, rows_held FROM privacy.retention_report()
                      WHERE tbl::text LIKE 'hg_%' ORDER BY 1 $$,
                  $$ VALUES ('hg_message_events', 2::bigint), ('hg_messages', 2::bigint) $$,
                  'the report counts s1''s rows as held two hops away');
SELECT is((SELECT held_by #>> '{0,reason}' FROM privacy.retention_report() WHERE tbl = 'hg_message_events'::regclass),
          'litigation', 'and says which hold');
SELECT results_eq($$ SELECT tbl::text, rows FROM privacy.hold_coverage()
                      WHERE hold_id = (SELECT id FROM hg_hold) ORDER BY rows, 1 $$,
                  $$ VALUES ('hg_subscribers', 1::bigint), ('hg_message_events', 2::bigint), ('hg_messages', 2::bigint) $$,
                  'hold_coverage: rows the hold covers per table');
SELECT results_eq($$ SELECT tbl::text, action, rows FROM privacy.purge() WHERE tbl::text LIKE 'hg_%' $$,
                  $$ VALUES ('hg_message_events', 'delete', 2::bigint), ('hg_messages', 'delete', 1::bigint) $$,
                  'one run, referencing table first: s2''s expired message and its events go');
SELECT results_eq($$ SELECT id FROM hg_messages ORDER BY id $$, $$ VALUES (10), (11), (21) $$,
                  'every message of s1 is kept');
SELECT results_eq($$ SELECT id FROM hg_message_events ORDER BY id $$, $$ VALUES (100), (101) $$,
                  'every event of s1 is kept, two foreign keys away');
SELECT is((SELECT count(*) FROM privacy.deletion_log WHERE table_name LIKE 'public.hg_%' AND (error IS NOT NULL OR action = 'failed')),
          0::bigint, 'no failure in the deletion log');
SELECT results_eq($$ SELECT table_name, held, note FROM privacy.deletion_log
                      WHERE table_name LIKE 'public.hg_%' ORDER BY id $$,
                  $$ VALUES ('public.hg_message_events', 1::bigint, '1 expired rows kept under legal hold (hold '
                              || (SELECT id FROM hg_hold) || ' (litigation): 1 rows)'),
                            ('public.hg_messages', 1::bigint, '1 expired rows kept under legal hold (hold '
                              || (SELECT id FROM hg_hold) || ' (litigation): 1 rows)') $$,
                  'the deletion log says which rows were held and by which hold');
SELECT is((SELECT privacy.erase_subject('s1', 'asked to be forgotten') #>> '{status}'), 'partial',
          'erasure of s1 is refused while the hold lasts');
SELECT is((SELECT count(*) FROM hg_message_events WHERE id IN (100, 101)), 2::bigint,
          'and erases none of s1''s events');

-- released: the next purge removes s1's expired rows
SELECT privacy.release_hold((SELECT id FROM hg_hold));
SELECT results_eq($$ SELECT tbl::text, rows FROM privacy.purge() WHERE tbl::text LIKE 'hg_%' $$,
                  $$ VALUES ('hg_message_events', 1::bigint), ('hg_messages', 1::bigint) $$,
                  'after the release, the next purge removes s1''s expired message and event');

-- ---- a hold on a subject placed on one table covers the tables referencing it
INSERT INTO hg_subscribers VALUES (3, 's3');
INSERT INTO hg_messages VALUES (30, 3, 'old s3', now() - interval '2 years');
INSERT INTO hg_message_events VALUES (300, 30, 'sent', now() - interval '2 years');
CREATE TEMP TABLE hg_hold2 AS
    SELECT privacy.place_hold('audit', 'hg_messages', subject => 's3', until => now() + interval '1 day') AS id;
SELECT results_eq($$ SELECT tbl::text, rows FROM privacy.purge() WHERE tbl::text LIKE 'hg_%' $$,
                  $$ VALUES ('hg_message_events', 0::bigint), ('hg_messages', 0::bigint) $$,
                  'a hold with until on (messages, s3) keeps s3''s messages and their events');
SELECT is((SELECT privacy.erase_subject('s3', 'asked') #>> '{status}'), 'partial', 'and erasure of s3 is partial');
SELECT results_eq($$ SELECT (SELECT count(*) FROM hg_messages WHERE id = 30), (SELECT count(*) FROM hg_message_events WHERE id = 300) $$,
                  $$ VALUES (1::bigint, 1::bigint) $$, 'the held message and its event survive the erasure');
UPDATE privacy.legal_holds SET until = now() - interval '1 second' WHERE id = (SELECT id FROM hg_hold2);
SELECT results_eq($$ SELECT tbl::text, rows FROM privacy.purge() WHERE tbl::text LIKE 'hg_%' $$,
                  $$ VALUES ('hg_message_events', 1::bigint), ('hg_messages', 1::bigint) $$,
                  'once the hold has ended, they go');

-- ---- 3. one run over a three-table chain; a row referenced by a kept row is kept, not failed
CREATE TABLE hg_clients (id int PRIMARY KEY, closed_at timestamptz);
CREATE TABLE hg_campaigns (id int PRIMARY KEY, client_id int REFERENCES hg_clients, ended_at timestamptz);
CREATE TABLE hg_sends (id int PRIMARY KEY, campaign_id int REFERENCES hg_campaigns, at timestamptz);
INSERT INTO hg_clients VALUES (1, now() - interval '3 years'), (2, now() - interval '3 years'), (3, now());
INSERT INTO hg_campaigns VALUES (10, 1, now() - interval '3 years'), (20, 2, now() - interval '3 years'),
                                (30, 3, now());
INSERT INTO hg_sends VALUES (100, 10, now() - interval '3 years'), (101, 10, now() - interval '3 years'),
                            (200, 20, now());
SELECT privacy.set_retention('hg_clients', '1 year', 'closed_at');
SELECT privacy.set_retention('hg_campaigns', '1 year', 'ended_at');
SELECT privacy.set_retention('hg_sends', '1 year', 'at');
SELECT results_eq($$ SELECT tbl::text, action, rows FROM privacy.purge() WHERE tbl::text LIKE 'hg_%' AND tbl::text NOT LIKE 'hg_mess%' $$,
                  $$ VALUES ('hg_sends', 'delete', 2::bigint), ('hg_campaigns', 'delete', 1::bigint),
                            ('hg_clients', 'delete', 1::bigint) $$,
                  'one run removes every expired row of the chain it may, children first');
SELECT results_eq($$ SELECT (SELECT array_agg(id ORDER BY id) FROM hg_clients), (SELECT array_agg(id ORDER BY id) FROM hg_campaigns),
                            (SELECT array_agg(id ORDER BY id) FROM hg_sends) $$,
                  $$ VALUES ('{2,3}'::int[], '{20,30}'::int[], '{200}'::int[]) $$,
                  'what a kept row references stays');
SELECT is((SELECT count(*) FROM privacy.deletion_log WHERE table_name IN ('public.hg_clients', 'public.hg_campaigns', 'public.hg_sends')
             AND (error IS NOT NULL OR action = 'failed')), 0::bigint, 'no failed entry');
SELECT results_eq($$ SELECT table_name, kept, note FROM privacy.deletion_log
                      WHERE table_name IN ('public.hg_clients', 'public.hg_campaigns') ORDER BY id $$,
                  $$ VALUES ('public.hg_campaigns', 1::bigint, '1 expired rows kept: still referenced by rows that stay'),
                            ('public.hg_clients', 1::bigint, '1 expired rows kept: still referenced by rows that stay') $$,
                  'the rows referenced by kept rows are logged as kept');
SELECT is((SELECT rows_kept FROM privacy.retention_report() WHERE tbl = 'hg_campaigns'::regclass), 1::bigint,
          'and reported as kept');
-- a cycle of foreign keys does not stop the run
ALTER TABLE hg_clients ADD COLUMN first_campaign int REFERENCES hg_campaigns;
SELECT is((SELECT count(*) FROM privacy.purge() WHERE action = 'failed'), 0::bigint,
          'a cycle of foreign keys among retained tables: no failure');

-- ---- 2. a held subject's row in an expired partition of a partitioned log
CREATE TABLE hg_log (subscriber_id int NOT NULL REFERENCES hg_subscribers, at timestamptz NOT NULL, line text)
    PARTITION BY RANGE (at);
CREATE TABLE hg_log_2020 PARTITION OF hg_log FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE hg_log_2021 PARTITION OF hg_log FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
CREATE TABLE hg_log_now PARTITION OF hg_log FOR VALUES FROM ('2022-01-01') TO ('2100-01-01');
CREATE INDEX ON hg_log (subscriber_id);
INSERT INTO hg_log VALUES (2, '2020-05-01', 's2 old'), (2, '2020-06-01', 's2 old'), (2, '2021-06-01', 's2 old'),
                          (2, now(), 's2 new');
SELECT privacy.set_retention('hg_log', '1 year', 'at');
INSERT INTO hg_subscribers VALUES (4, 's4');
INSERT INTO hg_log VALUES (4, '2021-03-01', 's4 old');
SELECT privacy.place_hold('tax audit', subject => 's4');
SELECT lives_ok($$ SELECT * FROM privacy.purge() $$, 'purge with a held row in an expired partition');
SELECT results_eq($$ SELECT tableoid::regclass::text, line FROM hg_log ORDER BY at $$,
                  $$ VALUES ('hg_log_2021', 's4 old'), ('hg_log_now', 's2 new') $$,
                  'the partition holding the held row stays, the other rows are deleted, the other partition dropped');
SELECT is((SELECT note FROM privacy.deletion_log WHERE partition = 'public.hg_log_2021'),
          'partition not dropped: 1 rows under legal hold (hold ' || (SELECT max(id) FROM privacy.legal_holds)
          || ' (tax audit): 1 rows); its other expired rows are deleted row by row',
          'the deletion log says why the partition was not dropped');
SELECT is((SELECT action FROM privacy.deletion_log WHERE partition = 'public.hg_log_2020'), 'drop_partition',
          'an expired partition without held rows is dropped');

-- ---- 4. the anonymize action skips held rows
CREATE TABLE hg_contacts (id int PRIMARY KEY, subscriber_id int REFERENCES hg_subscribers, email text, at timestamptz);
CREATE INDEX ON hg_contacts (subscriber_id);
INSERT INTO hg_contacts VALUES (1, 4, 'held@example.org', now() - interval '2 years'),
                               (2, 2, 'free@example.org', now() - interval '2 years'),
                               (3, NULL, 'nobody@example.org', now() - interval '2 years');
SELECT privacy.mask_column('hg_contacts', 'email', $m$'x@example.org'$m$);
SELECT privacy.set_retention('hg_contacts', '1 year', 'at', 'anonymize');
SELECT results_eq($$ SELECT action, rows FROM privacy.purge() WHERE tbl = 'hg_contacts'::regclass $$,
                  $$ VALUES ('anonymize', 2::bigint) $$, 'anonymize: only the rows of no held subject (a NULL foreign key holds nothing)');
SELECT results_eq($$ SELECT id, email FROM hg_contacts ORDER BY id $$,
                  $$ VALUES (1, 'held@example.org'), (2, 'x@example.org'), (3, 'x@example.org') $$,
                  'the held subject''s row is left as it was');
SELECT is((SELECT held FROM privacy.deletion_log WHERE table_name = 'public.hg_contacts'), 1::bigint,
          'and logged as held');

-- ---- a whole-table hold still holds every row of that table only
SELECT privacy.place_hold('freeze', 'hg_sends');
SELECT results_eq($$ SELECT action FROM privacy.purge() WHERE tbl = 'hg_sends'::regclass $$,
                  $$ VALUES ('held') $$, 'a whole-table hold holds the table');

SELECT * FROM finish();
ROLLBACK;
