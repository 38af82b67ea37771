-- `make demo`, data subjects: answering an access request and an erasure
-- request for one subscriber of the sample SMS platform.  Runs after
-- demo/demo.sql (subscribers.phone and .email are protected by then).
\set ON_ERROR_STOP 1
\pset footer off
\echo
\echo '== 9. Where subscribers'' data lives'
\echo 'Register the table holding subjects and its subject column; tables that reach'
\echo 'it through foreign keys (messages, consents) are followed automatically.'
\echo 'Missing indexes on the paths are reported with the CREATE INDEX to run:'
SELECT privacy.register_subject_table('subscribers', 'id', '{contact,identity}', 'SMS campaigns of our clients',
                                      source => 'uploaded by the client', provided => true);
CREATE INDEX ON messages (subscriber_id);
CREATE INDEX ON consents (subscriber_id);
SELECT privacy.register_recipient('SMS gateway', 'message delivery', 'US', 'EU-US Data Privacy Framework', 'messages');
SET privacy.controller = 'SMS Platform Ltd, 1 Example Street, Dublin';
SET privacy.dpo_contact = 'Data Protection Officer, dpo@smsplatform.example';
SET privacy.supervisory_authority = 'Data Protection Commission, 21 Fitzwilliam Square, Dublin 2, Ireland';
SELECT tbl, string_agg(col, ', ' ORDER BY col) AS columns, min(reached_by) AS reached_by,
       min(on_erasure) AS on_erasure, bool_or(encrypted) AS encrypted
  FROM privacy.data_map GROUP BY tbl ORDER BY tbl::text;

\echo
\echo '== 10. An access request (GDPR Art. 15/20)'
SELECT privacy.open_request('7', 'access') AS request_id;
SELECT jsonb_pretty(e->'meta') AS meta,
       (SELECT string_agg(t.key || ': ' || jsonb_array_length(t.value) || ' rows', ', ' ORDER BY t.key)
          FROM jsonb_each(e->'data') t) AS data
  FROM privacy.export_subject('7') e;
\echo 'Protected columns come back decrypted for a caller allowed to read subscribers_decrypted:'
SELECT jsonb_pretty(privacy.export_subject('7')->'data'->'public.subscribers'->0) AS subscriber;
\echo 'The export is audited:'
SELECT action, subject, acting_role, details FROM privacy.audit_log WHERE action = 'export_subject' ORDER BY id DESC LIMIT 1;

\echo
\echo '== 11. Consent and per-subject keys'
SELECT privacy.record_consent('7', 'marketing', false, 'replied STOP');
SELECT privacy.has_consent('7', 'marketing') AS may_send_marketing;
\echo 'Data encrypted with the subject''s own key (a support note copied into a backup):'
CREATE TABLE support_note_backup AS
SELECT 7 AS subscriber_id, privacy.encrypt_for_subject('7', 'prefers calls after 6pm', 'support.note') AS note;
SELECT privacy.decrypt_text(note, 'support.note') AS note FROM support_note_backup;

\echo
\echo '== 12. An erasure request (GDPR Art. 17)'
SELECT privacy.open_request('7', 'erasure') AS request_id;
SELECT jsonb_pretty(privacy.erase_subject('7', 'subscriber asked to be forgotten')) AS report;
\echo 'Nothing is left to export but the ledgers kept as evidence:'
SELECT e->'data' AS data, jsonb_array_length(e->'consents') AS consent_records
  FROM privacy.export_subject('7') e;
\echo 'The subject key is destroyed: the backup copy can no longer be decrypted.'
\set ON_ERROR_STOP 0
SELECT privacy.decrypt_text(note, 'support.note') FROM support_note_backup;
\set ON_ERROR_STOP 1
\echo 'export_subject and erase_subject closed the requests they answered:'
SELECT id, kind, closed_at IS NOT NULL AS closed, outcome FROM privacy.requests WHERE subject = '7' ORDER BY id;

\echo
\echo '== 13. Request deadlines'
SELECT privacy.open_request('12', 'access', now() - interval '35 days') AS late_request;
SELECT id, subject, kind, days_overdue FROM privacy.overdue_requests ORDER BY id;
