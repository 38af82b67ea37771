#!/usr/bin/env bash
# Online bulk operations on a large table while another session writes:
# protect, re-encrypt and unprotect as procedures that commit every batch.
# A writer updates and inserts single rows the whole time and records its
# longest statement (fails above a generous 2 s; the tight figure is in make
# bench); a third session sees progress mid-run; the protect, the re-encrypt
# and the unprotect are killed (kill -9 of their backend) mid-run and called
# again, and every row ends in the right format exactly once; the re-encrypt
# is audited once, when the rerun finishes it.  Runs its own cluster.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
. "$HERE/../../scripts/lib.sh"
q() { psql -X -A -t -q -d postgres -c "$1" 2>&1; }
N=${ONLINE_ROWS:-1000000}

start_cluster "max_parallel_workers_per_gather = 0"
psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
CREATE EXTENSION privacy;
CREATE TABLE ob (id bigint PRIMARY KEY, email text, note text);
INSERT INTO ob SELECT g, 'u' || g || '@x.example', 'n' FROM generate_series(1, $N) g;
ANALYZE ob;
CREATE SEQUENCE w_ids START $((N + 1));
SQL
psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$HERE/../../scripts/writer.sql" >/dev/null
start_writer() { q "UPDATE w_stats SET stop = false" >/dev/null; psql -X -q -d postgres -c "CALL writer('ob', $N, 'w_ids')" > /dev/null 2>&1 & WRITER=$!; }
stop_writer() { q "UPDATE w_stats SET stop = true" >/dev/null; wait $WRITER 2>/dev/null; }
# expected plaintext of a row
EXPECT="CASE WHEN id <= $N THEN 'u' || id || '@x.example' ELSE 'new' || id || '@x.example' END"

# run a procedure in the background; kill -9 its backend once rows_done passes a quarter
run_and_kill() {
    local op=$1 call=$2 pid done total i
    psql -X -q -d postgres -c "$call" > "$CLUSTER_DIR/$op.out" 2>&1 &
    local CALLER=$!
    SEEN=0
    for i in $(seq 1 600); do
        read -r pid done total <<<"$(q "SELECT pid, rows_done, rows_total FROM privacy.progress
                                         WHERE operation = '$op' AND state = 'running'" | tr '|' ' ')"
        if [ -n "${total:-}" ] && [ "${done:-0}" -gt 0 ] && [ "$done" -lt "$total" ]; then
            SEEN=1
            if [ "$done" -ge $((total / 4)) ]; then
                kill -9 "$pid"; break
            fi
        fi
        sleep 0.1
    done
    wait $CALLER
    # the postmaster restarts after a backend is killed: wait for it
    for i in $(seq 1 100); do q "SELECT 1" | grep -q '^1$' && break; sleep 0.2; done
}

# --- protect, killed mid-run, then resumed
start_writer
sleep 0.5
run_and_kill protect "CALL privacy.protect_column_online('ob', 'email', batch => 2000)"
ok "progress of the protect is visible from a third session mid-run" test "$SEEN" = 1
is "the killed protect shows as interrupted" \
   "$(q "SELECT state FROM privacy.progress WHERE operation = 'protect'")" "interrupted"
like "another online operation on the column is refused meanwhile" \
   "$(q "CALL privacy.unprotect_column_online('ob', 'email')")" "online protect of column .* is unfinished"
start_writer
q "CALL privacy.protect_column_online('ob', 'email', batch => 2000)" >/dev/null
stop_writer
is "the rerun finishes the protect" \
   "$(q "SELECT state, rows_done = rows_total FROM privacy.progress WHERE operation = 'protect'")" "finished|t"
is "every value is stored encrypted" "$(q "SELECT count(*) FROM ob WHERE NOT privacy.is_ciphertext(email)")" "0"
is "every value decrypts to its plaintext (encrypted exactly once)" \
   "$(q "SELECT count(*) FILTER (WHERE email = $EXPECT), count(*) FROM ob_decrypted")" \
   "$(q "SELECT count(*), count(*) FROM ob")"
ok "the writer wrote during the protect" test "$(q "SELECT count(*) FROM ob WHERE id > $N")" -gt 0

# --- re-encrypt after a key rotation, killed mid-run, then resumed
q "SELECT privacy.rotate_key('default')" >/dev/null
AUDIT_MARK=$(q "SELECT coalesce(max(id), 0) FROM privacy.audit_log")
start_writer
sleep 0.5
run_and_kill reencrypt "CALL privacy.reencrypt_online('ob', 'email', batch => 2000)"
is "the killed re-encrypt shows as interrupted, not audited yet" \
   "$(q "SELECT state, (SELECT count(*) FROM privacy.audit_log WHERE id > $AUDIT_MARK AND action = 'reencrypt')
           FROM privacy.progress WHERE operation = 'reencrypt'")" "interrupted|0"
start_writer
q "CALL privacy.reencrypt_online('ob', 'email', batch => 2000)" >/dev/null
stop_writer
is "the rerun finishes the re-encrypt" \
   "$(q "SELECT state FROM privacy.progress WHERE operation = 'reencrypt'")" "finished"
is "the finished online re-encrypt wrote one reencrypt audit row (object, acting role, rows, batch, online)" \
   "$(q "SELECT count(*), min(a.object), bool_and(a.acting_role = current_user),
                bool_and(a.details = jsonb_build_object('rows', b.rows_done, 'batch', 2000, 'online', true))
           FROM privacy.audit_log a, privacy.bulk_operations b
          WHERE a.id > $AUDIT_MARK AND a.action = 'reencrypt' AND b.operation = 'reencrypt'")" "1|public.ob.email|t|t"
is "finishing the operation again writes no second row" \
   "$(q "SELECT privacy._bulk_finish(id, 2000) IS NULL FROM privacy.bulk_operations WHERE operation = 'reencrypt'")|$(q "SELECT count(*) FROM privacy.audit_log WHERE id > $AUDIT_MARK AND action = 'reencrypt'")" "t|1"
is "reencrypt_online moves every value to the active key version" \
   "$(q "SELECT count(*) FROM ob WHERE privacy._needs_reencrypt(email)")" "0"
is "and every value still decrypts to its plaintext" \
   "$(q "SELECT count(*) FILTER (WHERE email = $EXPECT) = count(*) FROM ob_decrypted")" "t"

# --- unprotect, killed mid-run, then resumed
start_writer
sleep 0.5
run_and_kill unprotect "CALL privacy.unprotect_column_online('ob', 'email', batch => 2000)"
ok "progress of the unprotect is visible mid-run" test "$SEEN" = 1
start_writer
q "CALL privacy.unprotect_column_online('ob', 'email', batch => 2000)" >/dev/null
stop_writer
is "the rerun finishes the unprotect" \
   "$(q "SELECT state FROM privacy.progress WHERE operation = 'unprotect'")" "finished"
is "every value is plaintext again, decrypted exactly once" \
   "$(q "SELECT count(*) FILTER (WHERE email = $EXPECT) = count(*), count(*) FILTER (WHERE privacy.is_ciphertext(email)) FROM ob")" "t|0"
is "the column is no longer registered" "$(q "SELECT count(*) FROM privacy.protected_columns WHERE tbl = 'ob'::regclass")" "0"

# --- set_retention's re-stamp online
q "CREATE TABLE rs (id bigint PRIMARY KEY, since timestamptz NOT NULL, note text)" >/dev/null
q "INSERT INTO rs SELECT g, now() - g * interval '1 minute', 'n' FROM generate_series(1, 20000) g" >/dev/null
q "CALL privacy.set_retention_online('rs', '30 days', 'since', batch => 1000)" >/dev/null
is "set_retention_online stamps every row from its since column" \
   "$(q "SELECT count(*) FILTER (WHERE expires_at = since + interval '30 days'), count(*) FROM rs")" "20000|20000"
# as the purge leaves anonymized rows (its trigger would re-stamp an UPDATE)
psql -X -q -d postgres -c "ALTER TABLE rs DISABLE TRIGGER zz_privacy_retention" \
     -c "UPDATE rs SET expires_at = 'infinity' WHERE id <= 10" -c "ALTER TABLE rs ENABLE TRIGGER zz_privacy_retention"
q "CALL privacy.set_retention_online('rs', '10 days', batch => 1000)" >/dev/null
is "counted from the latest write: every row stamped from now, anonymized rows kept" \
   "$(q "SELECT count(*) FILTER (WHERE expires_at > now() + interval '9 days' AND expires_at < now() + interval '11 days'),
                count(*) FILTER (WHERE expires_at = 'infinity') FROM rs")" "19990|10"
like "changing the period of a latest-write policy online is refused (set_retention does it)" \
   "$(q "CALL privacy.set_retention_online('rs', '20 days')")" "cannot change the period"
is "the re-stamps show in privacy.progress" \
   "$(q "SELECT count(*) FROM privacy.progress WHERE operation = 'restamp' AND state = 'finished'")" "2"

# --- only the table's owner runs them (its triggers never run with more rights than its own)
q "CREATE ROLE ob_owner; GRANT CREATE ON SCHEMA public TO ob_owner; CREATE TABLE ob_other (id int PRIMARY KEY, email text); ALTER TABLE ob_other OWNER TO ob_owner;
   INSERT INTO ob_other SELECT g, 'o' || g FROM generate_series(1, 100) g" >/dev/null
like "a superuser who does not own the table is refused" \
   "$(q "CALL privacy.protect_column_online('ob_other', 'email')")" "must run as the table's owner"
is "after SET ROLE to the owner it runs" \
   "$(psql -X -A -t -q -d postgres -c "SET ROLE ob_owner" -c "CALL privacy.protect_column_online('ob_other', 'email')" \
        -c "SELECT count(*) FILTER (WHERE privacy.is_ciphertext(email)) FROM ob_other" 2>&1)" "100"

MAX=$(q "SELECT round(max_ms) FROM w_stats")
echo "# longest writer statement: ${MAX} ms over $(q "SELECT statements FROM w_stats") statements ($N rows)"
ok "no writer statement waited more than 2 s" test "${MAX%.*}" -le 2000
like "the procedures refuse a transaction block" \
   "$(psql -X -q -d postgres -c "BEGIN" -c "CALL privacy.reencrypt_online('ob', 'email')" 2>&1)" 'invalid transaction termination'
done_testing
