-- Loaded once into the pgTAP database by scripts/test.sh (not a test file):
-- helpers shared by the test/*.sql files.
CREATE SCHEMA tap;

-- Run one query as another role; its first column as text, or 'ERROR <sqlstate>: <message>'.
CREATE FUNCTION tap.as_role(r text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    res text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    BEGIN
        EXECUTE q INTO res;
    EXCEPTION WHEN OTHERS THEN
        res := 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
    END;
    RESET ROLE;
    RETURN res;
END
$$;

-- Run one statement that returns no rows as another role: 'done' or 'ERROR <sqlstate>: <message>'.
CREATE FUNCTION tap.as_role_do(r text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    res text := 'done';
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    BEGIN
        EXECUTE q;
    EXCEPTION WHEN OTHERS THEN
        res := 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
    END;
    RESET ROLE;
    RETURN res;
END
$$;

-- The plan of a query (EXPLAIN, costs off), one line per plan line; opts e.g. 'ANALYZE, FORMAT JSON'.
CREATE FUNCTION tap.plan(q text, opts text DEFAULT 'COSTS OFF') RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    res  text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (' || opts || ') ' || q LOOP
        res := res || line || E'\n';
    END LOOP;
    RETURN res;
END
$$;
