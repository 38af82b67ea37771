#!/usr/bin/env bash
# Large tables online (part of make bench):
# - OLTP: pgbench, 2 clients, single-row INSERT + UPDATE of a table with two
#   protected columns and a retention policy vs the same table plain (target
#   >= 0.85x the plain TPS);
# - online protect of BENCH_ONLINE_ROWS rows (default 1,000,000) while a
#   single-row writer runs: the writer's longest statement (target <= 200 ms)
#   and the total time vs the one-transaction protect_column (target <= 1.5x);
# - deterministic lookup through protected_value on those rows: plan and
#   latency (target: Index Scan, < 1 ms);
# - decrypt_text over BENCH_PARALLEL_ROWS rows (default 2,000,000) with 0 and
#   2 parallel workers (target >= 1.6x).
# A report: exits 0 whether or not targets are met.
N=${BENCH_ONLINE_ROWS:-1000000}
P=${BENCH_PARALLEL_ROWS:-2000000}
SECS=${BENCH_OLTP_SECONDS:-20}
PART_SETTINGS=("shared_buffers = '1GB'" "jit = off" "max_wal_size = '8GB'" "checkpoint_timeout = '30min'"
               "max_parallel_workers_per_gather = 0")  # the parallel part sets its own
. "$(dirname "$0")/bench_part.sh"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
q "CREATE EXTENSION privacy"

echo "== OLTP: pgbench, 2 clients, ${SECS}s each: INSERT + UPDATE of one row"
for t in oltp_plain oltp_prot; do
    q "CREATE TABLE $t (id bigint PRIMARY KEY, email text, phone text, since timestamptz NOT NULL DEFAULT now(),
                        note text, expires_at timestamptz)"
    q "INSERT INTO $t (id, email, phone, note) SELECT g, 'u' || g || '@x.example', '+1-650-555-' || g, 'n'
       FROM generate_series(1, 100000) g"
    q "CREATE SEQUENCE ${t}_ids START 100001"
done
q "SELECT privacy.protect_column('oltp_prot', 'email', deterministic => true)" >/dev/null
q "SELECT privacy.protect_column('oltp_prot', 'phone')" >/dev/null
q "SELECT privacy.set_retention('oltp_prot', '30 days', 'since')" >/dev/null
q "VACUUM ANALYZE oltp_plain"; q "VACUUM ANALYZE oltp_prot"
declare -A TPS
for t in oltp_plain oltp_prot; do
    cat > "$WORK/$t.sql" <<SQL
\set id random(1, 100000)
INSERT INTO $t (id, email, phone, note) SELECT s, 'n' || s || '@x.example', '+1-650-555-0000', 'i' FROM nextval('${t}_ids') s;
UPDATE $t SET email = 'v' || :id || '@x.example', phone = '+1-650-555-1111', note = 'u' WHERE id = :id;
SQL
    q "CHECKPOINT"
    TPS[$t]=$($PGBIN/pgbench -n -c 2 -j 2 -T "$SECS" -f "$WORK/$t.sql" postgres 2>/dev/null |
              sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -1)
done
printf 'plain table:                         %8.0f TPS\n' "${TPS[oltp_plain]}"
printf '2 protected columns + retention:     %8.0f TPS  (%s of plain; target >= 0.85x)\n' \
       "${TPS[oltp_prot]}" "$(ratio "${TPS[oltp_prot]}" "${TPS[oltp_plain]}")"

echo "== protect of $N rows: one transaction vs online with a single-row writer"
for t in on_tx on_online; do
    q "CREATE TABLE $t (id bigint PRIMARY KEY, email text, note text)"
    q "INSERT INTO $t SELECT g, 'u' || g || '@x.example', 'n' FROM generate_series(1, $N) g"
    q "CREATE UNIQUE INDEX ON $t (email)"
    q "VACUUM ANALYZE $t"
done
q "CHECKPOINT"
TX_MS=$(timed "SELECT privacy.protect_column('on_tx', 'email', deterministic => true)")
q "CHECKPOINT"
# the writer: single-row UPDATEs, each committed and timed in the server
psql -X -q -v ON_ERROR_STOP=1 -d postgres -f scripts/writer.sql >/dev/null
psql -X -q -d postgres -c "CALL writer('on_online', $N)" > "$WORK/writer.out" 2>&1 &
WRITER=$!
sleep 1
ON_MS=$(timed "CALL privacy.protect_column_online('on_online', 'email', deterministic => true, notice_every => 0)")
sleep 0.5
q "UPDATE w_stats SET stop = true"
wait $WRITER 2>/dev/null || true
W_MAX=$(q "SELECT round(max_ms::numeric, 1) FROM w_stats")
W_N=$(q "SELECT statements FROM w_stats")
printf 'protect_column (one transaction):    %8.0f ms\n' "$TX_MS"
printf 'protect_column_online:               %8.0f ms  (%s of one transaction; target <= 1.5x)\n' \
       "$ON_MS" "$(ratio "$ON_MS" "$TX_MS")"
printf 'concurrent single-row UPDATE:        %s statements, longest %s ms (target <= 200 ms)\n' "$W_N" "$W_MAX"

echo "== deterministic lookup on $N rows"
q "ANALYZE on_online"
PLAN=$(q "EXPLAIN (COSTS OFF) SELECT id FROM on_online WHERE email = privacy.protected_value('on_online', 'email', 'u4242@x.example')" | head -1)
LOOKUP=$(psql -X -A -t -q -d postgres <<'SQL' | tail -1
CREATE FUNCTION pg_temp.ms(i int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE format('EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) SELECT id FROM on_online
                    WHERE email = privacy.protected_value(''on_online'', ''email'', %L)', 'u' || i || '@x.example')
       INTO plan;
    RETURN (plan -> 0 ->> 'Execution Time')::float8;
END $$;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_temp.ms(i)) FROM generate_series(1, 51) i;
SQL
)
printf 'plan: %s; median execution %.3f ms over 51 lookups (target: Index Scan, < 1 ms)\n' "$PLAN" "$LOOKUP"

echo "== decrypt_text over $P rows: 0 and 2 parallel workers"
q "CREATE TABLE par AS SELECT g, privacy.encrypt(md5(g::text)) AS c FROM generate_series(1, $P) g"
q "VACUUM ANALYZE par"
PAR=$(psql -X -A -t -q -d postgres <<'SQL' | tail -1
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
SELECT pg_prewarm('par');
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
CREATE FUNCTION pg_temp.ms(workers int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    PERFORM set_config('max_parallel_workers_per_gather', workers::text, true);
    EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) SELECT count(privacy.decrypt_text(c)) FROM par'
       INTO plan;
    RETURN (plan -> 0 ->> 'Execution Time')::float8;
END $$;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_temp.ms(0)) || '|' ||
       percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_temp.ms(2)) FROM generate_series(1, 3);
SQL
)
P0=${PAR%|*} P2=${PAR#*|}
printf '0 workers: %8.0f ms\n2 workers: %8.0f ms  (%s faster; target >= 1.6x)\n' "$P0" "$P2" "$(ratio "$P0" "$P2")"
exit 0
