-- Masking and generalization functions: exact, deterministic outputs.
-- (Key-dependent functions — pseudonymize, tokenize — are tested with pgTAP.)
SET client_min_messages = warning;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- mask_email: first character of the local part, then ****, then @domain
SELECT v AS input, privacy.mask_email(v) AS masked
FROM (VALUES ('alice@example.com'), ('a@example.com'), ('bob.smith+tag@mail.example.org'),
             (''), ('@example.com'), ('no-at-sign'), ('x'), ('alice@'), ('@'),
             ('"a@b"@example.com'), ('a@b@c.example'), ('élodie@exemple.fr'),
             ('日本語@example.jp'), ('😀smile@example.com'), ('ALICE@EXAMPLE.COM'),
             (NULL)) t(v);

-- mask_phone: digits become X except the last 4 (never more than half of them)
SELECT v AS input, privacy.mask_phone(v) AS masked
FROM (VALUES ('+1-650-333-8337'), ('+44 20 7946 0958'), ('(650) 333-8337'), ('6503338337'),
             ('333-8337'), ('12345678'), ('1234567'), ('123456'), ('12345'), ('1234'),
             ('123'), ('12'), ('1'), (''), ('no digits'), ('ext. 42'),
             ('+33 ６ 12 34 56 78'), (NULL)) t(v);

-- mask_card: at most first 6 and last 4 digits, at least 6 digits hidden
SELECT v AS input, privacy.mask_card(v) AS masked
FROM (VALUES ('4111111111111111'), ('4111 1111 1111 1111'), ('4111-1111-1111-1111'),
             ('378282246310005'), ('6011000990139424123'), ('4222222222222'),
             ('123456789012'), ('1234567890'), ('12345678'), ('1234567'), ('123456'),
             ('12345'), (''), ('card: n/a'), (NULL)) t(v);

-- partial: character-based, never the whole value
SELECT privacy.partial('abcdefgh', 1, 'xxxx', 3) AS p1,
       privacy.partial('abcdefgh', 0, '***', 0) AS p2,
       privacy.partial('abcdefgh', 2, '*', 0) AS p3,
       privacy.partial('abcdefgh', 0, '*', 2) AS p4,
       privacy.partial('abcdefgh', 4, '*', 4) AS p5_whole,
       privacy.partial('abcdefgh', 5, '*', 4) AS p6_overlap,
       privacy.partial('abc', 1, '', 1) AS p7_empty_padding,
       privacy.partial('', 0, '**', 0) AS p8_empty,
       privacy.partial('Ünïcødé', 2, '…', 2) AS p9_unicode,
       privacy.partial(NULL, 1, '*', 1) IS NULL AS p10_null,
       privacy.partial('abc', 1, NULL, 1) IS NULL AS p11_null_padding;
SELECT privacy.partial('abcdefgh', -1, '*', 2);
SELECT privacy.partial('abcdefgh', 1, '*', -2);
SELECT privacy.partial('abcdefgh', 2147483647, '*', 2147483647);

-- truncate_ip: IPv4 at every prefix boundary
SELECT b AS bits, privacy.truncate_ip('203.0.113.195', b) AS v4
FROM unnest(ARRAY[0, 1, 7, 8, 9, 16, 23, 24, 25, 31, 32]) b;
SELECT privacy.truncate_ip('255.255.255.255', b) AS v4_ones
FROM unnest(ARRAY[0, 1, 7, 8, 24, 31, 32]) b;
-- IPv6 at every prefix boundary
SELECT b AS bits, privacy.truncate_ip('2001:db8:85a3:8d3:1319:8a2e:370:7348', 24, b) AS v6
FROM unnest(ARRAY[0, 1, 15, 16, 47, 48, 49, 63, 64, 65, 127, 128]) b;
SELECT privacy.truncate_ip('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 24, b) AS v6_ones
FROM unnest(ARRAY[0, 48, 64, 127, 128]) b;
-- defaults (/24, /48), input netmask ignored, IPv4-mapped IPv6 is IPv6
SELECT privacy.truncate_ip('192.168.10.77') AS d4,
       privacy.truncate_ip('192.168.10.77/16') AS d4_masklen,
       privacy.truncate_ip('2001:db8:1234:5678::1') AS d6,
       privacy.truncate_ip('::ffff:192.168.10.77') AS d6_mapped,
       privacy.truncate_ip('10.1.2.3'::cidr) AS from_cidr,
       privacy.truncate_ip(NULL) IS NULL AS null_in;
SELECT privacy.truncate_ip('10.0.0.1', 33);
SELECT privacy.truncate_ip('10.0.0.1', -1);
SELECT privacy.truncate_ip('::1', 24, 129);

-- generalize(date)
SELECT d, privacy.generalize(d, 'day') AS day, privacy.generalize(d, 'month') AS month,
       privacy.generalize(d, 'year') AS year
FROM unnest(ARRAY['2024-01-01', '2024-01-31', '2024-02-29', '2024-03-01', '2023-12-31',
                  '2000-02-29', '1999-12-31', '0001-01-01 BC', 'infinity', '-infinity']::date[]) d;
SELECT privacy.generalize('2024-07-14'::date, 'MONTH') AS upper_case,
       privacy.generalize(NULL::date, 'year') IS NULL AS null_in;
SELECT privacy.generalize('2024-07-14'::date, 'week');

-- generalize(timestamptz): in the session time zone
SELECT ts, privacy.generalize(ts, 'day') AS day, privacy.generalize(ts, 'month') AS month,
       privacy.generalize(ts, 'year') AS year
FROM unnest(ARRAY['2024-12-31 23:59:59.999999+00', '2025-01-01 00:00:00+00',
                  '2024-02-29 12:34:56+00', '2024-03-31 23:30:00+00', 'infinity']::timestamptz[]) ts;
SET timezone = 'America/New_York';
SELECT privacy.generalize('2025-01-01 03:00:00+00'::timestamptz, 'year') AS ny_year,
       privacy.generalize('2024-03-01 02:00:00+00'::timestamptz, 'month') AS ny_month;
SET timezone = 'UTC';
SELECT privacy.generalize(now(), 'hour');

-- age_range
SELECT privacy.age_range('1990-06-15', 10, '2024-06-14') AS day_before_34,
       privacy.age_range('1990-06-15', 10, '2024-06-15') AS birthday_34,
       privacy.age_range('1990-06-15', 10, '2030-06-15') AS forty,
       privacy.age_range('1990-06-15', 5, '2024-06-15') AS width_5,
       privacy.age_range('1990-06-15', 1, '2024-06-15') AS width_1,
       privacy.age_range('2024-06-15', 10, '2024-06-15') AS newborn,
       privacy.age_range('2000-02-29', 10, '2020-02-28') AS leap_before,
       privacy.age_range('2000-02-29', 10, '2020-02-29') AS leap_on,
       privacy.age_range('2000-02-29', 3, '2021-03-01') AS leap_after;
SELECT privacy.age_range(current_date - 1) = privacy.age_range(current_date - 1, 10, current_date) AS defaults;
SELECT privacy.age_range(NULL) IS NULL AS null_in;
SELECT privacy.age_range('1990-01-01', 0, '2024-01-01');
SELECT privacy.age_range('2025-01-01', 10, '2024-01-01');
SELECT privacy.age_range('infinity', 10, '2024-01-01');

-- noise: within +/- ratio, keeps the scale, volatile
SELECT bool_and(n BETWEEN 90 AND 110) AS in_range,
       bool_and(scale(n) = 2) AS same_scale,
       count(DISTINCT n) > 1 AS varies
FROM (SELECT privacy.noise(100.00, 0.1) AS n FROM generate_series(1, 1000)) s;
SELECT bool_and(n BETWEEN -110 AND -90) AS negative_in_range
FROM (SELECT privacy.noise(-100, 0.1) AS n FROM generate_series(1, 100)) s;
SELECT privacy.noise(42.5, 0) AS zero_ratio, privacy.noise(0, 0.5) AS zero_value,
       privacy.noise('NaN', 0.5) AS nan, privacy.noise('Infinity', 0.5) AS inf,
       privacy.noise(NULL, 0.5) IS NULL AS null_in;
SELECT privacy.noise(1, -0.1);
SELECT privacy.noise(1, 'NaN');

-- redact: NULL in, NULL out
SELECT privacy.redact('secret'::text) AS t, privacy.redact(42) AS i,
       privacy.redact(now()) AS ts, privacy.redact(ARRAY[1, 2]) AS arr,
       privacy.redact(NULL::text) IS NULL AS null_in;

-- k_anonymity: smallest equivalence class
CREATE TABLE people (zip text, age_band int4range, sex text, "Mixed Case" int);
SELECT privacy.k_anonymity('people', ARRAY['zip']) AS empty_table;
INSERT INTO people VALUES
  ('75001', '[30,40)', 'F', 1), ('75001', '[30,40)', 'F', 1), ('75001', '[30,40)', 'M', 1),
  ('75002', '[30,40)', 'F', 2), ('75002', '[40,50)', 'F', 2), ('75002', '[40,50)', 'F', 2),
  (NULL, '[40,50)', 'F', 2), (NULL, '[40,50)', 'F', 2);
SELECT privacy.k_anonymity('people', ARRAY['zip']) AS by_zip,
       privacy.k_anonymity('people', ARRAY['zip', 'sex']) AS by_zip_sex,
       privacy.k_anonymity('people', ARRAY['age_band', 'sex']) AS by_age_sex,
       privacy.k_anonymity('people', ARRAY['Mixed Case']) AS quoted,
       privacy.k_anonymity('people', ARRAY['zip', 'zip']) AS repeated;
SELECT privacy.k_anonymity('people', ARRAY['nope']);
SELECT privacy.k_anonymity('people', ARRAY['ZIP']);
SELECT privacy.k_anonymity('people', ARRAY['zip', NULL]);
SELECT privacy.k_anonymity('people', ARRAY[]::text[]);
SELECT privacy.k_anonymity('people', ARRAY['ctid']);
SELECT privacy.k_anonymity('people', ARRAY['zip); DROP TABLE people; --']);
SELECT count(*) AS still_there FROM people;
DROP TABLE people;
