-- Masking functions: declarations, k_anonymity safety, properties that
-- pg_regress (sql/mask.sql) cannot show with fixed outputs.
BEGIN;
SELECT plan(32);

-- k_anonymity on a small table, against a hand-computed value
CREATE TABLE x (id int);
CREATE TABLE patients (zip text, birth_year int, sex text, "a""; DROP TABLE x; --" text);
INSERT INTO patients VALUES
  ('13053', 1965, 'F', 'p'), ('13053', 1965, 'F', 'p'), ('13053', 1965, 'F', 'q'),
  ('13068', 1965, 'M', 'p'), ('13068', 1965, 'M', 'p'),
  ('13068', 1972, 'M', 'q'), ('13068', 1972, 'M', 'q'), ('13068', 1972, 'M', 'q');
-- classes (zip, birth_year): {13053,1965}=3, {13068,1965}=2, {13068,1972}=3 -> 2
SELECT is(privacy.k_anonymity('patients', ARRAY['zip', 'birth_year']), 2::bigint,
          'k_anonymity(zip, birth_year) = 2, as computed by hand');
SELECT is(privacy.k_anonymity('patients', ARRAY['sex']), 3::bigint, 'k_anonymity(sex) = 3');
SELECT is(privacy.k_anonymity('patients', ARRAY['zip', 'birth_year', 'sex']), 2::bigint,
          'k_anonymity(zip, birth_year, sex) = 2');
SELECT is(privacy.k_anonymity('patients', ARRAY['a"; DROP TABLE x; --']), 4::bigint,
          'a column named a"; DROP TABLE x; -- is an identifier');
SELECT has_table('x', 'table x still exists');
SELECT is(privacy.k_anonymity('patients', ARRAY['zip', 'a"; DROP TABLE x; --']), 1::bigint,
          'quoted column with another one');
SELECT throws_ok($$SELECT privacy.k_anonymity('patients', ARRAY['zip"); DROP TABLE x; --'])$$,
                 '42703', 'column "zip"); DROP TABLE x; --" of relation "patients" does not exist',
                 'unknown column refused before any SQL runs');
SELECT has_table('x', 'table x still exists after the refused call');
SELECT is(privacy.k_anonymity('x', ARRAY['id']), 0::bigint, 'empty table: 0');

-- k_anonymity runs as the caller: no SELECT privilege, no answer
CREATE ROLE privacy_mask_nobody NOLOGIN;
SELECT throws_ok($q$DO $d$ BEGIN SET LOCAL ROLE privacy_mask_nobody; PERFORM privacy.k_anonymity('patients', ARRAY['zip']); END $d$$q$,
                 '42501', 'permission denied for table patients',
                 'k_anonymity needs SELECT on the table');

-- Masks never reveal a whole value
SELECT is(count(*), 0::bigint, 'mask_card never shows more than 6 + 4 digits nor every digit (1..25 digits)')
FROM (SELECT n, privacy.mask_card(repeat('7', n)) AS m FROM generate_series(1, 25) n) s
WHERE length(replace(m, '*', '')) > LEAST(10, GREATEST(n - 6, 0));
SELECT is(count(*), 0::bigint, 'mask_phone shows at most 4 digits and at most half (1..20 digits)')
FROM (SELECT n, privacy.mask_phone(repeat('7', n)) AS m FROM generate_series(1, 20) n) s
WHERE length(replace(m, 'X', '')) > LEAST(4, n / 2);
SELECT is(privacy.mask_email('averyveryverylongname@example.com'), privacy.mask_email('ab@example.com'),
          'mask_email hides the length of the local part');
SELECT is(count(*), 0::bigint, 'partial never returns the whole value')
FROM generate_series(0, 6) p, generate_series(0, 6) q
WHERE privacy.partial('abcde', p, '', q) = 'abcde';

-- noise: uniform in +/- ratio (mean near the value over 20,000 draws)
SELECT ok(abs(avg(privacy.noise(1000.000, 0.2)) - 1000) < 10,
          'noise has no visible bias') FROM generate_series(1, 20000);
SELECT ok(min(n) >= 800 AND max(n) <= 1200 AND min(n) < 820 AND max(n) > 1180,
          'noise spans +/- ratio and no more')
FROM (SELECT privacy.noise(1000.000, 0.2) AS n FROM generate_series(1, 20000)) s;

-- Declarations: volatility, strictness, comments
SELECT volatility_is('privacy', 'mask_email', ARRAY['text'], 'immutable', 'mask_email is IMMUTABLE');
SELECT volatility_is('privacy', 'mask_phone', ARRAY['text'], 'immutable', 'mask_phone is IMMUTABLE');
SELECT volatility_is('privacy', 'mask_card', ARRAY['text'], 'immutable', 'mask_card is IMMUTABLE');
SELECT volatility_is('privacy', 'partial', ARRAY['text', 'integer', 'text', 'integer'], 'immutable', 'partial is IMMUTABLE');
SELECT volatility_is('privacy', 'truncate_ip', ARRAY['inet', 'integer', 'integer'], 'immutable', 'truncate_ip is IMMUTABLE');
SELECT volatility_is('privacy', 'generalize', ARRAY['date', 'text'], 'immutable', 'generalize(date) is IMMUTABLE');
SELECT volatility_is('privacy', 'generalize', ARRAY['timestamp with time zone', 'text'], 'stable',
                     'generalize(timestamptz) is STABLE (time zone)');
SELECT volatility_is('privacy', 'age_range', ARRAY['date', 'integer', 'date'], 'immutable', 'age_range is IMMUTABLE');
SELECT volatility_is('privacy', 'noise', ARRAY['numeric', 'double precision'], 'volatile', 'noise is VOLATILE');
SELECT volatility_is('privacy', 'redact', ARRAY['anyelement'], 'immutable', 'redact is IMMUTABLE');
SELECT volatility_is('privacy', 'k_anonymity', ARRAY['regclass', 'text[]'], 'stable', 'k_anonymity is STABLE');
SELECT is(count(*), 0::bigint, 'every masking, pseudonymizing and tokenizing function is STRICT')
FROM pg_proc WHERE pronamespace = 'privacy'::regnamespace AND NOT proisstrict
  AND proname IN ('mask_email', 'mask_phone', 'mask_card', 'partial', 'truncate_ip', 'generalize',
                  'age_range', 'noise', 'redact', 'k_anonymity', 'pseudonymize', 'tokenize',
                  'detokenize', '_ff1_test');
SELECT is(count(*), 0::bigint, 'every such function is PARALLEL SAFE except k_anonymity and detokenize')
FROM pg_proc WHERE pronamespace = 'privacy'::regnamespace AND proparallel <> 's'
  AND proname IN ('mask_email', 'mask_phone', 'mask_card', 'partial', 'truncate_ip', 'generalize',
                  'age_range', 'noise', 'redact', 'pseudonymize', 'tokenize', '_ff1_test');
SELECT is(count(*), 0::bigint, 'every such function has a comment')
FROM pg_proc WHERE pronamespace = 'privacy'::regnamespace
  AND obj_description(oid, 'pg_proc') IS NULL
  AND proname IN ('mask_email', 'mask_phone', 'mask_card', 'partial', 'truncate_ip', 'generalize',
                  'age_range', 'noise', 'redact', 'k_anonymity', 'pseudonymize', 'tokenize',
                  'detokenize', '_ff1_test');
SELECT is(count(*), 15::bigint, 'all 15 functions exist')
FROM pg_proc WHERE pronamespace = 'privacy'::regnamespace
  AND proname IN ('mask_email', 'mask_phone', 'mask_card', 'partial', 'truncate_ip', 'generalize',
                  'age_range', 'noise', 'redact', 'k_anonymity', 'pseudonymize', 'tokenize',
                  'detokenize', '_ff1_test');
SELECT is(count(*), 0::bigint, 'no SECURITY DEFINER among them')
FROM pg_proc WHERE pronamespace = 'privacy'::regnamespace AND prosecdef
  AND proname IN ('mask_email', 'mask_phone', 'mask_card', 'partial', 'truncate_ip', 'generalize',
                  'age_range', 'noise', 'redact', 'k_anonymity', 'pseudonymize', 'tokenize',
                  'detokenize', '_ff1_test');

SELECT * FROM finish();
ROLLBACK;
