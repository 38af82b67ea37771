# Shared by the make bench parts that run their own cluster (bench_retention.sh,
# bench_online.sh).  Set PART_SETTINGS (an array of postgresql.conf lines) and
# source it: it installs what is missing, builds, starts the cluster, makes a
# work directory $WORK (both removed at exit) and defines q, timed and rate.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT_DIR"
ensure_packages
build_install
start_cluster "${PART_SETTINGS[@]}"
WORK=$(mktemp -d /tmp/privacy-bench-XXXXXX)
trap 'stop_cluster; rm -rf "$WORK"' EXIT
# one statement: unaligned, tuples only, stop on error
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
# one statement's client-side time in ms
timed() { psql -X -q -v ON_ERROR_STOP=1 -d postgres -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1; }
# rows per second: rate ROWS MS
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }
