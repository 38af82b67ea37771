-- A DPO's answers on the demo schema: every GDPR Art. 15 item of an export by
-- JSON path, an erasure that keeps a retained invoice with no masking rules
-- defined, the DPO role set up by grant_subject_rights, index warnings of
-- register_subject_table for the registered table only.
BEGIN;
SELECT plan(65);

CREATE SCHEMA dpo;
SET LOCAL search_path = dpo, public;
SET LOCAL client_min_messages = error;
\ir ../demo/schema.sql
CREATE TABLE invoices (id serial PRIMARY KEY, subscriber_id int NOT NULL REFERENCES subscribers,
                       amount numeric(10,2) NOT NULL, issued_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON invoices (subscriber_id);
CREATE INDEX ON messages (subscriber_id);
INSERT INTO invoices (subscriber_id, amount) VALUES (7, 9.90), (8, 19.90);
RESET client_min_messages;

SELECT is(privacy.protect_column('dpo.subscribers', 'phone'), 50::bigint, 'phone protected');
SELECT lives_ok($$SELECT privacy.register_subject_table('dpo.subscribers', 'id', '{contact,identity}',
                  'SMS marketing for our clients'' distribution lists', source => 'imported by the client',
                  provided => true,
                  automated_decisions => 'segmentation by country and age for campaign targeting (profiling); no decision with legal effects')$$,
                'register subscribers with its automated decisions');
SELECT is(privacy._subject_index_warnings('dpo.subscribers'::regclass), 1,
          'index warnings of the registered table: consents(subscriber_id) is not indexed');
SELECT lives_ok($$SELECT privacy.register_subject_table('dpo.invoices', 'subscriber_id', '{billing}',
                  'accounting required by tax law', 'retain', retention => '7 years')$$, 'register invoices (retain)');
SELECT is(privacy._subject_index_warnings('dpo.invoices'::regclass), 0,
          'no warning repeated about other tables when registering invoices');
SELECT lives_ok($$SELECT privacy.set_retention('dpo.messages', '1 year', 'sent_at', 'delete')$$, 'messages kept 1 year');
SELECT cmp_ok(privacy.register_recipient('SMS gateway', 'message delivery', 'US', 'standard contractual clauses',
                                         'dpo.messages'), '>', 0, 'a recipient of messages');
SET LOCAL privacy.controller = 'Example SMS Ltd, 1 Main St, Dublin, privacy@sms.example';
SET LOCAL privacy.dpo_contact = 'Data Protection Officer, dpo@sms.example';
SET LOCAL privacy.supervisory_authority = 'Data Protection Commission, 21 Fitzwilliam Square, Dublin';
SELECT cmp_ok(privacy.open_request('7', 'access'), '>', 0, 'an access request');

CREATE TEMP TABLE x AS SELECT privacy.export_subject('7', close_request => false) AS e;
-- Art. 15(1): confirmation of processing
SELECT is((SELECT e #> '{meta,data_found}' FROM x), 'true', 'confirmation: meta.data_found true');
SELECT is(privacy.export_subject('nobody', close_request => false) #> '{meta,data_found}', 'false',
          'confirmation: an unknown subject gets meta.data_found false');
-- copy of the data (Art. 15(3))
SELECT is((SELECT e #>> '{data,dpo.subscribers,0,email}' FROM x), 'subscriber7@mail.example', 'copy: the subscriber row');
SELECT is((SELECT e #>> '{data,dpo.subscribers,0,phone}' FROM x), '+1-650-207-0259', 'copy: the protected phone in clear');
SELECT is((SELECT jsonb_array_length(e #> '{data,dpo.messages}') FROM x), 4, 'copy: rows reached through foreign keys');
SELECT is((SELECT e #> '{meta,complete}' FROM x), 'true', 'copy: complete for a role that may read everything');
-- (a) purposes
SELECT is((SELECT e #>> '{processing,dpo.subscribers,purpose}' FROM x),
          'SMS marketing for our clients'' distribution lists', 'purpose of a registered table');
SELECT is((SELECT e #>> '{processing,dpo.messages,purpose}' FROM x),
          'SMS marketing for our clients'' distribution lists', 'purpose inherited through a foreign key');
SELECT is((SELECT e #>> '{processing,dpo.messages,inherited_from}' FROM x), 'dpo.subscribers',
          'and the table it is inherited from');
-- (b) categories
SELECT is((SELECT e #> '{processing,dpo.subscribers,categories}' FROM x), '["contact", "identity"]', 'categories');
SELECT is((SELECT e #> '{processing,dpo.consents,categories}' FROM x), '["contact", "identity"]',
          'categories inherited through a foreign key');
SELECT is((SELECT e #> '{processing,dpo.invoices,categories}' FROM x), '["billing"]',
          'a registered table keeps its own categories');
-- (c) recipients, with country and safeguard
SELECT is((SELECT e #>> '{processing,dpo.messages,recipients,0,name}' FROM x), 'SMS gateway', 'recipients');
SELECT is((SELECT e #>> '{processing,dpo.messages,recipients,0,country}' FROM x), 'US', 'recipient country');
SELECT is((SELECT e #>> '{processing,dpo.messages,recipients,0,safeguard}' FROM x), 'standard contractual clauses',
          'transfer safeguard');
-- (d) retention: the full policy
SELECT is((SELECT e #> '{processing,dpo.messages,retention}' FROM x),
          '{"action": "delete", "period": "1 year", "counted_from": "sent_at"}', 'retention: period, counted from, action');
SELECT is((SELECT e #>> '{processing,dpo.invoices,retention,period}' FROM x), '7 years', 'retention registered with the table');
-- (e) rights: rectification, erasure, restriction, objection (and access, portability)
SELECT is((SELECT e -> 'rights' ?& ARRAY['access', 'rectification', 'erasure', 'restriction', 'objection', 'portability']
             FROM x), true, 'rights: access, rectification, erasure, restriction, objection, portability');
SELECT alike((SELECT e #>> '{rights,erasure}' FROM x), 'You may ask us to erase your data%', 'rights as plain sentences');
-- (f) complaint to a supervisory authority
SELECT alike((SELECT e #>> '{rights,complaint}' FROM x),
             'You may lodge a complaint with a supervisory authority: Data Protection Commission%', 'right to complain');
SELECT is((SELECT e #>> '{meta,supervisory_authority}' FROM x),
          'Data Protection Commission, 21 Fitzwilliam Square, Dublin', 'meta.supervisory_authority');
-- (g) source
SELECT is((SELECT e #>> '{processing,dpo.subscribers,source}' FROM x), 'imported by the client', 'source of the data');
-- (h) automated decision-making and profiling
SELECT alike((SELECT e #>> '{processing,dpo.subscribers,automated_decisions}' FROM x), 'segmentation by country%',
             'automated decisions of a registered table');
SELECT is((SELECT e #>> '{processing,dpo.invoices,automated_decisions}' FROM x), 'none',
          'automated decisions default to none');
-- controller and DPO (Art. 13/14, answered with the copy)
SELECT alike((SELECT e #>> '{meta,controller}' FROM x), 'Example SMS Ltd%', 'meta.controller');
SELECT is((SELECT e #>> '{meta,dpo_contact}' FROM x), 'Data Protection Officer, dpo@sms.example', 'meta.dpo_contact');
-- Art. 20 subset
SELECT is((SELECT e #> '{portability,tables}' FROM x), '["dpo.subscribers"]', 'portability: provided tables');
-- the request answered
SELECT is((SELECT count(*) FROM privacy.requests WHERE subject = '7' AND kind = 'access' AND closed_at IS NULL),
          1::bigint, 'close_request => false leaves the access request open');
SELECT lives_ok($$SELECT privacy.export_subject('7')$$, 'export closing the request');
SELECT is((SELECT outcome FROM privacy.requests WHERE subject = '7' AND kind = 'access'), 'answered by export_subject',
          'export_subject closes the access request it answered');

-- ---- the DPO role
CREATE ROLE dpo_officer;
CREATE ROLE dpo_clerk;
SELECT lives_ok($$SELECT privacy.grant_subject_rights('dpo_officer', plaintext => true)$$, 'grant_subject_rights with plaintext');
SELECT lives_ok($$SELECT privacy.grant_subject_rights('dpo_clerk')$$, 'grant_subject_rights without plaintext');
SELECT is(tap.as_role('dpo_officer', $$SELECT privacy.export_subject('8', close_request => false) #>> '{data,dpo.subscribers,0,phone}'$$),
          '+1-650-208-0296', 'a DPO granted plaintext exports the phone in clear');
SELECT is(tap.as_role('dpo_clerk', $$SELECT privacy.export_subject('8', close_request => false) #>> '{meta,complete}'$$),
          'false', 'without plaintext: meta.complete is false');
SELECT is(tap.as_role('dpo_clerk', $$SELECT privacy.export_subject('8', close_request => false) #>> '{data,dpo.subscribers,0,phone,encrypted}'$$),
          'true', 'and the phone is marked as ciphertext');
-- a missing grant: which one, and no internal SQL in the CONTEXT
CREATE ROLE dpo_nogrant;
GRANT USAGE ON SCHEMA dpo TO dpo_nogrant;
GRANT EXECUTE ON FUNCTION privacy.export_subject(text, int, boolean) TO dpo_nogrant;
CREATE FUNCTION pg_temp.failure(r text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m text; d text; h text; c text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    BEGIN
        EXECUTE q;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
    END;
    RESET ROLE;
    RETURN concat_ws(' | ', m, d, h, 'CONTEXT: ' || c);
END
$$;
CREATE TEMP TABLE f AS SELECT pg_temp.failure('dpo_nogrant', $$SELECT privacy.export_subject('8')$$) AS msg;
SELECT alike((SELECT msg FROM f), 'permission denied for table subscribers | export_subject needs SELECT on table dpo.subscribers%',
             'a missing grant names the privilege and the table');
SELECT alike((SELECT msg FROM f), '%privacy.grant_subject_rights(''dpo_nogrant'')%', 'and how to grant it');
SELECT unalike((SELECT msg FROM f), '%CONTEXT: %privacy._%', 'no internal function in the CONTEXT');
SELECT unalike((SELECT msg FROM f), '%CONTEXT: %SELECT%', 'no internal SQL in the CONTEXT');

-- ---- erasure: a subscriber whose invoice is retained, no masking rules
SELECT is((SELECT count(*) FROM privacy.masking_rules WHERE tbl = 'dpo.subscribers'::regclass), 0::bigint,
          'subscribers have no masking rules');
SELECT cmp_ok(privacy.open_request('7', 'erasure'), '>', 0, 'an erasure request');
CREATE TEMP TABLE report AS SELECT tap.as_role('dpo_officer', $$SELECT privacy.erase_subject('7', 'Art. 17 request')::text$$)::jsonb AS r;
CREATE FUNCTION pg_temp.entry(tbl text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT e FROM report, jsonb_array_elements(r->'tables') e WHERE e->>'table' = tbl
$$;
SELECT is((SELECT r->>'status' FROM report), 'complete', 'the erasure succeeds without masking rules');
SELECT is(pg_temp.entry('dpo.subscribers')->>'anonymized', '1', 'the referenced subscriber row is anonymized');
SELECT is(pg_temp.entry('dpo.subscribers')->>'anonymized_with', 'safe defaults', 'with the safe defaults');
SELECT is(pg_temp.entry('dpo.subscribers')->'cleared', '["phone", "email", "name", "country", "birth_date"]',
          'the report lists the cleared columns');
SELECT is((SELECT ROW(email, name, country, birth_date)::text FROM subscribers WHERE id = 7), '(,,,)',
          'nullable columns outside the keys are NULL');
SELECT is((SELECT phone FROM subscribers_decrypted WHERE id = 7), '[erased]', 'a NOT NULL text column holds the redaction');
SELECT is((SELECT client_id FROM subscribers WHERE id = 7), 2, 'key columns are kept');
SELECT is(pg_temp.entry('dpo.invoices')->>'retained', '1', 'the invoice is retained');
SELECT alike(pg_temp.entry('dpo.invoices')->>'legal_reason', '%required by law%accounting required by tax law%7 years%',
             'the legal reason per retained table');
SELECT is(pg_temp.entry('dpo.messages')->>'deleted', '4', 'messages deleted');
SELECT is((SELECT r #>> '{recipients_to_notify,0,name}' FROM report), 'SMS gateway', 'recipients to notify (Art. 19)');
SELECT is((SELECT r->>'erased_by' FROM report), 'dpo_officer', 'who erased');
SELECT alike((SELECT r->>'controller' FROM report), 'Example SMS Ltd%', 'the controller');
SELECT alike((SELECT r->>'backups' FROM report), '%backups%WAL%', 'a note on backups and WAL');
SELECT is((SELECT r->>'request_closed' FROM report), 'true', 'the report says the request was closed');
SELECT isnt((SELECT closed_at FROM privacy.requests WHERE subject = '7' AND kind = 'erasure'), NULL,
            'the erasure request is closed');

SELECT * FROM finish();
ROLLBACK;
