#!/usr/bin/env bash
# Pseudonyms and tokens are stable across sessions (and backends with cold key
# caches): two separate connections compute the same values.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
DB=privacy_sessions
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null 2>&1
psql -X -q -d $DB -c "CREATE EXTENSION privacy" >/dev/null
Q="SELECT md5(string_agg(privacy.pseudonymize('subscriber-' || g) || privacy.tokenize(lpad(g::text, 10, '0'))
                         || pg_catalog.encode(privacy.blind_index('user' || g), 'hex'), ',' ORDER BY g))
   FROM generate_series(1, 1000) g"
A=$(psql -X -A -t -d $DB -c "$Q")
B=$(psql -X -A -t -d $DB -c "$Q")
like "first session computes pseudonyms, tokens and blind indexes" "$A" '^[0-9a-f]{32}$'
is "a second session computes the same values" "$B" "$A"
C=$(psql -X -A -t -d $DB -c "SELECT privacy.pseudonymize('subscriber-1')")
D=$(psql -X -A -t -d $DB -c "SELECT privacy.pseudonymize('subscriber-1', 'pseudonym')")
is "the same pseudonym by default and by key name, in two more sessions" "$C" "$D"
psql -X -q -d postgres -c "DROP DATABASE $DB" >/dev/null 2>&1
done_testing
