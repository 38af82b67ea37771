#!/usr/bin/env bash
# Master key: from a command and from a file, the generated file's mode, a
# wrong master key, a malformed one, loading without preload, and a master-key
# change that rewraps data keys only.  Runs its own small clusters.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
MAIN_DATA="$PGHOST/data"          # the make test cluster
. "$HERE/../../scripts/lib.sh"

# the make test cluster generated its key file on first need: mode 0600
is "generated master key file has mode 0600" "$(stat -c %a "$MAIN_DATA/privacy_master.key")" "600"
is "generated master key file holds 64 hex characters" \
   "$(tr -d '\n' < "$MAIN_DATA/privacy_master.key" | grep -c -E '^[0-9a-f]{64}$')" "1"

KEYS=$(mktemp -d /tmp/privacy-keys-XXXXXX)
openssl rand -hex 32 > "$KEYS/a.key"
openssl rand -hex 32 > "$KEYS/b.key"
echo "not-a-key" > "$KEYS/bad.key"
chmod 600 "$KEYS"/*.key
chown -R postgres "$KEYS"; chmod 700 "$KEYS"

# Restart the test cluster with the given privacy settings only.
restart_with() {
    cluster_unset 'privacy\.' shared_preload_libraries
    restart_cluster "$@"
}
q() { psql -X -A -t -q -d postgres -c "$1" 2>&1; }

start_cluster "privacy.master_key_command = 'cat $KEYS/a.key'"
trap 'stop_cluster; rm -rf "$KEYS"' EXIT

q "CREATE EXTENSION privacy" >/dev/null
q "CREATE TABLE secrets AS SELECT privacy.encrypt('hello from A', 'default', 'ctx') AS c" >/dev/null
is "master key from a command: round trip" "$(q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" "hello from A"
ID_A=$(q "SELECT privacy.master_key_id()")
is "no key file is created when a command is configured" "$(ls "$CLUSTER_DIR/data/privacy_master.key" 2>/dev/null | wc -l)" "0"

restart_with "shared_preload_libraries = 'privacy'" "privacy.master_key_file = '$KEYS/b.key'"
like "wrong master key: clear error, no data" "$(q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" \
     'ERROR: +key "default" version 1 is wrapped under another master key'

restart_with "shared_preload_libraries = 'privacy'" "privacy.master_key_command = 'cat $KEYS/bad.key'"
like "malformed master key: clear error" "$(q "SELECT privacy.encrypt('x')")" \
     'could not load the master key.*|not 64 hexadecimal characters'
like "server log says why at start" "$(grep -c 'could not load the master key at server start' "$CLUSTER_DIR/server.log")" '^[1-9]'

restart_with "shared_preload_libraries = 'privacy'" "privacy.master_key_command = 'exit 3'"
like "failing master key command: clear error" "$(q "SELECT privacy.encrypt('x')")" 'failed: child process exited with exit code 3'

# the file form, with the same key A: decrypts what the command-loaded key wrapped
restart_with "shared_preload_libraries = 'privacy'" "privacy.master_key_file = '$KEYS/a.key'"
is "master key from a file: decrypts" "$(q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" "hello from A"
is "same key, same master key id" "$(q "SELECT privacy.master_key_id()")" "$ID_A"

chmod 644 "$KEYS/a.key"
restart_with "shared_preload_libraries = 'privacy'" "privacy.master_key_file = '$KEYS/a.key'"
like "key file readable by others is refused" "$(q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" 'group or world access'
chmod 600 "$KEYS/a.key"

# without shared_preload_libraries: each backend loads the key on first need
restart_with "privacy.master_key_file = '$KEYS/a.key'"
is "without preload: loads on first need" "$(q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" "hello from A"

# master-key change: rewrap data keys under B, switch to B, data still decrypts
STORED_BEFORE=$(q "SELECT md5(c) FROM secrets")
restart_with "shared_preload_libraries = 'privacy'" "privacy.master_key_file = '$KEYS/a.key'" \
             "privacy.new_master_key_file = '$KEYS/b.key'"
is "rewrap_keys rewraps the four default keys" "$(q "SELECT privacy.rewrap_keys()")" "4"
is "rewrapped keys are usable before the switch" "$(q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" "hello from A"
restart_with "shared_preload_libraries = 'privacy'" "privacy.master_key_file = '$KEYS/b.key'"
is "after the switch to B: decrypts" "$(q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" "hello from A"
is "data was not re-encrypted" "$(q "SELECT md5(c) FROM secrets")" "$STORED_BEFORE"
is "rewrap is audited" "$(q "SELECT count(*) FROM privacy.audit_log WHERE action = 'rewrap_keys'")" "1"
like "the old master key no longer opens the key ring" \
     "$(restart_with "shared_preload_libraries = 'privacy'" "privacy.master_key_file = '$KEYS/a.key'"; q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" \
     'wrapped under another master key'
is "master key never appears in the server log" \
   "$(grep -c -F -e "$(cat "$KEYS/a.key")" -e "$(cat "$KEYS/b.key")" "$CLUSTER_DIR/server.log")" "0"

done_testing
