-- `make demo`, retention step: the SMS platform's retention table as
-- set_retention calls, a legal hold, one purge and its evidence.
\set ON_ERROR_STOP 1
\pset footer off
\echo
\echo '== Retention: the privacy policy''s retention table, enforced by the database'
\echo 'Contact forms: 6 months after the latest engagement (every UPDATE counts);'
\echo 'clients: 90 days after the account closes (open accounts never expire);'
\echo 'support tickets: 2 years; payments: 7 years (invoicing law);'
\echo 'web logs: anonymized (IP truncated) after 30 days, the rows are kept for statistics.'
SELECT privacy.set_retention('contact_forms', '6 months') AS contact_forms,
       privacy.set_retention('clients', '90 days', 'closed_at') AS clients,
       privacy.set_retention('support_tickets', '2 years', 'opened_at') AS support_tickets,
       privacy.set_retention('payments', '7 years', 'paid_at') AS payments;
-- the masking rule the anonymize action applies in place (a masking label)
SELECT privacy.mask_column('web_logs', 'ip', 'privacy.truncate_ip(ip)');
SELECT privacy.set_retention('web_logs', '30 days', 'at', 'anonymize') AS web_logs;

\echo 'Some old data: a client whose account closed last year, old contact forms and logs.'
INSERT INTO clients (name, email, company, closed_at)
VALUES ('Charles Babbage', 'charles@engines.example', 'Difference Engines', now() - interval '1 year');
INSERT INTO contact_forms (email, message) VALUES ('old.lead@mail.example', 'Call me back'),
                                                  ('older.lead@mail.example', 'Pricing?');
ALTER TABLE contact_forms DISABLE TRIGGER zz_privacy_retention;   -- pretend they were last touched in 2023
UPDATE contact_forms SET expires_at = now() - interval '3 months';
ALTER TABLE contact_forms ENABLE TRIGGER zz_privacy_retention;
UPDATE web_logs SET at = now() - interval '40 days' WHERE id <= 10;
SELECT id, name, closed_at::date, expires_at::date FROM clients ORDER BY id;

\echo 'A legal hold: a complaint by one lead keeps its contact form, whatever its age.'
SELECT privacy.place_hold('complaint 2024-17', 'contact_forms', subject => 'older.lead@mail.example',
                          predicate => $$email = 'older.lead@mail.example'$$) AS hold_id;

\echo 'What a purge would do, then the evidence before it runs:'
SELECT * FROM privacy.purge(dry_run => true) WHERE rows > 0;
SELECT tbl, policy, rows_total, rows_expired, rows_held, oldest_expired::date FROM privacy.retention_report();

\echo 'One purge (the background worker does this every privacy.purge_interval):'
SELECT * FROM privacy.purge();
SELECT table_name, policy, action, rows, role FROM privacy.deletion_log WHERE rows > 0 ORDER BY id;
SELECT id, ip, at::date, expires_at FROM web_logs ORDER BY id LIMIT 3;
SELECT name FROM clients ORDER BY id;
SELECT email, expires_at::date FROM contact_forms ORDER BY id;
