-- `make demo`: a walk through privacy on the sample SMS platform.
\pset footer off
\echo
\echo '== 1. The extension and its key ring'
\echo 'CREATE EXTENSION creates four data keys, wrapped under the master key'
\echo '(here a generated file, privacy_master.key, in the data directory).'
CREATE EXTENSION privacy;
SELECT name, purpose, version, status FROM privacy.key_ring ORDER BY key_id;

\echo
\echo '== 2. Encrypting subscribers'' phone numbers in place'
\echo 'protect_column encrypts existing rows and installs a trigger: the application'
\echo 'keeps its INSERT and UPDATE statements, the table stores only ciphertext.'
SELECT privacy.protect_column('subscribers', 'phone') AS rows_encrypted;
SELECT id, left(phone, 40) || '...' AS stored_phone FROM subscribers ORDER BY id LIMIT 3;
INSERT INTO subscribers (client_id, phone, email, name, country)
VALUES (1, '+1-650-333-8337', 'new.subscriber@mail.example', 'New Subscriber', 'US');
UPDATE subscribers SET country = 'CA' WHERE email = 'new.subscriber@mail.example';
\echo 'Roles granted the view read plaintext through subscribers_decrypted:'
SELECT id, phone, email, country FROM subscribers_decrypted ORDER BY id DESC LIMIT 2;

\echo
\echo '== 3. Deterministic encryption for e-mail lookups'
\echo 'Equal plaintexts give equal ciphertexts: the unique index keeps working,'
\echo 'and lookups go through it.'
SELECT privacy.protect_column('subscribers', 'email', deterministic => true) AS rows_encrypted;
SELECT id, name FROM subscribers
 WHERE email = privacy.protected_value('subscribers', 'email', 'subscriber7@mail.example');
\echo 'A duplicate e-mail is still refused by the unique index:'
\set ON_ERROR_STOP 0
INSERT INTO subscribers (client_id, phone, email) VALUES (1, '+1-650-000-0000', 'subscriber7@mail.example');
\set ON_ERROR_STOP 1

\echo
\echo '== 4. Key rotation without downtime'
SELECT privacy.rotate_key('default') AS new_version;
SELECT privacy.key_version(phone) AS key_version, count(*) FROM subscribers GROUP BY 1 ORDER BY 1;
\echo 'Old versions still decrypt; reencrypt moves the column to the new version in batches:'
SELECT privacy.reencrypt('subscribers', 'phone', batch => 20) AS rows_reencrypted;
SELECT privacy.key_version(phone) AS key_version, count(*) FROM subscribers GROUP BY 1 ORDER BY 1;
SELECT action, object, details FROM privacy.audit_log ORDER BY id;

\echo
\echo '== 5. Tokenized phone numbers for a partner export'
\echo 'FF1 format-preserving encryption keeps length and punctuation:'
SELECT phone, privacy.tokenize(phone) AS token,
       privacy.detokenize(privacy.tokenize(phone)) = phone AS reversible
FROM subscribers_decrypted ORDER BY id LIMIT 3;

\echo
\echo '== 6. Pseudonymized subscriber ids in an analytics query'
\echo 'A keyed HMAC: stable across tables and sessions, so joins still work.'
SELECT privacy.pseudonymize(s.id::text) AS subscriber, count(m.*) AS messages
FROM subscribers s JOIN messages m ON m.subscriber_id = s.id
GROUP BY s.id ORDER BY messages DESC, s.id LIMIT 3;

\echo
\echo '== 7. Masking and generalization'
SELECT privacy.mask_email(email) AS email, privacy.mask_phone(phone) AS phone,
       privacy.age_range(birth_date, 10, date '2026-01-01') AS age
FROM subscribers_decrypted ORDER BY id LIMIT 3;
SELECT privacy.mask_card(card_number) AS card FROM payments ORDER BY id;

\echo
\echo '== 8. Truncated IP addresses in web_logs'
UPDATE web_logs SET ip = privacy.truncate_ip(ip);
SELECT ip, count(*) FROM web_logs GROUP BY ip ORDER BY count(*) DESC, ip LIMIT 4;
\echo
\echo 'Done.'
