#!/usr/bin/env bash
# The subject's copy (export_subject_html) renders as a real page: headless
# Chromium (Debian's chromium, installed when missing) takes a screenshot of
# the page made for a subscriber of the demo schema, and the picture is not
# blank.  UPDATE_SCREENSHOT=1 also copies it to doc/export_html.png.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
ROOT=$(cd "$HERE/../.." && pwd)
DB=privacy_export_html
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d $DB -c "$1" 2>&1; }

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1
    else
        sudo -n apt-get install -y -qq chromium >/dev/null 2>&1
    fi
fi
ok "chromium is available" command -v chromium

WORK=$(mktemp -d /tmp/privacy-html-XXXXXX)
chmod 755 "$WORK"
psql -X -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d $DB -f "$ROOT/demo/schema.sql" >/dev/null
q "CREATE EXTENSION privacy;
   SELECT privacy.protect_column('subscribers', 'phone');
   CREATE INDEX ON messages (subscriber_id); CREATE INDEX ON consents (subscriber_id);
   SELECT privacy.register_subject_table('subscribers', 'id', '{contact,identity}', 'SMS campaigns of our clients',
                                         source => 'uploaded by the client', provided => true,
                                         automated_decisions => 'campaign audiences selected by country and age (profiling); no decision with legal effects');
   SELECT privacy.register_recipient('SMS gateway', 'message delivery', 'US', 'EU-US Data Privacy Framework', 'messages');
   SELECT privacy.set_retention('messages', '1 year', 'sent_at');
   SELECT privacy.record_consent('7', 'marketing', false, 'replied STOP');" >/dev/null
psql -X -A -t -q -d $DB -c "SET privacy.controller = 'SMS Platform Ltd, 1 Example Street, Dublin'" \
     -c "SET privacy.dpo_contact = 'Data Protection Officer, dpo@smsplatform.example'" \
     -c "SET privacy.supervisory_authority = 'Data Protection Commission, 21 Fitzwilliam Square, Dublin 2, Ireland'" \
     -c "SELECT privacy.open_request('7', 'access')" -c "SELECT privacy.export_subject_html('7')" \
     2>/dev/null | tail -n +2 > "$WORK/page.html"
like "the page is HTML" "$(head -c 60 "$WORK/page.html")" '^<!DOCTYPE html><html lang="en">'

chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
         --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$WORK/profile" \
         --window-size=1000,1400 --screenshot="$WORK/page.png" "file://$WORK/page.html" >"$WORK/chromium.log" 2>&1
ok "chromium renders the page to a PNG" test -s "$WORK/page.png"
shape=$(python3 "$HERE/png_check.py" "$WORK/page.png" 2>&1)
like "the screenshot is 1000x1400" "$shape" '^1000x1400 '
ok "the screenshot is not blank (share of non-background pixels: ${shape#* })" \
   python3 -c "import sys; sys.exit(0 if float('${shape#* }' or 0) > 0.02 else 1)"
[ "${UPDATE_SCREENSHOT:-0}" = 1 ] && cp "$WORK/page.png" "$ROOT/doc/export_html.png"

psql -X -q -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
rm -rf "$WORK"
done_testing
