#!/usr/bin/env bash
# Server-wide settings with a value syntax are checked by ALTER SYSTEM (which
# cannot run inside the pgTAP transaction): a bad value is refused and
# postgresql.auto.conf is left alone.  Runs in the make test cluster.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
q() { psql -X -A -t -q -d postgres -c "$1" 2>&1; }

like "purge_databases: an unterminated quoted name is refused" \
     "$(q "ALTER SYSTEM SET privacy.purge_databases = 'a, \"b'")" 'invalid value for parameter "privacy.purge_databases"'
like "request_deadline: a bad interval is refused by ALTER SYSTEM too" \
     "$(q "ALTER SYSTEM SET privacy.request_deadline = 'soon'")" 'invalid value for parameter "privacy.request_deadline"'
is "nothing was written to postgresql.auto.conf" \
   "$(q "SELECT count(*) FROM pg_file_settings WHERE name IN ('privacy.request_deadline') AND sourcefile LIKE '%auto.conf'")" "0"
done_testing
