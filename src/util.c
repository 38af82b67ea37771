/*
 * util.c — owner scope for catalog bookkeeping, base64, small text helpers.
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
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

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

/* Owner of relation relid (an error when it no longer exists). */
Oid
privacy_relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
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

static const char b64_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Length of the base64 encoding of srclen bytes. */
int
privacy_b64_enc_len(int srclen)
{
	return (srclen + 2) / 3 * 4;
}

/* Encode len bytes into dst (privacy_b64_enc_len(len) bytes); returns that length. */
int
privacy_b64_encode(const uint8 *src, int len, char *dst)
{
	char	   *p = dst;
	int			i;

	for (i = 0; i + 2 < len; i += 3)
	{
		uint32		v = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];

		*p++ = b64_alphabet[(v >> 18) & 63];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = b64_alphabet[(v >> 6) & 63];
		*p++ = b64_alphabet[v & 63];
	}
	if (i < len)
	{
		uint32		v = src[i] << 16;

		if (i + 1 < len)
			v |= src[i + 1] << 8;
		*p++ = b64_alphabet[(v >> 18) & 63];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = (i + 1 < len) ? b64_alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	return p - dst;
}

/* Value of one base64 character, or -1. */
static inline int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode canonical padded base64 of len characters into dst (at least
 * len / 4 * 3 bytes).  Returns the decoded length, or -1 if the input is not
 * canonical base64.
 */
int
privacy_b64_decode(const char *src, int len, uint8 *dst)
{
	uint8	   *p = dst;
	int			i;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4)
	{
		int			a = b64_value(src[i]);
		int			b = b64_value(src[i + 1]);
		int			c = b64_value(src[i + 2]);
		int			d = b64_value(src[i + 3]);
		bool		last = (i + 4 == len);

		if (a < 0 || b < 0)
			return -1;
		if (c < 0 || d < 0)
		{
			/* padding only at the very end: "xx==" or "xxx=" */
			if (!last || src[i + 3] != '=' || (c < 0 && src[i + 2] != '='))
				return -1;
			*p++ = (a << 2) | (b >> 4);
			if (c >= 0)
				*p++ = ((b & 15) << 4) | (c >> 2);
			break;
		}
		*p++ = (a << 2) | (b >> 4);
		*p++ = ((b & 15) << 4) | (c >> 2);
		*p++ = ((c & 3) << 6) | d;
	}
	return p - dst;
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

/*
 * GUC check hook for settings that hold a positive interval ("30 days",
 * "P1M"): parses as interval_in does, but reports instead of raising (check
 * hooks must not throw), so a bad value is refused when it is set, not when
 * it is first used.
 */
bool
privacy_check_positive_interval(char **newval, void **extra, GucSource source)
{
	char		workbuf[MAXDATELEN + 1];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype = 0;
	int			dterr;
	struct pg_itm_in itm;
	double		usecs;

	if (*newval == NULL || strlen(*newval) > MAXDATELEN)
	{
		GUC_check_errdetail("The value is not an interval.");
		return false;
	}
	memset(&itm, 0, sizeof(itm));
	dterr = ParseDateTime(*newval, workbuf, sizeof(workbuf), field, ftype,
						  MAXDATEFIELDS, &nf);
	if (dterr == 0)
		dterr = DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE, &dtype, &itm);
	if (dterr == DTERR_BAD_FORMAT)
	{
		/* ISO 8601 form; DecodeISO8601Interval scribbles on its input */
		char	   *copy = pstrdup(*newval);

		memset(&itm, 0, sizeof(itm));
		dterr = DecodeISO8601Interval(copy, &dtype, &itm);
		pfree(copy);
	}
	if (dterr != 0 || dtype != DTK_DELTA)
	{
		GUC_check_errdetail("\"%s\" is not an interval.", *newval);
		return false;
	}
	usecs = ((double) itm.tm_year * MONTHS_PER_YEAR + itm.tm_mon) * DAYS_PER_MONTH * USECS_PER_DAY
		+ (double) itm.tm_mday * USECS_PER_DAY + (double) itm.tm_usec;
	if (usecs <= 0)
	{
		GUC_check_errdetail("The interval must be positive.");
		return false;
	}
	return true;
}

/*
 * GUC check hook for settings that hold a comma-separated list of
 * identifiers (database names): refuses what SplitIdentifierString cannot
 * split, so a typo is reported when it is set.
 */
bool
privacy_check_identifier_list(char **newval, void **extra, GucSource source)
{
	char	   *copy;
	List	   *names = NIL;
	bool		ok;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	copy = pstrdup(*newval);
	ok = SplitIdentifierString(copy, ',', &names);
	list_free(names);
	pfree(copy);
	if (!ok)
		GUC_check_errdetail("The value must be a comma-separated list of names.");
	return ok;
}

/*
 * GUC check hook for settings that hold one SQL identifier (a schema name):
 * non-empty and short enough to be a name.
 */
bool
privacy_check_identifier(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("The value must be a name of 1 to %d bytes.", NAMEDATALEN - 1);
		return false;
	}
	return true;
}
