#!/usr/bin/env bash
# make bench: time privacy's functions against pgcrypto and against a plain
# baseline scan, count(md5(x)), over 1,000,000 rows, and print one table.
#
# How it measures (see doc/bench.md):
# - a throwaway cluster with shared_buffers = 1GB, no parallel workers, no JIT;
# - one table t with every input column precomputed (so that only the function
#   under test differs from the baseline), VACUUM ANALYZEd and pg_prewarm'ed;
# - every query is "SELECT count(f(col)) FROM t", run 3 times in ONE psql
#   session (round-robin: every query once, then again) through
#   EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON): the reported number
#   is the median "Execution Time" (executor time only: no parsing, planning
#   or client round trip, no per-row timing overhead).
#
# It is a report: it exits 0 whether or not targets are met, and non-zero only
# when something fails to run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

ROWS=1000000
RUNS=${BENCH_RUNS:-3}   # runs per query; raise it on a busy machine
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: BENCH_RUNS must be a positive integer" >&2; exit 1; }

# ---------------------------------------------------------------- benchmarks
# Each benchmark is registered by one call:
#   bench KEY LABEL REQUIRED_FUNCTIONS QUERY TARGETS [SCALE]
# REQUIRED_FUNCTIONS: space-separated regprocedure signatures; the benchmark
#   is skipped with a note when one does not exist ("" = always run).
# TARGETS: ";"-separated clauses, all of which must hold for "met? yes":
#   x:R            ms <= R x the baseline
#   vs:KEY:R       ms <= R x the ms of benchmark KEY
#   faster:KEY:F   the ms of benchmark KEY >= F x ms
#   rate:N         ROWS / seconds >= N rows/s
#   ""             no target (informative row)
# SCALE: multiply the measured time by it (for a run over a subset of rows).
KEYS=()
declare -A LABEL REQUIRES QUERY TARGET SCALE MS SPREAD AVAILABLE
bench() {
    local key=$1
    KEYS+=("$key")
    LABEL[$key]=$2 REQUIRES[$key]=$3 QUERY[$key]=$4 TARGET[$key]=$5 SCALE[$key]=${6:-1}
}

AES_KEY="'\\x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'::bytea"
bench md5      "baseline count(md5(x))"        "" \
    "SELECT count(md5(x)) FROM t" ""
bench pgc_enc  "pgcrypto encrypt(x, aes-256)"  "" \
    "SELECT count(encrypt(convert_to(x, 'UTF8'), $AES_KEY, 'aes')) FROM t" ""
bench pgp      "pgcrypto pgp_sym_encrypt(x) [10k rows x100]" "" \
    "SELECT count(pgp_sym_encrypt(x, 'secret')) FROM (SELECT x FROM t LIMIT $((ROWS / 100))) s" "" 100
bench hmac     "pgcrypto hmac(x, sha256)"      "" \
    "SELECT count(hmac(x, 'key', 'sha256')) FROM t" ""
bench encrypt  "privacy.encrypt(x)"            "privacy.encrypt(text,text,text)" \
    "SELECT count(privacy.encrypt(x)) FROM t" "x:1.0;vs:pgc_enc:0.75;faster:pgp:100"
bench decrypt  "privacy.decrypt_text(c)"       "privacy.decrypt_text(bytea,text)" \
    "SELECT count(privacy.decrypt_text(c)) FROM t" "x:1.0"
bench det      "privacy.encrypt_deterministic(x)" "privacy.encrypt_deterministic(text,text,text)" \
    "SELECT count(privacy.encrypt_deterministic(x)) FROM t" "x:2.0"
bench det_dec  "privacy.decrypt_text(cd) [deterministic]" "privacy.decrypt_text(bytea,text)" \
    "SELECT count(privacy.decrypt_text(cd)) FROM t" ""
bench blind    "privacy.blind_index(x)"        "privacy.blind_index(text,text,integer)" \
    "SELECT count(privacy.blind_index(x)) FROM t" "x:1.0"
bench pseudo   "privacy.pseudonymize(x)"       "privacy.pseudonymize(text,text)" \
    "SELECT count(privacy.pseudonymize(x)) FROM t" "vs:hmac:1.0"
bench tokenize "privacy.tokenize(d) [10 digits]" "privacy.tokenize(text,text)" \
    "SELECT count(privacy.tokenize(d)) FROM t" "rate:300000"
bench detok    "privacy.detokenize(tok)"       "privacy.tokenize(text,text) privacy.detokenize(text,text)" \
    "SELECT count(privacy.detokenize(tok)) FROM t" ""
bench m_email  "privacy.mask_email(email)"     "privacy.mask_email(text)" \
    "SELECT count(privacy.mask_email(email)) FROM t" "x:1.5"
bench m_phone  "privacy.mask_phone(phone)"     "privacy.mask_phone(text)" \
    "SELECT count(privacy.mask_phone(phone)) FROM t" "x:1.5"
bench t_ip     "privacy.truncate_ip(ip)"       "privacy.truncate_ip(inet,integer,integer)" \
    "SELECT count(privacy.truncate_ip(ip)) FROM t" "x:1.5"
bench f_email  "privacy.fake_email(email)"     "privacy.fake_email(text)" \
    "SELECT count(privacy.fake_email(email)) FROM t" "x:0.5"
bench f_name   "privacy.fake_name(x)"          "privacy.fake_name(text)" \
    "SELECT count(privacy.fake_name(x)) FROM t" "x:0.5"
bench f_phone  "privacy.fake_phone(phone)"     "privacy.fake_phone(text)" \
    "SELECT count(privacy.fake_phone(phone)) FROM t" ""

# ------------------------------------------------------------------- helpers
# psql against the bench database: quiet, unaligned, tuples only, stop on error.
q() { psql -X -q -A -t -F'|' -v ON_ERROR_STOP=1 -d bench "$@"; }

# Busy CPU time of the whole machine so far, in seconds (user+nice+system+irq+softirq).
cpu_busy() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat; }

# Floating-point arithmetic and comparison through awk.
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
holds() { awk "BEGIN { exit !($1) }"; }

# Set the globals TEXT and OK for benchmark KEY's target clauses.
evaluate() {
    local key=$1 ms=${MS[$1]} base=${MS[md5]} clause r
    local -a parts clauses
    TEXT="" OK=yes
    [ -n "${TARGET[$key]}" ] || { TEXT="-" OK="-"; return; }
    IFS=';' read -r -a clauses <<< "${TARGET[$key]}"
    for clause in "${clauses[@]}"; do
        IFS=':' read -r -a parts <<< "$clause"
        case ${parts[0]} in
        x)      TEXT+="<= ${parts[1]}x baseline"
                holds "$ms <= ${parts[1]} * $base" || OK=no ;;
        vs)     r=$(calc "$ms / ${MS[${parts[1]}]}")
                TEXT+="<= ${parts[2]}x ${LABEL[${parts[1]}]%%(*} (is ${r}x)"
                holds "$ms <= ${parts[2]} * ${MS[${parts[1]}]}" || OK=no ;;
        faster) r=$(awk "BEGIN { printf \"%.0f\", ${MS[${parts[1]}]} / $ms }")
                TEXT+=">= ${parts[2]}x faster than ${LABEL[${parts[1]}]%%(*} (is ${r}x)"
                holds "${MS[${parts[1]}]} >= ${parts[2]} * $ms" || OK=no ;;
        rate)   r=$(awk "BEGIN { printf \"%.0f\", $ROWS / ($ms / 1000) }")
                TEXT+=">= ${parts[1]} rows/s (is $r)"
                holds "$ROWS / ($ms / 1000) >= ${parts[1]}" || OK=no ;;
        *)      echo "bench.sh: unknown target clause '$clause'" >&2; exit 1 ;;
        esac
        TEXT+="; "
    done
    TEXT=${TEXT%; }
}

# Pad "|"-separated rows into aligned columns.
print_table() {
    awk -F'|' '
        { n = NR; for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
          if (NF > nf) nf = NF }
        END { for (r = 1; r <= n; r++) { line = ""
                for (i = 1; i <= nf; i++) line = line (i < nf ? sprintf("%-" w[i] "s | ", cell[r, i]) : cell[r, i])
                print line
                if (r == 1) { sep = ""; for (i = 1; i <= nf; i++) { s = sprintf("%" w[i] "s", ""); gsub(/ /, "-", s); sep = sep s (i < nf ? "-+-" : "") }
                              print sep } } }'
}

# ------------------------------------------------------------------- set-up
ensure_packages
build_install
# JIT off: it would add compile time to every 1M-row query without speeding
# up calls to C functions, blurring the comparison.
start_cluster "shared_buffers = '1GB'" "jit = off" "max_parallel_workers_per_gather = 0"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE bench"
q -c "CREATE EXTENSION privacy; CREATE EXTENSION pgcrypto; CREATE EXTENSION pg_prewarm;"

# Which benchmarks can run: all their functions exist (another engineer may
# not have added them yet).
values=""
for key in "${KEYS[@]}"; do
    for sig in ${REQUIRES[$key]}; do values+="('$key', '$sig'), "; done
    values+="('$key', NULL), "
done
available=$(q -c "SELECT k FROM (VALUES ${values%, }) v(k, s) GROUP BY k
                  HAVING bool_and(s IS NULL OR to_regprocedure(s) IS NOT NULL)")
for key in $available; do AVAILABLE[$key]=1; done

# One table with every input precomputed, so each query differs from the
# baseline only by the function under test.  tok needs privacy.tokenize.
tok_col="NULL::text"
[ -z "${AVAILABLE[detok]:-}" ] || tok_col="privacy.tokenize(d)"
echo "== building $ROWS rows"
q <<SQL
CREATE TABLE t AS
SELECT g, x, x || '@example.com' AS email, d,
       '+1-650-' || substr(d, 1, 3) || '-' || substr(d, 4, 4) AS phone,
       '10.0.0.0'::inet + g AS ip,
       privacy.encrypt(x) AS c, privacy.encrypt_deterministic(x) AS cd,
       $tok_col AS tok
FROM (SELECT g, md5(g::text) || md5((g * 7)::text) AS x, (1000000000 + g)::text AS d
      FROM generate_series(1, $ROWS) g) s;
VACUUM ANALYZE t;
CHECKPOINT;
SQL
sync   # let the kernel write the new table out now, not during the timing

# ------------------------------------------------------------------- timing
# Everything below runs in ONE psql session.  bench_ms() runs a query under
# EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) and returns its "Execution Time".
# The $RUNS runs go round-robin (every query once, then again...), so a burst
# of load from another process spoils one sample of several queries rather
# than every sample of one; the median of each query's runs is reported.
echo "== timing ($RUNS rounds, median)"
{
    cat <<'SQL'
CREATE FUNCTION pg_temp.bench_ms(query text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 ->> 'Execution Time')::float8;
END $$;
-- warm the cache: the whole table into shared_buffers, then one untimed scan
SELECT 'prewarm', pg_prewarm('t') > 0;
SELECT 'warmup', count(md5(x)) > 0 FROM t;
SQL
    for ((run = 1; run <= RUNS; run++)); do
        for key in "${KEYS[@]}"; do
            [ -n "${AVAILABLE[$key]:-}" ] || continue
            printf "SELECT '%s', pg_temp.bench_ms(\$q\$%s\$q\$);\n" "$key" "${QUERY[$key]}"
        done
    done
} > "$CLUSTER_DIR/bench.sql"
busy0=$(cpu_busy) start=$(date +%s.%N)
q -f "$CLUSTER_DIR/bench.sql" | grep -v -E '^(prewarm|warmup)\|' > "$CLUSTER_DIR/bench.out"
# CPU that other processes used meanwhile: busy time minus one core for our backend.
busy=$(calc "$(cpu_busy) - $busy0") elapsed=$(calc "$(date +%s.%N) - $start")
other_load=$(awk "BEGIN { v = $busy / $elapsed - 1; printf \"%.2f\", v < 0 ? 0 : v }")
# Per query: median, min and max of its runs (sorted by key, then by time;
# for an even BENCH_RUNS the lower of the two middle runs).
sort -t'|' -k1,1 -k2,2g "$CLUSTER_DIR/bench.out" |
    awk -F'|' '{ v[$1] = v[$1] " " $2 }
               END { for (k in v) { n = split(v[k], a, " "); print k, a[int((n + 1) / 2)], a[1], a[n] } }' \
    > "$CLUSTER_DIR/bench.median"
while read -r key median lo _; do
    MS[$key]=$(calc "$median * ${SCALE[$key]}")
    # how far the median is above the fastest run: one disturbed run of three
    # does not move the median, two do
    SPREAD[$key]=$(calc "($median - $lo) * 100 / $lo")
done < "$CLUSTER_DIR/bench.median"

# ------------------------------------------------------------------- report
echo
echo "privacy benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "PostgreSQL: $(q -c 'SELECT version()')"
echo "CPU:        $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "Other load: ~$other_load cores busy with other processes during the timing (0 = quiet machine)"
echo "Rows:       $ROWS of ~64-character text; median of $RUNS round-robin runs of EXPLAIN ANALYZE \"Execution Time\""
echo
notes=()
worst_key=md5 worst=0
table="operation|ms ($((ROWS / 1000000))M rows)|ratio to count(md5(x))|target|met?"
for key in "${KEYS[@]}"; do
    if [ -z "${AVAILABLE[$key]:-}" ]; then
        table+=$'\n'"${LABEL[$key]}|skipped|-|-|-"
        notes+=("${LABEL[$key]} skipped: it needs ${REQUIRES[$key]// /, }, not all in this build")
        continue
    fi
    evaluate "$key"
    table+=$'\n'"${LABEL[$key]}|${MS[$key]}|$(calc "${MS[$key]} / ${MS[md5]}")x|$TEXT|$OK"
    if holds "${SPREAD[$key]} > $worst"; then worst=${SPREAD[$key]} worst_key=$key; fi
done
print_table <<< "$table"
echo
echo "[10k rows x100]: pgp_sym_encrypt ran on the first $((ROWS / 100)) rows; its time is multiplied by 100."
echo "Noise: the largest gap between a median and its fastest run is ${worst}% (${LABEL[$worst_key]});"
echo "       above ~10%, other processes disturbed most runs: run again (or raise BENCH_RUNS)."
for n in "${notes[@]}"; do echo "Note: $n"; done
stop_cluster

# The other parts, each on its own throwaway cluster.
for part in scripts/bench_views.sh scripts/bench_cost.sh scripts/bench_retention.sh scripts/bench_subject.sh scripts/bench_online.sh \
            scripts/bench_anonymize.sh; do
    [ -f "$part" ] || continue
    echo
    bash "$part" 2>&1 | grep -v -E '^== (building|cluster started|installing)'
done
exit 0
