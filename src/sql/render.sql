-- Rendering: an export of privacy.export_subject() as a page a person can
-- read (the copy of GDPR Art. 15(3)).  Pure functions of the export document:
-- they read no table, so the page shows exactly what the export holds.

-- Text escaped for HTML.
CREATE OR REPLACE FUNCTION privacy._html_escape(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
               t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON FUNCTION privacy._html_escape(text) IS 'Text escaped for HTML (& < > " '')';
REVOKE ALL ON FUNCTION privacy._html_escape(text) FROM PUBLIC;

-- A name from the database (table, column, key) in plain words:
-- "public.message_events" -> "Message events", "sent_at" -> "Sent at".
CREATE OR REPLACE FUNCTION privacy._plain_words(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.upper(pg_catalog.left(w, 1)) OPERATOR(pg_catalog.||) pg_catalog.substr(w, 2)
      FROM (SELECT pg_catalog.btrim(pg_catalog.translate(
                       pg_catalog.regexp_replace(name, '^.*\.', ''), '_"', ' ')) AS w) x
$$;
COMMENT ON FUNCTION privacy._plain_words(text) IS 'A table or column name in plain words, for the subject''s copy';
REVOKE ALL ON FUNCTION privacy._plain_words(text) FROM PUBLIC;

-- One JSON value as HTML: strings as text, arrays as comma-separated lists,
-- objects as "key: value" pairs, the markers of values the exporter could not
-- read in plain words, null as an empty cell.
CREATE OR REPLACE FUNCTION privacy._html_value(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE pg_catalog.jsonb_typeof(v)
        WHEN 'null' THEN ''
        WHEN 'string' THEN privacy._html_escape(pg_catalog.regexp_replace(v OPERATOR(pg_catalog.#>>) '{}',
                               '^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(\.\d+)?)?(\+00:00|Z)$', '\1 \2 UTC'))
        WHEN 'array' THEN COALESCE((SELECT pg_catalog.string_agg(privacy._html_value(e), ', ' ORDER BY i)
                                      FROM pg_catalog.jsonb_array_elements(v) WITH ORDINALITY a(e, i)), '')
        WHEN 'object' THEN CASE
            WHEN v OPERATOR(pg_catalog.?) 'encrypted' THEN '<em>(encrypted: not readable by the person who made this copy)</em>'
            WHEN v OPERATOR(pg_catalog.?) 'tokenized' THEN '<em>(replaced by a token)</em>'
            ELSE COALESCE((SELECT pg_catalog.string_agg(privacy._html_escape(privacy._plain_words(k)) OPERATOR(pg_catalog.||) ': '
                                                        OPERATOR(pg_catalog.||) privacy._html_value(e), '; ' ORDER BY k)
                             FROM pg_catalog.jsonb_each(v) o(k, e)), '') END
        WHEN 'boolean' THEN CASE WHEN v::pg_catalog.text OPERATOR(pg_catalog.=) 'true' THEN 'yes' ELSE 'no' END
        ELSE privacy._html_escape(v::pg_catalog.text) END
$$;
COMMENT ON FUNCTION privacy._html_value(jsonb) IS 'A JSON value as readable, escaped HTML';
REVOKE ALL ON FUNCTION privacy._html_value(jsonb) FROM PUBLIC;

-- An array of JSON objects as an HTML table, the columns being the keys of
-- the objects in their first appearance order (keys listed in skip left out).
CREATE OR REPLACE FUNCTION privacy._html_table(rows jsonb, skip text[] DEFAULT '{}') RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH cols AS (
        SELECT k, pg_catalog.min(i OPERATOR(pg_catalog.*) 1000 OPERATOR(pg_catalog.+) j) AS pos
          FROM pg_catalog.jsonb_array_elements(COALESCE(rows, '[]')) WITH ORDINALITY r(o, i),
               LATERAL (SELECT k, j FROM pg_catalog.jsonb_object_keys(o) WITH ORDINALITY x(k, j)) kk
         WHERE pg_catalog.jsonb_typeof(o) OPERATOR(pg_catalog.=) 'object'
           AND NOT k OPERATOR(pg_catalog.=) ANY (COALESCE(skip, '{}'))
         GROUP BY k)
    SELECT CASE WHEN NOT EXISTS (SELECT FROM cols) THEN '<p class="none">None.</p>' ELSE
           '<table><thead><tr>'
           OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg('<th scope="col">' OPERATOR(pg_catalog.||)
                                        privacy._html_escape(privacy._plain_words(k)) OPERATOR(pg_catalog.||) '</th>', '' ORDER BY pos) FROM cols)
           OPERATOR(pg_catalog.||) '</tr></thead><tbody>'
           OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg('<tr>' OPERATOR(pg_catalog.||)
                       (SELECT pg_catalog.string_agg('<td>' OPERATOR(pg_catalog.||) COALESCE(privacy._html_value(o OPERATOR(pg_catalog.->) c.k), '')
                                                     OPERATOR(pg_catalog.||) '</td>', '' ORDER BY c.pos) FROM cols c)
                       OPERATOR(pg_catalog.||) '</tr>', '' ORDER BY i)
                 FROM pg_catalog.jsonb_array_elements(rows) WITH ORDINALITY r(o, i))
           OPERATOR(pg_catalog.||) '</tbody></table>' END
$$;
COMMENT ON FUNCTION privacy._html_table(jsonb, text[]) IS 'An array of JSON objects as an HTML table with headings in plain words';
REVOKE ALL ON FUNCTION privacy._html_table(jsonb, text[]) FROM PUBLIC;

-- A sentence "<label> <text>." when text is not empty, as a paragraph.
CREATE OR REPLACE FUNCTION privacy._html_sentence(label text, body text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN COALESCE(body, '') OPERATOR(pg_catalog.=) '' THEN ''
                ELSE '<p><strong>' OPERATOR(pg_catalog.||) privacy._html_escape(label) OPERATOR(pg_catalog.||) '</strong> '
                     OPERATOR(pg_catalog.||) body OPERATOR(pg_catalog.||) '</p>' END
$$;
COMMENT ON FUNCTION privacy._html_sentence(text, text) IS 'A labelled sentence of the subject''s copy, or nothing when empty';
REVOKE ALL ON FUNCTION privacy._html_sentence(text, text) FROM PUBLIC;

-- The retention of a table in words, from the export's retention entry (a
-- policy object, or free text).
CREATE OR REPLACE FUNCTION privacy._html_retention(r jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN r IS NULL OR pg_catalog.jsonb_typeof(r) OPERATOR(pg_catalog.=) 'null' THEN ''
        WHEN pg_catalog.jsonb_typeof(r) OPERATOR(pg_catalog.=) 'object' THEN
            privacy._html_escape('Kept for ' OPERATOR(pg_catalog.||) COALESCE(r OPERATOR(pg_catalog.->>) 'period', '?')
                OPERATOR(pg_catalog.||) COALESCE(', counted from "' OPERATOR(pg_catalog.||)
                                                 privacy._plain_words(r OPERATOR(pg_catalog.->>) 'counted_from') OPERATOR(pg_catalog.||) '"', '')
                OPERATOR(pg_catalog.||) CASE r OPERATOR(pg_catalog.->>) 'action' WHEN 'delete' THEN ', then deleted'
                                                         WHEN 'anonymize' THEN ', then anonymized' ELSE '' END)
        WHEN pg_catalog.jsonb_typeof(r) OPERATOR(pg_catalog.=) 'array' THEN
            COALESCE((SELECT pg_catalog.string_agg(privacy._html_retention(e), '; ')
                        FROM pg_catalog.jsonb_array_elements(r) e), '')
        ELSE privacy._html_value(r) END
$$;
COMMENT ON FUNCTION privacy._html_retention(jsonb) IS 'How long a table''s data is kept, in words';
REVOKE ALL ON FUNCTION privacy._html_retention(jsonb) FROM PUBLIC;

-- The page.
CREATE OR REPLACE FUNCTION privacy._export_html(export jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    meta    jsonb := COALESCE(export OPERATOR(pg_catalog.->) 'meta', '{}');
    proc    jsonb := COALESCE(export OPERATOR(pg_catalog.->) 'processing', '{}');
    subject text := privacy._html_escape(COALESCE(meta OPERATOR(pg_catalog.->>) 'subject', ''));
    ctrl    text := NULLIF(meta OPERATOR(pg_catalog.->>) 'controller', '');
    page    text;
    d       record;
    p       jsonb;
    rcp     text;
    found   boolean;
BEGIN
    found := COALESCE((meta OPERATOR(pg_catalog.->>) 'data_found')::boolean,
                      EXISTS (SELECT FROM pg_catalog.jsonb_each(COALESCE(export OPERATOR(pg_catalog.->) 'data', '{}')) x
                               WHERE pg_catalog.jsonb_array_length(x.value) OPERATOR(pg_catalog.>) 0));
    page := '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Your personal data</title><style>'
        'body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;margin:2rem auto;'
        'padding:0 1rem;color:#1a1a1a;line-height:1.5;background:#fff}'
        'h1{font-size:1.8rem;border-bottom:3px solid #2b5797;padding-bottom:.3rem}'
        'h2{font-size:1.35rem;margin-top:2rem;color:#2b5797}h3{font-size:1.1rem;margin-top:1.5rem}'
        'table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.95rem}'
        'th,td{border:1px solid #c8c8c8;padding:.35rem .5rem;text-align:left;vertical-align:top}'
        'th{background:#eef2f8}tr:nth-child(even) td{background:#fafafa}'
        '.none{color:#666;font-style:italic}.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem 1rem}'
        'section{margin-bottom:1.5rem}</style></head><body>'
        '<h1>Your personal data</h1>'
        '<p>This is a copy of the personal data '
        OPERATOR(pg_catalog.||) COALESCE(privacy._html_escape(ctrl), 'we') OPERATOR(pg_catalog.||)
        CASE WHEN ctrl IS NULL THEN ' hold' ELSE ' holds' END OPERATOR(pg_catalog.||)
        ' about you (reference <strong>' OPERATOR(pg_catalog.||) subject OPERATOR(pg_catalog.||) '</strong>), made on '
        OPERATOR(pg_catalog.||) privacy._html_escape(pg_catalog.left(COALESCE(meta OPERATOR(pg_catalog.->>) 'generated_at', ''), 10))
        OPERATOR(pg_catalog.||) CASE WHEN meta OPERATOR(pg_catalog.->>) 'request_id' IS NOT NULL
                                     THEN ' in answer to your request no. ' OPERATOR(pg_catalog.||)
                                          privacy._html_escape(meta OPERATOR(pg_catalog.->>) 'request_id') ELSE '' END
        OPERATOR(pg_catalog.||) '.</p>';
    IF COALESCE((meta OPERATOR(pg_catalog.->>) 'complete')::boolean, true) IS FALSE THEN
        page := page OPERATOR(pg_catalog.||) '<p class="note">Some values could not be read when this copy was made '
                'and are marked as encrypted. Ask us for a complete copy.</p>';
    END IF;
    IF COALESCE((meta OPERATOR(pg_catalog.->>) 'restricted')::boolean, false) THEN
        page := page OPERATOR(pg_catalog.||) '<p class="note">You asked us to restrict the processing of your data: '
                'we keep it but do not use it.</p>';
    END IF;

    page := page OPERATOR(pg_catalog.||) '<h2>The data we hold</h2>';
    IF NOT found THEN
        page := page OPERATOR(pg_catalog.||) '<p>We hold no personal data about you.</p>';
    END IF;
    FOR d IN SELECT x.key, x.value FROM pg_catalog.jsonb_each(COALESCE(export OPERATOR(pg_catalog.->) 'data', '{}')) x
              WHERE pg_catalog.jsonb_array_length(x.value) OPERATOR(pg_catalog.>) 0 ORDER BY x.key LOOP
        p := COALESCE(proc OPERATOR(pg_catalog.->) d.key, '{}');
        SELECT pg_catalog.string_agg(pg_catalog.concat_ws(', ',
                   privacy._html_escape(r OPERATOR(pg_catalog.->>) 'name'),
                   CASE WHEN r OPERATOR(pg_catalog.->>) 'purpose' IS NOT NULL
                        THEN 'for ' OPERATOR(pg_catalog.||) privacy._html_escape(r OPERATOR(pg_catalog.->>) 'purpose') END,
                   CASE WHEN r OPERATOR(pg_catalog.->>) 'country' IS NOT NULL
                        THEN 'in ' OPERATOR(pg_catalog.||) privacy._html_escape(r OPERATOR(pg_catalog.->>) 'country') END,
                   CASE WHEN r OPERATOR(pg_catalog.->>) 'safeguard' IS NOT NULL
                        THEN 'protected by ' OPERATOR(pg_catalog.||) privacy._html_escape(r OPERATOR(pg_catalog.->>) 'safeguard') END),
                   '; ')
          INTO rcp
          FROM pg_catalog.jsonb_array_elements(COALESCE(p OPERATOR(pg_catalog.->) 'recipients', '[]')) r;
        page := page OPERATOR(pg_catalog.||) '<section><h3>' OPERATOR(pg_catalog.||)
                privacy._html_escape(privacy._plain_words(d.key)) OPERATOR(pg_catalog.||) '</h3>'
             OPERATOR(pg_catalog.||) privacy._html_sentence('Why we hold it:', privacy._html_value(p OPERATOR(pg_catalog.->) 'purpose'))
             OPERATOR(pg_catalog.||) privacy._html_sentence('Kind of data:', privacy._html_value(p OPERATOR(pg_catalog.->) 'categories'))
             OPERATOR(pg_catalog.||) privacy._html_sentence('Where it comes from:', privacy._html_value(p OPERATOR(pg_catalog.->) 'source'))
             OPERATOR(pg_catalog.||) privacy._html_sentence('How long we keep it:', privacy._html_retention(p OPERATOR(pg_catalog.->) 'retention'))
             OPERATOR(pg_catalog.||) privacy._html_sentence('Who receives it:', rcp)
             OPERATOR(pg_catalog.||) privacy._html_sentence('Automated decisions:', privacy._html_value(p OPERATOR(pg_catalog.->) 'automated_decisions'))
             OPERATOR(pg_catalog.||) privacy._html_table(d.value) OPERATOR(pg_catalog.||) '</section>';
    END LOOP;

    page := page OPERATOR(pg_catalog.||) '<h2>Your consents</h2>'
         OPERATOR(pg_catalog.||) privacy._html_table(export OPERATOR(pg_catalog.->) 'consents', '{id,subject,recorded_by}')
         OPERATOR(pg_catalog.||) '<h2>Your requests</h2>'
         OPERATOR(pg_catalog.||) privacy._html_table(export OPERATOR(pg_catalog.->) 'requests')
         OPERATOR(pg_catalog.||) '<h2>Data we must keep for legal reasons</h2>'
         OPERATOR(pg_catalog.||) privacy._html_table(export OPERATOR(pg_catalog.->) 'holds', '{relid}');

    page := page OPERATOR(pg_catalog.||) '<h2>Your rights</h2>';
    IF export OPERATOR(pg_catalog.?) 'rights' THEN
        page := page OPERATOR(pg_catalog.||) '<ul>' OPERATOR(pg_catalog.||)
                COALESCE((SELECT pg_catalog.string_agg('<li><strong>' OPERATOR(pg_catalog.||)
                              privacy._html_escape(privacy._plain_words(r.key)) OPERATOR(pg_catalog.||) ':</strong> '
                              OPERATOR(pg_catalog.||) privacy._html_value(r.value) OPERATOR(pg_catalog.||) '</li>', '' ORDER BY r.key)
                            FROM pg_catalog.jsonb_each(export OPERATOR(pg_catalog.->) 'rights') r), '')
                OPERATOR(pg_catalog.||) '</ul>';
    ELSE
        page := page OPERATOR(pg_catalog.||) '<p>You may ask us for access to your data, to correct it, to erase it, '
                'to restrict or object to its processing, and to receive the data you gave us in a portable form. '
                'You may also lodge a complaint with a supervisory authority.</p>';
    END IF;
    page := page OPERATOR(pg_catalog.||) '<h2>Contact</h2>'
         OPERATOR(pg_catalog.||) privacy._html_sentence('Controller:', privacy._html_escape(ctrl))
         OPERATOR(pg_catalog.||) privacy._html_sentence('Data protection officer:',
                                     privacy._html_value(COALESCE(meta OPERATOR(pg_catalog.->) 'dpo_contact', 'null')))
         OPERATOR(pg_catalog.||) privacy._html_sentence('Supervisory authority:',
                                     privacy._html_value(COALESCE(meta OPERATOR(pg_catalog.->) 'supervisory_authority', 'null')))
         OPERATOR(pg_catalog.||) '</body></html>';
    RETURN page;
END
$$;
COMMENT ON FUNCTION privacy._export_html(jsonb) IS 'An export of export_subject as a page the subject can read';
REVOKE ALL ON FUNCTION privacy._export_html(jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.export_subject_html(subject text, request_id int DEFAULT NULL) RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT privacy._export_html(privacy.export_subject(subject, request_id))
$$;
COMMENT ON FUNCTION privacy.export_subject_html(text, int) IS
  'export_subject as a page the subject can read (a copy for the subject); audited like export_subject';
REVOKE ALL ON FUNCTION privacy.export_subject_html(text, int) FROM PUBLIC;
