-- The parsers of untrusted bytes (src/*_parse.c, fuzzed by test/fuzz/): one
-- test per bug the fuzzers found, through SQL, next to its regression seed
-- in test/fuzz/corpus/.
BEGIN;
SELECT plan(6);

-- A stored "$pv1$" text of privacy.encrypt('h') (44 bytes: base64 ends in
-- "x=") and the same text with the bits that padding drops set: the last
-- character before "=" moved one place up the alphabet.
CREATE TEMP TABLE pv AS
SELECT s AS canonical,
       overlay(s PLACING translate(substr(s, length(s) - 1, 1),
                                   'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
                                   'BCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/A')
                 FROM length(s) - 1 FOR 1) AS other_bits
FROM (SELECT '$pv1$' || replace(encode(privacy.encrypt('h'), 'base64'), E'\n', '') AS s) t;

SELECT is((SELECT right(canonical, 1) FROM pv), '=', 'the canonical text form ends in one "=" of padding');
SELECT ok((SELECT privacy.is_ciphertext(canonical) FROM pv), 'the canonical text form is a ciphertext');
SELECT isnt((SELECT other_bits FROM pv), (SELECT canonical FROM pv), 'the altered text differs');
-- regression seed test/fuzz/corpus/protected_text/regress-noncanonical-padding-bits
SELECT ok((SELECT NOT privacy.is_ciphertext(other_bits) FROM pv),
          'a "$pv1$" text whose padding hides non-zero bits is not a ciphertext (one stored text per ciphertext)');
SELECT is((SELECT privacy.key_id(other_bits) FROM pv), NULL, 'key_id of that text is NULL');
SELECT is((SELECT privacy.key_id(canonical) FROM pv),
          (SELECT key_id FROM privacy.keys WHERE name = 'default' AND status = 'active'),
          'key_id of the canonical text is the default key');

SELECT * FROM finish();
ROLLBACK;
