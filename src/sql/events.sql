-- Event triggers: one per event, dispatching to each module's handler (a
-- plain function of the module that owns the data; handlers read the event's
-- objects with pg_event_trigger_dropped_objects() / _ddl_commands()).  The
-- dispatchers run as the extension owner (SECURITY DEFINER) so that the
-- handlers may keep the extension's registries in step; every handler acts
-- only on registry rows of the objects the command itself dropped or altered.
-- Handlers run in the order the separate event triggers of 0.1.0 fired.

CREATE OR REPLACE FUNCTION privacy._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy._retention_on_sql_drop();
    PERFORM privacy._protect_on_sql_drop();
    PERFORM privacy._subject_on_sql_drop();
    PERFORM privacy._views_on_sql_drop();
END
$$;
REVOKE ALL ON FUNCTION privacy._on_sql_drop() FROM PUBLIC;
COMMENT ON FUNCTION privacy._on_sql_drop() IS
  'Event trigger on sql_drop: calls the retention, protect, subject and views handlers';
DROP EVENT TRIGGER IF EXISTS privacy_sql_drop;
CREATE EVENT TRIGGER privacy_sql_drop ON sql_drop EXECUTE FUNCTION privacy._on_sql_drop();

CREATE OR REPLACE FUNCTION privacy._on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM privacy._protect_on_ddl_end(tg_tag);
    PERFORM privacy._views_on_ddl_end(tg_tag);
END
$$;
REVOKE ALL ON FUNCTION privacy._on_ddl_end() FROM PUBLIC;
COMMENT ON FUNCTION privacy._on_ddl_end() IS
  'Event trigger on ddl_command_end (ALTER TABLE, SECURITY LABEL): calls the protect and views handlers';
DROP EVENT TRIGGER IF EXISTS privacy_ddl_end;
CREATE EVENT TRIGGER privacy_ddl_end ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'SECURITY LABEL') EXECUTE FUNCTION privacy._on_ddl_end();
