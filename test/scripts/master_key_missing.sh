#!/usr/bin/env bash
# A missing master-key file is not replaced: the key file is generated only at
# first setup (no setup marker in the data directory yet); once a master key
# has been set up, a missing file is a clear error and privacy.keys stays as it
# was across the restart, so the real file can come back.  Own cluster.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
. "$HERE/../../scripts/lib.sh"
q() { psql -X -A -t -q -d postgres -c "$1" 2>&1; }

start_cluster
KEYFILE="$CLUSTER_DIR/data/privacy_master.key"
q "CREATE EXTENSION privacy" >/dev/null
q "CREATE TABLE secrets AS SELECT privacy.encrypt('kept', 'default', 'ctx') AS c" >/dev/null
is "first setup generates the key file" "$(ls "$KEYFILE" 2>/dev/null | wc -l)" "1"
is "and leaves the setup marker" "$(ls "$CLUSTER_DIR/data/privacy_master_key.setup" 2>/dev/null | wc -l)" "1"
KEYS_BEFORE=$(q "SELECT md5(string_agg(k::text, ',' ORDER BY key_id, version)) FROM privacy.keys k")

as_pg mv "$KEYFILE" "$CLUSTER_DIR/moved.key"
restart_cluster
like "missing key file: a clear error" "$(q "SELECT privacy.encrypt('x')")" \
     'could not load the master key.*|master key file .* is missing'
like "the error says the file is missing and must be restored" "$(q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" \
     'is missing.*restore the file'
q "SELECT privacy.create_key('while_missing')" >/dev/null
is "no new key file was generated" "$(ls "$KEYFILE" 2>/dev/null | wc -l)" "0"
is "privacy.keys unchanged after the restart without the key file" \
   "$(q "SELECT md5(string_agg(k::text, ',' ORDER BY key_id, version)) FROM privacy.keys k")" "$KEYS_BEFORE"

as_pg mv "$CLUSTER_DIR/moved.key" "$KEYFILE"
restart_cluster
is "with the file back, data decrypts" "$(q "SELECT privacy.decrypt_text(c, 'ctx') FROM secrets")" "kept"
done_testing
