/*
 * subject.c — data subjects: per-subject keys, and the entry points of the
 * registry, requests, consent, restriction, export and erasure.
 *
 * The bookkeeping of those functions is PL/pgSQL (src/sql/subject.sql,
 * requests.sql, export.sql, erasure.sql).  The
 * C entry points decide who it runs as: registry, request, consent and
 * restriction changes run their implementation privacy._<name> as the
 * extension owner, after checking the caller's rights; export and erasure read
 * and change the subject's tables with the caller's own privileges, and only
 * their bookkeeping (ledger, holds, key, deletion log) runs as the owner.
 * Every entry point writes its audit row with the caller's identity.
 */
#include "postgres.h"
#include "compat.h"

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
#include "optimizer/optimizer.h"
#include "utils/plancache.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/rls.h"
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
#include "citus.h"
#include "crypto.h"
#include "rowid.h"
#include "subject.h"
#include "util.h"

#define SUBJECT_KEY_PREFIX "subject:"
#define SUBJECT_KEY_HEX 32

static char *subject_controller = NULL;
static char *subject_dpo_contact = NULL;
static char *subject_supervisory_authority = NULL;
static char *subject_request_deadline = NULL;

PG_FUNCTION_INFO_V1(privacy_subject_key_name);
PG_FUNCTION_INFO_V1(privacy_encrypt_for_subject);
PG_FUNCTION_INFO_V1(privacy_subject_owner_call);
PG_FUNCTION_INFO_V1(privacy_export_subject);
PG_FUNCTION_INFO_V1(privacy_erase_subject);
PG_FUNCTION_INFO_V1(privacy_subject_keys);
PG_FUNCTION_INFO_V1(privacy_related_keys);
PG_FUNCTION_INFO_V1(privacy_export_rows);
PG_FUNCTION_INFO_V1(privacy_erase_subject_rows);
PG_FUNCTION_INFO_V1(privacy_masking_assignments);
PG_FUNCTION_INFO_V1(privacy_erase_rows);

/*
 * The export or erasure in progress in this backend.  Row identification,
 * export reads and erasure statements are SQL-callable (the PL/pgSQL of
 * export_subject and erase_subject runs with the caller's rights and calls
 * them), but they refuse to run outside one of these operations, as another
 * user than the one who started it, or inside a security-restricted operation
 * (that is, from code of a table owner that an operation runs).
 */
typedef struct SubjectOp
{
	Oid			user;			/* the caller of export_subject / erase_subject */
	bool		erasing;
	Datum		rows;			/* jsonb {relid: [row identity, ...]}, found by the operation */
	bool		have_rows;
} SubjectOp;

static SubjectOp *subject_op = NULL;

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
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(name);
	Datum		d;
	bool		isnull;
	char	   *status;

	if (create)
		(void) privacy_exec_as(privacy_owner_oid(),
							   "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))",
							   1, &argtype, &arg, NULL, false, SPI_OK_SELECT, 0, NULL, NULL, NULL);
	(void) privacy_exec_as(privacy_owner_oid(),
						   "SELECT status FROM privacy.keys WHERE name OPERATOR(pg_catalog.=) $1 "
						   "ORDER BY version DESC LIMIT 1",
						   1, &argtype, &arg, NULL, false, SPI_OK_SELECT, 1, &d, &isnull, NULL);
	status = isnull ? NULL : TextDatumGetCString(d);

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
											  cstring_to_text(name), NULL, false, ctx));

	/* the key ring reads with the statement's snapshot: let it see the new key */
	CommandCounterIncrement();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	result = privacy_encrypt_raw(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
								 cstring_to_text(name), NULL, false, ctx);
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
			privacy_json_field(&details, argnames ? argnames[i] : "arg", v);
	}
	if (rettype != VOIDOID)
		privacy_json_field(&details, "result", isnull ? NULL : datum_text(result, rettype));
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

/* Error unless called from the export or erasure in progress (see SubjectOp). */
static SubjectOp *
require_subject_op(const char *fname, bool erasing)
{
	if (subject_op == NULL || subject_op->user != GetUserId() ||
		InSecurityRestrictedOperation() || (erasing && !subject_op->erasing))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("privacy.%s can only be called by privacy.%s", fname,
						erasing ? "erase_subject" : "export_subject or privacy.erase_subject")));
	return subject_op;
}

/*
 * Run the subject's operation: the subject's rows found first
 * (privacy._subject_rows(subject), the caller's PL/pgSQL, with the row lookups
 * as each table's owner), then the implementation impl with the arguments
 * given and those rows as its last argument.  The operation state is cleared
 * on the way out, error or not.
 */
static Datum
run_subject_op(const char *impl, int nargs, Oid *types, Datum *args, bool erasing)
{
	SubjectOp	op = {GetUserId(), erasing, (Datum) 0, false};
	SubjectOp  *save = subject_op;
	Oid			rtype = TEXTOID;
	bool		nulls[FUNC_MAX_ARGS] = {0};
	bool		isnull;
	Datum		result = (Datum) 0;

	MemoryContext cxt = CurrentMemoryContext;

	subject_op = &op;
	PG_TRY();
	{
		op.rows = call_function(subject_func("_subject_rows", 1, &rtype), 1, args, nulls, false, &isnull);
		op.have_rows = !isnull;
		types[nargs] = JSONBOID;
		args[nargs] = op.rows;
		nulls[nargs] = isnull;
		result = call_function(subject_func(impl, nargs + 1, types), nargs + 1, args, nulls, false, &isnull);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/*
		 * The error as it is, without the extension's internal statements
		 * and PL/pgSQL lines in its CONTEXT: they say nothing to the caller.
		 */
		subject_op = save;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->context = NULL;
		edata->internalquery = NULL;
		edata->internalpos = 0;
		ReThrowError(edata);
	}
	PG_END_TRY();
	subject_op = save;
	return result;
}

/*
 * The subject's rows per table, jsonb {relid: [row identity, ...]}, found by
 * the walk of export and erasure (privacy._subject_rows, each lookup as its
 * table's owner, after checking that the current user may SELECT the table),
 * for legal holds: the purge and the retention report hold these rows.  Acts
 * on nothing; *isnull when the walk found nothing at all.
 */
Datum
privacy_subject_rows(Datum subject, bool *isnull)
{
	SubjectOp	op = {GetUserId(), false, (Datum) 0, false};
	SubjectOp  *save = subject_op;
	Oid			rtype = TEXTOID;
	bool		nulls[1] = {false};
	volatile Datum result = (Datum) 0;

	subject_op = &op;
	PG_TRY();
	{
		result = call_function(subject_func("_subject_rows", 1, &rtype), 1, &subject, nulls, false, isnull);
	}
	PG_FINALLY();
	{
		subject_op = save;
	}
	PG_END_TRY();
	return result;
}

/*
 * privacy.export_subject(subject, request_id): the subject's data, each table
 * read as its owner after checking the caller may SELECT it, with the ledger
 * read as the extension owner; audited.
 */
Datum
privacy_export_subject(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTOID, JSONBOID};
	Datum		args[3];
	Datum		ctx;
	Datum		result;

	require_arg(fcinfo, 0, "subject");
	ctx = subject_context(fcinfo, 1, "access,portability");
	args[0] = PG_GETARG_DATUM(0);
	args[1] = ctx;
	result = run_subject_op("_export_subject", 2, types, args, false);
	if (PG_NARGS() < 3 || PG_ARGISNULL(2) || PG_GETARG_BOOL(2))
	{
		Oid			ctypes[2] = {JSONBOID, TEXTOID};
		Datum		cargs[2] = {ctx, CStringGetTextDatum("answered by export_subject")};
		bool		cnulls[2] = {false, false};
		bool		isnull;

		(void) call_function(subject_func("_close_answered_request", 2, ctypes), 2, cargs, cnulls, true, &isnull);
	}
	privacy_audit("export_subject", NULL, text_to_cstring(PG_GETARG_TEXT_PP(0)), request_details(ctx));
	PG_RETURN_DATUM(result);
}

/*
 * privacy.erase_subject(subject, reason, request_id): rows found and changed
 * as each table's owner (the caller needs SELECT, and DELETE or UPDATE, on
 * it), then the subject's key destroyed and the deletion log written as the
 * extension owner; the report is audited.
 */
Datum
privacy_erase_subject(PG_FUNCTION_ARGS)
{
	Oid			types[4] = {TEXTOID, TEXTOID, JSONBOID};
	Datum		args[4];
	bool		nulls[4] = {false, false, false, false};
	Datum		report;
	bool		isnull;

	require_arg(fcinfo, 0, "subject");
	require_arg(fcinfo, 1, "reason");
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = subject_context(fcinfo, 2, "erasure");
	report = run_subject_op("_erase_subject", 3, types, args, true);
	types[1] = JSONBOID;
	types[2] = TEXTOID;
	types[3] = BOOLOID;
	args[1] = report;
	args[2] = CStringGetTextDatum(privacy_calling_role());
	args[3] = BoolGetDatum(PG_NARGS() < 4 || PG_ARGISNULL(3) || PG_GETARG_BOOL(3));
	report = call_function(subject_func("_finish_erasure", 4, types), 4, args, nulls, true, &isnull);
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
	DefineCustomStringVariable("privacy.dpo_contact",
							   "Contact of the data protection officer, written into every export_subject.",
							   NULL,
							   &subject_dpo_contact, "",
							   PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("privacy.supervisory_authority",
							   "Supervisory authority a data subject may complain to, written into every export_subject.",
							   NULL,
							   &subject_supervisory_authority, "",
							   PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("privacy.request_deadline",
							   "Time allowed to answer a data-subject request.",
							   "An interval; GDPR Art. 12(3) allows one month.",
							   &subject_request_deadline, "30 days",
							   PGC_SUSET, 0, privacy_check_positive_interval, NULL, NULL);
}

/* First column of the first row of a query run as the caller, in a new SPI connection; palloc'd. */
static char *
caller_text(const char *sql, int nargs, Oid *types, Datum *vals)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *v;

	privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
	privacy_spi_check(SPI_execute_with_args(sql, nargs, types, vals, NULL, true, 1), SPI_OK_SELECT, sql);
	v = SPI_processed == 1 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
	v = v ? MemoryContextStrdup(cxt, v) : NULL;
	SPI_finish();
	return v;
}

/*
 * Check that the caller may read (and, for an erasure, change) a table
 * without row-level security standing between them: its rows are then read
 * or changed as the table's owner, so the owner's policies, like the rest of
 * the owner's code, never run with the caller's rights.  Export, erasure and
 * the key values of legal holds (rowid.c).
 */
void
privacy_subject_table_access(Oid relid, AclMode mode)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (pg_class_aclcheck(relid, GetUserId(), mode) != ACLCHECK_OK)
	{
		const char *priv = mode == ACL_SELECT ? "SELECT" : mode == ACL_DELETE ? "DELETE" : "UPDATE";
		const char *role = GetUserNameFromId(GetUserId(), false);

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", name),
				 errdetail("%s needs %s on table %s, which role \"%s\" lacks.",
						   subject_op == NULL ? "A legal hold on a data subject" :
						   subject_op->erasing ? "erase_subject" : "export_subject",
						   priv, privacy_qualified_name(relid), role),
				 errhint("GRANT %s ON %s TO %s; or, as the tables' owner, SELECT privacy.grant_subject_rights('%s');",
						 priv, privacy_qualified_name(relid), quote_identifier(role), role)));
	}
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row-level security of table \"%s\" applies to role \"%s\"", name,
						GetUserNameFromId(GetUserId(), false)),
				 errdetail("Data-subject requests read and change every row of the subject as the table's owner."),
				 errhint("Answer them with a role exempt from the table's policies (its owner, or BYPASSRLS).")));
}

/*
 * Column list of a name[] Datum, each as fmt (with one %s for the quoted
 * name) separated by commas; the number of columns in *n.
 */
static char *
column_list(Datum names, const char *fmt, int *n)
{
	Datum	   *elems;
	bool	   *enulls;
	int			count;
	int			i;
	StringInfoData buf;

	deconstruct_array(DatumGetArrayTypeP(names), NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
					  &elems, &enulls, &count);
	if (count < 1 || count > 32)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a foreign key has between 1 and 32 columns")));
	initStringInfo(&buf);
	for (i = 0; i < count; i++)
	{
		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("column names must not be null")));
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, fmt, quote_identifier(NameStr(*DatumGetName(elems[i]))));
	}
	*n = count;
	return buf.data;
}

/*
 * privacy._subject_keys(tbl, col, subject): identities of the rows of tbl
 * whose column col equals the subject identifier cast to the column's type
 * (rowid.c: primary-key values on a Citus table, where the lookup is routed
 * to the shard of the subject when col is the distribution column).  The
 * cast and comparison (a domain's CHECK, an owner's operator) run as the
 * table's owner in a security-restricted operation.
 */
Datum
privacy_subject_keys(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *col = NameStr(*PG_GETARG_NAME(1));
	Oid			typid;
	int32		typmod;
	char	   *sql;
	Oid			argtype = TEXTOID;
	Datum		arg = PG_GETARG_DATUM(2);
	Datum		result;
	bool		isnull;
	RowIdentity id;

	require_subject_op("_subject_keys", false);
	privacy_subject_table_access(relid, ACL_SELECT);
	row_identity_of(relid, &id);
	privacy_column_type(relid, col, &typid, &typmod);
	sql = psprintf("SELECT COALESCE(pg_catalog.array_agg(%s), '{}') FROM %s t "
				   "WHERE t.%s OPERATOR(pg_catalog.=) $1::%s",
				   row_identity_expr(&id, "t"), privacy_qualified_name(relid), quote_identifier(col),
				   format_type_extended(typid, typmod, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
	(void) privacy_exec_as(privacy_relation_owner(relid), sql, 1, &argtype, &arg, NULL, true,
						   SPI_OK_SELECT, 1, &result, &isnull, NULL);
	PG_RETURN_DATUM(result);
}

/*
 * privacy._related_keys(src, src_cols, src_keys, dst, dst_cols, dst_keys):
 * identities of the rows of dst (among dst_keys, unless NULL) whose columns
 * dst_cols equal the columns src_cols of the rows src_keys of src: one step
 * of the foreign-key walk, either way.  Two simple statements, each table
 * read by its own owner in a security-restricted operation: the values of
 * src's rows as src's owner, then the rows of dst holding those values
 * (passed as parameters, never as text; `col = ANY (values)` per column, so
 * that Citus prunes shards) as dst's owner.
 */
Datum
privacy_related_keys(PG_FUNCTION_ARGS)
{
	Oid			src = PG_GETARG_OID(0);
	Oid			dst = PG_GETARG_OID(3);
	RowIdentity sid;
	RowIdentity did;
	int			ncols;
	int			ndst;
	int			nargs = 0;
	char	   *sql;
	Oid			types[FUNC_MAX_ARGS + ROW_IDENTITY_MAX_PARAMS];
	Datum		vals[FUNC_MAX_ARGS + ROW_IDENTITY_MAX_PARAMS];
	bool		vnull[FUNC_MAX_ARGS];
	Oid			ktypes[ROW_IDENTITY_MAX_PARAMS];
	Datum		kvals[ROW_IDENTITY_MAX_PARAMS];
	Datum		result;
	bool		isnull;
	int			i;

	require_subject_op("_related_keys", false);
	for (i = 0; i < 5; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("only the last argument of privacy._related_keys may be null")));
	privacy_subject_table_access(src, ACL_SELECT);
	privacy_subject_table_access(dst, ACL_SELECT);
	row_identity_of(src, &sid);
	row_identity_of(dst, &did);

	/* the values of src's rows, as src's owner: one array per column */
	sql = psprintf("SELECT %s FROM %s s WHERE %s",
				   column_list(PG_GETARG_DATUM(1), "pg_catalog.array_agg(s.%s)", &ncols),
				   privacy_qualified_name(src),
				   row_identity_match(&sid, "s", PG_GETARG_DATUM(2), &nargs, ktypes, kvals));
	(void) privacy_exec_as(privacy_relation_owner(src), sql, nargs, ktypes, kvals, NULL, true,
						   SPI_OK_SELECT, ncols, vals, vnull, types);
	if (vnull[0])
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));

	/* the rows of dst holding those values, as dst's owner */
	{
		StringInfoData buf;
		char	   *dcols = column_list(PG_GETARG_DATUM(4), "d.%s", &ndst);
		Datum		names = PG_GETARG_DATUM(4);
		Datum	   *elems;
		bool	   *enulls;
		int			n;

		if (ndst != ncols)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("both column lists must have the same length")));
		deconstruct_array(DatumGetArrayTypeP(names), NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
						  &elems, &enulls, &n);
		initStringInfo(&buf);
		appendStringInfo(&buf, "SELECT COALESCE(pg_catalog.array_agg(%s), '{}') FROM %s d WHERE ",
						 row_identity_expr(&did, "d"), privacy_qualified_name(dst));
		for (i = 0; i < ncols; i++)
			appendStringInfo(&buf, "%sd.%s OPERATOR(pg_catalog.=) ANY ($%d)", i ? " AND " : "",
							 quote_identifier(NameStr(*DatumGetName(elems[i]))), i + 1);
		if (ncols > 1)
		{
			appendStringInfo(&buf, " AND (%s) IN (SELECT * FROM ROWS FROM (", dcols);
			for (i = 0; i < ncols; i++)
				appendStringInfo(&buf, "%spg_catalog.unnest($%d)", i ? ", " : "", i + 1);
			appendStringInfoString(&buf, "))");
		}
		nargs = ncols;
		if (!PG_ARGISNULL(5))
			appendStringInfo(&buf, " AND %s",
							 row_identity_match(&did, "d", PG_GETARG_DATUM(5), &nargs, types, vals));
		sql = buf.data;
	}
	(void) privacy_exec_as(privacy_relation_owner(dst), sql, nargs, types, vals, NULL, true,
						   SPI_OK_SELECT, 1, &result, &isnull, NULL);
	PG_RETURN_DATUM(result);
}

/*
 * privacy._export_rows(tbl, keys, tokenized): the rows of tbl with these
 * identities as a jsonb array, for export_subject.  The select list
 * (privacy._export_columns: plaintext of protected columns only for a caller
 * allowed to read it) is decided with the caller's rights; the rows are read
 * as the table's owner in a security-restricted operation.  Tokenized columns
 * come back as tokens (the caller detokenizes with its own rights).
 */
Datum
privacy_export_rows(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			ltypes[2] = {OIDOID, NAMEARRAYOID};
	Datum		lvals[2];
	Oid			types[ROW_IDENTITY_MAX_PARAMS];
	Datum		vals[ROW_IDENTITY_MAX_PARAMS];
	int			nargs = 0;
	RowIdentity id;
	char	   *match;
	char	   *sql;
	Datum		result;
	bool		isnull;

	require_subject_op("_export_rows", false);
	privacy_subject_table_access(relid, ACL_SELECT);
	row_identity_of(relid, &id);
	lvals[0] = ObjectIdGetDatum(relid);
	lvals[1] = PG_GETARG_DATUM(2);
	match = row_identity_match(&id, "t", PG_GETARG_DATUM(1), &nargs, types, vals);
	/* a Citus table's rows come from several shards: ordered in the aggregate, by primary key */
	sql = psprintf("SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r)%s%s), '[]') "
				   "FROM (SELECT %s FROM %s t WHERE %s%s%s) r",
				   id.by_key ? " ORDER BY " : "", id.by_key ? row_identity_order(&id, "r") : "",
				   caller_text("SELECT privacy._export_columns($1, $2)", 2, ltypes, lvals),
				   privacy_qualified_name(relid), match,
				   id.by_key ? "" : " ORDER BY ", id.by_key ? "" : row_identity_order(&id, "t"));
	(void) privacy_exec_as(privacy_relation_owner(relid), sql, nargs, types, vals, NULL, true,
						   SPI_OK_SELECT, 1, &result, &isnull, NULL);
	PG_RETURN_DATUM(result);
}

/*
 * SET clause applying a table's masking rules (privacy.masking_rules) in
 * place, "col = (expr), ..." in column order; NULL when it has none.  With
 * columns, also the columns it changes as a JSON array text ("[]" when none).
 * Read as the extension owner: the one builder of that clause (erasure,
 * retention, anonymize_table).
 */
char *
privacy_masking_set_clause(Oid relid, char **columns)
{
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	Datum		vals[2];
	bool		isnull[2];

	(void) privacy_exec_as(privacy_owner_oid(),
						   "SELECT pg_catalog.string_agg(pg_catalog.format('%I = (%s)', m.col, m.expr), ', ' "
						   "ORDER BY m.col), COALESCE(pg_catalog.jsonb_agg(m.col ORDER BY m.col), '[]')::pg_catalog.text "
						   "FROM privacy.masking_rules m "
						   "WHERE m.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) $1",
						   1, &argtype, &arg, NULL, true, SPI_OK_SELECT, 2, vals, isnull, NULL);
	if (columns)
		*columns = TextDatumGetCString(vals[1]);
	return isnull[0] ? NULL : TextDatumGetCString(vals[0]);
}

/*
 * privacy._masking_assignments(tbl): the SET clause applying the table's
 * masking rules, for retention's anonymize action; an error when it has none.
 * Only for the table's owner or a role that may UPDATE it (the rules are
 * applied by UPDATE).
 */
Datum
privacy_masking_assignments(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *sets;

	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!privacy_owns_relation(relid, GetUserId()) &&
		pg_class_aclcheck(relid, GetUserId(), ACL_UPDATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(relid)),
				 errdetail("Only the table's owner or a role that may UPDATE it reads its masking assignments.")));
	sets = privacy_masking_set_clause(relid, NULL);
	if (sets == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table \"%s\" has no masking rules", privacy_qualified_name(relid)),
				 errdetail("Retention action 'anonymize' applies the table's masking rules in place."),
				 errhint("Define masking rules for the table's personal columns first (privacy.mask_column), or use action 'delete'.")));
	PG_RETURN_TEXT_P(cstring_to_text(sets));
}

/*
 * Refuse an anonymization of a Citus table whose SET clause is not
 * immutable: Citus runs the UPDATE on every shard or placement and rejects
 * VOLATILE functions there (and a STABLE one could differ per placement).
 * The clause is only parsed, as the table's owner in a security-restricted
 * operation; nothing of it runs here.
 */
static void
require_immutable_sets(Oid relid, const char *sets, const char *method)
{
	OwnerScope	scope;
	SPIPlanPtr	plan;
	ListCell   *lc;
	bool		mutable = false;

	privacy_role_scope_begin(privacy_relation_owner(relid), &scope);
	plan = SPI_prepare(psprintf("UPDATE %s t SET %s", privacy_qualified_name(relid), sets), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not parse the anonymization of %s: %s",
			 privacy_qualified_name(relid), SPI_result_code_string(SPI_result));
	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *ps = lfirst(lc);
		ListCell   *q;

		foreach(q, ps->query_list)
			mutable |= contain_mutable_functions((Node *) ((Query *) lfirst(q))->targetList);
	}
	SPI_freeplan(plan);
	privacy_owner_end(&scope);
	if (mutable)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("erasure cannot anonymize the rows of the Citus %s table \"%s\" with its %s",
						privacy_citus_table_kind(relid), privacy_qualified_name(relid), method),
				 errdetail("Citus runs the UPDATE on every shard and placement, and refuses functions "
						   "that are not IMMUTABLE there."),
				 errhint("Use only IMMUTABLE expressions in the table's masking rules, or set its on_erasure rule to 'delete'.")));
}

/*
 * privacy._erase_subject_rows(tbl, action, subset, why): delete (action
 * 'delete' of privacy.erasure_action) or anonymize ('anonymize') the
 * subject's rows of tbl, for erase_subject: with
 * the table's masking rules, or when it has none with the safe defaults of
 * privacy._erasure_defaults (nullable columns outside the keys to NULL, NOT
 * NULL text to '[erased]').  The rows are those the erasure in progress found
 * itself (SubjectOp), narrowed to subset when it is not NULL: no
 * caller-supplied row address is ever acted on.  The caller needs DELETE or
 * UPDATE on the table; the statement runs as the table's owner in a
 * security-restricted operation, so the table's triggers, rules and domain
 * checks never run with the rights of the (privileged) role that erases.
 * why (why the rows are anonymized) is for the report the caller writes.
 * Returns {"rows": n} and, for an anonymization, "cleared" (the columns
 * changed) and "anonymized_with".
 */
Datum
privacy_erase_subject_rows(PG_FUNCTION_ARGS)
{
	SubjectOp  *op = require_subject_op("_erase_subject_rows", true);
	Oid			relid;
	char	   *action;
	bool		anonymize;
	Oid			ktypes[3] = {JSONBOID, TEXTOID, TEXTARRAYOID};
	Datum		kvals[3];
	char		knulls[3] = {' ', ' ', ' '};
	Oid			types[ROW_IDENTITY_MAX_PARAMS];
	Datum		vals[ROW_IDENTITY_MAX_PARAMS];
	int			nargs = 0;
	RowIdentity id;
	char	   *match;
	char	   *sets = NULL;
	char	   *cleared = "[]";
	const char *method = NULL;
	char	   *sql;
	Datum		keys;
	bool		isnull;
	int64		n;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table and action must not be null")));
	relid = PG_GETARG_OID(0);
	/* a value of privacy.erasure_action, the one definition of the actions */
	action = DatumGetCString(DirectFunctionCall1(enum_out, PG_GETARG_DATUM(1)));
	anonymize = strcmp(action, "anonymize") == 0;
	if (!anonymize && strcmp(action, "delete") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("erasure action \"%s\" changes no row", action),
				 errdetail("Only the actions delete and anonymize of privacy.erasure_action change rows.")));
	privacy_subject_table_access(relid, ACL_SELECT);
	privacy_subject_table_access(relid, anonymize ? ACL_UPDATE : ACL_DELETE);
	row_identity_of(relid, &id);
	if (!op->have_rows)
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum("{\"rows\": 0}")));

	/* the subject's rows of the table, as found by this erasure */
	kvals[0] = op->rows;
	kvals[1] = CStringGetTextDatum(psprintf("%u", relid));
	kvals[2] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	knulls[2] = PG_ARGISNULL(2) ? 'n' : ' ';
	privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
	privacy_spi_check(SPI_execute_with_args("SELECT ARRAY(SELECT k FROM pg_catalog.jsonb_array_elements_text("
											"COALESCE($1 OPERATOR(pg_catalog.->) $2, '[]')) k "
											"WHERE $3 IS NULL OR k OPERATOR(pg_catalog.=) ANY ($3))",
											3, ktypes, kvals, knulls, true, 1),
					  SPI_OK_SELECT, "select the subject's rows");
	keys = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull), false, -1);
	SPI_finish();

	/* the statement, built from the extension's own helpers */
	match = row_identity_match(&id, "t", keys, &nargs, types, vals);
	if (anonymize)
	{
		Oid			argtype = OIDOID;
		Datum		arg = ObjectIdGetDatum(relid);

		sets = privacy_masking_set_clause(relid, &cleared);
		method = "masking rules";
		if (sets == NULL)
		{
			/* no masking rules: the safe defaults (privacy._erasure_defaults) */
			sets = caller_text("SELECT pg_catalog.string_agg(pg_catalog.format('%I = %s', d.col, d.expr), ', ') "
							   "FROM privacy._erasure_defaults($1) d", 1, &argtype, &arg);
			cleared = caller_text("SELECT COALESCE(pg_catalog.jsonb_agg(d.col), '[]')::pg_catalog.text "
								  "FROM privacy._erasure_defaults($1) d", 1, &argtype, &arg);
			method = "safe defaults";
		}
	}
	if (anonymize && sets != NULL && id.by_key)
		require_immutable_sets(relid, sets, method);
	if (anonymize && sets == NULL)
	{
		/* nothing to clear (every column a key or NOT NULL and not text): rows kept as they are */
		n = 0;
	}
	else
	{
		sql = anonymize ?
			psprintf("UPDATE %s t SET %s WHERE %s", privacy_qualified_name(relid), sets, match) :
			psprintf("DELETE FROM %s t WHERE %s", privacy_qualified_name(relid), match);
		n = (int64) privacy_exec_as(privacy_relation_owner(relid), sql, nargs, types, vals, NULL, false,
									anonymize ? SPI_OK_UPDATE : SPI_OK_DELETE, 0, NULL, NULL, NULL);
	}
	if (!anonymize)
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf("{\"rows\": " INT64_FORMAT "}", n))));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in,
										CStringGetDatum(psprintf("{\"rows\": " INT64_FORMAT ", \"cleared\": %s, "
																 "\"anonymized_with\": \"%s\"}",
																 n, cleared, method))));
}

/*
 * privacy._erase_rows of 0.1.0: acted on caller-supplied row addresses, so it
 * is gone; the symbol stays for the 0.1.0 install script (installed and then
 * updated), and refuses to run.
 */
Datum
privacy_erase_rows(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("privacy._erase_rows was removed in privacy 0.2.0"),
			 errhint("Run ALTER EXTENSION privacy UPDATE; erase_subject finds the rows it erases itself.")));
	PG_RETURN_NULL();
}
