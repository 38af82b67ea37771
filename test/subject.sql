-- Data subjects: registry and FK walk, export, erasure with crypto-shredding,
-- requests, consent ledger, restriction, rights.
BEGIN;
SELECT plan(101);

CREATE ROLE subj_dpo NOLOGIN;
CREATE ROLE subj_reader NOLOGIN;
CREATE ROLE subj_nobody NOLOGIN;
CREATE ROLE subj_owner NOLOGIN;
SELECT privacy.grant_subject_rights('subj_dpo');
SELECT privacy.grant_subject_rights('subj_reader');

CREATE SCHEMA subj;
GRANT USAGE ON SCHEMA subj TO subj_dpo, subj_reader, subj_nobody;
CREATE TABLE subj.subscribers (id int PRIMARY KEY, phone text, email text, name text);
CREATE TABLE subj.messages (id int PRIMARY KEY, subscriber_id int NOT NULL REFERENCES subj.subscribers,
                            reply_to int REFERENCES subj.messages, body text);
CREATE INDEX ON subj.messages (subscriber_id);
CREATE INDEX ON subj.messages (reply_to);
-- reached twice: through messages and directly through subscribers
CREATE TABLE subj.message_events (id int PRIMARY KEY, message_id int NOT NULL REFERENCES subj.messages,
                                  subscriber_id int REFERENCES subj.subscribers, kind text);
CREATE INDEX ON subj.message_events (message_id);
CREATE INDEX ON subj.message_events (subscriber_id);
CREATE TABLE subj.invoices (id int PRIMARY KEY, subscriber_id int NOT NULL REFERENCES subj.subscribers, amount numeric);
CREATE INDEX ON subj.invoices (subscriber_id);
CREATE TABLE subj.notes (id int PRIMARY KEY, subscriber_id int NOT NULL, note text);
CREATE INDEX ON subj.notes (subscriber_id);
-- a cycle: cyc_a -> cyc_b -> cyc_a
CREATE TABLE subj.cyc_a (id int PRIMARY KEY, message_id int NOT NULL REFERENCES subj.messages, b_id int);
CREATE TABLE subj.cyc_b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES subj.cyc_a);
ALTER TABLE subj.cyc_a ADD FOREIGN KEY (b_id) REFERENCES subj.cyc_b;
CREATE INDEX ON subj.cyc_a (message_id);
CREATE INDEX ON subj.cyc_a (b_id);
CREATE INDEX ON subj.cyc_b (a_id);

INSERT INTO subj.subscribers VALUES (1, '+1-650-555-0101', 'one@example.com', 'Zoë One'),
                                    (2, '+1-650-555-0202', 'two@example.com', 'Two'),
                                    (3, '+1-650-555-0303', 'three@example.com', 'Three');
INSERT INTO subj.messages VALUES (10, 1, NULL, 'hello one'), (11, 1, 10, 'reply one'),
                                 (20, 2, NULL, 'hello two'), (30, 3, NULL, 'hello three');
INSERT INTO subj.message_events VALUES (100, 10, 1, 'sent'), (101, 11, NULL, 'sent'), (102, 10, 1, 'read'),
                                       (200, 20, 2, 'sent');
INSERT INTO subj.invoices VALUES (1, 1, 9.90), (2, 2, 19.90), (3, 3, 5.00);
INSERT INTO subj.notes VALUES (1, 1, 'likes cats'), (2, 2, 'likes dogs');
INSERT INTO subj.cyc_a VALUES (1, 10, NULL), (2, 20, NULL);
INSERT INTO subj.cyc_b VALUES (1, 1), (2, 2);
SELECT is(privacy.protect_column('subj.subscribers', 'phone'), 3::bigint, 'phone protected');
GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA subj TO subj_dpo, subj_reader;
REVOKE ALL ON subj.subscribers_decrypted FROM subj_dpo;

-- ---- registry
SELECT lives_ok($$SELECT privacy.register_subject_table('subj.subscribers', 'id', '{contact}', 'SMS marketing',
                  'delete', source => 'sign-up form', provided => true)$$, 'register subscribers');
SELECT lives_ok($$SELECT privacy.register_subject_table('subj.invoices', 'subscriber_id', '{billing}', 'billing',
                  'retain', retention => '7 years')$$, 'register invoices (retain)');
SELECT lives_ok($$SELECT privacy.register_subject_table('subj.notes', 'subscriber_id', '{support}', 'support', 'anonymize')$$,
                'register notes (anonymize)');
SELECT throws_ok($$SELECT privacy.register_subject_table('subj.notes', 'subscriber_id', on_erasure => 'shred')$$,
                 '22023', NULL, 'an unknown on_erasure rule is refused');
SELECT throws_ok($$SELECT privacy.register_subject_table('subj.notes', 'nope')$$,
                 '42703', NULL, 'an unknown subject column is refused');
SELECT cmp_ok(privacy.register_recipient('SMS gateway', 'delivery', 'US', 'standard contractual clauses', 'subj.messages'),
              '>', 0, 'register_recipient returns the id');
SELECT is(tap.as_role('subj_nobody', $$SELECT privacy.register_subject_table('subj.messages', 'subscriber_id')::text$$),
          'ERROR 42501: must be owner of table messages', 'only the table owner may register it');

SELECT set_eq($$SELECT tbl::text || ':' || reached_by FROM privacy.data_map WHERE tbl::text LIKE 'subj.%' GROUP BY 1$$,
              ARRAY['subj.subscribers:registered', 'subj.invoices:registered', 'subj.notes:registered',
                    'subj.messages:foreign key', 'subj.message_events:foreign key',
                    'subj.cyc_a:foreign key', 'subj.cyc_b:foreign key'],
              'data_map: registered tables and every table reaching them through foreign keys, cycle included');
SELECT is((SELECT encrypted FROM privacy.data_map WHERE tbl = 'subj.subscribers'::regclass AND col = 'phone'), true,
          'data_map marks the encrypted column');
SELECT is((SELECT recipients FROM privacy.data_map WHERE tbl = 'subj.messages'::regclass AND col = 'body'),
          ARRAY['SMS gateway'], 'data_map lists recipients');
SELECT is((SELECT on_erasure FROM privacy.data_map WHERE tbl = 'subj.message_events'::regclass AND col = 'kind'),
          'delete', 'followed tables inherit the on_erasure rule');
SELECT is((SELECT retention FROM privacy.data_map WHERE tbl = 'subj.invoices'::regclass AND col = 'amount'),
          '7 years', 'data_map shows retention');
CREATE TABLE subj.noidx (id int PRIMARY KEY, subscriber_id int REFERENCES subj.subscribers);
SELECT is(privacy._subject_index_warnings(), 1, 'a followed foreign key without an index is warned about');
DROP TABLE subj.noidx;
SELECT is(privacy._subject_index_warnings(), 0, 'no warning when every path is indexed');

-- ---- requests
SET LOCAL privacy.controller = 'Example SMS Ltd, 1 Main St';
SELECT is(privacy.open_request('1', 'access', now() - interval '40 days') > 0, true, 'open_request returns an id');
SELECT is((SELECT days_overdue FROM privacy.overdue_requests WHERE subject = '1' AND kind = 'access'), 10,
          'a request received 40 days ago is 10 days overdue');
SELECT is((SELECT days_remaining FROM privacy.open_requests WHERE subject = '1' AND kind = 'access'), -10,
          'open_requests shows negative days remaining');
SELECT lives_ok($$SELECT privacy.open_request('1', 'erasure')$$, 'open an erasure request');
SELECT is((SELECT count(*) FROM privacy.overdue_requests WHERE subject = '1' AND kind = 'erasure'), 0::bigint,
          'a fresh request is not overdue');
SELECT is((SELECT days_remaining FROM privacy.open_requests WHERE subject = '1' AND kind = 'erasure'), 30,
          'due after privacy.request_deadline (30 days)');
SET LOCAL privacy.request_deadline = '10 days';
SELECT lives_ok($$SELECT privacy.open_request('9', 'objection')$$, 'open an objection');
SELECT is((SELECT due - received FROM privacy.requests WHERE subject = '9'),
          interval '10 days', 'privacy.request_deadline sets the due date');
SELECT throws_ok($$SET LOCAL privacy.request_deadline = 'soon'$$, '22023', NULL, 'an invalid deadline is refused when set');
RESET privacy.request_deadline;
SELECT throws_ok($$SELECT privacy.open_request('9', 'complaint')$$, '22023', NULL, 'an unknown kind is refused');
SELECT lives_ok($$SELECT privacy.close_request((SELECT max(id) FROM privacy.requests WHERE subject = '9'), 'no grounds')$$,
                'close_request');
SELECT throws_ok($$SELECT privacy.close_request((SELECT max(id) FROM privacy.requests WHERE subject = '9'), 'again')$$,
                 '55000', NULL, 'a closed request cannot be closed again');
SELECT is((SELECT count(*) FROM privacy.overdue_requests WHERE subject = '9'), 0::bigint, 'closed requests are not listed');

-- ---- consent
SELECT is(privacy.has_consent('1', 'marketing'), false, 'no record means no consent');
SELECT lives_ok($$SELECT privacy.record_consent('1', 'marketing', true, 'web form')$$, 'record a consent');
SELECT is(privacy.has_consent('1', 'marketing'), true, 'granted');
SELECT lives_ok($$SELECT privacy.record_consent('1', 'marketing', false, 'unsubscribe link')$$, 'record a withdrawal');
SELECT is(privacy.has_consent('1', 'marketing'), false, 'the latest record wins');
SELECT is(privacy.has_consent('1', 'analytics'), false, 'consent is per purpose');
SELECT is((SELECT count(*) FROM privacy.consent_history('1')), 2::bigint, 'consent_history lists every record');
SELECT throws_ok($$UPDATE privacy.consents SET granted = true$$, '42501', 'privacy.consents is append-only',
                 'UPDATE of the ledger is refused, even for its owner');
SELECT throws_ok($$DELETE FROM privacy.consents$$, '42501', 'privacy.consents is append-only',
                 'DELETE of the ledger is refused, even for its owner');
SELECT throws_ok($$TRUNCATE privacy.consents$$, '42501', 'privacy.consents is append-only', 'TRUNCATE is refused');
SELECT is(tap.as_role('subj_nobody', $$SELECT privacy.record_consent('1', 'marketing', true)::text$$),
          'ERROR 42501: permission denied for function record_consent', 'PUBLIC may not record consents');

-- ---- restriction
SELECT is(privacy.restrict('3', 'accuracy contested'), true, 'restrict');
SELECT is(privacy.restrict('3'), false, 'restricting twice reports false');
SELECT is(tap.as_role('subj_dpo', $$SELECT privacy.is_restricted('3')::text$$), 'true',
          'is_restricted answers a role with the data-subject rights');
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'restrict' AND subject = '3'), 2::bigint,
          'restrict writes an audit event per call');
SELECT is(privacy.unrestrict('3'), true, 'unrestrict');
SELECT is(privacy.is_restricted('3'), false, 'no longer restricted');
SELECT is(tap.as_role('subj_nobody', $$SELECT privacy.restrict('1')::text$$),
          'ERROR 42501: permission denied for function restrict', 'PUBLIC may not restrict');

-- ---- per-subject keys
SELECT alike(privacy.subject_key_name('1'), 'subject:________________________________', 'key name: subject: + 32 hex digits');
CREATE TABLE subj.backup AS SELECT privacy.encrypt_for_subject('1', 'one''s secret', 'backup') AS ct,
                                   privacy.encrypt_for_subject('2', 'two''s secret', 'backup') AS ct2;
SELECT is(privacy.decrypt_text((SELECT ct FROM subj.backup), 'backup'), 'one''s secret', 'encrypt_for_subject decrypts');
SELECT is((SELECT count(*) FROM privacy.key_ring WHERE name = privacy.subject_key_name('1')), 1::bigint,
          'the subject key was created on first use');

-- ---- export
SELECT is((privacy.export_subject('1')->'data') ?& ARRAY['subj.subscribers', 'subj.messages', 'subj.message_events',
          'subj.invoices', 'subj.notes', 'subj.cyc_a', 'subj.cyc_b'], true, 'export: every table with the subject''s rows');
SELECT set_eq($$SELECT (r->>'id')::int FROM jsonb_array_elements(privacy.export_subject('1')->'data'->'subj.message_events') r$$,
              ARRAY[100, 101, 102], 'three levels deep, reached twice, each row once');
SELECT is(jsonb_array_length(privacy.export_subject('1')->'data'->'subj.messages'), 2, 'messages of the subject');
SELECT is(jsonb_array_length(privacy.export_subject('1')->'data'->'subj.cyc_b'), 1, 'the cycle is walked and ends');
SELECT is((SELECT count(*) FROM jsonb_each(privacy.export_subject('1')->'data') t, jsonb_array_elements(t.value) r
            WHERE r->>'subscriber_id' IN ('2', '3') OR (t.key = 'subj.subscribers' AND r->>'id' <> '1')), 0::bigint,
          'nothing of another subject');
SELECT is(privacy.export_subject('1')->'data'->'subj.subscribers'->0->>'phone', '+1-650-555-0101',
          'the table owner gets the phone decrypted');
SELECT is(tap.as_role('subj_reader', $$SELECT privacy.export_subject('1')->'data'->'subj.subscribers'->0->>'phone'$$),
          '+1-650-555-0101', 'a role granted the _decrypted view gets the phone decrypted');
SELECT is(tap.as_role('subj_dpo', $$SELECT (privacy.export_subject('1')->'data'->'subj.subscribers'->0->'phone'->>'encrypted')$$),
          'true', 'a role without it gets the ciphertext, marked');
SELECT alike(tap.as_role('subj_dpo', $$SELECT privacy.export_subject('1')->'data'->'subj.subscribers'->0->'phone'->>'ciphertext'$$),
            '$pv1$%', 'the marked value is the stored ciphertext');
SELECT is(tap.as_role('subj_nobody', $$SELECT privacy.export_subject('1')::text$$),
          'ERROR 42501: permission denied for function export_subject', 'PUBLIC may not export');
SELECT is(privacy.export_subject('1')->'processing'->'subj.invoices'->>'on_erasure', 'retain', 'processing: on_erasure');
SELECT is(privacy.export_subject('1')->'processing'->'subj.invoices'->'retention'->>'period', '7 years', 'processing: retention');
SELECT is(privacy.export_subject('1')->'processing'->'subj.messages'->'recipients'->0->>'country', 'US',
          'processing: recipients');
SELECT is(privacy.export_subject('1')->'processing'->'subj.subscribers'->>'source', 'sign-up form', 'processing: source');
SELECT is(privacy.export_subject('1')->'portability'->'tables', '["subj.subscribers"]', 'the Art. 20 subset is marked');
SELECT is(privacy.export_subject('1')->'meta'->>'controller', 'Example SMS Ltd, 1 Main St', 'meta: controller');
SELECT is((SELECT closed_at IS NOT NULL FROM privacy.requests WHERE subject = '1' AND kind = 'access'), true,
          'the access request was closed by the export that answered it');
CREATE TEMP TABLE access_request AS SELECT privacy.open_request('1', 'access') AS id;
SELECT is((privacy.export_subject('1', (SELECT id FROM access_request), false)->'meta'->>'request_id')::int,
          (SELECT id FROM access_request), 'meta: the request answered');
SELECT is(jsonb_array_length(privacy.export_subject('1')->'consents'), 2, 'consent history exported');
SELECT is(jsonb_array_length(privacy.export_subject('1')->'requests'), 3, 'requests exported');
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'export_subject' AND subject = '1'
             AND acting_role = 'subj_dpo'), 2::bigint, 'every export is audited with its caller');
SELECT alike(privacy.export_subject_html('1'), '%<h1>Your personal data</h1>%reference <strong>1</strong>%Zo%One%', 'HTML copy');
SELECT is(privacy.export_subject('nobody-at-all')->'data', '{}', 'an unknown subject has no data');

-- ---- erasure without masking rules: an anonymization it needs is refused clearly
SELECT CASE WHEN to_regclass('privacy.masking_rules') IS NULL
       THEN throws_like($$SELECT privacy.erase_subject('3', 'test')$$,
                        'cannot anonymize rows of table "subj.subscribers": it has no masking rules',
                        'anonymizing without masking rules is a clear error')
       ELSE skip('masking rules are installed', 1) END;

SELECT is((privacy.erase_subject('nobody-at-all', 'test')->>'deletion_log')::boolean,
          to_regclass('privacy.deletion_log') IS NOT NULL, 'erasure works with or without privacy.deletion_log');

-- masking rules (issue 5) and holds (issue 6): stand-ins where they are not installed
DO $$
BEGIN
    IF to_regclass('privacy.masking_rules') IS NULL THEN
        CREATE TABLE privacy.masking_rules (tbl regclass, col name, expr text, PRIMARY KEY (tbl, col));
    END IF;
    IF to_regprocedure('privacy.mask_column(regclass, name, text)') IS NOT NULL THEN
        PERFORM privacy.mask_column('subj.subscribers', 'name', 'NULL');
        PERFORM privacy.mask_column('subj.subscribers', 'email', 'NULL');
        PERFORM privacy.mask_column('subj.subscribers', 'phone', 'NULL');
        PERFORM privacy.mask_column('subj.notes', 'note', '''[redacted]''');
        PERFORM privacy.mask_column('subj.notes', 'subscriber_id', '0');
    ELSE
        INSERT INTO privacy.masking_rules VALUES ('subj.subscribers', 'name', 'NULL'), ('subj.subscribers', 'email', 'NULL'),
            ('subj.subscribers', 'phone', 'NULL'), ('subj.notes', 'note', '''[redacted]'''), ('subj.notes', 'subscriber_id', '0');
    END IF;
    IF to_regclass('privacy.deletion_log') IS NULL THEN
        CREATE TABLE privacy.deletion_log (id bigserial, at timestamptz DEFAULT now(), relid oid NOT NULL,
            table_name text NOT NULL, policy text NOT NULL, action text NOT NULL, rows bigint NOT NULL,
            role name NOT NULL, note text);
    END IF;
END
$$;
-- holds of retention (privacy.legal_holds), or a stand-in table of the same shape
DO $$
BEGIN
    IF to_regclass('privacy.legal_holds') IS NULL THEN
        CREATE TABLE privacy.legal_holds (id serial PRIMARY KEY, reason text NOT NULL, tbl regclass, subject text,
            predicate text, until timestamptz, released_at timestamptz);
    END IF;
    IF to_regprocedure('privacy.place_hold(text, regclass, text, timestamptz, text)') IS NOT NULL THEN
        PERFORM privacy.place_hold('tax audit', 'subj.invoices', '3');
        PERFORM privacy.release_hold(privacy.place_hold('released hold', 'subj.notes', '3'));
    ELSE
        INSERT INTO privacy.legal_holds (reason, tbl, subject) VALUES ('tax audit', 'subj.invoices', '3');
        INSERT INTO privacy.legal_holds (reason, tbl, subject, released_at) VALUES ('released hold', 'subj.notes', '3', now());
    END IF;
END
$$;
SELECT is(privacy._subject_held('subj.invoices', '3'), 'tax audit', 'a legal hold on the table for the subject holds');
SELECT is(privacy._subject_held('subj.invoices', '1'), NULL, 'not for another subject');
SELECT is(privacy._subject_held('subj.notes', '3'), NULL, 'a released hold does not hold');

CREATE OR REPLACE FUNCTION privacy._subject_held(tbl regclass, subject text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'litigation 42' WHERE tbl = 'subj.messages'::regclass AND subject = '2'
$$;

-- ---- erasure
CREATE TEMP TABLE report AS SELECT privacy.erase_subject('1', 'Art. 17 request') AS r;
CREATE FUNCTION pg_temp.t(tbl text, field text) RETURNS int LANGUAGE sql AS $$
    SELECT (e->>field)::int FROM report, jsonb_array_elements(r->'tables') e WHERE e->>'table' = tbl
$$;
SELECT is(pg_temp.t('subj.messages', 'deleted'), 2, 'messages deleted');
SELECT is(pg_temp.t('subj.message_events', 'deleted'), 3, 'message events deleted, each once');
SELECT is(pg_temp.t('subj.cyc_b', 'deleted') + pg_temp.t('subj.cyc_a', 'deleted'), 2, 'the cycle''s rows deleted');
SELECT is(pg_temp.t('subj.invoices', 'retained'), 1, 'invoices retained');
SELECT is(pg_temp.t('subj.notes', 'anonymized'), 1, 'notes anonymized in place');
SELECT is(pg_temp.t('subj.subscribers', 'anonymized'), 1,
          'the subscriber row a retained invoice references is anonymized instead of deleted');
SELECT alike((SELECT e->>'note' FROM report, jsonb_array_elements(r->'tables') e WHERE e->>'table' = 'subj.subscribers'),
            '%referenced by rows kept in subj.invoices%', 'and the report says so');
SELECT is((SELECT r->'key'->>'destroyed' FROM report), 'true', 'the subject key is destroyed');
SELECT is((SELECT name || '|' || coalesce(email, '-') FROM subj.subscribers WHERE id = 1) IS NULL
          OR (SELECT name IS NULL AND email IS NULL FROM subj.subscribers WHERE id = 1), true, 'subscriber 1 anonymized');
SELECT is((SELECT count(*) FROM subj.messages WHERE id IN (20, 30)), 2::bigint, 'other subjects'' messages remain');
SELECT throws_ok($$SELECT privacy.decrypt_text((SELECT ct FROM subj.backup), 'backup')$$, NULL, NULL,
                 'a copy encrypted for the subject no longer decrypts');
SELECT is(privacy.decrypt_text((SELECT ct2 FROM subj.backup), 'backup'), 'two''s secret', 'another subject''s still does');
SELECT throws_ok($$SELECT privacy.encrypt_for_subject('1', 'x')$$, '55000', 'the key of this data subject has been destroyed',
                 'nothing more can be encrypted for an erased subject');
SELECT set_eq($$SELECT jsonb_object_keys(privacy.export_subject('1')->'data')$$,
              ARRAY['subj.invoices', 'subj.subscribers'], 'the erased subject''s export holds only what is retained');
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'erase_subject' AND subject = '1'), 1::bigint,
          'the erasure is audited');
SELECT is((SELECT sum(rows) FROM privacy.deletion_log WHERE policy = 'erasure' AND action = 'delete'
             AND table_name LIKE 'subj.%'), 7::numeric, 'deletions are written to the deletion log');
SELECT is((SELECT (r->>'request_id')::int FROM report),
          (SELECT id FROM privacy.requests WHERE subject = '1' AND kind = 'erasure'), 'the report names the erasure request');

-- held data
CREATE TEMP TABLE report2 AS SELECT privacy.erase_subject('2', 'Art. 17 request') AS r;
SELECT is((SELECT r->>'status' FROM report2), 'partial', 'an erasure with held data is partial');
SELECT is((SELECT r->'held'->0->>'reason' FROM report2), 'litigation 42', 'the hold and its reason are listed');
SELECT is((SELECT count(*) FROM subj.messages WHERE id = 20), 1::bigint, 'held rows are kept');
SELECT is((SELECT count(*) FROM subj.message_events WHERE id = 200), 0::bigint, 'rows not held are erased');
SELECT is(privacy.decrypt_text((SELECT ct2 FROM subj.backup), 'backup'), 'two''s secret',
          'the key of a subject with held data is kept');
SELECT is(tap.as_role('subj_nobody', $$SELECT privacy.erase_subject('3', 'x')::text$$),
          'ERROR 42501: permission denied for function erase_subject', 'PUBLIC may not erase');
SELECT throws_ok($$SELECT privacy.erase_subject('3', NULL)$$, '22004', 'reason must not be null', 'a reason is required');

SELECT * FROM finish();
ROLLBACK;
