#!/usr/bin/env bash
# Key material never reaches SQL text, the server log or pg_stat_statements:
# a cluster logging every statement and tracking every nested statement runs
# key management, encryption and decryption; then neither the master key nor
# any wrapped data key appears in the log or in pg_stat_statements.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
. "$HERE/../../scripts/lib.sh"
q() { psql -X -A -t -q -d postgres -c "$1" 2>&1; }

start_cluster "shared_preload_libraries = 'privacy,pg_stat_statements'" \
              "pg_stat_statements.track = all" "log_statement = 'all'" \
              "log_min_duration_statement = 0" "log_parameter_max_length = -1" \
              "log_min_messages = debug1"
q "CREATE EXTENSION pg_stat_statements" >/dev/null
q "CREATE EXTENSION privacy" >/dev/null
psql -X -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT privacy.create_key('secret_k', 'encrypt');
SELECT privacy.rotate_key('secret_k');
CREATE TABLE s (c bytea);
INSERT INTO s SELECT privacy.encrypt('value ' || g, 'secret_k') FROM generate_series(1, 10) g;
SELECT count(privacy.decrypt_text(c)) FROM s;
SELECT privacy.reencrypt('s', 'c', 3);
CREATE TABLE p (phone text);
SELECT privacy.protect_column('p', 'phone');
INSERT INTO p VALUES ('+1-650-555-0100');
SELECT * FROM p_decrypted;
SELECT privacy.destroy_key('secret_k');
SQL
MASTER=$(tr -d '\n' < "$CLUSTER_DIR/data/privacy_master.key")
WRAPPED=$(q "SELECT string_agg(encode(wrapped, 'hex'), ' ') FROM privacy.keys WHERE wrapped IS NOT NULL")
like "the master key file holds a key to look for" "$MASTER" '^[0-9a-f]{64}$'
like "and the key ring wrapped keys to look for" "$(echo $WRAPPED | wc -w)" '^[4-9]$'
PGSS="$CLUSTER_DIR/pgss.txt"
q "SELECT string_agg(query, E'\n') FROM pg_stat_statements" > "$PGSS"
ok "pg_stat_statements saw the key ring's own statements" grep -q 'INSERT INTO privacy.keys' "$PGSS"
ok "with parameters in place of key material" grep -q -E 'INSERT INTO privacy\.keys .*VALUES \(\$1' "$PGSS"
ok "the master key is in neither the log nor pg_stat_statements" \
   bash -c "! grep -q -i -F '$MASTER' '$CLUSTER_DIR/server.log' '$PGSS'"
leaks=0
for w in $WRAPPED; do
    grep -q -i -F "$w" "$CLUSTER_DIR/server.log" "$PGSS" && leaks=$((leaks + 1))
done
is "no wrapped data key is in the log or pg_stat_statements" "$leaks" "0"
is "keys are in a table no ordinary role reads" \
   "$(q "CREATE ROLE ks_nobody; SET ROLE ks_nobody; SELECT count(*) FROM privacy.keys" | tail -1)" \
   "ERROR:  permission denied for table keys"
done_testing
