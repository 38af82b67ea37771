#!/usr/bin/env bash
# make demo: install what is missing, build, start a throwaway cluster, load
# the sample SMS-platform schema (demo/schema.sql) and walk through
# demo/demo.sql, printing each statement and its result.
# DEMO_KEEP=1 leaves the cluster running and prints how to connect.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"

ensure_packages
build_install
start_cluster
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE sms_platform"
export PGDATABASE=sms_platform
echo "== loading the sample schema (demo/schema.sql)"
psql -X -q -v ON_ERROR_STOP=1 -f demo/schema.sql
# the walk-through, then each module's step in order (when present)
for step in demo/demo.sql demo/views.sql demo/retention.sql demo/subject.sql demo/masked_copy.sql; do
    [ -f "$step" ] && psql -X -v ON_ERROR_STOP=1 --echo-queries -f "$step"
done

if [ "${DEMO_KEEP:-0}" = 1 ]; then
    trap - EXIT
    echo "The cluster keeps running: psql -h $PGHOST -p $PGPORT -U postgres sms_platform"
    echo "Stop it with: $(if [ "$(id -u)" -eq 0 ]; then echo "runuser -u postgres -- "; fi)$PGBIN/pg_ctl -D $CLUSTER_DIR/data stop"
fi
