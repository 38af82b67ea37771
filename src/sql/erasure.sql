-- Erasure of a data subject (GDPR Art. 17) with crypto-shredding: the rows
-- export.sql finds are deleted, anonymized or kept per table (on_erasure),
-- holds win, the subject's own key is destroyed, and a report is returned.
-- erase_subject checks the caller's DELETE and UPDATE privileges and changes
-- each table as its owner in a security-restricted operation (no trigger or
-- other code of a table owner runs with the DPO's rights); its bookkeeping
-- (ledger, holds, key destruction, deletion log) runs as the extension owner.

-- Safe anonymization of a table without masking rules, for an erasure that
-- must keep a row other kept rows reference: every nullable column outside
-- the keys (primary key, foreign keys either way, retention's columns) set to
-- NULL, every NOT NULL text column to the fixed text '[erased]' (cut to the
-- column's length); other NOT NULL columns (numbers, dates) are left as they
-- are.  Returns (column, SQL expression), in column order.
CREATE OR REPLACE FUNCTION privacy._erasure_defaults(tbl oid) RETURNS TABLE (col name, expr text)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.attname,
           CASE WHEN NOT a.attnotnull THEN 'NULL'
                ELSE pg_catalog.format('%L::%s', '[erased]', pg_catalog.format_type(a.atttypid, a.atttypmod)) END
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) a.atttypid
     WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
       AND a.attgenerated OPERATOR(pg_catalog.=) '' AND a.attidentity OPERATOR(pg_catalog.=) ''
       AND (NOT a.attnotnull OR ty.typcategory OPERATOR(pg_catalog.=) 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                        WHERE (c.conrelid OPERATOR(pg_catalog.=) $1 AND c.contype IN ('p', 'f')
                               AND a.attnum OPERATOR(pg_catalog.=) ANY (c.conkey))
                           OR (c.confrelid OPERATOR(pg_catalog.=) $1 AND c.contype OPERATOR(pg_catalog.=) 'f'
                               AND a.attnum OPERATOR(pg_catalog.=) ANY (c.confkey)))
       AND NOT EXISTS (SELECT 1 FROM privacy.retention_policies p
                        WHERE p.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1
                          AND a.attname IN (p.expiry_column, p.since_column))
     ORDER BY a.attnum
$$;
COMMENT ON FUNCTION privacy._erasure_defaults(oid) IS
  'Safe anonymization of a table without masking rules: nullable non-key columns to NULL, NOT NULL text to ''[erased]''';

-- Delete, or anonymize with its masking rules, the subject's rows of tbl that
-- the erasure in progress found itself (narrowed to subset when not NULL):
-- the caller needs DELETE or UPDATE on it; the statement runs as the table's
-- owner in a security-restricted operation, so that the table's triggers and
-- checks never run with the rights of the role that erases.
-- Returns {"rows": n} and, for an anonymization, "cleared" (the columns
-- changed) and "anonymized_with" ('masking rules' or 'safe defaults', see
-- privacy._erasure_defaults, used when the table has no masking rules).
CREATE OR REPLACE FUNCTION privacy._erase_subject_rows(tbl oid, action text, subset text[], why text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'privacy_erase_subject_rows' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._erase_subject_rows(oid, text, text[], text) IS
  'Deletes or anonymizes the subject''s rows of a table found by the erasure in progress, as the table''s owner (erase_subject only)';
REVOKE ALL ON FUNCTION privacy._erase_subject_rows(oid, text, text[], text) FROM PUBLIC;
-- PUBLIC: refuses outside erase_subject of the same user; acts only on rows that erasure found; caller's DELETE/UPDATE checked.
GRANT EXECUTE ON FUNCTION privacy._erase_subject_rows(oid, text, text[], text) TO PUBLIC;

-- Erasure of the rows _subject_rows found (called by erase_subject).  Plans first,
-- while row identities are stable: rows of held tables, of 'retain' and
-- 'anonymize' tables stay; a row of a 'delete' table that a staying row
-- references through a foreign key stays too, anonymized (to a fixed point).
-- Then changes tables children first, so no foreign key breaks.
CREATE OR REPLACE FUNCTION privacy._erase_subject(subject text, reason text, ctx jsonb, sets jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rules     jsonb := '{}';
    actions   jsonb := '{}';
    kept      jsonb := '{}';
    forced    jsonb := '{}';
    forced_by jsonb := '{}';
    held      jsonb := '{}';
    tbls      oid[];
    remaining oid[];
    pick      oid[];
    ordered   oid[] := '{}';
    g         record;
    e         record;
    t         oid;
    keys      text[];
    added     text[];
    changed   boolean;
    n         bigint;
    res       jsonb;
    reg       record;
    report    jsonb := '[]';
    entry     jsonb;
    why       text;
BEGIN
    FOR g IN SELECT x.relid, x.on_erasure FROM privacy._subject_rules() x ORDER BY x.depth DESC, x.relid LOOP
        tbls := tbls OPERATOR(pg_catalog.||) g.relid;
        rules := rules OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(g.relid::pg_catalog.text, g.on_erasure);
    END LOOP;
    FOR g IN SELECT h OPERATOR(pg_catalog.->>) 'relid' AS relid, h OPERATOR(pg_catalog.->>) 'reason' AS reason
               FROM pg_catalog.jsonb_array_elements(ctx OPERATOR(pg_catalog.->) 'holds') h LOOP
        held := held OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(g.relid, g.reason);
    END LOOP;
    -- deepest first (the order of tbls)
    remaining := ARRAY(SELECT r FROM pg_catalog.unnest(tbls) WITH ORDINALITY x(r, i)
                        WHERE sets OPERATOR(pg_catalog.?) r::pg_catalog.text ORDER BY x.i);

    -- plan
    FOREACH t IN ARRAY remaining LOOP
        actions := actions OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(t::pg_catalog.text,
                       CASE WHEN held OPERATOR(pg_catalog.?) t::pg_catalog.text THEN 'held'
                            ELSE rules OPERATOR(pg_catalog.->>) t::pg_catalog.text END);
        IF actions OPERATOR(pg_catalog.->>) t::pg_catalog.text OPERATOR(pg_catalog.<>) 'delete' THEN
            kept := kept OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(t::pg_catalog.text, sets OPERATOR(pg_catalog.->) t::pg_catalog.text);
        END IF;
    END LOOP;
    LOOP
        changed := false;
        FOR e IN SELECT * FROM privacy._subject_edges(tbls) x
                  WHERE actions OPERATOR(pg_catalog.->>) x.parent::pg_catalog.text OPERATOR(pg_catalog.=) 'delete'
                    AND kept OPERATOR(pg_catalog.?) x.child::pg_catalog.text LOOP
            keys := privacy._keys_of(kept, e.child);
            added := privacy._related_keys(e.child, e.child_cols, keys,
                                           e.parent, e.parent_cols, privacy._keys_of(sets, e.parent));
            added := ARRAY(SELECT k FROM pg_catalog.unnest(added) k
                           EXCEPT SELECT k FROM pg_catalog.unnest(privacy._keys_of(kept, e.parent)) k);
            IF pg_catalog.cardinality(added) OPERATOR(pg_catalog.>) 0 THEN
                kept := kept OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(e.parent::pg_catalog.text,
                            privacy._keys_of(kept, e.parent) OPERATOR(pg_catalog.||) added);
                forced := forced OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(e.parent::pg_catalog.text,
                            privacy._keys_of(forced, e.parent) OPERATOR(pg_catalog.||) added);
                forced_by := forced_by OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(e.parent::pg_catalog.text,
                            COALESCE(forced_by OPERATOR(pg_catalog.->) e.parent::pg_catalog.text, '[]')
                            OPERATOR(pg_catalog.||) pg_catalog.to_jsonb(e.child::pg_catalog.regclass::pg_catalog.text));
                changed := true;
            END IF;
        END LOOP;
        EXIT WHEN NOT changed;
    END LOOP;

    -- order: a table after every other table referencing it; in a cycle, the
    -- deepest table first (its rows must not be referenced by then, e.g. a
    -- nullable foreign key left NULL, or the erasure fails and changes nothing)
    WHILE pg_catalog.cardinality(remaining) OPERATOR(pg_catalog.>) 0 LOOP
        pick := ARRAY(SELECT r FROM pg_catalog.unnest(remaining) WITH ORDINALITY y(r, i)
                       WHERE NOT EXISTS (SELECT 1 FROM privacy._subject_edges(tbls) x
                                          WHERE x.parent OPERATOR(pg_catalog.=) r AND x.child OPERATOR(pg_catalog.<>) r
                                            AND x.child OPERATOR(pg_catalog.=) ANY (remaining))
                       ORDER BY y.i);
        IF pg_catalog.cardinality(pick) OPERATOR(pg_catalog.=) 0 THEN
            pick := remaining[1:1];
        END IF;
        ordered := ordered OPERATOR(pg_catalog.||) pick;
        remaining := ARRAY(SELECT r FROM pg_catalog.unnest(remaining) WITH ORDINALITY y(r, i)
                            WHERE NOT r OPERATOR(pg_catalog.=) ANY (pick) ORDER BY y.i);
    END LOOP;

    -- act
    FOREACH t IN ARRAY ordered LOOP
        keys := privacy._keys_of(sets, t);
        entry := pg_catalog.jsonb_build_object('table', t::pg_catalog.regclass::pg_catalog.text,
                     'on_erasure', rules OPERATOR(pg_catalog.->>) t::pg_catalog.text,
                     'rows', pg_catalog.cardinality(keys), 'deleted', 0, 'anonymized', 0, 'retained', 0, 'held', 0);
        CASE actions OPERATOR(pg_catalog.->>) t::pg_catalog.text
        WHEN 'held' THEN
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('held', pg_catalog.cardinality(keys),
                         'note', 'held: ' OPERATOR(pg_catalog.||) (held OPERATOR(pg_catalog.->>) t::pg_catalog.text),
                         'legal_reason', 'legal hold: ' OPERATOR(pg_catalog.||) (held OPERATOR(pg_catalog.->>) t::pg_catalog.text));
        WHEN 'retain' THEN
            SELECT s.tbl, s.purpose, s.retention INTO reg
              FROM privacy._subject_origins() o JOIN privacy.subject_tables s ON s.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) o.origin
             WHERE o.relid OPERATOR(pg_catalog.=) t;
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('retained', pg_catalog.cardinality(keys),
                         'legal_reason', pg_catalog.format('kept as required by law (on_erasure rule "retain" of %s)%s%s',
                             COALESCE(reg.tbl::pg_catalog.text, t::pg_catalog.regclass::pg_catalog.text),
                             ': ' OPERATOR(pg_catalog.||) reg.purpose,
                             ', for ' OPERATOR(pg_catalog.||) COALESCE(
                                 privacy._subject_retention_policy(t) OPERATOR(pg_catalog.->>) 'period', reg.retention)));
        WHEN 'anonymize' THEN
            res := privacy._erase_subject_rows(t, 'anonymize', NULL, 'Its on_erasure rule is anonymize.');
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('anonymized', res OPERATOR(pg_catalog.->) 'rows',
                         'cleared', res OPERATOR(pg_catalog.->) 'cleared', 'anonymized_with', res OPERATOR(pg_catalog.->) 'anonymized_with');
        ELSE
            added := privacy._keys_of(forced, t);
            keys := ARRAY(SELECT k FROM pg_catalog.unnest(keys) k EXCEPT SELECT k FROM pg_catalog.unnest(added) k);
            n := (privacy._erase_subject_rows(t, 'delete', keys) OPERATOR(pg_catalog.->>) 'rows')::bigint;
            entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('deleted', n);
            IF pg_catalog.cardinality(added) OPERATOR(pg_catalog.>) 0 THEN
                why := pg_catalog.format('%s rows are still referenced by rows kept in %s, so they are anonymized instead of deleted.',
                           pg_catalog.cardinality(added),
                           (SELECT pg_catalog.string_agg(DISTINCT b, ', ') FROM pg_catalog.jsonb_array_elements_text(
                                forced_by OPERATOR(pg_catalog.->) t::pg_catalog.text) b));
                res := privacy._erase_subject_rows(t, 'anonymize', added, why);
                entry := entry OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('anonymized', res OPERATOR(pg_catalog.->) 'rows',
                             'cleared', res OPERATOR(pg_catalog.->) 'cleared',
                             'anonymized_with', res OPERATOR(pg_catalog.->) 'anonymized_with', 'note', why);
            END IF;
        END CASE;
        report := report OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(entry);
    END LOOP;

    RETURN pg_catalog.jsonb_build_object(
        'subject', subject,
        'reason', reason,
        'request_id', ctx OPERATOR(pg_catalog.->) 'request_id',
        'erased_at', pg_catalog.clock_timestamp(),
        'status', CASE WHEN pg_catalog.jsonb_array_length(ctx OPERATOR(pg_catalog.->) 'holds') OPERATOR(pg_catalog.>) 0
                       THEN 'partial' ELSE 'complete' END,
        'tables', report,
        'held', ctx OPERATOR(pg_catalog.->) 'holds');
END
$$;
COMMENT ON FUNCTION privacy._erase_subject(text, text, jsonb, jsonb) IS
  'Erases a subject''s rows found by _subject_rows, per on_erasure, in foreign-key order, each table changed as its owner (called by erase_subject)';
REVOKE ALL ON FUNCTION privacy._erase_subject(text, text, jsonb, jsonb) FROM PUBLIC;

-- After an erasure, as the extension owner: destroy the subject's own key
-- (unless some of the subject's data is held) and write the deletion log
-- (privacy.deletion_log, one row per table and action).  Returns the report
-- completed with what was done.
CREATE OR REPLACE FUNCTION privacy._finish_erasure(subject text, report jsonb, caller text, close_request boolean)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kname  text := privacy.subject_key_name(subject);
    status text;
    key    jsonb;
    closed boolean := false;
    erased text[];
BEGIN
    SELECT k.status INTO status FROM privacy.keys k
     WHERE k.name OPERATOR(pg_catalog.=) kname ORDER BY k.version DESC LIMIT 1;
    IF status IS NULL THEN
        key := pg_catalog.jsonb_build_object('name', kname, 'existed', false, 'destroyed', false);
    ELSIF status OPERATOR(pg_catalog.=) 'destroyed' THEN
        key := pg_catalog.jsonb_build_object('name', kname, 'existed', true, 'destroyed', true);
    ELSIF pg_catalog.jsonb_array_length(report OPERATOR(pg_catalog.->) 'held') OPERATOR(pg_catalog.>) 0 THEN
        key := pg_catalog.jsonb_build_object('name', kname, 'existed', true, 'destroyed', false,
                                             'note', 'kept: some of the subject''s data is held');
    ELSE
        PERFORM privacy.destroy_key(kname);
        key := pg_catalog.jsonb_build_object('name', kname, 'existed', true, 'destroyed', true);
    END IF;

    INSERT INTO privacy.deletion_log (relid, table_name, policy, action, rows, role, note)
    SELECT (x OPERATOR(pg_catalog.->>) 'table')::pg_catalog.regclass::pg_catalog.oid, x OPERATOR(pg_catalog.->>) 'table',
           'erasure', a.action, (x OPERATOR(pg_catalog.->>) a.done)::bigint, caller,
           pg_catalog.format('erase_subject, request %s: %s',
                             COALESCE(report OPERATOR(pg_catalog.->>) 'request_id', 'none'),
                             report OPERATOR(pg_catalog.->>) 'reason')
      FROM pg_catalog.jsonb_array_elements(report OPERATOR(pg_catalog.->) 'tables') x
     CROSS JOIN (VALUES ('deleted', 'delete'), ('anonymized', 'anonymize')) a (done, action)
     WHERE (x OPERATOR(pg_catalog.->>) a.done)::bigint OPERATOR(pg_catalog.<>) 0;
    IF close_request THEN
        closed := privacy._close_answered_request(report,
                      'erased by erase_subject (' OPERATOR(pg_catalog.||) (report OPERATOR(pg_catalog.->>) 'status')
                      OPERATOR(pg_catalog.||) ')');
    END IF;
    -- Art. 19: the recipients of the tables whose rows were deleted or anonymized
    erased := ARRAY(SELECT x OPERATOR(pg_catalog.->>) 'table' FROM pg_catalog.jsonb_array_elements(report OPERATOR(pg_catalog.->) 'tables') x
                     WHERE (x OPERATOR(pg_catalog.->>) 'deleted')::bigint OPERATOR(pg_catalog.>) 0
                        OR (x OPERATOR(pg_catalog.->>) 'anonymized')::bigint OPERATOR(pg_catalog.>) 0);
    RETURN report OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
        'erased_by', caller,
        'controller', NULLIF(pg_catalog.current_setting('privacy.controller'), ''),
        'recipients_to_notify', COALESCE((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('name', r.name, 'country', r.country,
                       'tables', CASE WHEN r.tbl IS NULL THEN pg_catalog.to_jsonb(erased)
                                      ELSE pg_catalog.jsonb_build_array(r.tbl::pg_catalog.text) END) ORDER BY r.name, r.id)
              FROM privacy.recipients r
             WHERE pg_catalog.cardinality(erased) OPERATOR(pg_catalog.>) 0
               AND (r.tbl IS NULL OR r.tbl::pg_catalog.text OPERATOR(pg_catalog.=) ANY (erased))), '[]'),
        'backups', 'Erased rows remain in existing backups and archived WAL until these expire; restoring one must be '
                   'followed by this erasure again (see privacy.deletion_log). Values encrypted with the subject''s own key '
                   'cannot be decrypted in any copy once that key is destroyed.',
        'request_closed', closed,
        'key', key, 'deletion_log', true);
END
$$;
COMMENT ON FUNCTION privacy._finish_erasure(text, jsonb, text, boolean) IS
  'Destroys the subject''s key unless data is held, writes privacy.deletion_log, closes the erasure request, adds actor, controller, recipients to notify and the note on backups, as the extension owner';
REVOKE ALL ON FUNCTION privacy._finish_erasure(text, jsonb, text, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.erase_subject(subject text, reason text, request_id int DEFAULT NULL,
                                                 close_request boolean DEFAULT true) RETURNS jsonb
AS 'MODULE_PATHNAME', 'privacy_erase_subject' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION privacy.erase_subject(text, text, int, boolean) IS
  'Right to erasure (GDPR Art. 17) across the registered tables in foreign-key order, per on_erasure; held data is kept and listed; destroys the subject''s key; closes the erasure request unless close_request is false; audited';
REVOKE ALL ON FUNCTION privacy.erase_subject(text, text, int, boolean) FROM PUBLIC;

-- PUBLIC: an invoker-rights helper of erasure (run by a DPO): it reads only the catalog
-- and the PUBLIC-readable registries.
GRANT EXECUTE ON FUNCTION privacy._erasure_defaults(oid) TO PUBLIC;
