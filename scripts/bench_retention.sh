#!/usr/bin/env bash
# Retention benchmarks (a part of make bench):
#  1. purging 1,000,000 expired rows out of 2,000,000 with CALL privacy.run_purge()
#     in batches of 10,000, against one plain DELETE ... WHERE expires_at < now(),
#     while a single-row UPDATE loop on a non-expired row reports its longest wait;
#  2. INSERT ... SELECT of 1,000,000 rows with and without the retention trigger;
#  3. the same purge with one subject under a legal hold, against none (at most 1.2x).
# BENCH_ROWS changes the size (default 1000000).  Runs its own cluster.
N=${BENCH_ROWS:-1000000}
PART_SETTINGS=("max_wal_size = '4GB'" "checkpoint_timeout = '30min'" "max_parallel_workers_per_gather = 0")
. "$(dirname "$0")/bench_part.sh"

q "CREATE EXTENSION privacy"
# Both tables: N expired rows and N kept rows, an index on expires_at.
load() {
    q "CREATE TABLE $1 (id bigint PRIMARY KEY, since timestamptz NOT NULL, payload text, expires_at timestamptz)"
    q "CREATE INDEX ON $1 (expires_at)"
    [ "$2" = retained ] && q "SELECT privacy.set_retention('$1', '30 days', 'since')" >/dev/null
    q "INSERT INTO $1 (id, since, payload, expires_at)
       SELECT g, CASE WHEN g % 2 = 0 THEN now() - interval '60 days' ELSE now() END, md5(g::text),
              CASE WHEN g % 2 = 0 THEN now() - interval '30 days' ELSE now() + interval '30 days' END
       FROM generate_series(1, 2 * $N) g"
    q "VACUUM ANALYZE $1"
}

echo "== purge of $N expired rows out of $((2 * N))"
load bench_plain plain
# both timed runs start right after a checkpoint, so both pay the same full-page writes
q "CHECKPOINT"
PLAIN_MS=$(timed "DELETE FROM bench_plain WHERE expires_at < now()")
load bench_retained retained
q "CHECKPOINT"
# a single-row UPDATE loop on a kept row, timed statement by statement
awk 'BEGIN { for (i = 0; i < 2000000; i++) print "UPDATE bench_retained SET payload = \x27touched\x27 WHERE id = 1;" }' > "$WORK/updates.sql"
psql -X -q -d postgres -c '\timing on' -f "$WORK/updates.sql" > "$WORK/updates.out" 2>&1 &
UPDATER=$!
sleep 1
PURGE_MS=$(timed "CALL privacy.run_purge(batch_size => 10000)")
sleep 0.5
kill $UPDATER 2>/dev/null || true
wait $UPDATER 2>/dev/null || true
UPDATES=$(grep -c '^Time:' "$WORK/updates.out" || true)
MAX_WAIT=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$WORK/updates.out" | sort -g | tail -1)
LEFT=$(q "SELECT count(*) FROM bench_retained WHERE expires_at < now()")
PLAIN_RATE=$(rate "$N" "$PLAIN_MS")
PURGE_RATE=$(rate "$N" "$PURGE_MS")
printf 'plain DELETE:                 %10.0f ms  %9s rows/s\n' "$PLAIN_MS" "$PLAIN_RATE"
printf 'run_purge (batches of 10000): %10.0f ms  %9s rows/s  (%s of plain; expired rows left: %s)\n' \
       "$PURGE_MS" "$PURGE_RATE" "$(awk -v a="$PURGE_RATE" -v b="$PLAIN_RATE" 'BEGIN { printf "%.2fx", a / b }')" "$LEFT"
printf 'concurrent single-row UPDATE: %s statements, longest %s ms\n' "$UPDATES" "$MAX_WAIT"

echo "== INSERT ... SELECT of $N rows"
for t in bench_ins_plain bench_ins_retained; do
    q "CREATE TABLE $t (id bigint PRIMARY KEY, since timestamptz NOT NULL, payload text, expires_at timestamptz)"
    q "CREATE INDEX ON $t (expires_at)"
done
q "SELECT privacy.set_retention('bench_ins_retained', '30 days', 'since')" >/dev/null
q "CHECKPOINT"
INS_PLAIN=$(timed "INSERT INTO bench_ins_plain (id, since, payload, expires_at)
                   SELECT g, now(), md5(g::text), now() + interval '30 days' FROM generate_series(1, $N) g")
q "CHECKPOINT"
INS_RET=$(timed "INSERT INTO bench_ins_retained (id, since, payload)
                 SELECT g, now(), md5(g::text) FROM generate_series(1, $N) g")
printf 'without retention:            %10.0f ms\n' "$INS_PLAIN"
printf 'with the retention trigger:   %10.0f ms  (%s)\n' "$INS_RET" \
       "$(awk -v a="$INS_RET" -v b="$INS_PLAIN" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }')"

# 3. The hold check is index-driven: purging N expired rows of a registered
#    subject table with one subject under a legal hold costs at most 1.2x the
#    same purge with no hold.  One table, purged by privacy.purge() in a
#    transaction that is rolled back, with and without the hold in turn, five
#    times each: the medians are compared (alternating evens out other load).
echo "== purge of $N expired rows with one held subject (median of 5, alternating)"
q "DROP TABLE bench_retained, bench_plain, bench_ins_plain, bench_ins_retained"
q "CREATE TABLE bench_subjects (id bigint PRIMARY KEY, subscriber text NOT NULL, since timestamptz NOT NULL,
                                payload text, expires_at timestamptz)"
q "CREATE INDEX ON bench_subjects (expires_at)"
q "CREATE INDEX ON bench_subjects (subscriber)"
q "SELECT privacy.register_subject_table('bench_subjects', 'subscriber')" >/dev/null
q "SELECT privacy.set_retention('bench_subjects', '30 days', 'since')" >/dev/null
q "INSERT INTO bench_subjects (id, subscriber, since, payload)
   SELECT g, 's' || (g % 100000), CASE WHEN g % 2 = 0 THEN now() - interval '60 days' ELSE now() END, md5(g::text)
   FROM generate_series(1, 2 * $N) g"
q "VACUUM ANALYZE bench_subjects"
# Milliseconds of the purge() statement of a rolled-back transaction; $1: statements before it.
purge_ms() {
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'BEGIN' -c "$1" -c '\timing on' \
         -c 'SELECT count(*) FROM privacy.purge(batch_size => 10000)' -c 'ROLLBACK' \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: > "$WORK/nohold"; : > "$WORK/hold"
for i in 1 2 3 4 5; do
    purge_ms "SELECT 1" >> "$WORK/nohold"
    purge_ms "SELECT privacy.place_hold('bench', subject => 's42')" >> "$WORK/hold"
done
HELD=$(psql -X -A -t -q -d postgres -c 'BEGIN' -c "SELECT FROM privacy.place_hold('bench', subject => 's42')" \
            -c 'SELECT FROM privacy.purge()' -c 'SELECT count(*) FROM bench_subjects WHERE expires_at < now()' -c 'ROLLBACK')
NOHOLD_MS=$(median < "$WORK/nohold")
HOLD_MS=$(median < "$WORK/hold")
printf 'no hold:                      %10.0f ms  %9s rows/s  (runs: %s)\n' "$NOHOLD_MS" "$(rate "$N" "$NOHOLD_MS")" \
       "$(tr '\n' ' ' < "$WORK/nohold" | sed 's/ $//')"
printf 'one held subject:             %10.0f ms  %9s rows/s  (runs: %s)\n' "$HOLD_MS" "$(rate "$N" "$HOLD_MS")" \
       "$(tr '\n' ' ' < "$WORK/hold" | sed 's/ $//')"
printf 'ratio held / no hold:         %10s     (target: at most 1.20x; held expired rows kept: %s)\n' \
       "$(awk -v a="$HOLD_MS" -v b="$NOHOLD_MS" 'BEGIN { printf "%.2fx", a / b }')" "$HELD"
