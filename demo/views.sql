-- `make demo`, masked views: a BI tool connects as bi_reader and reads masked
-- data only.  Runs after demo/demo.sql (subscribers.phone and .email are
-- protected by then), connected to sms_platform as postgres.
\set ON_ERROR_STOP 1
\pset footer off
\echo
\echo '== Masked views for a reporting role'
\echo 'Masking rules are security labels on columns; the masked schema follows them.'
SECURITY LABEL FOR privacy ON COLUMN clients.name  IS 'MASKED WITH FUNCTION privacy.partial(name, 1, ''***'', 0)';
SECURITY LABEL FOR privacy ON COLUMN clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN clients.phone IS 'MASKED WITH FUNCTION privacy.mask_phone(phone)';
SECURITY LABEL FOR privacy ON COLUMN clients.company IS 'NOT MASKED';
\echo 'subscribers.phone and .email are encrypted: a masking expression sees the stored'
\echo 'ciphertext, never the plaintext.  Drop the phone; pseudonymize the deterministic'
\echo 'e-mail ciphertext, which keeps equal e-mails equal (counting, joining).'
SECURITY LABEL FOR privacy ON COLUMN subscribers.phone IS 'MASKED WITH VALUE NULL';
SELECT privacy.mask_column('subscribers', 'email', 'privacy.pseudonymize(email)');
SECURITY LABEL FOR privacy ON COLUMN subscribers.name IS 'MASKED WITH FUNCTION privacy.partial(name, 1, ''***'', 0)';
SECURITY LABEL FOR privacy ON COLUMN subscribers.birth_date IS 'MASKED WITH FUNCTION privacy.generalize(birth_date, ''year'')';
SELECT tbl, col, expr FROM privacy.masking_rules ORDER BY tbl::text, col;

\echo 'The reporting role: labelled MASKED, it gets the masked schema first in its search_path.'
CREATE ROLE bi_reader LOGIN;
SECURITY LABEL FOR privacy ON ROLE bi_reader IS 'MASKED';
\echo 'Masked views read with the reader''s rights (grants, row-level security): grant it the tables.'
\echo 'Even granted (here to PUBLIC), a base table is read by a masked role only through its masked view:'
GRANT SELECT ON clients, subscribers TO PUBLIC;

\echo
\echo '-- connected as bi_reader, as a BI tool would be:'
\connect - bi_reader
SHOW search_path;
SELECT id, name, email, phone, company FROM clients ORDER BY id;
SELECT id, name, phone, left(email, 12) || '...' AS email, country, birth_date
  FROM subscribers ORDER BY id LIMIT 3;
SELECT country, count(*) AS subscribers, count(DISTINCT email) AS distinct_emails
  FROM privacy_masked.subscribers GROUP BY country ORDER BY country;
\echo 'The base tables, the key ring and decryption are refused:'
\set ON_ERROR_STOP 0
SELECT email FROM public.clients LIMIT 1;
SELECT count(*) FROM privacy.keys;
SELECT privacy.decrypt_text('\x00'::bytea);
\set ON_ERROR_STOP 1
\connect - postgres
