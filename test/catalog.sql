-- The catalog policy of the extension's routines (README "Development",
-- function labels), checked over every routine in pg_proc so that new ones are
-- covered: each has a comment; SECURITY DEFINER ones pin search_path; the
-- labels follow one rule per kind of function.
BEGIN;
SELECT plan(7);

CREATE TEMP VIEW ext_routines AS
SELECT p.oid, p.oid::regprocedure::text AS sig, p.proname, p.provolatile, p.proparallel, p.prosecdef,
       p.proconfig, p.prorettype
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'privacy');

SELECT is(ARRAY(SELECT sig FROM ext_routines WHERE obj_description(oid, 'pg_proc') IS NULL ORDER BY 1),
          '{}'::text[], 'every routine has a COMMENT');
SELECT is(ARRAY(SELECT sig FROM ext_routines
                 WHERE prosecdef AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (proconfig), false)
                 ORDER BY 1),
          '{}'::text[], 'every SECURITY DEFINER routine pins search_path = pg_catalog, pg_temp');
-- keyed transforms whose output depends only on the arguments and the key
-- (a rotation is like a collation change): IMMUTABLE, PARALLEL SAFE
SELECT is(ARRAY(SELECT sig FROM ext_routines
                 WHERE (proname IN ('pseudonymize', 'blind_index', 'tokenize', 'encrypt_deterministic')
                        OR proname LIKE 'fake\_%')
                   AND (provolatile <> 'i' OR proparallel <> 's') ORDER BY 1),
          '{}'::text[], 'keyed deterministic transforms are IMMUTABLE PARALLEL SAFE');
-- reading plaintext back (audited per statement, counted across parallel
-- workers): STABLE, PARALLEL SAFE
SELECT is(ARRAY(SELECT sig FROM ext_routines
                 WHERE proname IN ('decrypt', 'decrypt_text', 'detokenize', '_decrypt_column')
                   AND (provolatile <> 's' OR proparallel <> 's') ORDER BY 1),
          '{}'::text[], 'decryption and detokenization are STABLE PARALLEL SAFE');
-- a fresh random nonce per call: VOLATILE
SELECT is(ARRAY(SELECT sig FROM ext_routines WHERE proname = 'encrypt' AND provolatile <> 'v' ORDER BY 1),
          '{}'::text[], 'randomized encryption is VOLATILE');
-- trigger and event-trigger functions, and anything that writes: VOLATILE
SELECT is(ARRAY(SELECT sig FROM ext_routines
                 WHERE prorettype IN ('trigger'::regtype, 'event_trigger'::regtype) AND provolatile <> 'v' ORDER BY 1),
          '{}'::text[], 'trigger functions are VOLATILE');
-- output that follows a session setting (IntervalStyle, DateStyle) is not IMMUTABLE
SELECT is((SELECT provolatile FROM ext_routines WHERE proname = '_policy_text'), 's'::"char",
          '_policy_text follows IntervalStyle: STABLE');

SELECT * FROM finish();
ROLLBACK;
