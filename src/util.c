/*
 * util.c — owner scope for catalog bookkeeping, small text helpers.
 * (base64 is in crypto_parse.c.)
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "util.h"

/* Oid of the "privacy" schema; InvalidOid (or an error) when missing. */
Oid
privacy_schema_oid(bool missing_ok)
{
	Oid			nsp = get_namespace_oid("privacy", true);

	if (!OidIsValid(nsp) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"privacy\" does not exist"),
				 errhint("Run CREATE EXTENSION privacy in this database.")));
	return nsp;
}

/* The role owning the "privacy" schema: the role that created the extension. */
Oid
privacy_owner_oid(void)
{
	Oid			nsp = privacy_schema_oid(false);
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Enter a role scope: SPI connected, current user switched to role (as a
 * security-restricted operation: no SET ROLE, no temp objects, no session
 * state changes), search_path pinned.  On error, transaction abort restores
 * user, GUCs and SPI by itself.
 */
void
privacy_role_scope_begin(Oid role, OwnerScope *scope)
{
	GetUserIdAndSecContext(&scope->save_userid, &scope->save_sec_context);
	SetUserIdAndSecContext(role,
						   scope->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	scope->save_nestlevel = NewGUCNestLevel();
	/* parallel workers cannot set GUCs; every query here is schema-qualified */
	if (!IsInParallelMode())
		(void) set_config_option("search_path", "pg_catalog, pg_temp",
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
}

/* Enter an owner scope: a role scope as the extension owner. */
void
privacy_owner_begin(OwnerScope *scope)
{
	privacy_role_scope_begin(privacy_owner_oid(), scope);
}

/* Leave a scope entered by privacy_owner_begin or privacy_role_scope_begin. */
void
privacy_owner_end(OwnerScope *scope)
{
	SPI_finish();
	AtEOXact_GUC(true, scope->save_nestlevel);
	SetUserIdAndSecContext(scope->save_userid, scope->save_sec_context);
}

/* Refuse callers that do not own the table (or that no longer exists). */
void
privacy_require_table_owner(Oid relid)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
#if PG_VERSION_NUM >= 160000
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
#else
	if (!pg_class_ownercheck(relid, GetUserId()))
#endif
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", name)));
}

/* Raise an internal error unless an SPI call returned what was expected. */
void
privacy_spi_check(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "could not %s: %s", what, SPI_result_code_string(rc));
}

/* Name of the current user as the caller sees it. */
char *
privacy_calling_role(void)
{
	return GetUserNameFromId(GetUserId(), false);
}

/* text argument as a C string, refusing anything longer than maxlen bytes. */
char *
privacy_text_to_cstring_limited(text *t, int maxlen, const char *what)
{
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len == 0 || len > maxlen)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 1 and %d bytes long", what, maxlen)));
	return text_to_cstring(t);
}
