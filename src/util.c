/*
 * util.c — owner scope for catalog bookkeeping, small text helpers.
 * (base64 is in crypto_parse.c.)
 */
#include "postgres.h"
#include "compat.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "util.h"

/*
 * The "privacy" schema's Oid and owner, looked up once per backend and kept
 * until a pg_namespace invalidation (the schema created, dropped, renamed or
 * given to another owner, here or in another backend): the permission hook
 * asks for them on every query of a masked session.
 */
static bool schema_cache_valid = false;
static bool schema_cache_callback = false;
static uint64 schema_cache_generation = 0;	/* counts invalidations */
static Oid	schema_cache_oid = InvalidOid;
static Oid	schema_cache_owner = InvalidOid;

/* Syscache invalidation of pg_namespace: forget the cached schema. */
static void
schema_cache_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	schema_cache_valid = false;
	schema_cache_generation++;
}

/* Fill the schema cache when an invalidation (or nothing yet) emptied it. */
static void
schema_cache_load(void)
{
	Oid			nsp;
	Oid			owner = InvalidOid;
	uint64		generation = schema_cache_generation;

	if (schema_cache_valid)
		return;
	if (!schema_cache_callback)
	{
		CacheRegisterSyscacheCallback(NAMESPACEOID, schema_cache_invalidate, (Datum) 0);
		schema_cache_callback = true;
	}
	nsp = get_namespace_oid("privacy", true);
	if (OidIsValid(nsp))
	{
		HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for namespace %u", nsp);
		owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
		ReleaseSysCache(tup);
	}
	schema_cache_oid = nsp;
	schema_cache_owner = owner;
	/* valid unless an invalidation arrived during the lookups (or they failed) */
	schema_cache_valid = generation == schema_cache_generation;
}

/* Oid of the "privacy" schema; InvalidOid (or an error) when missing. */
Oid
privacy_schema_oid(bool missing_ok)
{
	schema_cache_load();
	if (!OidIsValid(schema_cache_oid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"privacy\" does not exist"),
				 errhint("Run CREATE EXTENSION privacy in this database.")));
	return schema_cache_oid;
}

/* The role owning the "privacy" schema: the role that created the extension. */
Oid
privacy_owner_oid(void)
{
	(void) privacy_schema_oid(false);
	return schema_cache_owner;
}

/* One trigger's entry in the trigger cache. */
typedef struct TriggerCacheEntry
{
	Oid			tgoid;			/* hash key */
	Oid			relid;
	bool		valid;			/* false: a relcache invalidation of relid came */
	MemoryContext cxt;			/* holds data */
	void	   *data;
} TriggerCacheEntry;

static HTAB *trigger_cache = NULL;
static uint64 trigger_cache_generation = 0; /* counts invalidations */

/* Relcache invalidation: the entries of that table (or all) are rebuilt at their next lookup. */
static void
trigger_cache_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS seq;
	TriggerCacheEntry *e;

	trigger_cache_generation++;
	if (trigger_cache == NULL)
		return;
	hash_seq_init(&seq, trigger_cache);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (!OidIsValid(relid) || e->relid == relid)
			e->valid = false;
}

/* The cached data of trigger tgoid on table relid, or NULL. */
void *
privacy_trigger_cache_get(Oid tgoid, Oid relid)
{
	TriggerCacheEntry *e;

	if (trigger_cache == NULL)
		return NULL;
	e = hash_search(trigger_cache, &tgoid, HASH_FIND, NULL);
	if (e == NULL || !e->valid || e->relid != relid)
		return NULL;
	return e->data;
}

/*
 * A new memory context for the data of one trigger cache entry; *generation
 * tells privacy_trigger_cache_put whether an invalidation came meanwhile.
 */
MemoryContext
privacy_trigger_cache_new(uint64 *generation)
{
	if (trigger_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(TriggerCacheEntry);
		ctl.hcxt = CacheMemoryContext;
		trigger_cache = hash_create("privacy trigger cache", 16, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(trigger_cache_invalidate, (Datum) 0);
	}
	*generation = trigger_cache_generation;
	/* below the statement's context until entered: an error while filling frees it */
	return AllocSetContextCreate(CurrentMemoryContext, "privacy trigger cache entry",
								 ALLOCSET_SMALL_SIZES);
}

/*
 * Enter data (allocated in cxt, from privacy_trigger_cache_new) as trigger
 * tgoid's, replacing an older entry (whose memory is freed); it is valid
 * unless an invalidation arrived since privacy_trigger_cache_new.
 */
void
privacy_trigger_cache_put(Oid tgoid, Oid relid, MemoryContext cxt, void *data, uint64 generation)
{
	TriggerCacheEntry *e;
	bool		found;

	MemoryContextSetParent(cxt, CacheMemoryContext);
	e = hash_search(trigger_cache, &tgoid, HASH_ENTER, &found);
	if (found)
		MemoryContextDelete(e->cxt);
	e->relid = relid;
	e->valid = generation == trigger_cache_generation;
	e->cxt = cxt;
	e->data = data;
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

/* Does roleid own relation relid (directly or through membership)? */
bool
privacy_owns_relation(Oid relid, Oid roleid)
{
	return object_ownercheck(RelationRelationId, relid, roleid);
}

/* Owner of relation relid; an error if it does not exist. */
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

/* Schema-qualified, quoted name of relation relid; NULL if it no longer exists. */
char *
privacy_qualified_name(Oid relid)
{
	char	   *rel = get_rel_name(relid);

	if (rel == NULL)
		return NULL;
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}

/* Type and typmod of column col of relid; an error if there is no such column. */
void
privacy_column_type(Oid relid, const char *col, Oid *typid, int32 *typmod)
{
	AttrNumber	attnum = get_attnum(relid, col);
	Oid			collid;

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col, get_rel_name(relid))));
	get_atttypetypmodcoll(relid, attnum, typid, typmod, &collid);
}

/*
 * Pass a utility statement on to the previous ProcessUtility hook, or to the
 * standard one: the tail of every utility hook of privacy.
 */
void
privacy_next_utility(ProcessUtility_hook_type prev, PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev)
		prev(pstmt, queryString,
			 readOnlyTree,
			 context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString,
								readOnlyTree,
								context, params, queryEnv, dest, qc);
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
	if (!privacy_owns_relation(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", name)));
}

/*
 * Run one statement as role, in a security-restricted operation with
 * search_path pinned (privacy_role_scope_begin): the one way privacy runs SQL
 * as the extension owner or as a table's owner.  The SPI result code must be
 * expected (privacy_spi_check).  When ncols > 0, the first ncols columns of
 * the first row are copied into out/outnull (all NULL when there is no row)
 * in the caller's memory context, and their types into outtypes (may be
 * NULL).  Returns the number of rows processed.
 */
uint64
privacy_exec_as(Oid role, const char *sql, int nargs, Oid *types, Datum *vals,
				const char *nulls, bool read_only, int expected,
				int ncols, Datum *out, bool *outnull, Oid *outtypes)
{
	OwnerScope	scope;
	MemoryContext cxt = CurrentMemoryContext;
	uint64		n;
	int			i;

	privacy_role_scope_begin(role, &scope);
	privacy_spi_check(SPI_execute_with_args(sql, nargs, types, vals, nulls, read_only, 0),
					  expected, "run a statement as the owner");
	n = SPI_processed;
	for (i = 0; i < ncols; i++)
	{
		bool		isnull = true;
		Datum		d = (Datum) 0;
		Oid			typid = SPI_tuptable ? SPI_gettypeid(SPI_tuptable->tupdesc, i + 1) : InvalidOid;

		if (n > 0)
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
		if (!isnull)
		{
			int16		typlen;
			bool		typbyval;
			MemoryContext old = MemoryContextSwitchTo(cxt);

			get_typlenbyval(typid, &typlen, &typbyval);
			d = datumCopy(d, typbyval, typlen);
			MemoryContextSwitchTo(old);
		}
		out[i] = d;
		outnull[i] = isnull;
		if (outtypes)
			outtypes[i] = typid;
	}
	privacy_owner_end(&scope);
	return n;
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

/*
 * A short-lived background worker of this library connected to a database,
 * never restarted, reporting to this backend: the one set-up of the purge
 * and key-status workers.  type is its bgw_type; name its bgw_name.
 */
void
privacy_dynamic_worker(BackgroundWorker *bgw, const char *function, const char *type, const char *name)
{
	memset(bgw, 0, sizeof(*bgw));
	bgw->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw->bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw->bgw_library_name, BGW_MAXLEN, "privacy");
	snprintf(bgw->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(bgw->bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(bgw->bgw_type, BGW_MAXLEN, "%s", type);
	bgw->bgw_notify_pid = MyProcPid;
}

/*
 * Start a run of batches: with commit_each, the run commits after each batch
 * and needs a snapshot of its own (a worker has no portal to provide one).
 */
void
privacy_batches_begin(BatchCommits *bc, bool commit_each)
{
	bc->commit_each = commit_each;
	bc->pushed = false;
	if (commit_each && !ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		bc->pushed = true;
	}
}

/*
 * End of a batch: in a run committing each batch, commit through SPI (the
 * connection must be non-atomic) and start the next transaction with a
 * snapshot of our own.
 */
void
privacy_batches_commit(BatchCommits *bc)
{
	if (!bc->commit_each)
		return;
	if (bc->pushed)
		PopActiveSnapshot();
	bc->pushed = false;
	SPI_commit();
	PushActiveSnapshot(GetTransactionSnapshot());
	bc->pushed = true;
}

/* End of a run that succeeded: pop the snapshot we pushed. */
void
privacy_batches_end(BatchCommits *bc)
{
	if (bc->pushed)
		PopActiveSnapshot();
	bc->pushed = false;
}

/* Append "name": value (value JSON-escaped, or null) to a JSON object being built. */
void
privacy_json_field(StringInfo buf, const char *name, const char *value)
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
