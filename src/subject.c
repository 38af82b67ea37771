/*
 * subject.c — data subjects: per-subject keys, and the entry points of the
 * registry, requests, consent, restriction, export and erasure.
 *
 * The bookkeeping of those functions is PL/pgSQL (src/sql/subject.sql).  The
 * C entry points decide who it runs as: registry, request, consent and
 * restriction changes run their implementation privacy._<name> as the
 * extension owner, after checking the caller's rights; export and erasure read
 * and change the subject's tables with the caller's own privileges, and only
 * their bookkeeping (ledger, holds, key, deletion log) runs as the owner.
 * Every entry point writes its audit row with the caller's identity.
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "audit.h"
#include "crypto.h"
#include "subject.h"
#include "util.h"

#define SUBJECT_KEY_PREFIX "subject:"
#define SUBJECT_KEY_HEX 32

static char *subject_controller = NULL;
static char *subject_request_deadline = NULL;

PG_FUNCTION_INFO_V1(privacy_subject_key_name);
PG_FUNCTION_INFO_V1(privacy_encrypt_for_subject);
PG_FUNCTION_INFO_V1(privacy_subject_owner_call);
PG_FUNCTION_INFO_V1(privacy_export_subject);
PG_FUNCTION_INFO_V1(privacy_erase_subject);
PG_FUNCTION_INFO_V1(privacy_erase_rows);

/* keys.c: privacy.create_key(name, purpose) */
extern Datum privacy_create_key(PG_FUNCTION_ARGS);

/* Functions run through privacy_subject_owner_call, and how they are checked. */
typedef struct OwnerCall
{
	const char *name;			/* SQL name; the implementation is privacy._<name> */
	bool		table_owner;	/* first argument is a table the caller must own */
	int			subject_arg;	/* argument naming the data subject, or -1 */
} OwnerCall;

static const OwnerCall owner_calls[] = {
	{"register_subject_table", true, -1},
	{"unregister_subject_table", true, -1},
	{"register_recipient", false, -1},
	{"open_request", false, 0},
	{"close_request", false, -1},
	{"record_consent", false, 0},
	{"restrict", false, 0},
	{"unrestrict", false, 0},
};

/* Name of a subject's own key: "subject:" and 32 hex digits of SHA-256. */
static char *
subject_key_name(text *subject)
{
	uint8		md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char	   *name = palloc(sizeof(SUBJECT_KEY_PREFIX) + SUBJECT_KEY_HEX);
	int			i;

	if (!EVP_Digest(VARDATA_ANY(subject), VARSIZE_ANY_EXHDR(subject), md, &mdlen,
					EVP_sha256(), NULL) || mdlen < SUBJECT_KEY_HEX / 2)
		elog(ERROR, "SHA-256 failed");
	memcpy(name, SUBJECT_KEY_PREFIX, sizeof(SUBJECT_KEY_PREFIX));
	for (i = 0; i < SUBJECT_KEY_HEX / 2; i++)
		snprintf(name + strlen(SUBJECT_KEY_PREFIX) + 2 * i, 3, "%02x", md[i]);
	return name;
}

/* privacy.subject_key_name(subject) */
Datum
privacy_subject_key_name(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(subject_key_name(PG_GETARG_TEXT_PP(0))));
}

/* Error for a NULL required argument. */
static void
require_arg(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/*
 * Status of the subject's key ("active", "destroyed"), or NULL when it does
 * not exist yet.  With create, a missing key is created first; an advisory
 * lock on the name keeps concurrent first uses from racing.
 */
static char *
subject_key_status(const char *name, bool create)
{
	OwnerScope	scope;
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(name);
	MemoryContext cxt = CurrentMemoryContext;
	char	   *status = NULL;
	int			rc;

	privacy_owner_begin(&scope);
	if (create)
	{
		rc = SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))",
								   1, &argtype, &arg, NULL, false, 1);
		privacy_spi_check(rc, SPI_OK_SELECT, "lock subject key");
	}
	rc = SPI_execute_with_args("SELECT status FROM privacy.keys WHERE name OPERATOR(pg_catalog.=) $1 "
							   "ORDER BY version DESC LIMIT 1",
							   1, &argtype, &arg, NULL, false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.keys");
	if (SPI_processed == 1)
		status = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	privacy_owner_end(&scope);

	if (status == NULL && create)
	{
		(void) DirectFunctionCall2(privacy_create_key, CStringGetTextDatum(name),
								   CStringGetTextDatum("encrypt"));
		status = pstrdup("created");
	}
	return status;
}

/*
 * privacy.encrypt_for_subject(subject, data, context): AES-256-GCM under the
 * subject's own key, created on first use.  After erase_subject destroyed it
 * nothing more can be encrypted for the subject, and nothing decrypted.
 */
Datum
privacy_encrypt_for_subject(PG_FUNCTION_ARGS)
{
	text	   *subject;
	text	   *data;
	char	   *name;
	char	   *status;
	CryptoContext cbuf;
	CryptoContext *ctx = NULL;
	bytea	   *result;

	require_arg(fcinfo, 0, "subject");
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	subject = PG_GETARG_TEXT_PP(0);
	data = PG_GETARG_TEXT_PP(1);
	if (!PG_ARGISNULL(2))
	{
		text	   *c = PG_GETARG_TEXT_PP(2);

		cbuf.data = VARDATA_ANY(c);
		cbuf.len = VARSIZE_ANY_EXHDR(c);
		ctx = &cbuf;
	}
	name = subject_key_name(subject);
	status = subject_key_status(name, true);
	if (strcmp(status, "destroyed") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the key of this data subject has been destroyed"),
				 errdetail("The subject was erased; nothing can be encrypted for them any more.")));
	if (strcmp(status, "created") != 0)
		PG_RETURN_BYTEA_P(privacy_encrypt_raw(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
											  cstring_to_text(name), false, ctx));

	/* the key ring reads with the statement's snapshot: let it see the new key */
	CommandCounterIncrement();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	result = privacy_encrypt_raw(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
								 cstring_to_text(name), false, ctx);
	PopActiveSnapshot();
	PG_RETURN_BYTEA_P(result);
}

/* Oid of privacy.<fname>(argtypes); errors if missing. */
static Oid
subject_func(const char *fname, int nargs, Oid *argtypes)
{
	List	   *names = list_make2(makeString(pstrdup("privacy")), makeString(pstrdup(fname)));

	return LookupFuncName(names, nargs, argtypes, false);
}

/*
 * Call a function with these arguments, as the extension owner or with the
 * caller's rights.  The result lives in the caller's memory context.
 */
static Datum
call_function(Oid fnoid, int nargs, const Datum *args, const bool *nulls,
			  bool as_owner, bool *isnull)
{
	FmgrInfo	flinfo;
	OwnerScope	scope;
	MemoryContext cxt = CurrentMemoryContext;
	Datum		result;
	int			i;

	LOCAL_FCINFO(callinfo, FUNC_MAX_ARGS);

	fmgr_info(fnoid, &flinfo);
	InitFunctionCallInfoData(*callinfo, &flinfo, nargs, DEFAULT_COLLATION_OID, NULL, NULL);
	for (i = 0; i < nargs; i++)
	{
		callinfo->args[i].value = args[i];
		callinfo->args[i].isnull = nulls[i];
	}
	if (as_owner)
	{
		privacy_owner_begin(&scope);
		MemoryContextSwitchTo(cxt);
	}
	result = FunctionCallInvoke(callinfo);
	*isnull = callinfo->isnull;
	if (as_owner)
		privacy_owner_end(&scope);
	return result;
}

/* A jsonb Datum as JSON text. */
static char *
jsonb_text(Datum j)
{
	return DatumGetCString(DirectFunctionCall1(jsonb_out, j));
}

/* Append "name": value (a JSON string, or null) to a JSON object being built. */
static void
append_json_field(StringInfo buf, const char *name, const char *value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, name);
	appendStringInfoString(buf, ": ");
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/* Text form of a Datum of type typid. */
static char *
datum_text(Datum value, Oid typid)
{
	Oid			out;
	bool		isvarlena;

	getTypeOutputInfo(typid, &out, &isvarlena);
	return OidOutputFunctionCall(out, value);
}

/*
 * Entry point of the registry, request, consent and restriction functions:
 * checks the caller's rights, runs privacy._<name> with the same arguments as
 * the extension owner, and audits the call (arguments and result) as the caller.
 */
Datum
privacy_subject_owner_call(PG_FUNCTION_ARGS)
{
	Oid			fn = fcinfo->flinfo->fn_oid;
	char	   *fname = get_func_name(fn);
	const OwnerCall *call = NULL;
	Oid		   *argtypes;
	char	  **argnames;
	char	   *argmodes;
	Oid			rettype;
	int			nargs;
	Datum		args[FUNC_MAX_ARGS] = {0};
	bool		nulls[FUNC_MAX_ARGS] = {0};
	Datum		result;
	bool		isnull;
	StringInfoData details;
	const char *subject = NULL;
	const char *object = NULL;
	HeapTuple	proc;
	int			i;

	for (i = 0; i < lengthof(owner_calls); i++)
		if (fname && strcmp(owner_calls[i].name, fname) == 0)
			call = &owner_calls[i];
	if (call == NULL)
		elog(ERROR, "privacy_subject_owner_call cannot serve function %u", fn);

	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(proc))
		elog(ERROR, "cache lookup failed for function %u", fn);
	nargs = get_func_arg_info(proc, &argtypes, &argnames, &argmodes);
	ReleaseSysCache(proc);
	rettype = get_func_rettype(fn);

	for (i = 0; i < nargs; i++)
	{
		args[i] = PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i);
	}
	if (call->table_owner && !nulls[0])
		privacy_require_table_owner(DatumGetObjectId(args[0]));

	result = call_function(subject_func(psprintf("_%s", fname), nargs, argtypes),
						   nargs, args, nulls, true, &isnull);

	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	for (i = 0; i < nargs; i++)
	{
		char	   *v = nulls[i] ? NULL : datum_text(args[i], argtypes[i]);

		if (i == call->subject_arg)
			subject = v;
		else if (i == 0)
			object = v;
		else
			append_json_field(&details, argnames ? argnames[i] : "arg", v);
	}
	if (rettype != VOIDOID)
		append_json_field(&details, "result", isnull ? NULL : datum_text(result, rettype));
	appendStringInfoChar(&details, '}');
	privacy_audit(fname, object, subject, details.data);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*
 * Bookkeeping of an export or erasure, read as the extension owner: consent
 * history, requests, restriction, holds, and the request answered (given, or
 * the latest open one of the kinds in the comma-separated list).
 */
static Datum
subject_context(FunctionCallInfo fcinfo, int request_arg, const char *kinds)
{
	Oid			types[3] = {TEXTOID, INT4OID, TEXTARRAYOID};
	Datum		args[3];
	bool		nulls[3] = {false, PG_ARGISNULL(request_arg), false};
	bool		isnull;

	args[0] = PG_GETARG_DATUM(0);
	args[1] = nulls[1] ? (Datum) 0 : PG_GETARG_DATUM(request_arg);
	args[2] = DirectFunctionCall2Coll(text_to_array, DEFAULT_COLLATION_OID, CStringGetTextDatum(kinds), CStringGetTextDatum(","));
	return call_function(subject_func("_subject_context", 3, types), 3, args, nulls, true, &isnull);
}

/* Audit details naming the request an export or erasure answered. */
static char *
request_details(Datum ctx)
{
	return psprintf("{\"request_id\": %s}",
					jsonb_text(DirectFunctionCall2(jsonb_object_field, ctx,
												   CStringGetTextDatum("request_id"))));
}

/*
 * privacy.export_subject(subject, request_id): the subject's data read with
 * the caller's rights, with the ledger read as the owner; audited.
 */
Datum
privacy_export_subject(PG_FUNCTION_ARGS)
{
	Oid			types[2] = {TEXTOID, JSONBOID};
	Datum		args[2];
	bool		nulls[2] = {false, false};
	Datum		ctx;
	Datum		result;
	bool		isnull;

	require_arg(fcinfo, 0, "subject");
	ctx = subject_context(fcinfo, 1, "access,portability");
	args[0] = PG_GETARG_DATUM(0);
	args[1] = ctx;
	result = call_function(subject_func("_export_subject", 2, types), 2, args, nulls, false, &isnull);
	privacy_audit("export_subject", NULL, text_to_cstring(PG_GETARG_TEXT_PP(0)), request_details(ctx));
	PG_RETURN_DATUM(result);
}

/*
 * privacy.erase_subject(subject, reason, request_id): rows changed with the
 * caller's rights, then the subject's key destroyed and the deletion log
 * written as the owner; the report is audited.
 */
Datum
privacy_erase_subject(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTOID, TEXTOID, JSONBOID};
	Datum		args[3];
	bool		nulls[3] = {false, false, false};
	Datum		report;
	bool		isnull;

	require_arg(fcinfo, 0, "subject");
	require_arg(fcinfo, 1, "reason");
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = subject_context(fcinfo, 2, "erasure");
	report = call_function(subject_func("_erase_subject", 3, types), 3, args, nulls, false, &isnull);

	types[1] = JSONBOID;
	types[2] = TEXTOID;
	args[1] = report;
	args[2] = CStringGetTextDatum(privacy_calling_role());
	report = call_function(subject_func("_finish_erasure", 3, types), 3, args, nulls, true, &isnull);
	privacy_audit("erase_subject", NULL, text_to_cstring(PG_GETARG_TEXT_PP(0)), jsonb_text(report));
	PG_RETURN_DATUM(report);
}

/* GUCs of the data-subject functions. */
void
SubjectInit(void)
{
	DefineCustomStringVariable("privacy.controller",
							   "Name of the data controller, written into every export_subject.",
							   NULL,
							   &subject_controller, "",
							   PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("privacy.request_deadline",
							   "Time allowed to answer a data-subject request.",
							   "An interval; GDPR Art. 12(3) allows one month.",
							   &subject_request_deadline, "30 days",
							   PGC_SUSET, 0, privacy_check_positive_interval, NULL, NULL);
}

/* Owner of relation relid. */
static Oid
relation_owner(Oid relid)
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

/* First column of the first row of a query run in the current SPI connection. */
static char *
spi_text(const char *sql, int nargs, Oid *types, Datum *vals)
{
	if (SPI_execute_with_args(sql, nargs, types, vals, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not run \"%s\"", sql);
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * privacy._erase_rows(tbl, action, keys, why): delete ('delete') or apply the
 * masking rules to ('anonymize') the rows of tbl with these identities, for
 * erase_subject.  The caller needs DELETE or UPDATE on the table; the
 * statement then runs as the table's owner in a security-restricted
 * operation, so the table's triggers, rules and domain checks never run with
 * the rights of the (privileged) role that erases.  Returns the row count.
 */
Datum
privacy_erase_rows(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *action = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Datum		keys = PG_GETARG_DATUM(2);
	char	   *why = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	bool		anonymize = strcmp(action, "anonymize") == 0;
	Oid			types[2] = {TIDARRAYOID, TEXTARRAYOID};
	Datum		vals[2];
	Oid			argtype = TEXTARRAYOID;
	Oid			oidtype = OIDOID;
	Datum		oidval = ObjectIdGetDatum(relid);
	char	   *match;
	char	   *sets = NULL;
	char	   *sql;
	OwnerScope	scope;
	uint64		n;
	MemoryContext outer = CurrentMemoryContext;

	if (!anonymize && strcmp(action, "delete") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("erasure action must be \"delete\" or \"anonymize\", not \"%s\"", action)));
	if (pg_class_aclcheck(relid, GetUserId(), anonymize ? ACL_UPDATE : ACL_DELETE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(relid))));

	/* the statement, built as the caller from the extension's own helpers */
	privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
	match = MemoryContextStrdup(outer, spi_text("SELECT privacy._key_match('t', 1, 2)", 0, NULL, NULL));
	if (anonymize)
	{
		char	   *s = spi_text("SELECT pg_catalog.string_agg(pg_catalog.format('%I = (%s)', m.col, m.expr), ', ') "
								 "FROM privacy._subject_mask_rules($1) m", 1, &oidtype, &oidval);

		if (s == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot anonymize rows of table \"%s\": it has no masking rules", get_rel_name(relid)),
					 why ? errdetail("%s", why) : 0,
					 errhint("Give its personal columns masking rules (privacy.masking_rules), or change its on_erasure rule.")));
		sets = MemoryContextStrdup(outer, s);
	}
	if (SPI_execute_with_args("SELECT privacy._key_ctids($1)", 1, &argtype, &keys, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not compute row identities");
	{
		bool		isnull;

		vals[0] = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
									false, -1);
	}
	SPI_finish();
	vals[1] = keys;

	sql = anonymize ?
		psprintf("UPDATE %s t SET %s WHERE %s", quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
																		   get_rel_name(relid)), sets, match) :
		psprintf("DELETE FROM %s t WHERE %s", quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
																		 get_rel_name(relid)), match);

	privacy_role_scope_begin(relation_owner(relid), &scope);
	if (SPI_execute_with_args(sql, 2, types, vals, NULL, false, 0) != (anonymize ? SPI_OK_UPDATE : SPI_OK_DELETE))
		elog(ERROR, "could not run \"%s\"", sql);
	n = SPI_processed;
	privacy_owner_end(&scope);
	PG_RETURN_INT64((int64) n);
}
