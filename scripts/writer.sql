-- A single-row writer for the online bulk operation test and benchmark:
-- CALL writer(tbl, last_id, ins_seq) UPDATEs one random row of tbl (ids 1 to
-- last_id) and, with ins_seq, INSERTs one row, each statement committed and
-- timed in the server, until w_stats.stop is set.  w_stats keeps the longest
-- statement (ms) and the number of statements.
CREATE TABLE w_stats (max_ms float8 NOT NULL DEFAULT 0, statements bigint NOT NULL DEFAULT 0,
                      stop boolean NOT NULL DEFAULT false);
INSERT INTO w_stats DEFAULT VALUES;
CREATE PROCEDURE writer(tbl regclass, last_id bigint, ins_seq regclass DEFAULT NULL) LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    m  float8 := 0;
    n  bigint := 0;
BEGIN
    LOOP
        t0 := clock_timestamp();
        EXECUTE format('UPDATE %s SET note = $1 WHERE id = $2', tbl)
          USING 'w' || n, 1 + (random() * (last_id - 1))::bigint;
        m := greatest(m, extract(epoch FROM clock_timestamp() - t0) * 1000);
        n := n + 1;
        COMMIT;
        IF ins_seq IS NOT NULL THEN
            t0 := clock_timestamp();
            EXECUTE format('INSERT INTO %s (id, email, note) SELECT s, ''new'' || s || ''@x.example'', ''i''
                            FROM nextval(%L) s', tbl, ins_seq);
            m := greatest(m, extract(epoch FROM clock_timestamp() - t0) * 1000);
            n := n + 1;
            COMMIT;
        END IF;
        UPDATE w_stats SET max_ms = greatest(max_ms, m), statements = w_stats.statements + 1 + (ins_seq IS NOT NULL)::int;
        COMMIT;
        EXIT WHEN (SELECT stop FROM w_stats);
        PERFORM pg_sleep(0.002);
    END LOOP;
END $$;
