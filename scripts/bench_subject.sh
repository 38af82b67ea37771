#!/usr/bin/env bash
# Data-subject latency: privacy.export_subject and privacy.erase_subject for a
# subject with ~50 rows (1 subscriber, 48 messages, 1 consent), at two sizes
# of the surrounding data (BENCH_SUBJECT_SMALL and BENCH_SUBJECT_LARGE message
# rows; defaults 100,000 and 10,000,000).  Index-driven work should cost the
# same at both sizes: the target is large <= 1.5 x small.
#
# Each size is its own database of one throwaway cluster (shared_buffers =
# 1GB, no JIT): subscribers (phone protected, 1 per 50 messages), messages
# (indexed on subscriber_id), consents.  Timings are the median of
# BENCH_SUBJECT_RUNS calls (default 7), each for a different subject, each
# measured in the server around the call (clock_timestamp()), after one
# warm-up call.  A report: exits 0 whether or not the target is met.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

SMALL=${BENCH_SUBJECT_SMALL:-100000}
LARGE=${BENCH_SUBJECT_LARGE:-10000000}
RUNS=${BENCH_SUBJECT_RUNS:-7}
for v in "$SMALL" "$LARGE" "$RUNS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench_subject.sh: sizes and runs must be positive integers" >&2; exit 1; }
done

ensure_packages
build_install
start_cluster "shared_buffers = '1GB'" "jit = off" "max_wal_size = '8GB'" "checkpoint_timeout = '30min'" "max_parallel_workers_per_gather = 0"

# Build one database with n message rows.
build() {
    local db=$1 n=$2 subs=$(( $2 / 48 ))
    psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null 2>&1 <<SQL
CREATE EXTENSION privacy;
CREATE TABLE subscribers (id int PRIMARY KEY, phone text, name text);
CREATE TABLE messages (id bigint PRIMARY KEY, subscriber_id int NOT NULL REFERENCES subscribers, body text,
                       sent_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE consents (id bigserial PRIMARY KEY, subscriber_id int NOT NULL REFERENCES subscribers,
                       purpose text, granted boolean);
INSERT INTO subscribers SELECT g, '+1-650-555-' || lpad((g % 10000)::text, 4, '0'), 'Subscriber ' || g
  FROM generate_series(1, $subs) g;
SELECT privacy.protect_column('subscribers', 'phone');
ALTER TABLE messages SET (autovacuum_enabled = off);
ALTER TABLE messages DROP CONSTRAINT messages_subscriber_id_fkey;
INSERT INTO messages (id, subscriber_id, body)
SELECT g, 1 + (g % $subs), 'Spring sale: 20% off with code SPRING' || g FROM generate_series(1, $n) g;
ALTER TABLE messages ADD FOREIGN KEY (subscriber_id) REFERENCES subscribers;
CREATE INDEX ON messages (subscriber_id);
INSERT INTO consents (subscriber_id, purpose, granted) SELECT g, 'marketing', true FROM generate_series(1, $subs) g;
CREATE INDEX ON consents (subscriber_id);
ALTER TABLE messages SET (autovacuum_enabled = on);
VACUUM ANALYZE;
SELECT privacy.register_subject_table('subscribers', 'id', '{contact}', 'SMS campaigns');
SQL
}

# Median ms of RUNS calls of one operation (export or erase) on subjects from first.
measure() {
    local db=$1 op=$2 first=$3 call
    if [ "$op" = export ]; then call="PERFORM privacy.export_subject(s::text)"
    else call="PERFORM privacy.erase_subject(s::text, 'bench')"; fi
    psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE TEMP TABLE ms (v float8);
DO \$\$
DECLARE s int; t timestamptz;
BEGIN
    s := $first;
    $call;                       -- warm-up
    FOR s IN $first + 1 .. $first + $RUNS LOOP
        t := clock_timestamp();
        $call;
        INSERT INTO ms VALUES (extract(epoch FROM clock_timestamp() - t) * 1000);
    END LOOP;
END
\$\$;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY v)::numeric, 2) FROM ms;
SQL
}

declare -A RESULT
for size in small large; do
    n=$SMALL; [ $size = large ] && n=$LARGE
    start=$(date +%s)
    echo "== building $n message rows"
    build "bench_$size" "$n"
    echo "   built in $(( $(date +%s) - start )) s"
    RESULT[$size,rows]=$(psql -X -A -t -d "bench_$size" -c "SELECT count(*) FROM messages WHERE subscriber_id = 1001")
    RESULT[$size,export]=$(measure "bench_$size" export 1000)
    RESULT[$size,erase]=$(measure "bench_$size" erase 2000)
done

echo
printf '%-28s %14s %14s %8s %6s\n' "operation (subject ~50 rows)" "$SMALL msgs" "$LARGE msgs" "ratio" "met?"
for op in export erase; do
    s=${RESULT[small,$op]} l=${RESULT[large,$op]}
    ratio=$(awk -v a="$s" -v b="$l" 'BEGIN { printf "%.2f", b / a }')
    met=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.5) ? "yes" : "no" }')
    printf '%-28s %11s ms %11s ms %8s %6s\n' "privacy.${op}_subject" "$s" "$l" "$ratio" "$met"
done
echo "(messages per subject: ${RESULT[small,rows]} and ${RESULT[large,rows]}; median of $RUNS calls; target ratio <= 1.5)"
