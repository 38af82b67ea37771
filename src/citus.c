/*
 * citus.c — one key ring for a Citus cluster.
 *
 * On a Citus cluster the coordinator's privacy.keys is the key ring.  Workers
 * create no keys of their own (the install script skips its default keys on a
 * worker) and refuse local writes to privacy.keys.  Every change of the
 * coordinator's ring is copied to every worker in the same transaction:
 *
 *  - a row trigger on privacy.keys collects the changed key ids and the
 *    statement trigger (privacy_keys_changed in keys.c) sends those rows to
 *    every worker with Citus's SendCommandToWorkersWithMetadata(), which
 *    uses the coordinated transaction (two-phase commit): the ring changes on
 *    every node or on none;
 *  - CREATE EXTENSION / ALTER EXTENSION privacy on the coordinator copy the
 *    whole ring once the statement (and Citus's propagation of it) is done;
 *  - privacy.sync_key_ring() copies the whole ring (a node added later).
 *
 * The registry of protected columns follows the same way, for distributed
 * tables only: each change of a table's rows on the coordinator is copied to
 * every worker (privacy._registry_apply), where the access check of
 * privacy._decrypt_column reads it when a query decrypts on the shards.
 *
 * A worker remembers in privacy.ring_sync that it holds the coordinator's
 * ring; keyed functions refuse to run on a worker without it.  Nothing here
 * links against Citus: its function is looked up when first needed.
 */
#include "postgres.h"
#include "compat.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "citus.h"
#include "util.h"

PG_FUNCTION_INFO_V1(privacy_citus_worker);
PG_FUNCTION_INFO_V1(privacy_keys_row_sync);
PG_FUNCTION_INFO_V1(privacy_keys_worker_guard);
PG_FUNCTION_INFO_V1(privacy_ring_apply);
PG_FUNCTION_INFO_V1(privacy_sync_key_ring);
PG_FUNCTION_INFO_V1(privacy_registry_apply);

typedef void (*SendToWorkersFn) (const char *command);

static ProcessUtility_hook_type prev_utility = NULL;

/* key ids changed in this transaction, not yet sent (TopTransactionContext) */
static List *pending_key_ids = NIL;
static bool pending_all = false;
static TransactionId pending_xid = InvalidTransactionId;

/* true while privacy._ring_apply writes privacy.keys on a worker */
static bool applying_ring = false;

/* Node role of this database: 0 no Citus, 1 coordinator, 2 worker. */
static int
citus_node_role(void)
{
	int			rc;
	int			role = 0;
	bool		isnull;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute("SELECT groupid FROM pg_catalog.pg_dist_local_group", false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read pg_dist_local_group");
	role = 1;
	if (SPI_processed == 1 &&
		DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) > 0)
		role = 2;
	SPI_finish();
	return role;
}

/* Whether this database is a Citus worker (not the coordinator). */
bool
privacy_citus_is_worker(void)
{
	return citus_node_role() == 2;
}

/* Whether this database is a Citus coordinator (or a single Citus node). */
bool
privacy_citus_is_coordinator(void)
{
	return citus_node_role() == 1;
}

/* Citus kind of a table ("distributed", "reference", "citus local") or NULL. */
const char *
privacy_citus_table_kind(Oid relid)
{
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	const char *kind = NULL;
	int			rc;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return NULL;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT privacy._citus_kind($1::pg_catalog.regclass)",
							   1, &argtype, &arg, NULL, false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read the Citus table kind");
	if (SPI_processed == 1)
	{
		char	   *k = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (k)
			kind = MemoryContextStrdup(TopTransactionContext, k);
	}
	SPI_finish();
	return kind;
}

/* The documented refusal of a capability on a Citus table (privacy._citus_refuse). */
void
privacy_citus_refuse(Oid relid, const char *capability, const char *instead)
{
	Oid			types[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		vals[3];
	int			rc;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return;
	vals[0] = ObjectIdGetDatum(relid);
	vals[1] = CStringGetTextDatum(capability);
	vals[2] = CStringGetTextDatum(instead);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT privacy._citus_refuse($1::pg_catalog.regclass, $2, $3)",
							   3, types, vals, NULL, false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "check the Citus table kind");
	SPI_finish();
}

/* Citus's transactional send to every worker with metadata. */
static SendToWorkersFn
citus_send_fn(void)
{
	static SendToWorkersFn fn = NULL;

	if (fn == NULL)
		fn = (SendToWorkersFn) load_external_function("citus", "SendCommandToWorkersWithMetadata",
													  true, NULL);
	return fn;
}

/* Number of active primary workers (not the coordinator) with metadata. */
static int64
metadata_worker_count(void)
{
	int			rc;
	bool		isnull;
	int64		n;

	rc = SPI_execute("SELECT pg_catalog.count(*) FROM pg_catalog.pg_dist_node "
					 "WHERE groupid OPERATOR(pg_catalog.<>) 0 AND hasmetadata AND isactive "
					 "AND noderole OPERATOR(pg_catalog.=) 'primary'", false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read pg_dist_node");
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return n;
}

/*
 * Start a copy of what to every worker: as the owner of the privacy schema
 * (scope, ended by the caller), with Citus's transactional send, returned.
 * NULL (scope already ended) when there is no worker to copy to.
 */
static SendToWorkersFn
begin_send(OwnerScope *scope, const char *what)
{
	SendToWorkersFn send;

	privacy_owner_begin(scope);
	if (metadata_worker_count() == 0)
	{
		privacy_owner_end(scope);
		return NULL;
	}
	send = citus_send_fn();
	if (send == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot copy %s to the Citus workers", what),
				 errdetail("Function SendCommandToWorkersWithMetadata was not found in the citus library.")));
	return send;
}

/*
 * Send rows of the coordinator's ring to every worker: all of them (full) or
 * those of key_ids.  Runs as the owner of the privacy schema; the workers
 * apply them with privacy._ring_apply in the coordinated transaction.
 */
static void
push_ring(bool full, List *key_ids)
{
	OwnerScope	scope;
	SendToWorkersFn send;
	StringInfoData ids;
	ListCell   *lc;
	int			rc;
	Oid			argtype = TEXTOID;
	Datum		arg;

	send = begin_send(&scope, "the key ring");
	if (send == NULL)
		return;

	initStringInfo(&ids);
	appendStringInfoChar(&ids, '{');
	foreach(lc, key_ids)
		appendStringInfo(&ids, "%s%d", lc == list_head(key_ids) ? "" : ",", lfirst_int(lc));
	appendStringInfoChar(&ids, '}');
	arg = CStringGetTextDatum(ids.data);

	/* the command: privacy._ring_apply(rows, key ids or NULL, fingerprint) */
	rc = SPI_execute_with_args(full ?
							   "SELECT pg_catalog.format('SELECT privacy._ring_apply(%L::pg_catalog.jsonb, NULL, %L)', "
							   "  COALESCE(pg_catalog.jsonb_agg(k), '[]'), privacy.key_ring_fingerprint()) "
							   "FROM privacy.keys k WHERE $1 IS NOT NULL" :
							   "SELECT pg_catalog.format('SELECT privacy._ring_apply(%L::pg_catalog.jsonb, %L::pg_catalog.int4[], %L)', "
							   "  COALESCE(pg_catalog.jsonb_agg(k), '[]'), $1, privacy.key_ring_fingerprint()) "
							   "FROM privacy.keys k WHERE k.key_id OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.int4[])",
							   1, &argtype, &arg, NULL, false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.keys");
	send(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	privacy_owner_end(&scope);
}

/*
 * Worker side of the check: error unless this node holds the cluster's ring.
 * Called when the key cache is (re)built, so once per ring change per backend.
 */
void
privacy_citus_ring_check(void)
{
	OwnerScope	scope;
	int			rc;
	bool		synced;

	if (!privacy_citus_is_worker())
		return;
	privacy_owner_begin(&scope);
	rc = SPI_execute("SELECT 1 FROM privacy.ring_sync", false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.ring_sync");
	synced = SPI_processed > 0;
	privacy_owner_end(&scope);
	if (!synced)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the key ring of this Citus worker is out of step with the coordinator"),
				 errdetail("Keyed functions refuse to run on a node whose keys may differ from the coordinator's."),
				 errhint("Run SELECT privacy.sync_key_ring() on the coordinator.")));
}

/* Forget what a previous transaction collected. */
static void
reset_pending_if_new_xact(void)
{
	if (pending_xid != GetTopTransactionId())
	{
		pending_key_ids = NIL;
		pending_all = false;
		pending_xid = GetTopTransactionId();
	}
}

/*
 * Statement-level part (called by the keys_changed trigger in keys.c): on the
 * coordinator, send the changed keys to every worker.
 */
void
privacy_citus_keys_changed(TriggerData *trigdata)
{
	int			role;
	List	   *ids;
	bool		all;

	if (applying_ring)
		return;
	role = citus_node_role();
	if (role != 1 || creating_extension)
		return;					/* CREATE/ALTER EXTENSION: pushed when done */
	reset_pending_if_new_xact();
	all = pending_all || TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event);
	ids = pending_key_ids;
	pending_key_ids = NIL;
	pending_all = false;
	if (all || ids != NIL)
		push_ring(all, ids);
}

/*
 * privacy._keys_worker_guard(): statement trigger before any write to
 * privacy.keys; on a Citus worker only the coordinator's copy may write it.
 */
Datum
privacy_keys_worker_guard(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"privacy._keys_worker_guard\" must be called as a trigger")));
	if (!applying_ring && !creating_extension && privacy_citus_is_worker())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the key ring of a Citus worker is written by the coordinator only"),
				 errhint("Manage keys on the coordinator; it copies them to every node.")));
	return PointerGetDatum(NULL);
}

/* privacy._keys_row_sync(): row trigger collecting changed key ids. */
Datum
privacy_keys_row_sync(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	bool		isnull;
	Datum		d;
	MemoryContext old;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"privacy._keys_row_sync\" must be called as a trigger")));
	tup = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	if (applying_ring || creating_extension || !OidIsValid(get_extension_oid("citus", true)))
		return PointerGetDatum(tup);
	reset_pending_if_new_xact();
	d = heap_getattr(tup, 1, RelationGetDescr(trigdata->tg_relation), &isnull);
	if (!isnull)
	{
		old = MemoryContextSwitchTo(TopTransactionContext);
		pending_key_ids = list_append_unique_int(pending_key_ids, DatumGetInt32(d));
		MemoryContextSwitchTo(old);
	}
	return PointerGetDatum(tup);
}

/* privacy._citus_worker(): whether this database is a Citus worker. */
Datum
privacy_citus_worker(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(privacy_citus_is_worker());
}

/*
 * privacy._ring_apply(rows jsonb, key_ids int[], fingerprint text): on a
 * worker, replace the ring (key_ids NULL) or the given keys with the
 * coordinator's rows.  A full copy must reproduce the coordinator's
 * fingerprint; it then marks the node as holding the cluster's ring.
 */
Datum
privacy_ring_apply(PG_FUNCTION_ARGS)
{
	Datum		rows;
	bool		full = PG_ARGISNULL(1);
	text	   *fingerprint;
	OwnerScope	scope;
	Oid			types[2] = {JSONBOID, INT4ARRAYOID};
	Datum		vals[2];
	int			rc;
	char	   *mine;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rows and fingerprint must not be NULL")));
	rows = PG_GETARG_DATUM(0);
	fingerprint = PG_GETARG_TEXT_PP(2);
	if (!privacy_citus_is_worker())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("privacy._ring_apply runs on Citus workers only")));
	vals[0] = rows;
	vals[1] = full ? (Datum) 0 : PG_GETARG_DATUM(1);
	privacy_owner_begin(&scope);
	applying_ring = true;
	PG_TRY();
	{
		rc = full ? SPI_execute("DELETE FROM privacy.keys", false, 0) :
			SPI_execute_with_args("DELETE FROM privacy.keys WHERE key_id OPERATOR(pg_catalog.=) ANY ($2)",
								  2, types, vals, NULL, false, 0);
		privacy_spi_check(rc, SPI_OK_DELETE, "delete from privacy.keys");
		rc = SPI_execute_with_args("INSERT INTO privacy.keys "
								   "SELECT * FROM pg_catalog.jsonb_populate_recordset(NULL::privacy.keys, $1)",
								   2, types, vals, NULL, false, 0);
		privacy_spi_check(rc, SPI_OK_INSERT, "insert into privacy.keys");
	}
	PG_FINALLY();
	{
		applying_ring = false;
	}
	PG_END_TRY();
	if (full)
	{
		rc = SPI_execute("SELECT privacy.key_ring_fingerprint()", false, 1);
		privacy_spi_check(rc, SPI_OK_SELECT, "fingerprint privacy.keys");
		mine = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (strcmp(mine, text_to_cstring(fingerprint)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the key ring copied from the coordinator does not match its fingerprint")));
		rc = SPI_execute("DELETE FROM privacy.ring_sync", false, 0);
		privacy_spi_check(rc, SPI_OK_DELETE, "delete from privacy.ring_sync");
		vals[0] = PointerGetDatum(fingerprint);
		types[0] = TEXTOID;
		rc = SPI_execute_with_args("INSERT INTO privacy.ring_sync (fingerprint) VALUES ($1)",
								   1, types, vals, NULL, false, 0);
		privacy_spi_check(rc, SPI_OK_INSERT, "insert into privacy.ring_sync");
	}
	privacy_owner_end(&scope);
	PG_RETURN_VOID();
}

/*
 * Send the coordinator's registry rows of the protected distributed table
 * relid (InvalidOid: of every one) to every worker, which applies them with
 * privacy._registry_apply in the coordinated transaction.  Tables travel by
 * qualified name: their oids differ on every node.  Runs as the owner of the
 * privacy schema.
 */
static void
push_registry(Oid relid)
{
	OwnerScope	scope;
	SendToWorkersFn send;
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	int			rc;
	uint64		i;

	send = begin_send(&scope, "the registry of protected columns");
	if (send == NULL)
		return;
	rc = SPI_execute_with_args("SELECT pg_catalog.format('SELECT privacy._registry_apply(%L, %L::pg_catalog.jsonb)', "
							   "  pg_catalog.format('%I.%I', n.nspname, c.relname), "
							   "  COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(p) "
							   "                   OPERATOR(pg_catalog.-) 'tbl' OPERATOR(pg_catalog.-) 'view') "
							   "              FROM privacy.protected_columns p WHERE p.tbl OPERATOR(pg_catalog.=) c.oid), '[]')) "
							   "FROM pg_catalog.pg_class c "
							   "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
							   "WHERE c.oid OPERATOR(pg_catalog.=) $1 OR $1 OPERATOR(pg_catalog.=) 0 AND c.oid IN "
							   "  (SELECT p.tbl FROM privacy.protected_columns p "
							   "    WHERE privacy._citus_kind(p.tbl) OPERATOR(pg_catalog.=) 'distributed')",
							   1, &argtype, &arg, NULL, false, 0);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.protected_columns");
	for (i = 0; i < SPI_processed; i++)
		send(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	privacy_owner_end(&scope);
}

/*
 * After the coordinator changed the protected columns of relid: copy them to
 * every worker when relid is a distributed table.
 */
void
privacy_citus_registry_changed(Oid relid)
{
	const char *kind;

	if (citus_node_role() != 1)
		return;
	kind = privacy_citus_table_kind(relid);
	if (kind != NULL && strcmp(kind, "distributed") == 0)
		push_registry(relid);
}

/*
 * privacy._registry_apply(tbl text, rows jsonb): on a worker, replace the
 * registry rows of the (shell) table named tbl with the coordinator's rows.
 * Views are not recorded here: the access check finds the table's
 * _decrypted view itself on a worker (protect.c).
 */
Datum
privacy_registry_apply(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	Oid			relid;
	OwnerScope	scope;
	Oid			types[2] = {OIDOID, JSONBOID};
	Datum		vals[2];
	int			rc;

	if (!privacy_citus_is_worker())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("privacy._registry_apply runs on Citus workers only")));
	relid = RangeVarGetRelid(makeRangeVarFromNameList(textToQualifiedNameList(name)), NoLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s\" does not exist on this Citus worker", text_to_cstring(name))));
	vals[0] = ObjectIdGetDatum(relid);
	vals[1] = PG_GETARG_DATUM(1);
	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args("DELETE FROM privacy.protected_columns p "
							   "WHERE p.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass OR p.context IN "
							   "  (SELECT r.context FROM pg_catalog.jsonb_populate_recordset(NULL::privacy.protected_columns, $2) r)",
							   2, types, vals, NULL, false, 0);
	privacy_spi_check(rc, SPI_OK_DELETE, "delete from privacy.protected_columns");
	rc = SPI_execute_with_args("INSERT INTO privacy.protected_columns (tbl, col, key_name, deterministic, original_type, "
							   "  max_chars, context, view, protected_at, protected_by) "
							   "SELECT $1::pg_catalog.regclass, r.col, r.key_name, r.deterministic, r.original_type, "
							   "  r.max_chars, r.context, NULL, r.protected_at, r.protected_by "
							   "FROM pg_catalog.jsonb_populate_recordset(NULL::privacy.protected_columns, $2) r",
							   2, types, vals, NULL, false, 0);
	privacy_spi_check(rc, SPI_OK_INSERT, "insert into privacy.protected_columns");
	privacy_owner_end(&scope);
	PG_RETURN_VOID();
}

/* privacy.sync_key_ring(): copy the whole ring to every worker; returns their number. */
Datum
privacy_sync_key_ring(PG_FUNCTION_ARGS)
{
	OwnerScope	scope;
	int64		n;

	if (!privacy_citus_is_coordinator())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("privacy.sync_key_ring() runs on a Citus coordinator only")));
	push_ring(true, NIL);
	push_registry(InvalidOid);
	privacy_owner_begin(&scope);
	n = metadata_worker_count();
	privacy_owner_end(&scope);
	PG_RETURN_INT32((int32) n);
}

/* ProcessUtility hook: after CREATE/ALTER EXTENSION privacy, copy the ring. */
static void
citus_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	bool		ours = false;

	if (IsA(stmt, CreateExtensionStmt))
		ours = strcmp(((CreateExtensionStmt *) stmt)->extname, "privacy") == 0;
	else if (IsA(stmt, AlterExtensionStmt))
		ours = strcmp(((AlterExtensionStmt *) stmt)->extname, "privacy") == 0;

	privacy_next_utility(prev_utility, pstmt, queryString,
						 readOnlyTree,
						 context, params, queryEnv, dest, qc);

	if (ours && privacy_citus_is_coordinator())
		push_ring(true, NIL);
}

/* Install the hook. */
void
CitusInit(void)
{
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = citus_ProcessUtility;
}
