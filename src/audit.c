/*
 * audit.c — writing to privacy.audit_log.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "audit.h"
#include "util.h"

/* Append one row to privacy.audit_log as the extension owner. */
void
privacy_audit(const char *action, const char *object,
			  const char *subject, const char *details_json)
{
	OwnerScope	scope;
	Oid			argtypes[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	char	   *acting = privacy_calling_role();
	char	   *session = GetUserNameFromId(GetSessionUserId(), false);
	int			rc;

	/* objects made by the extension script itself are not audited (see keys.sql) */
	if (creating_extension)
		return;

	values[0] = CStringGetTextDatum(session);
	values[1] = CStringGetTextDatum(acting);
	values[2] = CStringGetTextDatum(action);
	if (object)
		values[3] = CStringGetTextDatum(object);
	else
		nulls[3] = 'n';
	if (subject)
		values[4] = CStringGetTextDatum(subject);
	else
		nulls[4] = 'n';
	if (details_json)
		values[5] = CStringGetTextDatum(details_json);
	else
		nulls[5] = 'n';

	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args(
							   "INSERT INTO privacy.audit_log "
							   "(session_role, acting_role, action, object, subject, details) "
							   "VALUES ($1::pg_catalog.name, $2::pg_catalog.name, $3, $4, $5, $6::pg_catalog.jsonb)",
							   6, argtypes, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not write audit row: %s", SPI_result_code_string(rc));
	privacy_owner_end(&scope);
}
