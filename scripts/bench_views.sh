#!/usr/bin/env bash
# Bench of masked-view reads (a part of `make bench`): 1,000,000 rows read by a
# masked role through a masked view with mask_email and mask_phone on two
# columns, against reading the base table with the same two columns through
# md5(); then the plan of a filter on an unmasked, indexed column through the
# masked view (it must stay an Index Scan).  Best of BENCH_RUNS runs (3).
# Then pgbench point SELECTs (2 clients, prepared): the masked role through
# its masked view against the owner on the base table (target >= 0.95x).
# Standalone: bash scripts/bench_views.sh (PRIVACY_PG_ROOT works as for tests).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-3}

ensure_packages
build_install
start_cluster "max_parallel_workers_per_gather = 0"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE privacy_bench_views"
export PGDATABASE=privacy_bench_views
echo "== loading $ROWS rows"
psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION privacy;
CREATE TABLE bench_clients (id int PRIMARY KEY, email text, phone text, country text);
INSERT INTO bench_clients
SELECT g, 'user' || g || '@mail.example', '+1-650-' || lpad((g % 1000)::text, 3, '0') || '-' || lpad((g % 10000)::text, 4, '0'),
       (ARRAY['US', 'FR', 'DE'])[1 + g % 3]
FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE bench_clients;
SECURITY LABEL FOR privacy ON COLUMN bench_clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN bench_clients.phone IS 'MASKED WITH FUNCTION privacy.mask_phone(phone)';
CREATE ROLE privacy_bench_bi LOGIN;
SECURITY LABEL FOR privacy ON ROLE privacy_bench_bi IS 'MASKED';
-- masked views are security_invoker: the masked role reads what it is granted
GRANT SELECT ON bench_clients TO privacy_bench_bi;
SQL

# best_ms <role> <sql>: the fastest of RUNS timed runs, in milliseconds
best_ms() {
    local i
    for i in $(seq "$RUNS"); do
        psql -X -q -U "$1" -c '\timing on' -c "$2" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
    done | sort -n | head -1
}

masked=$(best_ms privacy_bench_bi "SELECT count(email), count(phone) FROM privacy_masked.bench_clients")
base=$(best_ms postgres "SELECT count(md5(email)), count(md5(phone)) FROM public.bench_clients")
ratio=$(awk -v m="$masked" -v b="$base" 'BEGIN { printf "%.2f", m / b }')
echo
echo "== masked-view reads, $ROWS rows (best of $RUNS)"
printf '%-58s %10s ms\n' "masked view, mask_email + mask_phone (as a masked role)" "$masked"
printf '%-58s %10s ms\n' "base table, md5(email) + md5(phone)" "$base"
printf '%-58s %10s    (target: at most 1.50)\n' "ratio masked / md5 baseline" "$ratio"
echo
echo "== a filter on an unmasked, indexed column through the masked view"
psql -X -q -U privacy_bench_bi -c "EXPLAIN (COSTS OFF) SELECT * FROM privacy_masked.bench_clients WHERE id = 4242"
if psql -X -A -t -q -U privacy_bench_bi -c "EXPLAIN (COSTS OFF) SELECT * FROM privacy_masked.bench_clients WHERE id = 4242" \
       | grep -q "Index Scan"; then
    echo "Index Scan kept through the masked view"
else
    echo "no Index Scan through the masked view" >&2; exit 1
fi
awk -v r="$ratio" 'BEGIN { exit !(r <= 1.5) }' || { echo "masked reads cost more than 1.5x the md5 baseline" >&2; exit 1; }

# pgbench point SELECTs: masked role through its view vs owner on the base table
SECS=${BENCH_PGBENCH_SECS:-10}
cat > "$CLUSTER_DIR/masked.sql" <<SQL
\set id random(1, $ROWS)
SELECT id, email, phone, country FROM privacy_masked.bench_clients WHERE id = :id;
SQL
cat > "$CLUSTER_DIR/owner.sql" <<SQL
\set id random(1, $ROWS)
SELECT id, email, phone, country FROM public.bench_clients WHERE id = :id;
SQL
# tps <role> <script>: pgbench TPS (excluding connection time)
tps() {
    $PGBIN/pgbench -n -M prepared -c 2 -j 2 -T "$SECS" -U "$1" -f "$2" privacy_bench_views 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1
}
best_masked=0; best_owner=0
for i in $(seq "$RUNS"); do
    m=$(tps privacy_bench_bi "$CLUSTER_DIR/masked.sql"); o=$(tps postgres "$CLUSTER_DIR/owner.sql")
    best_masked=$(awk -v a="$best_masked" -v b="$m" 'BEGIN { print (b > a) ? b : a }')
    best_owner=$(awk -v a="$best_owner" -v b="$o" 'BEGIN { print (b > a) ? b : a }')
done
pratio=$(awk -v m="$best_masked" -v o="$best_owner" 'BEGIN { printf "%.3f", m / o }')
echo
echo "== pgbench point SELECT, 2 clients, prepared, ${SECS}s x $RUNS (best)"
printf '%-58s %10.0f tps\n' "masked role through privacy_masked.bench_clients" "$best_masked"
printf '%-58s %10.0f tps\n' "owner on public.bench_clients" "$best_owner"
printf '%-58s %10s    (target: at least 0.95)\n' "ratio masked / owner" "$pratio"
