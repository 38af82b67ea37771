#!/usr/bin/env bash
# Static-masking benchmark (a part of `make bench`): CALL
# privacy.anonymize_table() on 1,000,000 rows (fake_name, fake_email,
# fake_phone and fake_city on four columns, the e-mail column UNIQUE, batches
# of 10,000 rows each committed) against the equivalent plain
# UPDATE ... SET col = expr of an identical table in one statement.  The
# procedure's time includes its checks (the unique index: GROUP BY over the
# masked e-mails).  Four tables, timed in the order plain, procedure,
# procedure, plain (so that a drift of the machine's load cancels out), each
# right after a checkpoint, autovacuum off; the sums are compared.  BENCH_ROWS changes
# the size.  Standalone: bash scripts/bench_anonymize.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
N=${BENCH_ROWS:-1000000}

ensure_packages
build_install
# autovacuum off: the plain UPDATE's million dead rows would otherwise be
# vacuumed while the procedure is timed
start_cluster "max_wal_size = '4GB'" "checkpoint_timeout = '30min'" "shared_buffers = '1GB'" "autovacuum = off"
DB=privacy_bench_anon
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
# Milliseconds taken by one SQL statement.
timed() { psql -X -q -v ON_ERROR_STOP=1 -d $DB -c '\timing on' -c "$1" 2>/dev/null | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1; }
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" -c "ALTER DATABASE $DB SET privacy.allow_static_masking = on"
q "CREATE EXTENSION privacy"
load() {
    q "CREATE TABLE $1 (id int PRIMARY KEY, name text, email text UNIQUE, phone text, city text, created_at timestamptz DEFAULT now())"
    q "INSERT INTO $1 (id, name, email, phone, city)
       SELECT g, 'Person ' || g, 'user' || g || '@mail.example',
              '+1-' || (200 + g / 10000000) || '-' || lpad((g % 1000)::text, 3, '0') || '-' || lpad((g / 1000 % 10000)::text, 4, '0'),
              'Town ' || (g % 5000)
       FROM generate_series(1, $N) g"
    q "VACUUM ANALYZE $1"
}
echo "== loading 4 x $N rows"
for t in bench_plain1 bench_anon1 bench_anon2 bench_plain2; do load $t; done
for t in bench_anon1 bench_anon2; do
    for c in "name:fake_name" "email:fake_email" "phone:fake_phone" "city:fake_city"; do
        q "SELECT privacy.mask_column('$t', '${c%%:*}', 'privacy.${c#*:}(${c%%:*})')" >/dev/null
    done
done
plain() { q "CHECKPOINT"; timed "UPDATE $1 SET name = privacy.fake_name(name), email = privacy.fake_email(email),
                                  phone = privacy.fake_phone(phone), city = privacy.fake_city(city)"; }
anon() { q "CHECKPOINT"; timed "CALL privacy.anonymize_table('$1', 10000)"; }
P1=$(plain bench_plain1); A1=$(anon bench_anon1); A2=$(anon bench_anon2); P2=$(plain bench_plain2)
PLAIN_MS=$(awk -v a="$P1" -v b="$P2" 'BEGIN { printf "%.0f", (a + b) / 2 }')
ANON_MS=$(awk -v a="$A1" -v b="$A2" 'BEGIN { printf "%.0f", (a + b) / 2 }')
SAME=$(q "SELECT count(*) FROM bench_anon1 a JOIN bench_plain2 p USING (id)
          WHERE (a.name, a.email, a.phone, a.city) = (p.name, p.email, p.phone, p.city)")
[ "$SAME" = "$N" ] || { echo "anonymize_table and the plain UPDATE disagree on $((N - SAME)) rows" >&2; exit 1; }

rate() { awk -v n="$N" -v ms="$1" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }
RATIO=$(awk -v a="$ANON_MS" -v p="$PLAIN_MS" 'BEGIN { printf "%.2f", p / a }')
echo
echo "== static masking, $N rows, 4 columns (fake_name, fake_email UNIQUE, fake_phone, fake_city)"
printf '%-62s %10s ms %9s rows/s   (runs: %s, %s ms)\n' "plain UPDATE ... SET col = privacy.fake_*(col), one statement" "$PLAIN_MS" "$(rate "$PLAIN_MS")" "$P1" "$P2"
printf '%-62s %10s ms %9s rows/s   (runs: %s, %s ms)\n' "CALL privacy.anonymize_table(tbl, 10000), checks + batches" "$ANON_MS" "$(rate "$ANON_MS")" "$A1" "$A2"
printf '%-62s %10s    (target: at least 0.70)\n' "throughput anonymize_table / plain UPDATE" "$RATIO"
