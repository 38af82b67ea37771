/*
 * retention.c — retention-expiry trigger, policy and hold registries, purge.
 *
 * privacy.set_retention() (PL/pgSQL, src/sql/retention.sql) records a policy
 * and installs the row trigger below, which stamps the expiry column:
 * since + keep (NULL since: never), or now() + keep on INSERT and on every
 * UPDATE.  Rows kept after anonymization are stamped 'infinity' and stay so.
 *
 * The purge walks the policies one table at a time.  Each step (one batch of
 * at most batch_size rows, or one expired partition) runs in a subtransaction
 * as the table's owner, under lock_timeout; a failing step ends that table's
 * purge only.  Batches sweep each table (or leaf partition) in physical
 * order, one range of pages at a time: the range is first deleted in one
 * pass under a short lock_timeout, and only when that meets a row locked by
 * another transaction (or would exceed the batch) is it done again with FOR
 * UPDATE SKIP LOCKED, leaving rows that others hold to the next run.  The table's row in
 * privacy.deletion_log is updated in the same transaction as each batch, so
 * the log matches what was committed even if the server stops mid-run.  In
 * the procedure and the background worker each step is committed on its own.
 */
#include "postgres.h"
#include "compat.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "audit.h"
#include "citus.h"
#include "retention.h"
#include "subject.h"
#include "util.h"

PG_FUNCTION_INFO_V1(privacy_retention_trigger);
PG_FUNCTION_INFO_V1(privacy_policy_write);
PG_FUNCTION_INFO_V1(privacy_policy_remove);
PG_FUNCTION_INFO_V1(privacy_place_hold);
PG_FUNCTION_INFO_V1(privacy_release_hold);
PG_FUNCTION_INFO_V1(privacy_purge);
PG_FUNCTION_INFO_V1(privacy_run_purge);

static int	purge_lock_timeout = 1000;	/* ms */

/* Set while the purge anonymizes rows: the trigger keeps their 'infinity'. */
static bool anonymizing = false;

/*
 * Set while the extension rewrites rows for maintenance (protect_column,
 * unprotect_column, reencrypt): the trigger keeps each row's expiry.
 * Backend-local; cleared at the end of every transaction and on the abort of
 * a subtransaction, so an error never leaves it on.
 */
static bool keep_expiry = false;
static bool keep_expiry_callbacks = false;
/*
 * The top-level statement (by its start time) whose rows keep their expiry
 * (privacy._keep_expiry); 0: none.  Not the command id: the SPI queries of
 * triggers on the same rows advance it within the statement.
 */
static TimestampTz keep_expiry_statement = 0;

/* ---------- the trigger ---------- */

/* What the trigger derives from its arguments (privacy_trigger_cache). */
typedef struct RetentionCache
{
	int			expiry_attnum;
	int			since_attnum;	/* 0: counted from now() */
	Oid			since_type;
	Interval	keep;
	int			interval_style; /* IntervalStyle keep was read under */
	TimestampTz now_base;		/* now() for which now_expiry was computed */
	TimestampTz now_expiry;
} RetentionCache;

/* Attribute number of a named column of the trigger's table, or an error. */
static int
trigger_column(Relation rel, const char *colname)
{
	int			attnum = SPI_fnumber(RelationGetDescr(rel), colname);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("retention column \"%s\" does not exist in table \"%s\"",
						colname, RelationGetRelationName(rel)),
				 errhint("Run privacy.set_retention() again after renaming or dropping a column it uses.")));
	return attnum;
}

/* The trigger's cache entry, filled on first use. */
static RetentionCache *
trigger_cache(TriggerData *td)
{
	Trigger    *tg = td->tg_trigger;
	Oid			relid = RelationGetRelid(td->tg_relation);
	RetentionCache *c = privacy_trigger_cache_get(tg->tgoid, relid);
	MemoryContext cxt;
	uint64		generation;
	Interval   *keep;

	if (c && c->interval_style == IntervalStyle)
		return c;
	if (tg->tgnargs != 2 && tg->tgnargs != 3)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" has malformed arguments", tg->tgname),
				 errhint("Run privacy.set_retention() again to rebuild it.")));
	cxt = privacy_trigger_cache_new(&generation);
	c = MemoryContextAllocZero(cxt, sizeof(RetentionCache));
	c->expiry_attnum = trigger_column(td->tg_relation, tg->tgargs[0]);
	if (TupleDescAttr(RelationGetDescr(td->tg_relation), c->expiry_attnum - 1)->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("expiry column \"%s\" must be of type timestamptz", tg->tgargs[0])));
	keep = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(tg->tgargs[1]),
												 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	c->keep = *keep;
	c->interval_style = IntervalStyle;
	c->since_attnum = 0;
	if (tg->tgnargs == 3)
	{
		c->since_attnum = trigger_column(td->tg_relation, tg->tgargs[2]);
		c->since_type = TupleDescAttr(RelationGetDescr(td->tg_relation), c->since_attnum - 1)->atttypid;
		if (c->since_type != TIMESTAMPTZOID && c->since_type != TIMESTAMPOID && c->since_type != DATEOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("since column \"%s\" must be of type timestamptz, timestamp or date",
							tg->tgargs[2])));
	}
	c->now_base = DT_NOBEGIN;
	privacy_trigger_cache_put(tg->tgoid, relid, cxt, c, generation);
	return c;
}

/* t + keep */
static TimestampTz
add_keep(TimestampTz t, Interval *keep)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
												   TimestampTzGetDatum(t),
												   IntervalPGetDatum(keep)));
}

/* The expiry of a new row version: since + keep (NULL since: NULL), or now() + keep. */
static Datum
compute_expiry(RetentionCache *c, HeapTuple newtup, TupleDesc desc, bool *expiry_null)
{
	bool		isnull;
	TimestampTz now;

	if (c->since_attnum > 0)
	{
		Datum		since = heap_getattr(newtup, c->since_attnum, desc, &isnull);
		TimestampTz t;

		if (isnull)
		{
			*expiry_null = true;
			return (Datum) 0;
		}
		if (c->since_type == DATEOID)
			t = DatumGetTimestampTz(DirectFunctionCall1(date_timestamptz, since));
		else if (c->since_type == TIMESTAMPOID)
			t = DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, since));
		else
			t = DatumGetTimestampTz(since);
		return TimestampTzGetDatum(add_keep(t, &c->keep));
	}
	now = GetCurrentTransactionStartTimestamp();
	if (now != c->now_base)
	{
		c->now_expiry = add_keep(now, &c->keep);
		c->now_base = now;
	}
	return TimestampTzGetDatum(c->now_expiry);
}

/*
 * privacy._retention_trigger(expiry_column, keep [, since_column]): BEFORE
 * INSERT OR UPDATE FOR EACH ROW; stamps the expiry column.
 */
Datum
privacy_retention_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	RetentionCache *c;
	TupleDesc	desc;
	HeapTuple	newtup;
	Datum		expiry;
	Datum		cur;
	bool		expiry_null = false;
	bool		isnull;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("privacy._retention_trigger() must run as a BEFORE INSERT OR UPDATE row trigger")));
	c = trigger_cache(td);
	desc = RelationGetDescr(td->tg_relation);
	newtup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;

	expiry = TimestampTzGetDatum(DT_NOEND);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		Datum		old = heap_getattr(td->tg_trigtuple, c->expiry_attnum, desc, &isnull);

		/* the purge stamps what it anonymizes; anonymized rows stay kept */
		if (anonymizing)
			return PointerGetDatum(newtup);
		/* a maintenance rewrite: the row keeps the expiry it had */
		if (keep_expiry ||
			(keep_expiry_statement != 0 && keep_expiry_statement == GetCurrentStatementStartTimestamp()))
		{
			expiry = old;
			expiry_null = isnull;
			cur = heap_getattr(newtup, c->expiry_attnum, desc, &isnull);
			if (isnull == expiry_null && (isnull || DatumGetTimestampTz(cur) == DatumGetTimestampTz(expiry)))
				return PointerGetDatum(newtup);
			newtup = heap_modify_tuple_by_cols(newtup, desc, 1, &c->expiry_attnum, &expiry, &expiry_null);
			return PointerGetDatum(newtup);
		}
		if (isnull || !TIMESTAMP_IS_NOEND(DatumGetTimestampTz(old)))
			expiry = compute_expiry(c, newtup, desc, &expiry_null);
	}
	else
		expiry = compute_expiry(c, newtup, desc, &expiry_null);

	cur = heap_getattr(newtup, c->expiry_attnum, desc, &isnull);
	if (isnull == expiry_null && (isnull || DatumGetTimestampTz(cur) == DatumGetTimestampTz(expiry)))
		return PointerGetDatum(newtup);
	newtup = heap_modify_tuple_by_cols(newtup, desc, 1, &c->expiry_attnum, &expiry, &expiry_null);
	return PointerGetDatum(newtup);
}

/* Transaction end: maintenance rewrites never outlive their transaction. */
static void
keep_expiry_xact_callback(XactEvent event, void *arg)
{
	keep_expiry = false;
	keep_expiry_statement = 0;
}

/* Subtransaction abort: an error inside a rewrite leaves the flag off. */
static void
keep_expiry_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		keep_expiry = false;
		keep_expiry_statement = 0;
	}
}

/* Register the callbacks that end every maintenance rewrite with its transaction. */
static void
keep_expiry_register(void)
{
	if (keep_expiry_callbacks)
		return;
	RegisterXactCallback(keep_expiry_xact_callback, NULL);
	RegisterSubXactCallback(keep_expiry_subxact_callback, NULL);
	keep_expiry_callbacks = true;
}

/*
 * While on, the retention trigger keeps the expiry of every row an UPDATE
 * rewrites (the extension's maintenance rewrites must not reset retention).
 * Returns the previous state, to be restored when the rewrite is done.
 */
bool
privacy_retention_keep_expiry(bool on)
{
	bool		prev = keep_expiry;

	keep_expiry_register();
	keep_expiry = on;
	return prev;
}

PG_FUNCTION_INFO_V1(privacy_retention_keep_expiry_sql);

/* privacy._retention_keep_expiry(keep): privacy_retention_keep_expiry() from SQL. */
Datum
privacy_retention_keep_expiry_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(privacy_retention_keep_expiry(PG_GETARG_BOOL(0)));
}

PG_FUNCTION_INFO_V1(privacy_keep_expiry);

/*
 * privacy._keep_expiry(value): returns value; the rows the current command
 * (statement) rewrites keep their retention expiry.  The maintenance rewrites
 * that Citus pushes down to the shards (reencrypt, protect_column and
 * unprotect_column of a distributed table) wrap their new value in it: it
 * runs on the worker, in the statement whose rows the retention trigger there
 * stamps, where privacy_retention_keep_expiry() of the coordinator cannot
 * reach.  The next statement, and the transaction's end, stamp as usual.
 */
Datum
privacy_keep_expiry(PG_FUNCTION_ARGS)
{
	keep_expiry_register();
	keep_expiry_statement = GetCurrentStatementStartTimestamp();
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}

/* ---------- registries ---------- */

/*
 * Run one statement on the extension's own tables as the extension owner.
 * Returns the first column of the first row as int8 (0 when none).
 */
static int64
owner_exec(const char *sql, int nargs, Oid *types, Datum *vals, const char *nulls)
{
	OwnerScope	scope;
	int64		result = 0;
	int			rc;

	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args(sql, nargs, types, vals, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
	if (SPI_tuptable && SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			result = DatumGetInt64(d);
	}
	privacy_owner_end(&scope);
	return result;
}

/*
 * privacy._policy_write(tbl, keep, since_column, action, expiry_column):
 * record a retention policy (table owner only); audited.
 */
Datum
privacy_policy_write(PG_FUNCTION_ARGS)
{
	Oid			types[6] = {OIDOID, INTERVALOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		vals[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	StringInfoData details;
	char	   *since = PG_ARGISNULL(2) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(2)));
	char	   *keep;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table, period, action and expiry column of a retention policy must not be null")));
	privacy_require_table_owner(PG_GETARG_OID(0));
	vals[0] = PG_GETARG_DATUM(0);
	vals[1] = PG_GETARG_DATUM(1);
	if (since)
		vals[2] = CStringGetTextDatum(since);
	else
		nulls[2] = 'n';
	vals[3] = PG_GETARG_DATUM(3);
	vals[4] = CStringGetTextDatum(NameStr(*PG_GETARG_NAME(4)));
	vals[5] = CStringGetTextDatum(privacy_calling_role());
	owner_exec("INSERT INTO privacy.retention_policies "
			   "(tbl, keep, since_column, action, expiry_column, set_by) "
			   "VALUES ($1::pg_catalog.regclass, $2, $3::pg_catalog.name, $4, $5::pg_catalog.name, $6::pg_catalog.name) "
			   "ON CONFLICT (tbl) DO UPDATE SET keep = EXCLUDED.keep, since_column = EXCLUDED.since_column, "
			   "action = EXCLUDED.action, expiry_column = EXCLUDED.expiry_column, "
			   "set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by",
			   6, types, vals, nulls);

	keep = DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(1)));
	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	privacy_json_field(&details, "keep", keep);
	privacy_json_field(&details, "since_column", since);
	privacy_json_field(&details, "action", text_to_cstring(PG_GETARG_TEXT_PP(3)));
	privacy_json_field(&details, "expiry_column", NameStr(*PG_GETARG_NAME(4)));
	appendStringInfoChar(&details, '}');
	privacy_audit("set_retention", privacy_qualified_name(PG_GETARG_OID(0)), NULL, details.data);
	PG_RETURN_VOID();
}

/* privacy._policy_remove(tbl): forget a table's policy (table owner only); audited. */
Datum
privacy_policy_remove(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {OIDOID};
	Datum		vals[1] = {PG_GETARG_DATUM(0)};
	int64		removed;

	privacy_require_table_owner(PG_GETARG_OID(0));
	removed = owner_exec("WITH d AS (DELETE FROM privacy.retention_policies "
						 "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass RETURNING 1) "
						 "SELECT pg_catalog.count(*) FROM d", 1, types, vals, NULL);
	if (removed > 0)
		privacy_audit("drop_retention", privacy_qualified_name(PG_GETARG_OID(0)), NULL, NULL);
	PG_RETURN_BOOL(removed > 0);
}

/* Saved user and GUC state while statements run as a table's owner. */
typedef OwnerScope TableScope;

/*
 * Act as a table's owner (a security-restricted operation, so that hold
 * predicates and masking rules get no more rights than their author), with
 * lock_timeout bounded and search_path pinned; SPI connected.
 */
static void
table_scope_begin(Oid owner, TableScope *s)
{
	privacy_role_scope_begin(owner, s);
	(void) set_config_option("lock_timeout", psprintf("%d", purge_lock_timeout), PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/* Leave a table scope. */
static void
table_scope_end(TableScope *s)
{
	privacy_owner_end(s);
}

/*
 * Check a hold predicate: one boolean expression over the table's columns
 * (subqueries allowed), parsed and analysed with the caller's rights.
 */
static void
validate_predicate(Oid relid, const char *predicate)
{
	List	   *raw;
	SelectStmt *sel = NULL;
	SPIPlanPtr	plan;
	TableScope	s;

	raw = raw_parser(predicate, RAW_PARSE_PLPGSQL_EXPR);
	if (list_length(raw) == 1 && IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
		sel = (SelectStmt *) ((RawStmt *) linitial(raw))->stmt;
	if (sel == NULL || list_length(sel->targetList) != 1 || sel->fromClause != NIL ||
		sel->whereClause != NULL || sel->groupClause != NIL || sel->havingClause != NULL ||
		sel->windowClause != NIL || sel->sortClause != NIL || sel->limitCount != NULL ||
		sel->limitOffset != NULL || sel->lockingClause != NIL || sel->distinctClause != NIL ||
		sel->intoClause != NULL || sel->op != SETOP_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("hold predicate must be a single boolean expression"),
				 errhint("Write a condition over the table's columns, e.g. client_id = 42.")));
	/* as the purge will run it: search_path pinned */
	table_scope_begin(GetUserId(), &s);
	plan = SPI_prepare(psprintf("SELECT 1 FROM ONLY %s WHERE (%s)", privacy_qualified_name(relid), predicate), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare hold predicate: %s", SPI_result_code_string(SPI_result));
	table_scope_end(&s);
}

/* Oid of privacy.erase_subject, or InvalidOid when it does not exist. */
static Oid
get_subject_rights_function(void)
{
	return LookupFuncName(list_make2(makeString("privacy"), makeString("erase_subject")),
						  -1, NULL, true);
}

/*
 * Refuse callers who may not erase data subjects (EXECUTE on
 * privacy.erase_subject, as a DPO role has): subject-wide holds are theirs.
 */
static void
require_subject_rights(const char *what)
{
	Oid			fn = get_subject_rights_function();

	if (!superuser() &&
		(!OidIsValid(fn) || object_aclcheck(ProcedureRelationId, fn, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errdetail("Holds on a subject across every table are for roles that may erase subjects."),
				 errhint("A superuser can grant them with privacy.grant_subject_rights().")));
}

/*
 * privacy.place_hold(reason, tbl, subject, until, predicate): hold a table,
 * or its rows matching predicate, until released (or until "until").
 */
Datum
privacy_place_hold(PG_FUNCTION_ARGS)
{
	Oid			types[6] = {TEXTOID, OIDOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID};
	Datum		vals[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	char	   *reason;
	char	   *subject = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *predicate = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	Oid			relid;
	int64		id;
	StringInfoData details;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a legal hold needs a reason")));
	reason = privacy_text_to_cstring_limited(PG_GETARG_TEXT_PP(0), 1000, "reason");
	if (PG_ARGISNULL(1) && subject == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a legal hold needs a table or a subject")));
	relid = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
	if (OidIsValid(relid))
		privacy_require_table_owner(relid);
	else
	{
		/* a subject in every table: for those who may erase subjects */
		require_subject_rights("place a legal hold on a subject");
		if (predicate)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a legal hold on a subject in every table takes no predicate"),
					 errhint("Give a table to hold rows matching a predicate.")));
	}
	if (!PG_ARGISNULL(3) && PG_GETARG_TIMESTAMPTZ(3) <= GetCurrentTransactionStartTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a legal hold must last beyond now")));
	if (predicate)
		validate_predicate(relid, predicate);

	vals[0] = CStringGetTextDatum(reason);
	vals[1] = ObjectIdGetDatum(relid);
	nulls[1] = OidIsValid(relid) ? ' ' : 'n';
	vals[2] = subject ? CStringGetTextDatum(subject) : (Datum) 0;
	nulls[2] = subject ? ' ' : 'n';
	vals[3] = predicate ? CStringGetTextDatum(predicate) : (Datum) 0;
	nulls[3] = predicate ? ' ' : 'n';
	vals[4] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	nulls[4] = PG_ARGISNULL(3) ? 'n' : ' ';
	vals[5] = CStringGetTextDatum(privacy_calling_role());
	id = owner_exec("INSERT INTO privacy.legal_holds (reason, tbl, subject, predicate, until, placed_by) "
					"VALUES ($1, $2::pg_catalog.regclass, $3, $4, $5, $6::pg_catalog.name) "
					"RETURNING id::pg_catalog.int8", 6, types, vals, nulls);

	initStringInfo(&details);
	appendStringInfo(&details, "{\"hold_id\": " INT64_FORMAT, id);
	privacy_json_field(&details, "reason", reason);
	privacy_json_field(&details, "predicate", predicate);
	privacy_json_field(&details, "until", PG_ARGISNULL(3) ? NULL :
			   DatumGetCString(DirectFunctionCall1(timestamptz_out, PG_GETARG_DATUM(3))));
	appendStringInfoChar(&details, '}');
	privacy_audit("place_hold", OidIsValid(relid) ? privacy_qualified_name(relid) : NULL, subject, details.data);
	PG_RETURN_INT32((int32) id);
}

/* privacy.release_hold(hold_id): release a hold (owner of the held table only). */
Datum
privacy_release_hold(PG_FUNCTION_ARGS)
{
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		vals[2];
	OwnerScope	scope;
	Oid			relid = InvalidOid;
	char	   *subject = NULL;
	bool		released = false;
	bool		found = false;
	bool		isnull;
	int			rc;

	vals[0] = PG_GETARG_DATUM(0);
	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args("SELECT tbl::pg_catalog.oid, subject, released_at IS NOT NULL "
							   "FROM privacy.legal_holds WHERE id OPERATOR(pg_catalog.=) $1",
							   1, types, vals, NULL, false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.legal_holds");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		Datum		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);

		found = true;
		relid = isnull ? InvalidOid : DatumGetObjectId(d);
		subject = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);
		if (subject)
		{
			size_t		n = strlen(subject) + 1;
			char	   *copy = SPI_palloc(n);	/* survives SPI_finish */

			memcpy(copy, subject, n);
			subject = copy;
		}
		released = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
	}
	privacy_owner_end(&scope);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("legal hold %d does not exist", PG_GETARG_INT32(0))));
	if (released)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("legal hold %d was already released", PG_GETARG_INT32(0))));
	if (OidIsValid(relid))
		privacy_require_table_owner(relid);
	else
		require_subject_rights("release a legal hold on a subject");
	vals[1] = CStringGetTextDatum(privacy_calling_role());
	owner_exec("UPDATE privacy.legal_holds SET released_at = pg_catalog.now(), "
			   "released_by = $2::pg_catalog.name WHERE id OPERATOR(pg_catalog.=) $1",
			   2, types, vals, NULL);
	privacy_audit("release_hold", OidIsValid(relid) ? privacy_qualified_name(relid) : NULL, subject,
				  psprintf("{\"hold_id\": %d}", PG_GETARG_INT32(0)));
	PG_RETURN_VOID();
}

/* ---------- legal holds over the subject graph ---------- */

/* A legal hold covering rows of a table: its id, reason and SQL condition. */
typedef struct HoldCond
{
	int			id;
	char	   *reason;
	char	   *cond;			/* over the table's columns; 'true': every row */
	char	   *match;			/* the same, possibly NULL where cond is false: index-friendly */
} HoldCond;

/*
 * The active holds covering rows of relid, with their conditions, allocated
 * in cxt.  Which holds apply is read as the extension owner
 * (privacy._holds_on); a held subject's rows are found by the walk of export
 * and erasure (privacy_subject_rows: each lookup as its table's owner, the
 * caller needing SELECT on the tables); the condition matching them is built
 * as the table's owner (privacy._subject_hold_condition), in a
 * security-restricted operation, never with the caller's rights.
 */
static List *
read_holds(Oid relid, Oid owner, MemoryContext cxt)
{
	Oid			types[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		vals[3];
	OwnerScope	scope;
	TableScope	s;
	List	   *holds = NIL;
	List	   *subjects = NIL;
	ListCell   *lc;
	ListCell   *lc2;
	uint64		i;
	int			rc;

	vals[0] = ObjectIdGetDatum(relid);
	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args("SELECT hold_id, reason, subject, cond FROM privacy._holds_on($1::pg_catalog.regclass)",
							   1, types, vals, NULL, false, 0);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.legal_holds");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
		HoldCond   *h = palloc0(sizeof(HoldCond));
		bool		isnull;

		h->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		h->reason = SPI_getvalue(tup, desc, 2);
		h->cond = SPI_getvalue(tup, desc, 4);
		h->match = h->cond;
		holds = lappend(holds, h);
		subjects = lappend(subjects, SPI_getvalue(tup, desc, 3));
		MemoryContextSwitchTo(oldcxt);
	}
	privacy_owner_end(&scope);

	forboth(lc, holds, lc2, subjects)
	{
		HoldCond   *h = lfirst(lc);
		char	   *subject = lfirst(lc2);
		MemoryContext oldcxt;
		Datum		rows;
		bool		isnull;

		if (subject == NULL)
			continue;
		vals[1] = CStringGetTextDatum(subject);
		/* the walk of export and erasure: each lookup runs as its table's owner */
		rows = privacy_subject_rows(vals[1], &isnull);
		vals[2] = isnull ? CStringGetTextDatum("{}") : DirectFunctionCall1(jsonb_out, rows);
		vals[2] = CStringGetTextDatum(DatumGetCString(vals[2]));
		/* the condition, as the table's owner */
		table_scope_begin(owner, &s);
		rc = SPI_execute_with_args("SELECT privacy._subject_hold_condition($1::pg_catalog.regclass, $2, $3::pg_catalog.jsonb)",
								   3, types, vals, NULL, false, 1);
		privacy_spi_check(rc, SPI_OK_SELECT, "find the rows of a held subject");
		oldcxt = MemoryContextSwitchTo(cxt);
		h->match = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (h->match == NULL)
			h->match = pstrdup("false");
		/* a NULL foreign key matches no held row: never NULL, or NOT (held) would keep it */
		h->cond = strcmp(h->match, "false") == 0 ? h->match : psprintf("COALESCE(%s, false)", h->match);
		MemoryContextSwitchTo(oldcxt);
		table_scope_end(&s);
	}
	return holds;
}

/* The condition of rows under any of the holds: 'false' when none, 'true' for a whole table. */
static char *
holds_condition(List *holds, MemoryContext cxt)
{
	StringInfoData buf;
	ListCell   *lc;

	if (holds == NIL)
		return "false";
	foreach(lc, holds)
	{
		if (strcmp(((HoldCond *) lfirst(lc))->cond, "true") == 0)
			return "true";
	}
	initStringInfo(&buf);
	foreach(lc, holds)
		appendStringInfo(&buf, "%s(%s)", buf.len > 0 ? " OR " : "", ((HoldCond *) lfirst(lc))->cond);
	return MemoryContextStrdup(cxt, buf.data);
}

/*
 * The rows under any of the holds, as a WHERE condition that may be NULL
 * for rows not held (so that indexes serve it): for counting held rows.
 */
static char *
holds_match(List *holds)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, holds)
		appendStringInfo(&buf, "%s(%s)", buf.len > 0 ? " OR " : "", ((HoldCond *) lfirst(lc))->match);
	return buf.len > 0 ? buf.data : "false";
}

/* ", count(*) FILTER (WHERE <hold>)" for each hold, in list order. */
static char *
hold_count_columns(List *holds)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, holds)
		appendStringInfo(&buf, ", pg_catalog.count(*) FILTER (WHERE (%s))", ((HoldCond *) lfirst(lc))->cond);
	return buf.data;
}

/*
 * Rows per hold as text ("hold 3 (litigation): 2 rows; ...") or, with json,
 * as a JSON array of {hold_id, reason, rows}; counts are the int8 columns of
 * the current SPI row from column first on.
 */
static char *
hold_counts_text(List *holds, int first, bool json)
{
	StringInfoData buf;
	ListCell   *lc;
	int			col = first;

	initStringInfo(&buf);
	if (json)
		appendStringInfoChar(&buf, '[');
	foreach(lc, holds)
	{
		HoldCond   *h = lfirst(lc);
		bool		isnull;
		int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col++, &isnull));

		if (json)
		{
			appendStringInfo(&buf, "%s{\"hold_id\": %d, \"reason\": ", buf.len > 1 ? ", " : "", h->id);
			escape_json(&buf, h->reason);
			appendStringInfo(&buf, ", \"rows\": " INT64_FORMAT "}", n);
		}
		else if (n > 0)
			appendStringInfo(&buf, "%shold %d (%s): " INT64_FORMAT " rows", buf.len > 0 ? ", " : "",
							 h->id, h->reason, n);
	}
	if (json)
		appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * The condition of the rows of a table (its leaf leaf, which the condition
 * names) that foreign keys of other rows reference, in cxt.  The purge
 * processes referencing tables first, so the rows still referencing them
 * stay: not expired, held, or kept in turn.
 */
static char *
referenced_condition(Oid relid, Oid leaf, MemoryContext cxt)
{
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		vals[2];
	OwnerScope	scope;
	char	   *cond;
	char	   *name = get_rel_name(leaf);
	int			rc;

	if (name == NULL)
		return "false";
	vals[0] = ObjectIdGetDatum(relid);
	vals[1] = CStringGetTextDatum(quote_identifier(name));
	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args("SELECT privacy._referenced_condition($1::pg_catalog.regclass, $2)",
							   2, types, vals, NULL, false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read foreign keys");
	cond = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	cond = MemoryContextStrdup(cxt, cond ? cond : "false");
	privacy_owner_end(&scope);
	return cond;
}

/* ---------- purge ---------- */

/* One retained table, as read at the start of a run. */
typedef struct PurgePolicy
{
	Oid			relid;
	char	   *keep;
	char	   *since;			/* NULL: counted from the latest write */
	char	   *action;
	char	   *expiry;
	char	   *policy;			/* human-readable, for the log */
} PurgePolicy;

/* State of one purge run. */
typedef struct PurgeRun
{
	MemoryContext cxt;			/* survives the run's commits */
	int64		run_id;
	int			batch;
	bool		dry_run;
	BatchCommits commits;		/* procedure or worker: commit after each step */
	char	   *role;
	/* the table being purged */
	PurgePolicy *p;
	char	   *table;			/* qualified name */
	Oid			owner;
	char	   *held;			/* condition of held rows ('false': none) */
	List	   *holds;			/* HoldCond of each hold covering rows of the table */
	char	   *referenced;		/* condition of the leaf's rows still referenced */
	Oid			referenced_leaf;	/* the leaf referenced was computed for */
	Oid			leaf;			/* the partition or table a step works on */
	BlockNumber next_block;		/* batches: where the next page range starts */
	double		density;		/* batches: rows picked per page so far (0: unknown) */
	bool		leaf_done;		/* batches: every page range of the leaf was swept */
	int64		log_id;
	int64		step_rows;
	int64		rows;
} PurgeRun;

typedef void (*PurgeStep) (PurgeRun *run);

/*
 * Run one step in a subtransaction, then commit if the run commits each
 * step.  On error, the step is rolled back and its message returned (the
 * error is reported as a warning); NULL on success.
 */
static char *
run_step(PurgeRun *run, PurgeStep step)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	char	   *volatile error = NULL;

	run->step_rows = 0;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		step(run);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(run->cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		anonymizing = false;
		error = edata->message;
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("could not purge table %s", run->table ? run->table : "?"),
				 errdetail("%s", edata->message)));
	}
	PG_END_TRY();
	privacy_batches_commit(&run->commits);
	return error;
}

/* Run a statement in a table scope; returns SPI_processed. */
static uint64
table_exec(const char *sql, int expect)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expect)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
	return SPI_processed;
}

/* Write a deletion log row for the table (partition: its name) and remember its id. */
static int64
log_insert(PurgeRun *run, const char *partition, const char *action, int64 rows,
		   const char *note, bool finished)
{
	Oid			types[10] = {INT8OID, OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID,
	TEXTOID, TEXTOID, BOOLOID};
	Datum		vals[10];
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	vals[0] = Int64GetDatum(run->run_id);
	vals[1] = ObjectIdGetDatum(run->p->relid);
	vals[2] = CStringGetTextDatum(run->table);
	vals[3] = partition ? CStringGetTextDatum(partition) : (Datum) 0;
	nulls[3] = partition ? ' ' : 'n';
	vals[4] = CStringGetTextDatum(run->p->policy);
	vals[5] = CStringGetTextDatum(action);
	vals[6] = Int64GetDatum(rows);
	vals[7] = CStringGetTextDatum(run->role);
	vals[8] = note ? CStringGetTextDatum(note) : (Datum) 0;
	nulls[8] = note ? ' ' : 'n';
	vals[9] = BoolGetDatum(finished);
	return owner_exec("INSERT INTO privacy.deletion_log "
					  "(run_id, relid, table_name, partition, policy, action, rows, role, note, finished_at) "
					  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::pg_catalog.name, $9, "
					  "CASE WHEN $10 THEN pg_catalog.clock_timestamp() END) RETURNING id",
					  10, types, vals, nulls);
}

/* Step: open the table's log row for this run. */
static void
step_open_log(PurgeRun *run)
{
	run->log_id = log_insert(run, NULL, run->p->action, 0, NULL, false);
}

/* Step: close the table's log row (with the error, if any). */
static void
close_log(PurgeRun *run, const char *error)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		vals[2] = {Int64GetDatum(run->log_id), (Datum) 0};
	char		nulls[2] = {' ', error ? ' ' : 'n'};

	if (error)
		vals[1] = CStringGetTextDatum(error);
	owner_exec("UPDATE privacy.deletion_log SET finished_at = pg_catalog.clock_timestamp(), error = $2 "
			   "WHERE id OPERATOR(pg_catalog.=) $1", 2, types, vals, nulls);
}

/* Step: the holds covering rows of the table and the condition of held rows. */
static void
step_read_holds(PurgeRun *run)
{
	run->holds = read_holds(run->p->relid, run->owner, run->cxt);
	run->held = holds_condition(run->holds, run->cxt);
}

/*
 * The condition of the current leaf's rows that rows staying elsewhere still
 * reference (delete action only: anonymized rows stay), in the run's context.
 */
static void
leaf_referenced(PurgeRun *run)
{
	if (run->referenced && run->referenced_leaf == run->leaf)
		return;
	run->referenced = "false";
	if (strcmp(run->p->action, "delete") == 0)
		run->referenced = referenced_condition(run->p->relid, run->leaf, run->cxt);
	run->referenced_leaf = run->leaf;
}

/* The expired rows of the current leaf that are neither held nor referenced: a WHERE condition. */
static char *
expired_condition(PurgeRun *run)
{
	return psprintf("%s OPERATOR(pg_catalog.<) pg_catalog.now() AND NOT (%s) AND NOT (%s)",
					quote_identifier(run->p->expiry), run->held, run->referenced);
}

/*
 * Longest wait, in ms, of the first attempt at a batch (the one that takes no
 * row locks beforehand): past it the batch is retried with FOR UPDATE SKIP
 * LOCKED.  Well below deadlock_timeout, so that a writer waiting on a row the
 * attempt already removed never meets the deadlock detector.
 */
#define PURGE_FAST_LOCK_TIMEOUT 20

/* Number of pages of the current leaf (its lock is taken for the batch anyway). */
static BlockNumber
leaf_blocks(PurgeRun *run)
{
	Relation	rel = table_open(run->leaf, AccessShareLock);
	BlockNumber n = RelationGetNumberOfBlocks(rel);

	if (run->density <= 0 && rel->rd_rel->relpages > 0 && rel->rd_rel->reltuples > 0)
		run->density = rel->rd_rel->reltuples / rel->rd_rel->relpages;
	table_close(rel, NoLock);
	return n;
}

/* Pages in the next range: about 90% of a batch at the density seen so far. */
static BlockNumber
batch_pages(PurgeRun *run)
{
	double		per_page = run->density > 0 ? run->density : 100.0;
	double		pages = ceil(0.9 * run->batch / per_page);

	if (pages < 1)
		pages = 1;
	if (pages > MaxBlockNumber / 4)
		pages = MaxBlockNumber / 4;
	return (BlockNumber) pages;
}

/* Set lock_timeout (ms) for the rest of the table scope. */
static void
set_lock_timeout(int ms)
{
	(void) set_config_option("lock_timeout", psprintf("%d", ms < 1 ? 1 : ms), PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Run one statement changing rows in a subtransaction, and keep its work
 * when it changed at most max_rows rows (their number in *changed).  Returns
 * false, with the work rolled back, when it changed more, or when it timed
 * out waiting for a lock; other errors are thrown.
 */
static bool
try_batch(const char *sql, int expect, int64 max_rows, int64 *changed)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool done = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		*changed = table_exec(sql, expect);
		if (*changed <= max_rows)
		{
			ReleaseCurrentSubTransaction();
			done = true;
		}
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return done;
}

/* Add rows changed by a step to the run's deletion-log entry. */
static void
log_rows(PurgeRun *run, int64 changed)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		vals[2];

	if (changed <= 0)
		return;
	vals[0] = Int64GetDatum(run->log_id);
	vals[1] = Int64GetDatum(changed);
	owner_exec("UPDATE privacy.deletion_log SET rows = rows OPERATOR(pg_catalog.+) $2 "
			   "WHERE id OPERATOR(pg_catalog.=) $1", 2, types, vals, NULL);
}

/*
 * Step: delete or anonymize one batch of the current leaf, and count it in
 * the log.  The leaf is swept in physical order, one page range per batch
 * (sized from the density of expired rows seen so far), taking at most
 * batch_size rows of the range.  The rows are first changed without locking
 * them beforehand, under a short lock_timeout; the expiry and hold
 * conditions are checked again on the row version changed, so a row updated
 * meanwhile is only removed if it is still expired and not held.  Should a
 * row lock be held by another transaction, that attempt is rolled back and
 * the range is done with FOR UPDATE SKIP LOCKED instead, leaving the locked
 * rows to the next run.
 */
static void
step_batch(PurgeRun *run)
{
	TableScope	s;
	char	   *leaf = privacy_qualified_name(run->leaf);
	char	   *cond;
	char	   *range;
	char	   *change;
	BlockNumber nblocks;
	BlockNumber lo;
	BlockNumber hi;
	int64		picked = 0;
	int64		changed = 0;
	bool		anonymize = strcmp(run->p->action, "anonymize") == 0;

	if (leaf == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s was dropped during the purge run", run->table)));
	leaf_referenced(run);
	table_scope_begin(run->owner, &s);
	if (privacy_citus_table_kind(run->leaf) != NULL)
	{
		/*
		 * Citus distributed table: the shell holds no rows, its shards do.
		 * One DELETE that Citus runs on every shard in its transaction.
		 */
		table_exec(psprintf("DELETE FROM %s WHERE %s", leaf, expired_condition(run)), SPI_OK_DELETE);
		changed = (int64) SPI_processed;
		run->leaf_done = true;
		table_scope_end(&s);
		run->step_rows = changed;
		log_rows(run, changed);
		return;
	}
	nblocks = leaf_blocks(run);
	if (run->next_block >= nblocks)
	{
		run->leaf_done = true;
		table_scope_end(&s);
		return;
	}
	lo = run->next_block;
	hi = batch_pages(run) >= nblocks - lo ? nblocks : lo + batch_pages(run);
	cond = expired_condition(run);
	/* the last range is open-ended: it takes rows added at the end meanwhile */
	if (hi >= nblocks)
		range = psprintf("ctid OPERATOR(pg_catalog.>=) '(%u,0)'::pg_catalog.tid", lo);
	else
		range = psprintf("ctid OPERATOR(pg_catalog.>=) '(%u,0)'::pg_catalog.tid "
						 "AND ctid OPERATOR(pg_catalog.<) '(%u,0)'::pg_catalog.tid", lo, hi);
	if (anonymize)
	{
		Oid			argtype = OIDOID;
		Datum		arg = ObjectIdGetDatum(run->p->relid);
		char	   *sets;

		if (SPI_execute_with_args("SELECT privacy._masking_assignments($1::pg_catalog.regclass)", 1,
								  &argtype, &arg, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read masking rules");
		sets = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		change = psprintf("UPDATE ONLY %s SET %s, %s = 'infinity'", leaf, sets,
						  quote_identifier(run->p->expiry));
	}
	else
		change = psprintf("DELETE FROM ONLY %s", leaf);
	anonymizing = anonymize;

	/*
	 * First the whole range in one pass, without locking rows beforehand;
	 * kept when it changed no more than a batch.
	 */
	set_lock_timeout(Min(purge_lock_timeout, PURGE_FAST_LOCK_TIMEOUT));
	if (try_batch(psprintf("%s WHERE %s AND %s", change, range, cond),
				  anonymize ? SPI_OK_UPDATE : SPI_OK_DELETE, run->batch, &changed))
		picked = 0;				/* the range is swept */
	else
	{
		bool		isnull;

		/*
		 * Contended, or more than a batch: pick at most a batch of the range
		 * with FOR UPDATE SKIP LOCKED (leaving rows that others hold), then
		 * change them.
		 */
		set_lock_timeout(purge_lock_timeout - Min(purge_lock_timeout, PURGE_FAST_LOCK_TIMEOUT));
		table_exec(psprintf("WITH pick AS MATERIALIZED (SELECT ctid FROM ONLY %s WHERE %s AND %s "
							"LIMIT %d FOR UPDATE SKIP LOCKED), "
							"done AS (%s WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT ctid FROM pick)) "
							"AND %s RETURNING 1) "
							"SELECT (SELECT pg_catalog.count(*) FROM pick), (SELECT pg_catalog.count(*) FROM done)",
							leaf, range, cond, run->batch, change, cond),
				   SPI_OK_SELECT);
		picked = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		changed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	anonymizing = false;
	table_scope_end(&s);
	run->step_rows = changed;

	/*
	 * Fewer rows than a batch: the whole range was swept; move on and learn
	 * its density.  A full batch: the range may hold more, start it again
	 * with a smaller range next (unless nothing could be changed).
	 */
	if (picked < run->batch || changed == 0)
	{
		BlockNumber swept = (hi >= nblocks ? nblocks : hi) - lo;

		if (hi >= nblocks)
			run->leaf_done = true;
		run->next_block = hi;
		if (Max(picked, changed) > 0)
			run->density = (double) Max(picked, changed) / swept;
		else
			run->density = Max((run->density > 0 ? run->density : 100.0) / 4, 1e-6);
	}
	else
		run->density = Max(run->density * 2, (double) picked / (hi - lo));

	log_rows(run, changed);
}

/* Step (dry run): count the rows a purge would remove from the current leaf. */
static void
step_count(PurgeRun *run)
{
	TableScope	s;
	bool		isnull;

	leaf_referenced(run);
	table_scope_begin(run->owner, &s);
	table_exec(psprintf("SELECT pg_catalog.count(*) FROM ONLY %s WHERE %s",
						privacy_qualified_name(run->leaf), expired_condition(run)), SPI_OK_SELECT);
	run->step_rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	table_scope_end(&s);
}

PG_FUNCTION_INFO_V1(privacy_retention_counts);

/*
 * privacy._retention_counts(tbl, expiry_column): rows, expired rows, held rows,
 * oldest expiry, expired rows kept because rows that stay reference them, and
 * rows per hold (held_by, JSON) of a table, for retention_report() and
 * hold_coverage() (expiry_column NULL: only the rows and the holds).  Hold
 * conditions are the table owner's SQL and the subject walk reads the
 * owner's tables: they run as that owner in a security-restricted
 * operation, as in the purge, never with the caller's rights.  The caller
 * needs SELECT on the table.
 */
Datum
privacy_retention_counts(PG_FUNCTION_ARGS)
{
	Oid			relid;
	const char *expiry;
	MemoryContext cxt = CurrentMemoryContext;
	Datum		values[6];
	bool		nulls[6];
	TupleDesc	desc;
	TableScope	s;
	HeapTuple	tup;
	Oid			owner;
	List	   *holds;
	char	   *held;
	char	   *referenced = "false";
	char	   *name;
	char	   *held_by;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null")));
	relid = PG_GETARG_OID(0);
	expiry = PG_ARGISNULL(1) ? NULL : quote_identifier(NameStr(*PG_GETARG_NAME(1)));
	name = privacy_qualified_name(relid);
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", name)));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	holds = read_holds(relid, owner, cxt);
	held = holds_condition(holds, cxt);
	if (expiry)
		referenced = referenced_condition(relid, relid, cxt);

	table_scope_begin(owner, &s);
	if (expiry)
		table_exec(psprintf("SELECT pg_catalog.count(*), "
							"pg_catalog.count(*) FILTER (WHERE %1$s OPERATOR(pg_catalog.<) pg_catalog.now()), "
							"pg_catalog.count(*) FILTER (WHERE %2$s), "
							"pg_catalog.min(%1$s) FILTER (WHERE %1$s OPERATOR(pg_catalog.<) pg_catalog.now()), "
							"pg_catalog.count(*) FILTER (WHERE %1$s OPERATOR(pg_catalog.<) pg_catalog.now() "
							"AND NOT (%2$s) AND (%4$s))%5$s "
							"FROM %3$s", expiry, held, name, referenced, hold_count_columns(holds)),
				   SPI_OK_SELECT);
	else
		table_exec(psprintf("SELECT pg_catalog.count(*), NULL::pg_catalog.int8, "
							"pg_catalog.count(*) FILTER (WHERE %1$s), NULL::pg_catalog.timestamptz, "
							"NULL::pg_catalog.int8%3$s FROM %2$s", held, name, hold_count_columns(holds)),
				   SPI_OK_SELECT);
	for (i = 0; i < 5; i++)
		values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &nulls[i]);
	held_by = MemoryContextStrdup(cxt, hold_counts_text(holds, 6, true));
	table_scope_end(&s);		/* int8 and timestamptz are passed by value */
	values[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(held_by));
	nulls[5] = false;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * Step: detach and drop the current leaf, a partition wholly past its
 * retention, unless a legal hold covers some of its rows or rows that stay
 * reference them: then the partition stays, logged with the reason, and its
 * other expired rows are deleted row by row.
 */
static void
step_drop_partition(PurgeRun *run)
{
	TableScope	s;
	char	   *part = privacy_qualified_name(run->leaf);
	bool		isnull;
	int64		n;
	int64		held;
	int64		referenced;
	char	   *by;

	leaf_referenced(run);
	table_scope_begin(run->owner, &s);
	table_exec(psprintf("SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE %s), "
						"pg_catalog.count(*) FILTER (WHERE %s)%s FROM ONLY %s",
						run->held, run->referenced, hold_count_columns(run->holds), part),
			   SPI_OK_SELECT);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	held = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	referenced = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	by = hold_counts_text(run->holds, 4, false);
	if (held > 0 || referenced > 0)
	{
		StringInfoData note;

		initStringInfo(&note);
		appendStringInfoString(&note, "partition not dropped:");
		if (held > 0)
			appendStringInfo(&note, " " INT64_FORMAT " rows under legal hold (%s)", held, by);
		if (referenced > 0)
			appendStringInfo(&note, "%s " INT64_FORMAT " rows still referenced by rows that stay",
							 held > 0 ? ";" : "", referenced);
		appendStringInfoString(&note, "; its other expired rows are deleted row by row");
		table_scope_end(&s);
		(void) log_insert(run, part, "keep_partition", 0, note.data, true);
		run->step_rows = 0;
		return;
	}
	table_exec(psprintf("ALTER TABLE %s DETACH PARTITION %s", run->table, part), SPI_OK_UTILITY);
	table_exec(psprintf("DROP TABLE %s", part), SPI_OK_UTILITY);
	table_scope_end(&s);
	(void) log_insert(run, part, "drop_partition", n, NULL, true);
	run->step_rows = n;
}

/*
 * Step: count the table's expired rows the run left in place, held (and by
 * which hold) or still referenced by rows that stay, into its log row.  Only
 * when the table has holds or is referenced: the held rows are counted
 * through the hold conditions (index-driven), the referenced ones through
 * the expiry index.
 */
static void
step_count_kept(PurgeRun *run)
{
	TableScope	s;
	char	   *referenced = "false";
	char	   *expiry = (char *) quote_identifier(run->p->expiry);
	char	   *by = NULL;
	bool		isnull;
	int64		held = 0;
	int64		kept = 0;
	Oid			types[4] = {INT8OID, INT8OID, INT8OID, TEXTOID};
	Datum		vals[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	StringInfoData note;

	if (strcmp(run->p->action, "delete") == 0)
		referenced = referenced_condition(run->p->relid, run->p->relid, CurrentMemoryContext);
	if (strcmp(run->held, "false") == 0 && strcmp(referenced, "false") == 0)
		return;
	table_scope_begin(run->owner, &s);
	if (strcmp(run->held, "false") != 0)
	{
		table_exec(psprintf("SELECT pg_catalog.count(*)%s FROM %s WHERE (%s) AND %s OPERATOR(pg_catalog.<) pg_catalog.now()",
							hold_count_columns(run->holds), run->table, holds_match(run->holds), expiry),
				   SPI_OK_SELECT);
		held = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		by = hold_counts_text(run->holds, 2, false);
	}
	if (strcmp(referenced, "false") != 0)
	{
		table_exec(psprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s OPERATOR(pg_catalog.<) pg_catalog.now() "
							"AND NOT (%s) AND (%s)", run->table, expiry, run->held, referenced),
				   SPI_OK_SELECT);
		kept = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	table_scope_end(&s);
	if (held == 0 && kept == 0)
		return;
	initStringInfo(&note);
	if (held > 0)
		appendStringInfo(&note, INT64_FORMAT " expired rows kept under legal hold (%s)", held, by);
	if (kept > 0)
		appendStringInfo(&note, "%s" INT64_FORMAT " expired rows kept: still referenced by rows that stay",
						 held > 0 ? "; " : "", kept);
	vals[0] = Int64GetDatum(run->log_id);
	vals[1] = Int64GetDatum(held);
	vals[2] = Int64GetDatum(kept);
	vals[3] = CStringGetTextDatum(note.data);
	owner_exec("UPDATE privacy.deletion_log SET held = $2, kept = $3, "
			   "note = COALESCE(note OPERATOR(pg_catalog.||) '; ', '') OPERATOR(pg_catalog.||) $4 "
			   "WHERE id OPERATOR(pg_catalog.=) $1", 4, types, vals, nulls);
}

/*
 * Oids returned by a catalog query with parameters ($1 the table, $2 its
 * since column, $3 its period), allocated in the run's context.
 */
static List *
catalog_oids(PurgeRun *run, const char *sql)
{
	Oid			types[3] = {OIDOID, TEXTOID, INTERVALOID};
	Datum		vals[3];
	char		nulls[3] = {' ', ' ', ' '};
	List	   *oids = NIL;
	uint64		i;
	bool		isnull;

	vals[0] = ObjectIdGetDatum(run->p->relid);
	vals[1] = run->p->since ? CStringGetTextDatum(run->p->since) : (Datum) 0;
	nulls[1] = run->p->since ? ' ' : 'n';
	vals[2] = DirectFunctionCall3(interval_in, CStringGetDatum(run->p->keep),
								  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
	if (SPI_execute_with_args(sql, 3, types, vals, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list partitions");
	for (i = 0; i < SPI_processed; i++)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(run->cxt);

		oids = lappend_oid(oids, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																SPI_tuptable->tupdesc, 1, &isnull)));
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
	return oids;
}

/* Partitions of the table wholly past their retention (range on the since column). */
static List *
expired_partitions(PurgeRun *run)
{
	if (run->p->since == NULL || strcmp(run->p->action, "delete") != 0 ||
		strcmp(run->held, "true") == 0 || get_rel_relkind(run->p->relid) != RELKIND_PARTITIONED_TABLE)
		return NIL;
	return catalog_oids(run,
						"SELECT c.oid FROM pg_catalog.pg_inherits i "
						"JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid "
						"JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid OPERATOR(pg_catalog.=) i.inhparent "
						"JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.inhparent "
						" AND a.attnum OPERATOR(pg_catalog.=) pt.partattrs[0] "
						"WHERE i.inhparent OPERATOR(pg_catalog.=) $1 AND c.relkind OPERATOR(pg_catalog.=) 'r' "
						"AND pt.partstrat OPERATOR(pg_catalog.=) 'r' AND pt.partnatts OPERATOR(pg_catalog.=) 1 "
						"AND a.attname OPERATOR(pg_catalog.=) $2::pg_catalog.name "
						"AND (pg_catalog.regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid), "
						"     'TO \\(''([^'']*)''\\)$'))[1]::pg_catalog.timestamptz "
						"    OPERATOR(pg_catalog.+) $3 OPERATOR(pg_catalog.<=) pg_catalog.now() "
						"ORDER BY c.oid");
}

/* The tables holding the rows: the table itself, or its leaf partitions. */
static List *
leaves(PurgeRun *run)
{
	if (get_rel_relkind(run->p->relid) != RELKIND_PARTITIONED_TABLE)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(run->cxt);
		List	   *one = list_make1_oid(run->p->relid);

		MemoryContextSwitchTo(oldcxt);
		return one;
	}
	return catalog_oids(run,
						"SELECT t.relid FROM pg_catalog.pg_partition_tree($1) t "
						"JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.relid "
						"WHERE t.isleaf AND c.relkind OPERATOR(pg_catalog.=) 'r' ORDER BY t.relid");
}

/* Purge one table; returns the action done ("delete", "held", "failed", ...). */
static const char *
purge_table(PurgeRun *run)
{
	const char *citus_kind;
	char	   *error;
	ListCell   *lc;
	HeapTuple	tup;

	run->rows = 0;
	run->log_id = 0;
	run->referenced = NULL;
	run->table = privacy_qualified_name(run->p->relid);
	if (run->table == NULL)
	{
		run->table = psprintf("%u", run->p->relid);
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("could not purge table %s", run->table),
				 errdetail("The table was dropped during the purge run.")));
		return "failed";
	}
	run->table = MemoryContextStrdup(run->cxt, run->table);
	citus_kind = privacy_citus_table_kind(run->p->relid);
	if (citus_kind != NULL && strcmp(citus_kind, "distributed") != 0)
	{
		/* physical-order batches do not reach the placements: refuse, never a silent 0 */
		ereport(WARNING,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("could not purge table %s: purge is not supported on the Citus %s table", run->table,
						citus_kind),
				 errhint("Drop its retention policy and delete expired rows with DELETE ... WHERE, which Citus runs on every placement.")));
		return "failed";
	}
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(run->p->relid));
	if (!HeapTupleIsValid(tup))
		return "failed";
	run->owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	if (AmBackgroundWorkerProcess())
		pgstat_report_activity(STATE_RUNNING, psprintf("privacy purge of %s", run->table));

	if ((error = run_step(run, step_read_holds)) != NULL)
		return "failed";
	if (strcmp(run->held, "true") == 0)
	{
		if (!run->dry_run)
			run_step(run, step_open_log);
		if (run->log_id)
		{
			Oid			types[1] = {INT8OID};
			Datum		vals[1] = {Int64GetDatum(run->log_id)};

			owner_exec("UPDATE privacy.deletion_log SET note = 'table under legal hold', "
					   "finished_at = pg_catalog.clock_timestamp() WHERE id OPERATOR(pg_catalog.=) $1",
					   1, types, vals, NULL);
			privacy_batches_commit(&run->commits);
		}
		return "held";
	}
	if (run->dry_run)
	{
		foreach(lc, leaves(run))
		{
			run->leaf = lfirst_oid(lc);
			if ((error = run_step(run, step_count)) != NULL)
				return "failed";
			run->rows += run->step_rows;
		}
		return run->p->action;
	}

	if ((error = run_step(run, step_open_log)) != NULL)
		return "failed";
	foreach(lc, expired_partitions(run))
	{
		run->leaf = lfirst_oid(lc);
		if ((error = run_step(run, step_drop_partition)) != NULL)
			break;
		run->rows += run->step_rows;
	}
	if (error == NULL)
	{
		foreach(lc, leaves(run))
		{
			run->leaf = lfirst_oid(lc);
			run->next_block = 0;
			run->density = 0;
			run->leaf_done = false;
			do
			{
				CHECK_FOR_INTERRUPTS();
				if ((error = run_step(run, step_batch)) != NULL)
					break;
				run->rows += run->step_rows;
			} while (!run->leaf_done);
			if (error)
				break;
		}
	}
	if (error == NULL)
		error = run_step(run, step_count_kept);
	close_log(run, error);
	privacy_batches_commit(&run->commits);
	return error ? "failed" : run->p->action;
}

/* The retention policies, in table order, copied into the run's context. */
static List *
load_policies(PurgeRun *run)
{
	OwnerScope	scope;
	List	   *policies = NIL;
	uint64		i;
	bool		isnull;
	int			rc;

	run->run_id = owner_exec("SELECT pg_catalog.nextval('privacy.purge_run_seq')", 0, NULL, NULL, NULL);
	privacy_owner_begin(&scope);
	/* referencing tables first: one run clears a chain of foreign keys */
	rc = SPI_execute("SELECT p.tbl::pg_catalog.oid, p.keep::pg_catalog.text, p.since_column::pg_catalog.text, "
					 "p.action, p.expiry_column::pg_catalog.text, "
					 "privacy._policy_text(p.keep, p.since_column, p.action) "
					 "FROM privacy.retention_policies p JOIN privacy._purge_order() o "
					 "ON o.tbl OPERATOR(pg_catalog.=) p.tbl::pg_catalog.oid ORDER BY o.ord", false, 0);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.retention_policies");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext oldcxt = MemoryContextSwitchTo(run->cxt);
		PurgePolicy *p = palloc0(sizeof(PurgePolicy));

		p->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		p->keep = SPI_getvalue(tup, desc, 2);
		p->since = SPI_getvalue(tup, desc, 3);
		p->action = SPI_getvalue(tup, desc, 4);
		p->expiry = SPI_getvalue(tup, desc, 5);
		p->policy = SPI_getvalue(tup, desc, 6);
		policies = lappend(policies, p);
		MemoryContextSwitchTo(oldcxt);
	}
	privacy_owner_end(&scope);
	return policies;
}

/*
 * One purge run over every retained table.  With commit_each, the caller
 * holds a non-atomic SPI connection and every step is committed.  When
 * rsinfo is given, one row (tbl, action, rows) per table is returned there.
 */
static void
purge_run(int batch, bool dry_run, bool commit_each, ReturnSetInfo *rsinfo)
{
	PurgeRun	run;
	List	   *policies;
	ListCell   *lc;

	if (batch < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch size must be positive")));
	memset(&run, 0, sizeof(run));
	run.cxt = AllocSetContextCreate(commit_each ? TopMemoryContext : CurrentMemoryContext,
									"privacy purge", ALLOCSET_DEFAULT_SIZES);
	run.batch = batch;
	run.dry_run = dry_run;
	run.role = MemoryContextStrdup(run.cxt, privacy_calling_role());
	privacy_batches_begin(&run.commits, commit_each);
	PG_TRY();
	{
		policies = load_policies(&run);
		foreach(lc, policies)
		{
			const char *action;

			run.p = lfirst(lc);
			action = purge_table(&run);
			if (rsinfo)
			{
				Datum		values[3];
				bool		nulls[3] = {false, false, false};

				values[0] = ObjectIdGetDatum(run.p->relid);
				values[1] = CStringGetTextDatum(action);
				values[2] = Int64GetDatum(run.rows);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
		}
	}
	PG_FINALLY();
	{
		MemoryContextDelete(run.cxt);
	}
	PG_END_TRY();
	privacy_batches_end(&run.commits);
}

/* privacy.purge(batch_size, dry_run): one run in the caller's transaction. */
Datum
privacy_purge(PG_FUNCTION_ARGS)
{
	InitMaterializedSRF(fcinfo, 0);
	purge_run(PG_GETARG_INT32(0), PG_GETARG_BOOL(1), false, (ReturnSetInfo *) fcinfo->resultinfo);
	return (Datum) 0;
}

/* CALL privacy.run_purge(batch_size): one run, committing each step. */
Datum
privacy_run_purge(PG_FUNCTION_ARGS)
{
	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		castNode(CallContext, fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("privacy.run_purge() cannot run inside a transaction block"),
				 errhint("Use SELECT * FROM privacy.purge() inside a transaction.")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("batch size must not be null")));
	privacy_purge_database(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/*
 * One purge run over the current database, committing each step (the
 * procedure and the background worker).  Must be called in a transaction
 * that may be committed: a procedure called without a transaction block, or
 * a worker's own transaction.
 */
void
privacy_purge_database(int batch)
{
	privacy_spi_check(SPI_connect_ext(SPI_OPT_NONATOMIC), SPI_OK_CONNECT, "connect to SPI");
	purge_run(batch, false, true, NULL);
	SPI_finish();
}

/* GUCs. */
void
RetentionInit(void)
{
	DefineCustomIntVariable("privacy.purge_lock_timeout",
							"Longest wait for a lock by one purge step.",
							"A step that cannot get its lock in time fails; the next run retries.",
							&purge_lock_timeout, 1000, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
}
