-- Attacks on the row identities of export, erasure and legal holds
-- (src/rowid.c): the PUBLIC entry points privacy._row_identity and
-- privacy._key_values called directly with hostile arguments, a hostile table
-- owner's cast picked up by the statements they build, identities that are not
-- what the extension made.  Each test is the attack; it shows the effect does
-- not happen.
BEGIN;
SELECT plan(36);

CREATE ROLE rid_owner;
CREATE ROLE rid_other;
CREATE ROLE rid_dpo;
SELECT privacy.grant_subject_rights('rid_dpo');
CREATE TABLE public.rid_pwn (who name, su boolean);
GRANT INSERT, SELECT ON public.rid_pwn TO PUBLIC;
CREATE SCHEMA ridh AUTHORIZATION rid_owner;

-- A hostile owner: an enum key whose cast to text is its own function, a
-- registered table keyed by it, and a policy-free table nobody else may read.
SELECT is(tap.as_role_do('rid_owner', $$
    CREATE FUNCTION ridh.spy() RETURNS boolean LANGUAGE plpgsql AS $f$
    BEGIN
        INSERT INTO public.rid_pwn VALUES (current_user,
            (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user));
        RETURN true;
    END $f$;
    CREATE TYPE ridh.code AS ENUM ('c1', 'c2', 'c3');
    CREATE FUNCTION ridh.code_text(c ridh.code) RETURNS text LANGUAGE plpgsql AS $f$
    BEGIN PERFORM ridh.spy(); RETURN c::name::text; END $f$;
    CREATE CAST (ridh.code AS text) WITH FUNCTION ridh.code_text(ridh.code);
    CREATE TABLE ridh.people (id ridh.code PRIMARY KEY, phone text NOT NULL);
    CREATE INDEX ON ridh.people (phone);
    INSERT INTO ridh.people VALUES ('c1', 's1'), ('c2', 's2');
    SELECT privacy.register_subject_table('ridh.people', 'phone');
    CREATE TABLE ridh.secret (id int PRIMARY KEY, s text);
    INSERT INTO ridh.secret VALUES (1, 'top secret'), (2, 'other secret');
    GRANT USAGE ON SCHEMA ridh TO PUBLIC;
    GRANT USAGE ON TYPE ridh.code TO PUBLIC;
    GRANT SELECT, REFERENCES ON ridh.people TO PUBLIC$$), 'done',
    'a hostile owner: an enum key with its own cast to text, a registered table, a secret table');

-- A superuser's table referencing the hostile owner's, retained, with a hold on s1.
CREATE TABLE public.rid_msgs (id int PRIMARY KEY, person ridh.code NOT NULL REFERENCES ridh.people,
                              sent_at timestamptz NOT NULL);
CREATE INDEX ON public.rid_msgs (person);
INSERT INTO public.rid_msgs VALUES (1, 'c1', now() - interval '2 years'), (2, 'c2', now() - interval '2 years');
SELECT privacy.set_retention('public.rid_msgs', '1 year', 'sent_at');
SELECT ok(privacy.place_hold('rid litigation', subject => 's1') IS NOT NULL, 'a hold on subject s1');
DELETE FROM public.rid_pwn;

-- ---------------------------------------------------------------------------
-- 1. Legal holds read the key values of the subject's rows in the hostile
-- owner's table (privacy._key_values): its cast must not run as the
-- superuser owning the retained table.
-- ---------------------------------------------------------------------------
SELECT is((SELECT rows_held FROM privacy.retention_report() WHERE tbl = 'public.rid_msgs'::regclass), 1::bigint,
          'the report holds s1''s message only');
SELECT is((SELECT string_agg(DISTINCT who::text, ',') FROM public.rid_pwn), 'rid_owner',
          'holds: the owner''s cast ran only as the owner');
SELECT is((SELECT bool_or(su) FROM public.rid_pwn), false, 'holds: never with superuser rights');
DELETE FROM public.rid_pwn;

-- the same read called directly by a superuser
SELECT is(array_length(privacy._key_values('ridh.people'::regclass, '{id}',
              ARRAY(SELECT tableoid::text || ':' || ctid::text FROM ridh.people)), 1), 2,
          'a superuser calls privacy._key_values on the owner''s table');
SELECT is((SELECT string_agg(DISTINCT who::text, ',') FROM public.rid_pwn), 'rid_owner',
          'direct call: the owner''s cast ran only as the owner');
SELECT is((SELECT bool_or(su) FROM public.rid_pwn), false, 'direct call: never with superuser rights');
DELETE FROM public.rid_pwn;

-- ---------------------------------------------------------------------------
-- 2. privacy._key_values called directly to read rows one may not SELECT.
-- ---------------------------------------------------------------------------
SELECT alike(tap.as_role('rid_other', $$SELECT privacy._key_values('ridh.secret'::regclass, '{s}',
                 ARRAY['0:(0,1)'])::text$$),
            'ERROR 42501: permission denied for table secret%',
            'no SELECT on the table: refused');
SELECT is(tap.as_role_do('rid_owner', $$GRANT SELECT (id) ON ridh.secret TO rid_other$$), 'done',
          'the owner grants SELECT on the key column only');
SELECT alike(tap.as_role('rid_other', format($$SELECT privacy._key_values('ridh.secret'::regclass, '{s}', %L)::text$$,
                 ARRAY(SELECT tableoid::text || ':' || ctid::text FROM ridh.secret))),
            'ERROR 42501: permission denied for table secret%',
            'SELECT on another column only: the secret column is not read');
SELECT is(tap.as_role_do('rid_owner', $$
    GRANT SELECT ON ridh.secret TO rid_other;
    CREATE POLICY mine ON ridh.secret USING (id = 2 AND ridh.spy());
    ALTER TABLE ridh.secret ENABLE ROW LEVEL SECURITY$$), 'done', 'the owner adds a row-level security policy');
DELETE FROM public.rid_pwn;
SELECT alike(tap.as_role('rid_other', format($$SELECT privacy._key_values('ridh.secret'::regclass, '{s}', %L)::text$$,
                 ARRAY(SELECT tableoid::text || ':' || ctid::text FROM ridh.secret))),
            'ERROR 42501: row-level security of table "secret" applies to role "rid_other"%',
            'a policy applies to the caller: refused, not read around');
SELECT is((SELECT count(*) FROM public.rid_pwn), 0::bigint, 'and the owner''s policy did not run as the caller');

-- ---------------------------------------------------------------------------
-- 3. Malformed and NULL arguments: clear errors, no crash.
-- ---------------------------------------------------------------------------
SELECT is(privacy._key_values(NULL, '{id}', '{}'), NULL, '_key_values is strict (NULL table)');
SELECT is(privacy._row_identity(NULL), NULL, '_row_identity is strict');
SELECT throws_ok($$SELECT privacy._row_identity(0)$$, '42P01', NULL, '_row_identity of oid 0: undefined table');
SELECT throws_ok($$SELECT privacy._key_values(0, '{id}', '{}')$$, '42P01', NULL, '_key_values of oid 0: undefined table');
SELECT throws_ok($$SELECT privacy._key_values('public.rid_msgs'::regclass, '{}', '{}')$$, '22023', NULL,
                 '_key_values with no column: refused');
SELECT throws_ok($$SELECT privacy._key_values('public.rid_msgs'::regclass, '{NULL}', '{}')$$, '22004', NULL,
                 '_key_values with a NULL column name: refused');
SELECT throws_ok($$SELECT privacy._key_values('public.rid_msgs'::regclass, '{id}', '{NULL}')$$, '22023', NULL,
                 '_key_values with a NULL identity: refused');
SELECT throws_ok($$SELECT privacy._key_values('public.rid_msgs'::regclass, '{id}', '{"no colon"}')$$, '22023', NULL,
                 '_key_values with an identity without a colon: refused');
SELECT is(privacy._key_values('public.rid_msgs'::regclass, '{id}',
              ARRAY(SELECT tableoid::text || ':' || ctid::text || ':x' FROM public.rid_msgs)), NULL,
          '_key_values with a trailing part after a real identity: the whole identity must match, nothing selected');
SELECT throws_ok($$SELECT privacy._key_values('public.rid_msgs'::regclass, '{id}', ARRAY['1:(a,b)'])$$, '22P02', NULL,
                 '_key_values with a malformed address: not a tid');
SELECT throws_ok($$SELECT privacy._key_values('public.rid_msgs'::regclass, '{"no such"}', '{}')$$, '42703', NULL,
                 '_key_values of a missing column (quoted, not spliced): undefined column');
SELECT is(privacy._key_values('public.rid_msgs'::regclass, '{id}', '{}'), NULL, '_key_values of no rows: NULL');
CREATE VIEW public.rid_view AS SELECT * FROM public.rid_msgs;
CREATE SEQUENCE public.rid_seq;
SELECT throws_ok($$SELECT privacy._key_values('public.rid_seq'::regclass, '{last_value}',
                     ARRAY(SELECT tableoid::text || ':' || ctid::text FROM public.rid_seq))$$, '42809', NULL,
                 '_key_values of a sequence (not a table): refused, nothing read as its owner');
SELECT throws_ok($$SELECT privacy._row_identity('public.rid_view'::regclass)$$, '42809', NULL,
                 '_row_identity of a view: not a table');
-- another table's identity never matches a row of this one
SELECT is(privacy._key_values('public.rid_msgs'::regclass, '{id}',
              ARRAY(SELECT tableoid::text || ':' || ctid::text FROM ridh.people)), NULL,
          'identities of another table select nothing here');

-- ---------------------------------------------------------------------------
-- 4. Export and erasure of s1 by a DPO: only s1's rows, the owner's code as the owner.
-- ---------------------------------------------------------------------------
SELECT privacy.release_hold(id) FROM privacy.legal_holds WHERE reason = 'rid litigation';
GRANT SELECT, DELETE ON public.rid_msgs TO rid_dpo;
SELECT is(tap.as_role_do('rid_owner', $$GRANT SELECT, DELETE ON ridh.people TO rid_dpo$$), 'done',
          'the owner lets the DPO answer requests');
DELETE FROM public.rid_pwn;
SELECT is(tap.as_role('rid_dpo', $$SELECT privacy.erase_subject('s1', 'rid test') ->> 'status'$$), 'complete',
          'the DPO erases s1');
SELECT is((SELECT array_agg(id ORDER BY id) FROM public.rid_msgs), ARRAY[2], 'only s1''s message is gone');
SELECT is((SELECT bool_or(su) FROM public.rid_pwn) IS NOT TRUE, true, 'the owner''s code never ran as a superuser');

-- ---------------------------------------------------------------------------
-- 5. A partitioned subject table: two subjects' rows at the same address in
-- two partitions.  The identity names the partition: erasing one subject
-- leaves the other's row at the same ctid.
-- ---------------------------------------------------------------------------
CREATE TABLE public.rid_parts (id int, region text, phone text NOT NULL, PRIMARY KEY (region, id))
    PARTITION BY LIST (region);
CREATE TABLE public.rid_parts_eu PARTITION OF public.rid_parts FOR VALUES IN ('eu');
CREATE TABLE public.rid_parts_us PARTITION OF public.rid_parts FOR VALUES IN ('us');
CREATE INDEX ON public.rid_parts (phone);
INSERT INTO public.rid_parts VALUES (1, 'eu', 'p1'), (1, 'us', 'p2');
SELECT privacy.register_subject_table('public.rid_parts', 'phone');
SELECT is((SELECT count(DISTINCT ctid) FROM public.rid_parts), 1::bigint, 'both rows sit at the same ctid');
SELECT is(privacy.erase_subject('p1', 'rid test') ->> 'status', 'complete', 'a superuser erases p1');
SELECT is((SELECT array_agg(phone) FROM public.rid_parts), ARRAY['p2'], 'p2''s row at the same address stays');

SELECT * FROM finish();
ROLLBACK;
