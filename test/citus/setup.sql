-- Loaded once into the coordinator's database by scripts/test_citus.sh (not a
-- test file): helpers that run a query on every node (Citus's
-- run_command_on_all_nodes, so committed data only: the test files do not
-- wrap themselves in a transaction and clean up after themselves).
CREATE SCHEMA ct;

-- One row per node, coordinator first: whether the query succeeded and its
-- first value (or the error).
CREATE FUNCTION ct.on_all(q text)
RETURNS TABLE (nodeport int, coordinator boolean, success boolean, result text)
LANGUAGE sql AS $$
    SELECT n.nodeport, n.groupid = 0, c.success, c.result
      FROM run_command_on_all_nodes(q) c JOIN pg_dist_node n USING (nodeid)
     ORDER BY n.groupid <> 0, n.nodeport
$$;

-- The results of a query on every node, coordinator first.
CREATE FUNCTION ct.results(q text) RETURNS text[]
LANGUAGE sql AS $$ SELECT array_agg(CASE WHEN success THEN result ELSE 'ERROR: ' || result END) FROM ct.on_all(q) $$;

-- Whether a query gives one same non-NULL result on every node (3 nodes).
CREATE FUNCTION ct.same_everywhere(q text) RETURNS boolean
LANGUAGE sql AS $$
    SELECT count(*) = 3 AND bool_and(success) AND count(DISTINCT result) = 1 AND bool_and(result IS NOT NULL)
      FROM ct.on_all(q)
$$;

-- The result of a query run on the i-th worker (1 or 2) only.
CREATE FUNCTION ct.on_worker(i int, q text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN r.success THEN r.result ELSE 'ERROR: ' || r.result END
      FROM (SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 ORDER BY nodeport OFFSET i - 1 LIMIT 1) n,
           master_run_on_worker(ARRAY[n.nodename::text], ARRAY[n.nodeport], ARRAY[q], false) r
$$;

-- Run a statement, return 'done' or 'ERROR <sqlstate>: <message>'.
CREATE FUNCTION ct.try(q text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'done';
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END
$$;
