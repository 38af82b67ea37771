-- privacy.tokenize / privacy.detokenize and the FF1 core (privacy._ff1_test).
BEGIN;
SELECT plan(57);

-- ---------------------------------------------------------------------------
-- FF1: the nine NIST SP 800-38G sample vectors (FF1samples.pdf), both directions
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE nist (sample int, key bytea, tweak bytea, radix int, pt text, ct text);
INSERT INTO nist VALUES
 (1, '\x2B7E151628AED2A6ABF7158809CF4F3C', '', 10, '0123456789', '2433477484'),
 (2, '\x2B7E151628AED2A6ABF7158809CF4F3C', '\x39383736353433323130', 10, '0123456789', '6124200773'),
 (3, '\x2B7E151628AED2A6ABF7158809CF4F3C', '\x3737373770717273373737', 36, '0123456789abcdefghi', 'a9tv40mll9kdu509eum'),
 (4, '\x2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F', '', 10, '0123456789', '2830668132'),
 (5, '\x2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F', '\x39383736353433323130', 10, '0123456789', '2496655549'),
 (6, '\x2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F', '\x3737373770717273373737', 36, '0123456789abcdefghi', 'xbj3kv35jrawxv32ysr'),
 (7, '\x2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94', '', 10, '0123456789', '6657667009'),
 (8, '\x2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94', '\x39383736353433323130', 10, '0123456789', '1001623463'),
 (9, '\x2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94', '\x3737373770717273373737', 36, '0123456789abcdefghi', 'xs8a0azh2avyalyzuwd');

SELECT is(privacy._ff1_test(key, tweak, radix, pt), ct,
          format('NIST FF1 sample %s (AES-%s, radix %s): encrypt', sample, length(key) * 8, radix))
FROM nist ORDER BY sample;
SELECT is(privacy._ff1_test(key, tweak, radix, ct, true), pt,
          format('NIST FF1 sample %s (AES-%s, radix %s): decrypt', sample, length(key) * 8, radix))
FROM nist ORDER BY sample;

-- The BIGNUM path (radix^ceil(n/2) >= 2^63) round-trips and differs from the input.
SELECT is(privacy._ff1_test(k, '\x0102', 10, privacy._ff1_test(k, '\x0102', 10, x), true), x,
          'FF1 round trip, 200 decimal numerals (BIGNUM path)')
FROM (SELECT '\x2B7E151628AED2A6ABF7158809CF4F3C'::bytea AS k,
             repeat('0123456789', 20) AS x) s;
SELECT is(privacy._ff1_test(k, '', 2, privacy._ff1_test(k, '', 2, x), true), x,
          'FF1 round trip, radix 2, 130 numerals, multi-block S')
FROM (SELECT '\x2B7E151628AED2A6ABF7158809CF4F3C'::bytea AS k,
             repeat('10', 65) AS x) s;

SELECT throws_ok($$SELECT privacy._ff1_test('\x2B7E151628AED2A6ABF7158809CF4F3C', '', 10, '12345')$$,
                 '22023', 'input is too short for FF1', 'FF1 refuses a domain under 10^6');
SELECT throws_ok($$SELECT privacy._ff1_test('\x2B7E151628AED2A6ABF7158809CF4F3C', '', 37, '0123456789')$$,
                 '22023', 'radix must be between 2 and 36', 'FF1 refuses radix 37');
SELECT throws_ok($$SELECT privacy._ff1_test('\x2B7E151628AED2A6ABF7158809CF4F3C', '', 10, '01234a6789')$$,
                 '22023', 'invalid numeral "a" for radix 10', 'FF1 refuses a numeral out of the radix');
SELECT throws_ok($$SELECT privacy._ff1_test('\x2B7E15', '', 10, '0123456789')$$,
                 '22023', 'invalid AES key length: 3 bytes', 'FF1 refuses a bad key length');

-- ---------------------------------------------------------------------------
-- tokenize / detokenize with the key ring
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE nums AS
  SELECT DISTINCT lpad(floor(random() * 1e10)::bigint::text, 10, '0') AS v
  FROM generate_series(1, 100100) LIMIT 100000;
CREATE TEMP TABLE toks AS SELECT v, privacy.tokenize(v) AS t FROM nums;
SELECT is(count(*), 100000::bigint, '100,000 distinct random 10-digit numbers') FROM nums;
SELECT is(count(DISTINCT t), 100000::bigint, '... give 100,000 distinct tokens') FROM toks;
SELECT ok(bool_and(t ~ '^[0-9]{10}$'), '... every token is 10 digits') FROM toks;
CREATE TEMP TABLE audit_before AS
  SELECT count(*) AS n FROM privacy.audit_log WHERE action = 'detokenize';
SELECT is(count(*) FILTER (WHERE privacy.detokenize(t) <> v), 0::bigint,
          '... and every token detokenizes back') FROM toks;
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE action = 'detokenize'),
          (SELECT n + 1 FROM audit_before),
          'detokenizing 100,000 rows in one statement writes one audit row');
SELECT is(object, 'token', 'the audit row names the key')
FROM privacy.audit_log WHERE action = 'detokenize' ORDER BY id DESC LIMIT 1;
SELECT cmp_ok(count(*) FILTER (WHERE t = v), '<', 10::bigint, '... and tokens differ from the values') FROM toks;

CREATE TEMP TABLE formats (v text);
INSERT INTO formats VALUES ('+1-650-333-8337'), ('4111 1111 1111 1111'), ('0044 7700 900123');
SELECT is(translate(privacy.tokenize(v), '0123456789', '##########'),
          translate(v, '0123456789', '##########'),
          format('format of %s kept character class by character class', v))
FROM formats ORDER BY v;
SELECT is(privacy.detokenize(privacy.tokenize(v)), v, format('%s round-trips', v))
FROM formats ORDER BY v;
SELECT isnt(privacy.tokenize('4111 1111 1111 1111'), '4111 1111 1111 1111', 'a card number is changed');
SELECT is(privacy.tokenize('+1-650-333-8337'), privacy.tokenize('+1-650-333-8337'), 'tokenize is deterministic');
SELECT is(privacy.tokenize('+1-650-333-8337', 'token'), privacy.tokenize('+1-650-333-8337'), 'default key is ''token''');

SELECT throws_ok($$SELECT privacy.tokenize('12-345')$$, '22023',
                 'value has too few digits to tokenize', 'fewer than 6 digits refused');
SELECT throws_ok($$SELECT privacy.detokenize('12-345')$$, '22023',
                 'token has too few digits to detokenize', 'detokenize: fewer than 6 digits refused');
SELECT throws_ok($$SELECT privacy.tokenize('١٢٣٤٥٦٧٨٩')$$, '22023',
                 'value has too few digits to tokenize', 'non-ASCII digits are not digits');
SELECT is(length(privacy.tokenize('123456')), 6, 'exactly 6 digits accepted');
SELECT is(privacy.detokenize(privacy.tokenize('٣-123456-é')), '٣-123456-é', 'non-ASCII characters kept in place');
SELECT is(regexp_replace(privacy.tokenize('٣-123456-é'), '[0-9]', '', 'g'), '٣--é', '... and only ASCII digits change');
SELECT is(privacy.detokenize(privacy.tokenize(repeat('9', 400))), repeat('9', 400), '400 digits round-trip');
SELECT throws_ok($$SELECT privacy.tokenize(repeat('1', 5000))$$, '54000',
                 'value has too many digits to tokenize', 'more than 4096 digits refused');
SELECT is(privacy.tokenize(NULL), NULL, 'NULL in, NULL out');

SELECT lives_ok($$SELECT privacy.create_key('tk2', 'tokenize')$$, 'second tokenize key');
SELECT isnt(privacy.tokenize('6503338337', 'tk2'), privacy.tokenize('6503338337'), 'another key gives another token');
SELECT is(privacy.detokenize(privacy.tokenize('6503338337', 'tk2'), 'tk2'), '6503338337', 'round trip with a named key');
SELECT throws_ok($$SELECT privacy.tokenize('6503338337', 'pseudonym')$$, NULL, NULL,
                 'a key of another purpose is refused');


-- Privileges and declarations
CREATE ROLE privacy_tok_nobody NOLOGIN;
SELECT throws_ok($q$DO $d$ BEGIN SET LOCAL ROLE privacy_tok_nobody; PERFORM privacy.detokenize('6503338337'); END $d$$q$,
                 '42501', 'permission denied for function detokenize', 'detokenize is not executable by PUBLIC');
SELECT throws_ok($q$DO $d$ BEGIN SET LOCAL ROLE privacy_tok_nobody; PERFORM privacy._ff1_test('\x00', '', 10, '0123456789'); END $d$$q$,
                 '42501', 'permission denied for function _ff1_test', '_ff1_test is not executable by PUBLIC');
SELECT ok(has_function_privilege('privacy_tok_nobody', 'privacy.tokenize(text, text)', 'EXECUTE'),
          'tokenize is executable by PUBLIC');
SELECT volatility_is('privacy', 'detokenize', ARRAY['text', 'text'], 'stable',
                     'detokenize is STABLE, like decrypt (its audit row is written at the end of the statement)');

SELECT * FROM finish();
ROLLBACK;
