#!/usr/bin/env bash
# A master-key change on a server whose master key comes from
# privacy.master_key_command (the recommended set-up), with two databases, as
# the README guide says: next key configured by a command, rewrap_keys() in
# every database, privacy.master_key_status() (per database) and
# privacy.master_key_status_all() (every database, by background workers)
# showing which databases still have keys under the old key, the switch, and data decrypting in both.  Also:
# changing master_key_file while a command is set is warned about.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
. "$HERE/../../scripts/lib.sh"

KEYS=$(mktemp -d /tmp/privacy-keys-XXXXXX)
openssl rand -hex 32 > "$KEYS/a.key"
openssl rand -hex 32 > "$KEYS/b.key"
chmod 600 "$KEYS"/*.key
chown -R postgres "$KEYS"; chmod 700 "$KEYS"

q() { local db=$1; shift; psql -X -A -t -q -d "$db" -c "$1" 2>&1; }

start_cluster "privacy.master_key_command = 'cat $KEYS/a.key'"
trap 'stop_cluster; rm -rf "$KEYS"' EXIT

q postgres "CREATE EXTENSION privacy" >/dev/null
for db in shop crm; do
    psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
    q $db "CREATE EXTENSION privacy" >/dev/null
    q $db "CREATE TABLE secrets AS SELECT privacy.encrypt('hello from $db', 'default', 'ctx') AS c" >/dev/null
done
ID_A=$(q shop "SELECT privacy.master_key_id()")
is "both databases decrypt under the command's key" \
   "$(q shop "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")|$(q crm "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" \
   "hello from shop|hello from crm"
is "master_key_status: every key under the loaded master key" \
   "$(q crm "SELECT live_keys = under_master_key AND under_other = 0 FROM privacy.master_key_status()")" "t"

# 1. the next key, by a command too; a reload is enough for the new_* settings
psql -X -q -d postgres -c "ALTER SYSTEM SET privacy.new_master_key_command = 'cat $KEYS/b.key'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
ID_B=$(q shop "SELECT new_master_key_id FROM privacy.master_key_status()")
ok "the next master key is a different key" test -n "$ID_B" -a "$ID_B" != "$ID_A"

# 2. rewrap in one database only: the other still has keys under the old key
is "rewrap_keys in shop" "$(q shop "SELECT privacy.rewrap_keys()")" "4"
is "shop: every key under the next master key" \
   "$(q shop "SELECT under_new_master_key || '/' || live_keys FROM privacy.master_key_status()")" "4/4"
is "crm: not rewrapped yet, master_key_status says so" \
   "$(q crm "SELECT under_master_key || '/' || under_new_master_key FROM privacy.master_key_status()")" "4/0"
is "master_key_status_all: every database, read by background workers" \
   "$(q postgres "SELECT string_agg(database || ':' || status || ':' || coalesce(under_new_master_key || '/' || live_keys, '-'), ' ' ORDER BY database) FROM privacy.master_key_status_all() WHERE database IN ('crm', 'postgres', 'shop', 'template1')")" \
   "crm:ok:0/4 postgres:ok:0/4 shop:ok:4/4 template1:no extension:-"
is "rewrap_keys in crm and postgres" "$(q crm "SELECT privacy.rewrap_keys()")/$(q postgres "SELECT privacy.rewrap_keys()")" "4/4"

# 3. the switch: the command now gives B; restart (the command runs at start)
cluster_unset 'privacy\.'
restart_cluster "privacy.master_key_command = 'cat $KEYS/b.key'"
is "after the switch the loaded master key is B" "$(q shop "SELECT privacy.master_key_id()")" "$ID_B"
is "shop decrypts after the switch" "$(q shop "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" "hello from shop"
is "crm decrypts after the switch" "$(q crm "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" "hello from crm"
is "master_key_status_all: nothing left under another master key anywhere" \
   "$(q postgres "SELECT count(*) FROM privacy.master_key_status_all() WHERE under_other > 0 OR status NOT IN ('ok', 'no extension')")" "0"
is "master_key_status: nothing left under another master key" \
   "$(q crm "SELECT under_other FROM privacy.master_key_status()")|$(q shop "SELECT under_other FROM privacy.master_key_status()")" "0|0"

# changing the file while a command is set: warned, and the file is not used
like "ALTER SYSTEM SET master_key_file with a command set: WARNING" \
     "$(psql -X -q -d postgres -c "ALTER SYSTEM SET privacy.master_key_file = '$KEYS/a.key'" 2>&1)" \
     'WARNING:  privacy.master_key_file is ignored while privacy.master_key_command is set'
psql -X -q -d postgres -c "SELECT pg_reload_conf()" >/dev/null 2>&1
sleep 1
like "the reload is warned about in the server log" "$(cat "$CLUSTER_DIR/server.log")" 'privacy.master_key_file is ignored'
is "the data still decrypts" "$(q crm "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" "hello from crm"
is "master key never appears in the server log" \
   "$(grep -c -F -e "$(cat "$KEYS/a.key")" -e "$(cat "$KEYS/b.key")" "$CLUSTER_DIR/server.log")" "0"

done_testing
