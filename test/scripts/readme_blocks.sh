#!/usr/bin/env bash
# Guides that run as written: every fenced ```sql block of README.md and
# doc/*.md, extracted by readme_blocks.py and run top to bottom, as the
# superuser a reader starts with, in a fresh database of a cluster of its own
# (roles the guides create do not leak into the test cluster) holding the demo
# schema (demo/schema.sql, what Getting started loads).  ```sql blocks must
# succeed, ```sql error blocks must fail, ```sql skip blocks are not run.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/tap.sh"
. "$ROOT/scripts/lib.sh"

WORK=$(mktemp -d /tmp/privacy-readme-XXXXXX)
chmod 755 "$WORK"
python3 "$HERE/readme_blocks.py" "$WORK" "$ROOT/README.md" $(ls "$ROOT"/doc/*.md 2>/dev/null) || exit 1
chmod 644 "$WORK"/*

start_cluster
trap 'stop_cluster; rm -rf "$WORK"' EXIT
DB=privacy_readme
psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d $DB -f "$ROOT/demo/schema.sql" >/dev/null 2>"$WORK/schema.err"
ok "the demo schema loads" test ! -s "$WORK/schema.err"

while IFS=$'\t' read -r n mode where; do
    where=${where#$ROOT/}
    [ "$mode" = skip ] && continue
    (cd "$ROOT" && psql -X -q -d $DB -v ON_ERROR_STOP=1 -f "$WORK/$n.sql") > "$WORK/$n.out" 2>&1
    rc=$?
    if [ "$mode" = error ]; then
        ok "$where: fails as the guide says" grep -q 'ERROR' "$WORK/$n.out"
    else
        ok "$where: runs" bash -c "[ $rc -eq 0 ] && ! grep -q 'ERROR' '$WORK/$n.out' || { grep -B2 -A3 ERROR '$WORK/$n.out' | cut -c1-300 | tail -12; exit 1; }"
    fi
done < "$WORK/blocks.tsv"
psql -X -q -d postgres -c "DROP DATABASE $DB" >/dev/null
done_testing
