-- `make demo`, a masked copy for developers: clone the database, give its
-- personal columns realistic fake values in place, compare.  Runs after the
-- other steps (subscribers.phone and .email are encrypted by then),
-- connected to sms_platform as postgres.
\set ON_ERROR_STOP 1
\pset footer off
\echo
\echo '== 14. A masked copy for developers (static masking)'
\echo 'Clone production, allow static masking in the clone only (never set in production:'
\echo 'anonymize_* refuse to run without it), and connect to the clone.'
\connect postgres
CREATE DATABASE sms_staging TEMPLATE sms_platform;
ALTER DATABASE sms_staging SET privacy.allow_static_masking = on;
\connect sms_staging
\echo 'Rules for a copy: realistic, consistent fakes instead of the reporting masks.'
SECURITY LABEL FOR privacy ON COLUMN clients.name    IS 'MASKED WITH FUNCTION privacy.fake_name(name)';
SECURITY LABEL FOR privacy ON COLUMN clients.email   IS 'MASKED WITH FUNCTION privacy.fake_email(email)';
SECURITY LABEL FOR privacy ON COLUMN clients.phone   IS 'MASKED WITH FUNCTION privacy.fake_phone(phone)';
SECURITY LABEL FOR privacy ON COLUMN clients.company IS 'MASKED WITH FUNCTION privacy.fake_company(company)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.name  IS 'MASKED WITH FUNCTION privacy.fake_name(name)';
\echo 'Encrypted columns: the rule sees the stored ciphertext and its result is encrypted again.'
\echo 'The deterministic e-mail ciphertext gives one fake per e-mail (the unique index holds):'
SECURITY LABEL FOR privacy ON COLUMN subscribers.email IS 'MASKED WITH FUNCTION privacy.fake_email(email)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.phone IS 'MASKED WITH VALUE ''+1-650-555-0100''';
SECURITY LABEL FOR privacy ON COLUMN payments.card_number IS 'MASKED WITH FUNCTION privacy.mask_card(card_number)';
SECURITY LABEL FOR privacy ON COLUMN payments.billing_address IS 'MASKED WITH FUNCTION privacy.fake_city(billing_address)';
SELECT tbl, col, expr FROM privacy.masking_rules ORDER BY tbl::text, col;

CREATE TEMP TABLE before AS
SELECT 'clients' AS tbl, id, name, email, phone::text AS phone, company AS more FROM clients
UNION ALL
SELECT 'subscribers', id, name, email, phone, country FROM subscribers_decrypted;
\echo 'Mask every labelled table in place, in committed batches, as each table''s owner:'
CALL privacy.anonymize_database(batch => 20);

\echo 'Production (left) and the copy (right), a few rows side by side:'
SELECT b.id, b.name AS name_before, c.name AS name_after, b.email AS email_before, c.email AS email_after,
       b.phone AS phone_before, c.phone AS phone_after, b.more AS company_before, c.company AS company_after
  FROM before b JOIN clients c ON c.id = b.id WHERE b.tbl = 'clients' ORDER BY b.id;
SELECT b.id, b.name AS name_before, s.name AS name_after, b.email AS email_before, s.email AS email_after,
       s.phone AS phone_after
  FROM before b JOIN subscribers_decrypted s ON s.id = b.id WHERE b.tbl = 'subscribers' ORDER BY b.id LIMIT 4;
\echo 'The same input gives the same fake everywhere: the application''s joins and lookups still work.'
SELECT privacy.fake_email('grace@cobol.example') AS fake_of_grace,
       (SELECT email FROM clients WHERE id = 2) AS clients_row_2;
SELECT (SELECT count(*) FROM subscribers) AS subscribers, (SELECT count(DISTINCT email) FROM subscribers) AS distinct_emails,
       (SELECT count(*) FROM messages m JOIN subscribers s ON s.id = m.subscriber_id) AS messages_joined;
\echo 'Old row versions still hold the originals on disk until VACUUM: vacuum before handing the copy out.'
VACUUM;
\connect sms_platform
