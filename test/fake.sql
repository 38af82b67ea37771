-- privacy.fake_*: consistent fake values; privacy.anonymize_table in a
-- transaction (the committed batches, anonymize_database on the demo schema
-- and two sessions are in test/scripts/anonymize.sh).
BEGIN;
SELECT plan(59);

CREATE TEMP TABLE people AS
  SELECT g, 'user' || g || '@mail.test' AS email, 'Person ' || g AS name,
         '+1-' || (200 + g / 10000) || '-555-' || lpad((g % 10000)::text, 4, '0') AS phone
    FROM generate_series(1, 10000) g;

-- Consistency: same input, same fake, in two tables
CREATE TEMP TABLE a AS SELECT g, privacy.fake_email(email) AS e, privacy.fake_name(name) AS n,
                              privacy.fake_phone(phone) AS p FROM people;
CREATE TEMP TABLE b AS SELECT g, email FROM people ORDER BY g DESC;
SELECT is(count(*), 10000::bigint, 'the same e-mail gives the same fake in two tables (join on the fakes)')
  FROM a JOIN b ON privacy.fake_email(b.email) = a.e AND a.g = b.g;
SELECT is((SELECT count(*) FROM a JOIN people p USING (g)
            WHERE a.n <> privacy.fake_name(p.name) OR a.p <> privacy.fake_phone(p.phone)), 0::bigint,
          'names and phones computed again equal the stored ones');
SELECT is(privacy.fake_first_name('Ada'), privacy.fake_first_name('Ada'), 'fake_first_name is deterministic');
SELECT isnt(privacy.fake_name('Ada Lovelace'), privacy.fake_name('Ada lovelace'), 'no normalization: case matters');

-- Spread
SELECT is(count(DISTINCT e), 10000::bigint, '10,000 e-mails, 10,000 distinct fake e-mails') FROM a;
SELECT cmp_ok(count(DISTINCT n)::numeric / count(*), '>=', 0.99, 'fake names: distinct ratio >= 0.99 over 10,000') FROM a;
SELECT is(count(DISTINCT p), 10000::bigint, '10,000 phone numbers, 10,000 distinct fake numbers (keyed permutation)') FROM a;
SELECT cmp_ok(count(DISTINCT privacy.fake_first_name(name)), '>=', 400::bigint, 'fake first names use the whole list') FROM people;
SELECT cmp_ok(count(DISTINCT privacy.fake_last_name(name)), '>=', 3000::bigint, 'fake last names spread over thousands') FROM people;
SELECT cmp_ok(count(DISTINCT privacy.fake_city(name)), '>=', 200::bigint, 'fake cities spread over the list') FROM people;
SELECT cmp_ok(count(DISTINCT privacy.fake_company(name)), '>=', 9000::bigint, 'fake companies spread over ~100,000 names') FROM people;
SELECT is(count(DISTINCT privacy.fake_iban(email)), 10000::bigint, '10,000 distinct fake IBANs') FROM people;

-- Formats
SELECT is(count(*), 0::bigint, 'every fake e-mail passes a syntax check (local@domain, dot-atoms)')
  FROM a WHERE e !~ '^[a-z0-9]+(\.[a-z0-9]+)*@[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$';
SELECT is(count(*), 0::bigint, 'fake e-mails use the reserved example domains')
  FROM a WHERE split_part(e, '@', 2) NOT IN ('example.com', 'example.net', 'example.org');
SELECT is(count(DISTINCT split_part(e, '@', 2)), 3::bigint, 'all three example domains are used') FROM a;
SELECT is(split_part(privacy.fake_email('x', 'staging.acme.test'), '@', 2), 'staging.acme.test', 'a domain may be given');
SELECT is(split_part(privacy.fake_email('x', 'staging.acme.test'), '@', 1), split_part(privacy.fake_email('x'), '@', 1),
          'the local part does not depend on the domain');
SELECT throws_ok($$SELECT privacy.fake_email('x', 'bad domain')$$, '22023', 'invalid e-mail domain "bad domain"',
                 'an invalid domain is refused');
SELECT throws_ok($$SELECT privacy.fake_email('x', '-a.test')$$, '22023', NULL, 'a label may not start with a hyphen');
SELECT matches(privacy.fake_name('Ada Lovelace'), '^[A-Z][a-z]+ [A-Z]\. [A-Z][a-z]+$', 'a fake name is "Given M. Family"');
SELECT matches(privacy.fake_company('Analytical Engines Ltd'), '^[A-Z][A-Za-z ]+ [A-Z][a-z]+ [A-Za-z]+$',
               'a fake company is "Word Kind Form"');
SELECT is(count(*), 0::bigint, 'fake phones keep every non-digit, the length and the country code')
  FROM a JOIN people USING (g)
 WHERE regexp_replace(a.p, '[0-9]', 'd', 'g') <> regexp_replace(people.phone, '[0-9]', 'd', 'g')
    OR left(a.p, 3) <> '+1-';
SELECT is(count(*), 0::bigint, 'no fake phone equals its number') FROM a JOIN people USING (g) WHERE a.p = people.phone;
SELECT matches(privacy.fake_phone('+44 20 7946 0018'), '^\+44 \d\d \d{4} \d{4}$', 'UK: +44 and the format kept');
SELECT matches(privacy.fake_phone('0044 20 7946 0018'), '^0044 \d\d \d{4} \d{4}$', '00 prefix: 0044 kept');
SELECT matches(privacy.fake_phone('+352 691 123 456'), '^\+352 \d{3} \d{3} \d{3}$', 'three-digit country code kept');
SELECT matches(privacy.fake_phone('020 7946 0018'), '^0\d\d \d{4} \d{4}$', 'national format: the trunk 0 kept');
SELECT matches(privacy.fake_phone('(650) 333-8337'), '^\(\d{3}\) \d{3}-\d{4}$', 'no prefix: format kept');
SELECT matches(privacy.fake_phone('1234'), '^\d{4}$', 'a short number gets digits too');
SELECT is(privacy.fake_phone('n/a'), 'n/a', 'no digits: nothing to replace');

-- IBANs: ISO 13616 check digits (mod 97 = 1 after moving the first 4 characters to the end)
CREATE FUNCTION pg_temp.iban_ok(iban text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text := upper(replace(iban, ' ', ''));
    r int := 0;
    c text;
BEGIN
    IF s !~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$' THEN
        RETURN false;
    END IF;
    s := substr(s, 5) || left(s, 4);
    FOREACH c IN ARRAY regexp_split_to_array(s, '') LOOP
        r := CASE WHEN c ~ '[0-9]' THEN (r * 10 + c::int) % 97 ELSE (r * 100 + ascii(c) - 55) % 97 END;
    END LOOP;
    RETURN r = 1;
END
$$;
SELECT ok(pg_temp.iban_ok('DE89 3704 0044 0532 0130 00') AND pg_temp.iban_ok('GB29NWBK60161331926819')
          AND NOT pg_temp.iban_ok('GB28NWBK60161331926819'), 'the test''s IBAN check accepts valid and refuses invalid IBANs');
SELECT is(count(*), 0::bigint, 'every fake IBAN has valid check digits')
  FROM (SELECT privacy.fake_iban(v) AS f FROM (SELECT email AS v FROM people WHERE g <= 2000
                                              UNION ALL SELECT 'DE89 3704 0044 0532 0130 00' || g FROM generate_series(1, 1) g
                                              UNION ALL VALUES ('GB29NWBK60161331926819'), ('FR1420041010050500013M02606'),
                                                               ('NO9386011117947'), ('DE89 3704 0044 0532 0130 00')) s) t
 WHERE NOT pg_temp.iban_ok(f);
SELECT matches(privacy.fake_iban('DE89 3704 0044 0532 0130 00'), '^DE\d\d \d{4} \d{4} \d{4} \d{4} \d\d$',
               'a German IBAN keeps its country, length and spacing');
SELECT matches(privacy.fake_iban('GB29NWBK60161331926819'), '^GB\d\d[A-Z]{4}\d{14}$', 'a British IBAN keeps its layout');
SELECT isnt(privacy.fake_iban('GB29NWBK60161331926819'), 'GB29NWBK60161331926819', 'the IBAN changes');

-- NULLs, declarations
SELECT ok(privacy.fake_name(NULL) IS NULL AND privacy.fake_email(NULL) IS NULL AND privacy.fake_iban(NULL) IS NULL,
          'NULL in, NULL out');
SELECT is((SELECT count(*) FROM pg_proc p
            WHERE p.pronamespace = 'privacy'::regnamespace AND p.proname LIKE 'fake\_%'
              AND p.provolatile = 'i' AND p.proparallel = 's' AND p.proisstrict AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
              AND obj_description(p.oid, 'pg_proc') IS NOT NULL
              AND has_function_privilege('public', p.oid, 'EXECUTE')), 9::bigint,
          'the 9 fake functions are C, IMMUTABLE, PARALLEL SAFE, STRICT, commented and executable by PUBLIC');

-- Masking rules accept them
CREATE TABLE fake_rule_t (id int PRIMARY KEY, email text UNIQUE, name text, phone text, iban text);
SELECT lives_ok($$SECURITY LABEL FOR privacy ON COLUMN fake_rule_t.email IS 'MASKED WITH FUNCTION privacy.fake_email(email)'$$,
                'fake_email is accepted in a masking rule');
SELECT lives_ok($$SELECT privacy.mask_column('fake_rule_t', 'name', 'privacy.fake_name(name)'),
                         privacy.mask_column('fake_rule_t', 'phone', 'privacy.fake_phone(phone)'),
                         privacy.mask_column('fake_rule_t', 'iban', 'privacy.fake_iban(iban)')$$,
                'fake_name, fake_phone and fake_iban are accepted in masking rules');
INSERT INTO fake_rule_t SELECT g, email, name, phone, 'DE89 3704 0044 0532 0130 ' || lpad(g::text, 2, '0')
  FROM people WHERE g <= 99;

-- Static masking in a transaction: the safety lock first
SELECT throws_ok($$CALL privacy.anonymize_table('fake_rule_t')$$, '55000', NULL,
                 'anonymize_table is refused without privacy.allow_static_masking');
SET LOCAL privacy.allow_static_masking = on;
SELECT throws_like($$CALL privacy.anonymize_table('fake_rule_t')$$, '%not allowed%',
                   'a session SET alone is not enough');
SELECT throws_ok($$CALL privacy.anonymize_database()$$, '55000', NULL, 'anonymize_database is refused too');
SELECT ok(NOT has_function_privilege('public', 'privacy.anonymize_table(regclass, int)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'privacy.anonymize_database(int)', 'EXECUTE'),
          'the anonymize procedures are not executable by PUBLIC');
ALTER DATABASE privacy_tap SET privacy.allow_static_masking = on;   -- rolled back with the test
SELECT is((SELECT count(*) FROM fake_rule_t f JOIN people p ON p.email = f.email), 99::bigint, 'before: original e-mails');
SELECT lives_ok($$CALL privacy.anonymize_table('fake_rule_t', 10)$$, 'with the database setting, anonymize_table runs');
SELECT is((SELECT count(*) FROM fake_rule_t f JOIN people p ON p.g = f.id
            WHERE f.email = privacy.fake_email(p.email) AND f.name = privacy.fake_name(p.name)
              AND f.phone = privacy.fake_phone(p.phone)), 99::bigint,
          'every row masked exactly once, with the same fakes as fake_* give');
SELECT is((SELECT count(*) FROM fake_rule_t WHERE NOT pg_temp.iban_ok(iban)), 0::bigint, 'masked IBANs are valid');

-- A rule that breaks a unique index is refused before anything changes
CREATE TABLE fake_unique_t (id int PRIMARY KEY, code text UNIQUE);
INSERT INTO fake_unique_t SELECT g, 'code-' || g FROM generate_series(1, 50) g;
SELECT privacy.mask_column('fake_unique_t', 'code', 'privacy.redact(code)');
SELECT throws_like($$CALL privacy.anonymize_table('fake_unique_t')$$, '%would give two rows the same key in unique index public.fake_unique_t_code_key',
                   'a masking rule that would duplicate values of a unique column is refused by the check');
SELECT is((SELECT count(*) FROM fake_unique_t WHERE code LIKE 'code-%'), 50::bigint, 'nothing was changed');

-- NOT NULL columns and encrypted columns
CREATE TABLE fake_nn (id int PRIMARY KEY, phone text NOT NULL, note text);
INSERT INTO fake_nn SELECT g, phone, 'x' FROM people WHERE g <= 10;
SECURITY LABEL FOR privacy ON COLUMN fake_nn.phone IS 'MASKED WITH VALUE NULL';
SELECT throws_like($$CALL privacy.anonymize_table('fake_nn')$$, '%gives NULL to a NOT NULL column%',
                   'a rule giving NULL to a NOT NULL column is refused first');
SELECT privacy.protect_column('fake_nn', 'phone');
SELECT privacy.mask_column('fake_nn', 'phone', 'pg_catalog.concat(phone, '''')');  -- the ciphertext itself
SELECT throws_like($$CALL privacy.anonymize_table('fake_nn')$$, '%keeps the ciphertext format%',
                   'a rule altering the ciphertext of an encrypted column is refused first');
SELECT privacy.mask_column('fake_nn', 'phone', 'privacy.pseudonymize(phone)');
CALL privacy.anonymize_table('fake_nn');
SELECT is((SELECT count(*) FROM fake_nn f JOIN fake_nn_decrypted d USING (id)
            WHERE privacy.is_ciphertext(f.phone) AND d.phone LIKE 'ps\_%'), 10::bigint,
          'an encrypted column stays encrypted and holds the encrypted masked values');

-- Partitioned tables: every partition, the unique constraint of the parent checked
CREATE TABLE fake_ev (id int, at date, email text, PRIMARY KEY (id, at), UNIQUE (email, at)) PARTITION BY RANGE (at);
CREATE TABLE fake_ev_a PARTITION OF fake_ev FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE fake_ev_b PARTITION OF fake_ev FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
INSERT INTO fake_ev SELECT g, date '2020-01-01' + g % 700, 'u' || g || '@x.test' FROM generate_series(1, 3000) g;
SELECT privacy.mask_column('fake_ev', 'email', 'privacy.fake_email(email)');
SELECT lives_ok($$CALL privacy.anonymize_table('fake_ev', 300)$$, 'a partitioned table is masked');
SELECT is((SELECT count(*) FROM fake_ev WHERE email = privacy.fake_email('u' || id || '@x.test')), 3000::bigint,
          'every row of every partition masked exactly once');
SELECT privacy.mask_column('fake_ev', 'email', 'privacy.redact(email)');
SELECT throws_like($$CALL privacy.anonymize_table('fake_ev')$$, '%would give two rows the same key in unique index public.fake_ev_email_at_key',
                   'the unique constraint of a partitioned table is checked first');

-- Foreign keys: a masked key must cascade to the rows that reference it
CREATE TABLE fake_parent (email text PRIMARY KEY, name text);
CREATE TABLE fake_child (id int PRIMARY KEY, email text REFERENCES fake_parent);
INSERT INTO fake_parent SELECT email, name FROM people WHERE g <= 20;
INSERT INTO fake_child SELECT g, email FROM people WHERE g <= 20;
SELECT privacy.mask_column('fake_parent', 'email', 'privacy.fake_email(email)');
SELECT throws_like($$CALL privacy.anonymize_table('fake_parent')$$, '%foreign key fake_child_email_fkey%',
                   'a masked key referenced by a foreign key without ON UPDATE CASCADE is refused');
ALTER TABLE fake_child DROP CONSTRAINT fake_child_email_fkey,
    ADD FOREIGN KEY (email) REFERENCES fake_parent ON UPDATE CASCADE;
SELECT lives_ok($$CALL privacy.anonymize_table('fake_parent')$$, 'with ON UPDATE CASCADE it runs');
SELECT is((SELECT count(*) FROM fake_child c JOIN fake_parent p USING (email) WHERE email LIKE '%@example.___'),
          20::bigint, 'the referencing rows follow their masked keys');
SELECT privacy.mask_column('fake_child', 'email', 'privacy.fake_email(email)');
SELECT throws_like($$CALL privacy.anonymize_table('fake_child')$$, '%masking rules change a column of foreign key%',
                   'a masked foreign key column is refused');

SELECT * FROM finish();
ROLLBACK;
