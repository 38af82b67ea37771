#!/usr/bin/env bash
# Bench of masked-view reads (a part of `make bench`): 1,000,000 rows read by a
# masked role through a masked view with mask_email and mask_phone on two
# columns, against reading the base table with the same two columns through
# md5(); then the plan of a filter on an unmasked, indexed column through the
# masked view (it must stay an Index Scan).  Best of BENCH_RUNS runs (3).
# Then pgbench point SELECTs (2 clients, prepared): the masked role through
# its masked view against the owner on the base table (target >= 0.95x), and
# an unmasked ordinary role through an ordinary view with the same two masks
# (PostgreSQL's own cost of such a view; the masked view against it is the
# share of privacy).
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
psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" -f scripts/bench_clients.sql

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
cat > "$CLUSTER_DIR/plain.sql" <<SQL
\set id random(1, $ROWS)
SELECT id, email, phone, country FROM public.bench_clients_plain WHERE id = :id;
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
# max <a> <b>: the greater of two TPS figures
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > a) ? b : a }'; }
best_masked=0; best_owner=0; best_plain=0
for i in $(seq "$RUNS"); do
    best_masked=$(max "$best_masked" "$(tps privacy_bench_bi "$CLUSTER_DIR/masked.sql")")
    best_owner=$(max "$best_owner" "$(tps postgres "$CLUSTER_DIR/owner.sql")")
    best_plain=$(max "$best_plain" "$(tps privacy_bench_plain "$CLUSTER_DIR/plain.sql")")
done
pratio=$(awk -v m="$best_masked" -v o="$best_owner" 'BEGIN { printf "%.3f", m / o }')
vratio=$(awk -v m="$best_masked" -v p="$best_plain" 'BEGIN { printf "%.3f", m / p }')
echo
echo "== pgbench point SELECT, 2 clients, prepared, ${SECS}s x $RUNS (best)"
printf '%-58s %10.0f tps\n' "masked role through privacy_masked.bench_clients" "$best_masked"
printf '%-58s %10.0f tps\n' "owner on public.bench_clients" "$best_owner"
printf '%-58s %10.0f tps\n' "ordinary role, ordinary view with the same two masks" "$best_plain"
printf '%-58s %10s    (target: at least 0.95)\n' "ratio masked / owner" "$pratio"
printf '%-58s %10s    (privacy'"'"'s own share)\n' "ratio masked view / ordinary view" "$vratio"
