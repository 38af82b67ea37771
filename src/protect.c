/*
 * protect.c — transparent column encryption.
 *
 * privacy.protect_column() (PL/pgSQL, src/sql/protect.sql) registers a column
 * in privacy.protected_columns with a stable random context, installs the
 * row trigger below and a "<table>_decrypted" view.  The trigger encrypts
 * every plaintext written to a protected column and lets through values that
 * already are ciphertexts of that column:
 *
 *   - UPDATE leaving the column alone: the stored ciphertext equals the old
 *     one and is kept as is (no double encryption, no work);
 *   - a ciphertext arriving from COPY, a restore or ON CONFLICT ... SET
 *     c = EXCLUDED.c: kept only after it decrypts under the column's context;
 *   - anything else is plaintext and is encrypted.
 *
 * Trigger arguments, four per protected column: column name, mode ("gcm" or
 * "siv", then ":<max characters>" for varchar(n) columns), key name, context.
 */
#include "postgres.h"
#include "compat.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "tcop/utility.h"
#include "nodes/makefuncs.h"

#include "audit.h"
#include "citus.h"
#include "crypto.h"
#include "keys.h"
#include "protect.h"
#include "util.h"
#include "views.h"

PG_FUNCTION_INFO_V1(privacy_protect_trigger);
PG_FUNCTION_INFO_V1(privacy_decrypt_column);
PG_FUNCTION_INFO_V1(privacy_reencrypt_value);
PG_FUNCTION_INFO_V1(privacy_needs_reencrypt);
PG_FUNCTION_INFO_V1(privacy_registry_write);
PG_FUNCTION_INFO_V1(privacy_protect_value);
PG_FUNCTION_INFO_V1(privacy_registry_remove);
PG_FUNCTION_INFO_V1(privacy_registry_set_view);
PG_FUNCTION_INFO_V1(privacy_rename_decrypted_view);
PG_FUNCTION_INFO_V1(privacy_reencrypt);
PG_FUNCTION_INFO_V1(privacy_bulk_finish);
PG_FUNCTION_INFO_V1(privacy_protected_value);

static ProcessUtility_hook_type prev_utility = NULL;

/* Refuse callers that do not own the table. */
static void
require_owner(Oid relid)
{
	privacy_require_table_owner(relid);
}

/* Binary ciphertext of a stored value (bytea, or "$pv1$" text); NULL if not one. */
static bytea *
stored_ciphertext(Datum value, bool is_text)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(value);

	if (is_text)
		return privacy_text_to_ciphertext(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	if (!privacy_is_ciphertext((uint8 *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)))
		return NULL;
	return (bytea *) v;
}

/* A context from a C string. */
static CryptoContext
make_context(const char *s)
{
	CryptoContext c = {s, (int) strlen(s)};

	return c;
}

/* Raise an error if a stored ciphertext does not decrypt under the context. */
static void
verify_ciphertext(bytea *ct, const char *context, const char *column)
{
	CryptoContext ctx = make_context(context);
	bytea	   *pt;

	PG_TRY();
	{
		pt = privacy_decrypt_raw((uint8 *) VARDATA_ANY(ct), VARSIZE_ANY_EXHDR(ct), &ctx);
		explicit_bzero(VARDATA(pt), VARSIZE(pt) - VARHDRSZ);
		pfree(pt);
	}
	PG_CATCH();
	{
		errcontext("checking a ciphertext written to protected column \"%s\"", column);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Apply varchar(maxchars) semantics to a value of len bytes: excess trailing
 * spaces are cut, any other excess is an error.  Returns the length to keep.
 */
static int
varchar_limit(const char *s, int len, int maxchars)
{
	int			keep;
	int			i;

	if (maxchars <= 0 || pg_mbstrlen_with_len(s, len) <= maxchars)
		return len;
	keep = pg_mbcharcliplen(s, len, maxchars);
	for (i = keep; i < len; i++)
		if (s[i] != ' ')
			ereport(ERROR,
					(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
					 errmsg("value too long for type character varying(%d)", maxchars)));
	return keep;
}

/* One protected column of a protect trigger, from its four arguments. */
typedef struct ProtectColumn
{
	const char *colname;
	int			attnum;
	bool		is_text;		/* else bytea */
	bool		deterministic;	/* mode "siv" */
	int			maxchars;		/* mode "...:n": varchar(n) of a text column; else 0 */
	text	   *key_name;
	KeyRef		key;			/* key_name resolved, between rows */
	const char *context;
	CryptoContext ctx;			/* context, as encryption takes it */
} ProtectColumn;

/* What a protect trigger derives from its arguments (privacy_trigger_cache). */
typedef struct ProtectTrigger
{
	int			ncols;
	ProtectColumn cols[FLEXIBLE_ARRAY_MEMBER];
} ProtectTrigger;

/* The trigger's cache entry: its arguments parsed, columns looked up. */
static ProtectTrigger *
protect_trigger_cache(TriggerData *td)
{
	Trigger    *tg = td->tg_trigger;
	Oid			relid = RelationGetRelid(td->tg_relation);
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	ProtectTrigger *pt = privacy_trigger_cache_get(tg->tgoid, relid);
	MemoryContext cxt;
	MemoryContext old;
	uint64		generation;
	int			i;

	if (pt)
		return pt;
	if (tg->tgnargs == 0 || tg->tgnargs % 4 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" has malformed arguments", tg->tgname),
				 errhint("Run privacy.protect_column() again to rebuild it.")));
	cxt = privacy_trigger_cache_new(&generation);
	old = MemoryContextSwitchTo(cxt);
	pt = palloc0(offsetof(ProtectTrigger, cols) + sizeof(ProtectColumn) * (tg->tgnargs / 4));
	pt->ncols = tg->tgnargs / 4;
	for (i = 0; i < pt->ncols; i++)
	{
		ProtectColumn *c = &pt->cols[i];
		const char *mode = tg->tgargs[4 * i + 1];
		const char *limit = strchr(mode, ':');

		c->colname = pstrdup(tg->tgargs[4 * i]);
		c->attnum = SPI_fnumber(desc, c->colname);
		if (c->attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("protected column \"%s\" does not exist in table \"%s\"",
							c->colname, RelationGetRelationName(td->tg_relation)),
					 errhint("A protected column must be unprotected before it is renamed or dropped.")));
		c->is_text = TupleDescAttr(desc, c->attnum - 1)->atttypid != BYTEAOID;
		c->deterministic = strncmp(mode, "siv", 3) == 0;
		c->maxchars = (limit && c->is_text) ? atoi(limit + 1) : 0;
		c->key_name = cstring_to_text(tg->tgargs[4 * i + 2]);
		c->context = pstrdup(tg->tgargs[4 * i + 3]);
		c->ctx = make_context(c->context);
	}
	MemoryContextSwitchTo(old);
	privacy_trigger_cache_put(tg->tgoid, relid, cxt, pt, generation);
	return pt;
}

/*
 * privacy._protect_trigger(): BEFORE INSERT OR UPDATE FOR EACH ROW; encrypts
 * plaintext written to the protected columns named in its arguments.
 */
Datum
privacy_protect_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	ProtectTrigger *pt;
	TupleDesc	desc;
	HeapTuple	newtup;
	HeapTuple	oldtup = NULL;
	int		   *cols;
	Datum	   *vals;
	bool	   *nulls;
	int			nrepl = 0;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("privacy._protect_trigger() must run as a BEFORE INSERT OR UPDATE row trigger")));
	pt = protect_trigger_cache(td);
	desc = RelationGetDescr(td->tg_relation);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		newtup = td->tg_newtuple;
		oldtup = td->tg_trigtuple;
	}
	else
		newtup = td->tg_trigtuple;

	cols = palloc(sizeof(int) * pt->ncols);
	vals = palloc(sizeof(Datum) * pt->ncols);
	nulls = palloc(sizeof(bool) * pt->ncols);

	for (i = 0; i < pt->ncols; i++)
	{
		ProtectColumn *c = &pt->cols[i];
		bool		isnull;
		Datum		value;
		bytea	   *ct;

		value = heap_getattr(newtup, c->attnum, desc, &isnull);
		if (isnull)
			continue;

		/* unchanged by an UPDATE and already a ciphertext: nothing to do */
		if (oldtup)
		{
			bool		oldnull;
			Datum		oldval = heap_getattr(oldtup, c->attnum, desc, &oldnull);

			if (!oldnull && datumIsEqual(value, oldval, false, -1) &&
				stored_ciphertext(value, c->is_text) != NULL)
				continue;
		}

		ct = stored_ciphertext(value, c->is_text);
		if (ct != NULL)
		{
			verify_ciphertext(ct, c->context, c->colname);
			continue;
		}

		/* plaintext: check the original length limit, encrypt, store */
		{
			struct varlena *ptext = PG_DETOAST_DATUM_PACKED(value);
			bytea	   *enc;
			int			ptlen = VARSIZE_ANY_EXHDR(ptext);

			if (c->maxchars != 0)
				ptlen = varchar_limit(VARDATA_ANY(ptext), ptlen, c->maxchars);
			enc = privacy_encrypt_raw(VARDATA_ANY(ptext), ptlen, c->key_name, &c->key,
									  c->deterministic, &c->ctx);
			cols[nrepl] = c->attnum;
			vals[nrepl] = c->is_text ? PointerGetDatum(privacy_ciphertext_to_text(enc))
				: PointerGetDatum(enc);
			nulls[nrepl] = false;
			nrepl++;
		}
	}

	if (nrepl > 0)
		newtup = heap_modify_tuple_by_cols(newtup, desc, nrepl, cols, vals, nulls);
	return PointerGetDatum(newtup);
}

/* Per-call-site memo of the access check of _decrypt_column. */
typedef struct DecryptCheck
{
	Oid			userid;
	char		context[NAMEDATALEN * 2];
} DecryptCheck;

/* May the current user SELECT the view, or at least its column col? */
static bool
may_read_view_column(Oid view, const char *col)
{
	AttrNumber	attnum;

	if (!OidIsValid(view))
		return false;
	if (pg_class_aclcheck(view, GetUserId(), ACL_SELECT) == ACLCHECK_OK)
		return true;
	attnum = get_attnum(view, col);
	return attnum > 0 &&
		pg_attribute_aclcheck(view, attnum, GetUserId(), ACL_SELECT) == ACLCHECK_OK;
}

static bool view_reads_table(Oid view, Oid relid);

/*
 * On a Citus worker the registry records no view (Citus creates the
 * coordinator's view here over a connection of its own): the table's
 * "<table>_decrypted" view, if it is a view in the table's schema, owned by
 * the table's owner, whose rule reads the table; InvalidOid otherwise.
 */
static Oid
worker_decrypted_view(Oid relid)
{
	char	   *want;
	Oid			view;

	if (get_rel_name(relid) == NULL || !privacy_citus_is_worker())
		return InvalidOid;
	want = psprintf("%s_decrypted", get_rel_name(relid));
	want[pg_mbcliplen(want, strlen(want), NAMEDATALEN - 1)] = '\0';
	view = get_relname_relid(want, get_rel_namespace(relid));
	if (!OidIsValid(view) || get_rel_relkind(view) != RELKIND_VIEW ||
		privacy_relation_owner(view) != privacy_relation_owner(relid) ||
		!view_reads_table(view, relid))
		return InvalidOid;
	return view;
}

/*
 * Allow decrypting a protected column's values to the table owner and to
 * roles that may SELECT from its "<table>_decrypted" view; remembered in
 * fn_extra for the rest of the query.
 */
static void
check_decrypt_access(FunctionCallInfo fcinfo, const char *context)
{
	DecryptCheck *memo = fcinfo->flinfo->fn_extra;
	OwnerScope	scope;
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(context);
	Oid			tbl = InvalidOid;
	Oid			view = InvalidOid;
	char	   *col = NULL;
	bool		isnull;
	int			rc;

	if (memo && memo->userid == GetUserId() && strcmp(memo->context, context) == 0)
		return;
	privacy_check_not_masked("_decrypt_column");

	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args("SELECT tbl::pg_catalog.oid, view::pg_catalog.oid, col::pg_catalog.text "
							   "FROM privacy.protected_columns WHERE context OPERATOR(pg_catalog.=) $1",
							   1, &argtype, &arg, NULL, true, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.protected_columns");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		Datum		d;

		tbl = DatumGetObjectId(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		view = isnull ? InvalidOid : DatumGetObjectId(d);
		col = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, SPI_getvalue(tup, SPI_tuptable->tupdesc, 3));
	}
	privacy_owner_end(&scope);

	if (!OidIsValid(tbl))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no protected column has context \"%s\"", context)));
	if (!OidIsValid(view) && !privacy_owns_relation(tbl, GetUserId()))
		view = worker_decrypted_view(tbl);
	if (!privacy_owns_relation(tbl, GetUserId()) && !may_read_view_column(view, col))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to decrypt protected column \"%s\" of table \"%s\"",
						col, get_rel_name(tbl)),
				 errhint("A DBA can GRANT SELECT on the table's _decrypted view.")));

	if (memo == NULL)
		memo = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DecryptCheck));
	memo->userid = GetUserId();
	strlcpy(memo->context, context, sizeof(memo->context));
}

/*
 * privacy._decrypt_column(stored, context): plaintext of a protected column's
 * value, for the _decrypted view.  text in, text out; bytea in, bytea out.
 */
Datum
privacy_decrypt_column(PG_FUNCTION_ARGS)
{
	bool		is_text = get_fn_expr_argtype(fcinfo->flinfo, 0) != BYTEAOID;
	char	   *context = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bytea	   *ct;
	bytea	   *pt;
	CryptoContext ctx = make_context(context);

	check_decrypt_access(fcinfo, context);
	ct = stored_ciphertext(PG_GETARG_DATUM(0), is_text);
	if (ct == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("value in a protected column is not a ciphertext"),
				 errhint("Was the protection trigger disabled while it was written?")));
	privacy_audit_decrypt(privacy_ct_key_id((const uint8 *) VARDATA_ANY(ct)));
	pt = privacy_decrypt_raw((uint8 *) VARDATA_ANY(ct), VARSIZE_ANY_EXHDR(ct), &ctx);
	if (is_text && !pg_verifymbstr(VARDATA(pt), VARSIZE(pt) - VARHDRSZ, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("decrypted value is not valid text in encoding \"%s\"",
						GetDatabaseEncodingName())));
	PG_RETURN_POINTER(pt);
}

/*
 * privacy._reencrypt_value(stored, context): the same value encrypted under
 * the active version of its key, in the same representation.  Returns no
 * plaintext, so anyone may call it.
 */
Datum
privacy_reencrypt_value(PG_FUNCTION_ARGS)
{
	bool		is_text = get_fn_expr_argtype(fcinfo->flinfo, 0) != BYTEAOID;
	CryptoContext cbuf;
	CryptoContext *ctx = NULL;
	bytea	   *ct;
	bytea	   *pt;
	bytea	   *res;
	const char *name;
	const uint8 *h;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!PG_ARGISNULL(1))
	{
		text	   *c = PG_GETARG_TEXT_PP(1);

		cbuf.data = VARDATA_ANY(c);
		cbuf.len = VARSIZE_ANY_EXHDR(c);
		ctx = &cbuf;
	}
	ct = stored_ciphertext(PG_GETARG_DATUM(0), is_text);
	if (ct == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("value is not a privacy ciphertext")));
	h = (const uint8 *) VARDATA_ANY(ct);
	pt = privacy_decrypt_raw(h, VARSIZE_ANY_EXHDR(ct), ctx);
	(void) privacy_key_active_version(privacy_ct_key_id(h), &name);
	res = privacy_encrypt_raw(VARDATA(pt), VARSIZE(pt) - VARHDRSZ, cstring_to_text(name), NULL,
							  h[1] == CT_FORMAT_SIV, ctx);
	explicit_bzero(VARDATA(pt), VARSIZE(pt) - VARHDRSZ);
	if (is_text)
		PG_RETURN_TEXT_P(privacy_ciphertext_to_text(res));
	PG_RETURN_BYTEA_P(res);
}

/* privacy._needs_reencrypt(stored): is it a ciphertext under a non-active key version? */
Datum
privacy_needs_reencrypt(PG_FUNCTION_ARGS)
{
	bool		is_text = get_fn_expr_argtype(fcinfo->flinfo, 0) != BYTEAOID;
	bytea	   *ct = stored_ciphertext(PG_GETARG_DATUM(0), is_text);
	const uint8 *h;
	int32		active;

	if (ct == NULL)
		PG_RETURN_BOOL(false);
	h = (const uint8 *) VARDATA_ANY(ct);
	active = privacy_key_active_version(privacy_ct_key_id(h), NULL);
	PG_RETURN_BOOL(active != 0 && active != privacy_ct_key_version(h));
}

/* Run one registry statement as the extension owner. */
static void
registry_exec(const char *sql, int nargs, Oid *types, Datum *vals, const char *nulls, int expect)
{
	(void) privacy_exec_as(privacy_owner_oid(), sql, nargs, types, vals, nulls, false, expect,
						   0, NULL, NULL, NULL);
}

/* A fresh random context for a protected column: "privacy:" and a UUID. */
static char *
new_column_context(void)
{
	uint8		u[16];

	privacy_random_bytes(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;	/* version 4 */
	u[8] = (u[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	return psprintf("privacy:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
					u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
					u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/*
 * privacy._registry_write(tbl, col, key_name, deterministic): record a column
 * as protected (table owner only) and return its new random context.  The
 * column's type and length limit are read from the catalog, never taken
 * from the caller.
 */
Datum
privacy_registry_write(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *col = NameStr(*PG_GETARG_NAME(1));
	Oid			typid;
	int32		typmod;
	char	   *context = new_column_context();
	Oid			types[7] = {OIDOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, INT4OID};
	Datum		vals[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	require_owner(relid);
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot protect a column of temporary table \"%s\"", get_rel_name(relid))));
	privacy_column_type(relid, col, &typid, &typmod);

	vals[0] = ObjectIdGetDatum(relid);
	vals[1] = CStringGetTextDatum(col);
	vals[2] = PointerGetDatum(PG_GETARG_TEXT_PP(2));
	vals[3] = PG_GETARG_DATUM(3);
	vals[4] = CStringGetTextDatum(format_type_with_typemod(typid, typmod));
	vals[5] = CStringGetTextDatum(context);
	if (typid == VARCHAROID && typmod > VARHDRSZ)
		vals[6] = Int32GetDatum(typmod - VARHDRSZ);
	else
		nulls[6] = 'n';
	registry_exec("INSERT INTO privacy.protected_columns "
				  "(tbl, col, key_name, deterministic, original_type, context, max_chars, protected_by) "
				  "VALUES ($1::pg_catalog.regclass, $2::pg_catalog.name, $3, $4, $5, $6, $7, SESSION_USER)",
				  7, types, vals, nulls, SPI_OK_INSERT);
	privacy_citus_registry_changed(relid);
	PG_RETURN_TEXT_P(cstring_to_text(context));
}

/* What _protect_value needs to know of a protected column, per call site. */
typedef struct ProtectMemo
{
	char		context[NAMEDATALEN * 2];
	text	   *key_name;
	bool		deterministic;
} ProtectMemo;

/*
 * privacy._protect_value(value, context): value encrypted for the protected
 * column with that context, in its stored form; used by protect_column to
 * encrypt existing rows, whatever they hold (table owner only).
 */
Datum
privacy_protect_value(PG_FUNCTION_ARGS)
{
	bool		is_text = get_fn_expr_argtype(fcinfo->flinfo, 0) != BYTEAOID;
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	char	   *context = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ProtectMemo *memo = fcinfo->flinfo->fn_extra;
	CryptoContext ctx;
	bytea	   *ct;

	if (memo == NULL || strcmp(memo->context, context) != 0)
	{
		OwnerScope	scope;
		Oid			argtype = TEXTOID;
		Datum		arg = CStringGetTextDatum(context);
		Oid			relid = InvalidOid;
		char	   *key_name = NULL;
		bool		deterministic = false;
		bool		isnull;
		int			rc;

		privacy_owner_begin(&scope);
		rc = SPI_execute_with_args("SELECT tbl::pg_catalog.oid, key_name, deterministic "
								   "FROM privacy.protected_columns WHERE context OPERATOR(pg_catalog.=) $1",
								   1, &argtype, &arg, NULL, true, 1);
		if (rc == SPI_OK_SELECT && SPI_processed == 1)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;

			relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
			key_name = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, SPI_getvalue(tup, desc, 2));
			deterministic = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		}
		privacy_owner_end(&scope);
		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("no protected column has context \"%s\"", context)));
		require_owner(relid);
		if (memo == NULL)
			memo = fcinfo->flinfo->fn_extra =
				MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ProtectMemo));
		strlcpy(memo->context, context, sizeof(memo->context));
		memo->key_name = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARHDRSZ + strlen(key_name));
		SET_VARSIZE(memo->key_name, VARHDRSZ + strlen(key_name));
		memcpy(VARDATA(memo->key_name), key_name, strlen(key_name));
		memo->deterministic = deterministic;
	}
	ctx = make_context(memo->context);
	ct = privacy_encrypt_raw(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), memo->key_name, NULL,
							 memo->deterministic, &ctx);
	if (is_text)
		PG_RETURN_TEXT_P(privacy_ciphertext_to_text(ct));
	PG_RETURN_BYTEA_P(ct);
}

/* privacy._registry_remove(tbl, col): forget a protected column (table owner only). */
Datum
privacy_registry_remove(PG_FUNCTION_ARGS)
{
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		vals[2];

	require_owner(PG_GETARG_OID(0));
	vals[0] = PG_GETARG_DATUM(0);
	vals[1] = CStringGetTextDatum(NameStr(*PG_GETARG_NAME(1)));
	registry_exec("DELETE FROM privacy.protected_columns "
				  "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass "
				  "AND col OPERATOR(pg_catalog.=) $2::pg_catalog.name",
				  2, types, vals, NULL, SPI_OK_DELETE);
	privacy_citus_registry_changed(PG_GETARG_OID(0));
	PG_RETURN_VOID();
}

/* Does view's rewrite rule depend on (read) table relid? */
static bool
view_reads_table(Oid view, Oid relid)
{
	Oid			types[2] = {OIDOID, OIDOID};
	Datum		vals[2] = {ObjectIdGetDatum(view), ObjectIdGetDatum(relid)};
	Datum		dep;
	bool		depnull;

	(void) privacy_exec_as(privacy_owner_oid(),
						   "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r "
						   "JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
						   "AND d.objid OPERATOR(pg_catalog.=) r.oid "
						   "WHERE r.ev_class OPERATOR(pg_catalog.=) $1 "
						   "AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
						   "AND d.refobjid OPERATOR(pg_catalog.=) $2)",
						   2, types, vals, NULL, true, SPI_OK_SELECT, 1, &dep, &depnull, NULL);
	return !depnull && DatumGetBool(dep);
}

/*
 * Is view the "<table>_decrypted" view that protect_column has just made for
 * relid: a view created in this transaction, in the table's schema, under that
 * name, owned by the table's owner, whose rule reads the table?  Nothing else
 * may enter the registry (the DDL event trigger renames registered views).
 */
static bool
is_decrypted_view_of(Oid view, Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(view));
	Form_pg_class form;
	bool		ok;
	char	   *want;

	if (!HeapTupleIsValid(tup))
		return false;
	form = (Form_pg_class) GETSTRUCT(tup);
	want = psprintf("%s_decrypted", get_rel_name(relid));
	ok = form->relkind == RELKIND_VIEW &&
		form->relnamespace == get_rel_namespace(relid) &&
		strncmp(NameStr(form->relname), want, NAMEDATALEN - 1) == 0 &&
		form->relowner == privacy_relation_owner(relid) &&
		TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));
	ReleaseSysCache(tup);
	if (!ok)
		return false;
	return view_reads_table(view, relid);
}

/*
 * privacy._registry_set_view(tbl, view): record the _decrypted view (table
 * owner only); only the view protect_column made for that table (or NULL).
 */
Datum
privacy_registry_set_view(PG_FUNCTION_ARGS)
{
	Oid			types[2] = {OIDOID, OIDOID};
	Datum		vals[2];
	char		nulls[2] = {' ', PG_ARGISNULL(1) ? 'n' : ' '};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null")));
	require_owner(PG_GETARG_OID(0));
	if (!PG_ARGISNULL(1) && !is_decrypted_view_of(PG_GETARG_OID(1), PG_GETARG_OID(0)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("\"%s\" is not the _decrypted view privacy made for table \"%s\"",
						get_rel_name(PG_GETARG_OID(1)) ? get_rel_name(PG_GETARG_OID(1)) : "?",
						get_rel_name(PG_GETARG_OID(0))),
				 errdetail("Only privacy.protect_column records a table's _decrypted view.")));
	vals[0] = PG_GETARG_DATUM(0);
	vals[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	registry_exec("UPDATE privacy.protected_columns SET view = $2::pg_catalog.regclass "
				  "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
				  2, types, vals, nulls, SPI_OK_UPDATE);
	PG_RETURN_VOID();
}

/*
 * privacy._rename_decrypted_view(relid, view): give a renamed table's
 * _decrypted view the table's new name, if that name is free.  Called by the
 * DDL event trigger; acts only on a view whose rule reads the table and that
 * the table's owner owns, and renames it as that owner in a
 * security-restricted operation.
 */
Datum
privacy_rename_decrypted_view(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			view = PG_GETARG_OID(1);
	Oid			owner;
	char	   *relname = get_rel_name(relid);
	char	   *want;

	if (relname == NULL || get_rel_name(view) == NULL || get_rel_relkind(view) != RELKIND_VIEW)
		PG_RETURN_VOID();
	owner = privacy_relation_owner(relid);
	if (privacy_relation_owner(view) != owner)
		PG_RETURN_VOID();
	if (!view_reads_table(view, relid))
		PG_RETURN_VOID();
	want = psprintf("%s_decrypted", relname);
	if (strlen(want) >= NAMEDATALEN ||
		OidIsValid(get_relname_relid(want, get_rel_namespace(relid))))
		PG_RETURN_VOID();
	(void) privacy_exec_as(owner,
						   psprintf("ALTER VIEW %s RENAME TO %s",
									quote_qualified_identifier(get_namespace_name(get_rel_namespace(view)),
															   get_rel_name(view)),
									quote_identifier(want)),
						   0, NULL, NULL, NULL, false, SPI_OK_UTILITY, 0, NULL, NULL, NULL);
	PG_RETURN_VOID();
}

/*
 * Write the "reencrypt" audit row of column col of relid: object the quoted,
 * schema-qualified "table.column", details the rows re-encrypted and the batch
 * size, and "online": true for privacy.reencrypt_online.
 */
static void
audit_reencrypt(Oid relid, const char *col, int64 rows, int batch, bool online)
{
	privacy_audit("reencrypt", psprintf("%s.%s", privacy_qualified_name(relid), quote_identifier(col)), NULL,
				  psprintf("{\"rows\": " INT64_FORMAT ", \"batch\": %d%s}", rows, batch,
						   online ? ", \"online\": true" : ""));
}

/*
 * privacy.reencrypt(tbl, col, batch, context): move a column's ciphertexts to
 * the active version of their key, batch rows per UPDATE.  A protected column
 * uses its registered context; otherwise the context given (NULL: none).
 */
Datum
privacy_reencrypt(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *col;
	int32		batch;
	char	   *context = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	char	   *relname;
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		vals[2];
	OwnerScope	scope;
	int			rc;
	bool		isnull;
	int64		count;
	Datum		result;
	char	   *qtbl;
	char	   *qcol;
	char	   *qctx;
	const char *citus_kind;
	StringInfoData sql;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table, column and batch size must not be null")));
	relid = PG_GETARG_OID(0);
	col = NameStr(*PG_GETARG_NAME(1));
	batch = PG_GETARG_INT32(2);
	relname = get_rel_name(relid);
	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (batch < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch size must be at least 1")));
	qtbl = privacy_qualified_name(relid);
	qcol = (char *) quote_identifier(col);

	/* a protected column's context comes from the registry */
	vals[0] = ObjectIdGetDatum(relid);
	vals[1] = CStringGetTextDatum(col);
	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args("SELECT context FROM privacy.protected_columns "
							   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass "
							   "AND col OPERATOR(pg_catalog.=) $2::pg_catalog.name",
							   2, types, vals, NULL, true, 1);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
	{
		if (context != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of table \"%s\" is protected; its context is registered",
							col, relname),
					 errhint("Call privacy.reencrypt() without a context.")));
		context = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		context = MemoryContextStrdup(CurrentMemoryContext, context);
	}
	privacy_owner_end(&scope);
	qctx = context ? quote_literal_cstr(context) : "NULL";

	/*
	 * The UPDATE runs as the table's owner in a security-restricted
	 * operation (its triggers and checks never get the caller's rights),
	 * for a caller allowed to UPDATE the table.
	 */
	if (pg_class_aclcheck(relid, GetUserId(), ACL_UPDATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", relname)));
	initStringInfo(&sql);
	citus_kind = privacy_citus_table_kind(relid);
	if (citus_kind && strcmp(citus_kind, "distributed") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("privacy.reencrypt is not supported on the Citus %s table \"%s\"", citus_kind, relname),
				 errdetail("Randomized encryption runs once per placement, so the copies of a row would differ."),
				 errhint("Re-encrypt on a distributed table, or decrypt and re-insert the rows.")));
	if (citus_kind)
		/* Citus: one UPDATE pushed down to every shard, in its 2PC transaction */
		count = (int64) privacy_exec_as(privacy_relation_owner(relid),
										psprintf("UPDATE %s SET %s = privacy._keep_expiry(privacy._reencrypt_shard_value(%s, %s)) "
												 "WHERE privacy._needs_reencrypt_shard(%s)",
												 qtbl, qcol, qcol, qctx, qcol),
										0, NULL, NULL, NULL, false, SPI_OK_UPDATE, 0, NULL, NULL, NULL);
	else
	{
		appendStringInfo(&sql,
						 "SELECT privacy._batch_update(%s::pg_catalog.regclass, "
						 "%s, %s, %d)",
						 quote_literal_cstr(qtbl),
						 quote_literal_cstr(psprintf("%s = privacy._reencrypt_value(%s, %s)", qcol, qcol, qctx)),
						 quote_literal_cstr(psprintf("privacy._needs_reencrypt(%s)", qcol)),
						 batch);
		(void) privacy_exec_as(privacy_relation_owner(relid), sql.data, 0, NULL, NULL, NULL, false,
							   SPI_OK_SELECT, 1, &result, &isnull, NULL);
		count = isnull ? 0 : DatumGetInt64(result);
	}

	audit_reencrypt(relid, col, count, batch, false);
	PG_RETURN_INT64(count);
}

/*
 * privacy._bulk_finish(op_id, batch): mark online bulk operation op_id
 * finished, once.  Returns its rows (those that writers converted meanwhile,
 * through the trigger, count as done too), or NULL when there is no such
 * unfinished operation that the caller may update: the UPDATE runs as the
 * caller, and privacy.bulk_operations (row-level security) lets a role update
 * only operations on tables it owns.  Finishing a re-encryption writes its
 * "reencrypt" audit row, as privacy.reencrypt does, with "online": true and
 * batch, the batch size of the run that finished it; only the table's owner
 * itself (the role that runs reencrypt_online) with EXECUTE on
 * privacy.reencrypt_online may do that.  The audit row and the finish commit
 * together: a second call finds the operation finished and writes nothing.
 */
Datum
privacy_bulk_finish(PG_FUNCTION_ARGS)
{
	int32		batch = PG_GETARG_INT32(1);
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {PG_GETARG_DATUM(0)};
	Datum		out[4];
	bool		outnull[4];

	if (batch < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch size must be at least 1")));
	if (privacy_exec_as(GetUserId(),
						"UPDATE privacy.bulk_operations b "
						"SET finished = pg_catalog.clock_timestamp(), updated = pg_catalog.clock_timestamp(), "
						"rows_done = GREATEST(b.rows_done, b.rows_total) "
						"WHERE b.id OPERATOR(pg_catalog.=) $1 AND b.finished IS NULL "
						"RETURNING b.rows_done, b.operation OPERATOR(pg_catalog.=) 'reencrypt', "
						"b.tbl::pg_catalog.oid, b.col",
						1, types, vals, NULL, false, SPI_OK_UPDATE_RETURNING, 4, out, outnull, NULL) == 0)
		PG_RETURN_NULL();
	if (DatumGetBool(out[1]))
	{
		Oid			relid = DatumGetObjectId(out[2]);
		Oid			argtypes[5] = {REGCLASSOID, NAMEOID, INT4OID, TEXTOID, INT4OID};
		Oid			proc;

		/* as _bulk_operation: the owner itself, not a member or a superuser */
		if (privacy_relation_owner(relid) != GetUserId())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("only the owner of table %s can finish its online re-encryption",
							privacy_qualified_name(relid))));
		proc = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum("reencrypt_online"),
							   PointerGetDatum(buildoidvector(argtypes, 5)),
							   ObjectIdGetDatum(privacy_schema_oid(false)));
		if (!OidIsValid(proc) ||
			object_aclcheck(ProcedureRelationId, proc, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for procedure privacy.reencrypt_online")));
		audit_reencrypt(relid, NameStr(*DatumGetName(out[3])), DatumGetInt64(out[0]), batch, true);
	}
	PG_RETURN_INT64(DatumGetInt64(out[0]));
}

/* Memo of privacy.protected_value's registry lookup, per call site. */
typedef struct LookupMemo
{
	Oid			relid;
	NameData	col;
	char	   *context;
	text	   *key_name;
} LookupMemo;

/*
 * privacy.protected_value(tbl, col, value): the stored form of value in a
 * deterministically protected text column, for equality lookups that use
 * the column's indexes:  WHERE email = privacy.protected_value('t', 'email', $1).
 * col is text, not name: a name argument would give the result the implicit
 * collation "C", which overrides the column's default collation in the
 * comparison so that no index on the column matches.  With text arguments the
 * result has the collation of value (the default one for a literal or a
 * parameter), which yields to the column's own collation.
 */
Datum
privacy_protected_value(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *colname = text_to_cstring(PG_GETARG_TEXT_PP(1));
	text	   *value = PG_GETARG_TEXT_PP(2);
	LookupMemo *memo = fcinfo->flinfo->fn_extra;
	CryptoContext ctx;

	if (memo == NULL || memo->relid != relid || strcmp(NameStr(memo->col), colname) != 0)
	{
		OwnerScope	scope;
		Oid			types[2] = {OIDOID, TEXTOID};
		Datum		vals[2];
		int			rc;
		bool		found = false;
		bool		deterministic = false;
		bool		isnull;
		char	   *context = NULL;
		char	   *key_name = NULL;

		vals[0] = ObjectIdGetDatum(relid);
		vals[1] = CStringGetTextDatum(colname);
		privacy_owner_begin(&scope);
		rc = SPI_execute_with_args("SELECT context, key_name, deterministic, "
								   "(SELECT a.atttypid FROM pg_catalog.pg_attribute a "
								   " WHERE a.attrelid OPERATOR(pg_catalog.=) p.tbl "
								   " AND a.attname OPERATOR(pg_catalog.=) p.col) "
								   "OPERATOR(pg_catalog.=) 'pg_catalog.bytea'::pg_catalog.regtype "
								   "FROM privacy.protected_columns p "
								   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass "
								   "AND col OPERATOR(pg_catalog.=) $2::pg_catalog.name",
								   2, types, vals, NULL, true, 1);
		if (rc == SPI_OK_SELECT && SPI_processed == 1)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;

			found = true;
			context = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, SPI_getvalue(tup, desc, 1));
			key_name = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, SPI_getvalue(tup, desc, 2));
			deterministic = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
			if (DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull)))
				deterministic = false;	/* bytea columns: not this function's job */
		}
		privacy_owner_end(&scope);
		if (!found || !deterministic)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" of table \"%s\" is not a deterministically protected text column",
							colname, get_rel_name(relid)),
					 errhint("Equality lookups need privacy.protect_column(..., deterministic => true).")));
		if (memo == NULL)
			memo = fcinfo->flinfo->fn_extra =
				MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(LookupMemo));
		memo->relid = relid;
		namestrcpy(&memo->col, colname);
		memo->context = context;
		memo->key_name = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARHDRSZ + strlen(key_name));
		SET_VARSIZE(memo->key_name, VARHDRSZ + strlen(key_name));
		memcpy(VARDATA(memo->key_name), key_name, strlen(key_name));
	}
	ctx = make_context(memo->context);
	PG_RETURN_TEXT_P(privacy_ciphertext_to_text(
		privacy_encrypt_raw(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), memo->key_name, NULL, true,
							&ctx)));
}

/*
 * Before DROP TABLE without CASCADE: drop the table's _decrypted view, as the
 * table's owner, so that a protected table drops like any other (its masked
 * view goes the same way, in views.c).  Only for a caller who owns the table
 * (anyone else's DROP TABLE fails anyway).
 */
static void
drop_decrypted_view(Oid relid)
{
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	Datum		view;
	bool		isnull;

	if (!OidIsValid(relid) || !OidIsValid(privacy_schema_oid(true)) ||
		!privacy_owns_relation(relid, GetUserId()))
		return;
	(void) privacy_exec_as(privacy_owner_oid(),
						   "SELECT p.view::pg_catalog.oid FROM privacy.protected_columns p "
						   "WHERE p.tbl OPERATOR(pg_catalog.=) $1 AND p.view IS NOT NULL LIMIT 1",
						   1, &argtype, &arg, NULL, true, SPI_OK_SELECT, 1, &view, &isnull, NULL);
	if (isnull || get_rel_name(DatumGetObjectId(view)) == NULL ||
		privacy_relation_owner(DatumGetObjectId(view)) != privacy_relation_owner(relid))
		return;
	(void) privacy_exec_as(privacy_relation_owner(relid),
						   psprintf("DROP VIEW %s", privacy_qualified_name(DatumGetObjectId(view))),
						   0, NULL, NULL, NULL, false, SPI_OK_UTILITY, 0, NULL, NULL, NULL);
}

/*
 * Utility hook: DROP TABLE of a protected table takes its _decrypted view
 * with it; DROP EXTENSION privacy is refused while live keys exist.
 */
static void
protect_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree,
					   ProcessUtilityContext context, ParamListInfo params,
					   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, DropStmt))
	{
		DropStmt   *stmt = (DropStmt *) parsetree;
		ListCell   *lc;

		if (stmt->removeType == OBJECT_TABLE && stmt->behavior != DROP_CASCADE)
			foreach(lc, stmt->objects)
				drop_decrypted_view(RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)), NoLock, true));
		if (stmt->removeType == OBJECT_EXTENSION)
			foreach(lc, stmt->objects)
				if (strcmp(strVal(lfirst(lc)), "privacy") == 0)
					privacy_keys_before_drop_extension();
	}
	privacy_next_utility(prev_utility, pstmt, queryString,
						 readOnlyTree,
						 context, params, queryEnv, dest, qc);
}

/* Module initialisation: the utility hook. */
void
ProtectInit(void)
{
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = protect_ProcessUtility;
}
