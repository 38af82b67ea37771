-- Upgrade prelude 0.1.0 -> 0.2.0.  Runs before the fragments (src/sql/*.sql),
-- which then create or replace every object of 0.2.0.  What belongs here: what
-- the fragments cannot express re-runnably — dropping objects that 0.2.0 no
-- longer has or whose signature, result type or argument names changed,
-- dropping views whose columns changed, and data migrations.

-- Erasure no longer takes row addresses from SQL: the rows are those the
-- erasure found itself (privacy._erase_subject_rows).
DROP FUNCTION IF EXISTS privacy._erase_rows(oid, text, text[], text);
-- export and erasure implementations take the rows found by erase_subject/export_subject
DROP FUNCTION IF EXISTS privacy._export_subject(text, jsonb);
-- row identities are built in C (src/rowid.c: primary-key values on Citus tables), not spliced SQL text
DROP FUNCTION IF EXISTS privacy._key_expr(text);
DROP FUNCTION IF EXISTS privacy._key_match(text, int, int);
DROP FUNCTION IF EXISTS privacy._key_ctids(text[]);
DROP FUNCTION IF EXISTS privacy._erase_subject(text, text, jsonb);

-- render.sql: the HTML table builder takes the keys to leave out
DROP FUNCTION IF EXISTS privacy._html_table(jsonb);

-- data subjects: new parameters (automated decisions, closing the request
-- answered, plaintext grants), per-table index warnings, richer processing
-- records and erasure reports
DROP FUNCTION IF EXISTS privacy.register_subject_table(regclass, name, text[], text, text, text, boolean, text, name[]);
DROP FUNCTION IF EXISTS privacy._register_subject_table(regclass, name, text[], text, text, text, boolean, text, name[]);
DROP FUNCTION IF EXISTS privacy._subject_index_warnings();
DROP FUNCTION IF EXISTS privacy._subject_processing(oid, text);
DROP FUNCTION IF EXISTS privacy.export_subject(text, int);
DROP FUNCTION IF EXISTS privacy.erase_subject(text, text, int);
DROP FUNCTION IF EXISTS privacy._finish_erasure(text, jsonb, text);
DROP FUNCTION IF EXISTS privacy._erase_subject_rows(oid, text, text[], text);
DROP FUNCTION IF EXISTS privacy.grant_subject_rights(regrole);

-- Legal holds across foreign keys: the hold condition is built per hold
-- (privacy._holds_on, privacy._subject_hold_condition); the report gains
-- rows_kept and held_by.
DROP FUNCTION IF EXISTS privacy._held_condition(regclass);
DROP FUNCTION IF EXISTS privacy._subject_holds_condition(regclass);
DROP FUNCTION IF EXISTS privacy._subject_hold_condition(regclass, text);
DROP FUNCTION IF EXISTS privacy.retention_report();
DROP FUNCTION IF EXISTS privacy._retention_counts(regclass, name);

-- protected_value's col argument is text in 0.2.0 (a name argument gave the
-- result collation "C", so lookups never matched the column's index).
DROP FUNCTION IF EXISTS privacy.protected_value(regclass, name, text);

-- One event trigger per event (events.sql) dispatching to the modules'
-- handlers, which become plain functions: the per-module event triggers and
-- the old event-trigger forms of the handlers go.
DROP EVENT TRIGGER IF EXISTS privacy_retention_sql_drop;
DROP EVENT TRIGGER IF EXISTS privacy_subject_sql_drop;
DROP EVENT TRIGGER IF EXISTS privacy_views_sql_drop;
DROP EVENT TRIGGER IF EXISTS privacy_views_ddl_end;
DROP FUNCTION IF EXISTS privacy._retention_on_sql_drop();
DROP FUNCTION IF EXISTS privacy._subject_on_sql_drop();
DROP FUNCTION IF EXISTS privacy._views_on_sql_drop();
DROP FUNCTION IF EXISTS privacy._views_on_ddl_end();
