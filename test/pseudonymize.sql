-- privacy.pseudonymize: keyed HMAC-SHA-256 pseudonyms.
BEGIN;
SELECT plan(22);

SELECT matches(privacy.pseudonymize('alice@example.com'), '^ps_[a-z2-7]{26}$',
               'a pseudonym is ps_ and 26 lower-case base32 characters');
SELECT is(privacy.pseudonymize('alice@example.com'), privacy.pseudonymize('alice@example.com'),
          'same value, same pseudonym');
SELECT is(privacy.pseudonymize('alice@example.com', 'pseudonym'), privacy.pseudonymize('alice@example.com'),
          'default key is ''pseudonym''');
SELECT isnt(privacy.pseudonymize('alice@example.com'), privacy.pseudonymize('Alice@example.com'),
            'no normalization: case matters');
SELECT matches(privacy.pseudonymize(''), '^ps_[a-z2-7]{26}$', 'the empty string has a pseudonym');
SELECT is(privacy.pseudonymize(NULL), NULL, 'NULL in, NULL out');
SELECT is(privacy.pseudonymize('x', NULL), NULL, 'NULL key name, NULL out');

-- Stable across statements: compare with values stored earlier.
CREATE TEMP TABLE subjects AS
  SELECT g, 'user' || g || '@example.com' AS email FROM generate_series(1, 10000) g;
CREATE TEMP TABLE stored AS SELECT g, privacy.pseudonymize(email) AS p FROM subjects;
SELECT is(count(*), 0::bigint, 'pseudonyms equal the ones stored in a temp table earlier')
FROM subjects s JOIN stored t USING (g) WHERE privacy.pseudonymize(s.email) <> t.p;
SELECT is(count(*), 10000::bigint, 'joins on pseudonyms keep working')
FROM stored t JOIN subjects s ON privacy.pseudonymize(s.email) = t.p;
SELECT is(count(DISTINCT p), 10000::bigint, '10,000 values, 10,000 distinct pseudonyms') FROM stored;
SELECT is(count(*), 0::bigint, 'no pseudonym contains its value')
FROM subjects s JOIN stored t USING (g)
WHERE strpos(t.p, s.email) > 0 OR strpos(t.p, split_part(s.email, '@', 1)) > 0;
SELECT is(count(*), 0::bigint, 'no pseudonym contains a 4-character piece of a digit-bearing value')
FROM (VALUES ('+16503338337'), ('4111111111111111'), ('1990-06-15')) v(x),
     generate_series(1, 9) i
WHERE strpos(privacy.pseudonymize(x), substr(x, i, 4)) > 0;
SELECT is(length(privacy.pseudonymize(repeat('long value ', 100000))), 29,
          'a 1.1 MB value gives a 29-character pseudonym');

-- Keys
SELECT lives_ok($$SELECT privacy.create_key('k2', 'pseudonymize')$$, 'second pseudonymize key');
SELECT isnt(privacy.pseudonymize('alice@example.com', 'k2'), privacy.pseudonymize('alice@example.com'),
            'another key gives another pseudonym');
SELECT is(count(*), 0::bigint, 'no collision between the two keys over 10,000 values')
FROM subjects s JOIN stored t USING (g) WHERE privacy.pseudonymize(s.email, 'k2') = t.p;
SELECT throws_ok($$SELECT privacy.pseudonymize('x', 'no such key')$$, '42704', 'key "no such key" does not exist', 'unknown key refused');
SELECT throws_ok($$SELECT privacy.pseudonymize('x', 'token')$$, '42809', 'key "token" has purpose "tokenize", not "pseudonymize"', 'a key of another purpose is refused');

-- Declarations
SELECT volatility_is('privacy', 'pseudonymize', ARRAY['text', 'text'], 'immutable',
                     'pseudonymize is IMMUTABLE (a function of value and key: indexable)');
SELECT is_strict('privacy', 'pseudonymize', ARRAY['text', 'text'], 'pseudonymize is STRICT');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'privacy.pseudonymize(text, text)'::regprocedure),
          's'::"char", 'pseudonymize is PARALLEL SAFE');
SELECT ok(has_function_privilege('public', 'privacy.pseudonymize(text, text)', 'EXECUTE'),
          'pseudonymize is executable by PUBLIC');

SELECT * FROM finish();
ROLLBACK;
