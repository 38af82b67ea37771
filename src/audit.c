/*
 * audit.c — writing to privacy.audit_log.
 *
 * Decryptions are audited per statement, not per value: the decrypting
 * functions count what they decrypt (privacy_audit_decrypt), and an
 * ExecutorEnd hook writes one row per top-level statement that decrypted
 * anything.  Statements nested inside another one (a function's queries)
 * add to the outer statement's row; statements of a DO block or procedure
 * each get their own row (utility commands are not counted as nesting).
 *
 * Nesting is tracked as pg_stat_statements does: ExecutorRun and
 * ExecutorFinish increment a level and decrement it in PG_FINALLY, so an
 * executor that fails inside a caught subtransaction (whose ExecutorEnd
 * never runs) cannot leave the level raised.  What a failed statement
 * decrypted before its error is kept and written as its own row, marked
 * "failed", at the end of the next statement or at commit.
 *
 * Parallel query: decrypting functions are PARALLEL SAFE.  A parallel
 * worker counts locally and, at its ExecutorEnd, adds its counts to its
 * leader's slot in shared memory (one slot per backend, under a spinlock);
 * the leader's ExecutorEnd runs after its workers have finished, takes the
 * slot's counts and writes them with its own in the statement's one row.
 * Counters are reset at transaction end.  Because rows are written at the
 * end of the statement, decryption in a read-only transaction is refused
 * while privacy.audit_decrypt is on.
 */
#include "postgres.h"
#include "compat.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "audit.h"
#include "keys.h"
#include "util.h"

#define AUDIT_MAX_KEYS 8

/* what is counted: values decrypted, tokens detokenized */
typedef enum AuditKind
{
	AUDIT_DECRYPT,
	AUDIT_DETOKENIZE
} AuditKind;
#define AUDIT_NKINDS 2

/* what one statement decrypted and detokenized, per kind and key */
typedef struct AuditCounts
{
	int64		values;			/* all kinds */
	int64		kind_values[AUDIT_NKINDS];
	int			nkeys[AUDIT_NKINDS];
	int32		keys[AUDIT_NKINDS][AUDIT_MAX_KEYS];
	int64		key_values[AUDIT_NKINDS][AUDIT_MAX_KEYS];
} AuditCounts;

/* a backend's shared slot: what its parallel workers decrypted */
typedef struct AuditSlot
{
	slock_t		mutex;
	AuditCounts counts;
} AuditSlot;

static bool audit_decrypt = true;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;
static int	nesting_level = 0;	/* executors running; rows are written at level 0 */

static AuditCounts pending;		/* the current statement */
static AuditCounts failed;		/* statements that failed in a caught subtransaction */
static bool flushing = false;
static AuditSlot *audit_slots = NULL;	/* shared, one per backend */

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
	privacy_spi_check(rc, SPI_OK_INSERT, "write audit row");
	privacy_owner_end(&scope);
}

/* Number of shared slots: one per backend that can lead a parallel query. */
static int
audit_slot_count(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS;
}

/* Add counts src into dst (per kind and key; at most AUDIT_MAX_KEYS keys a kind). */
static void
counts_merge(AuditCounts *dst, const AuditCounts *src)
{
	int			k,
				i,
				j;

	dst->values += src->values;
	for (k = 0; k < AUDIT_NKINDS; k++)
	{
		dst->kind_values[k] += src->kind_values[k];
		for (i = 0; i < src->nkeys[k]; i++)
		{
			for (j = 0; j < dst->nkeys[k]; j++)
				if (dst->keys[k][j] == src->keys[k][i])
					break;
			if (j == dst->nkeys[k])
			{
				if (dst->nkeys[k] == AUDIT_MAX_KEYS)
					continue;
				dst->keys[k][dst->nkeys[k]++] = src->keys[k][i];
			}
			dst->key_values[k][j] += src->key_values[k][i];
		}
	}
}

/* This backend's shared slot, or NULL (no shared memory, or no slot). */
static AuditSlot *
my_slot(bool leader)
{
	int			n = leader ? PRIVACY_LEADER_PROC_SLOT() : PRIVACY_MY_PROC_SLOT();

	if (audit_slots == NULL || n < 0 || n >= audit_slot_count())
		return NULL;
	return &audit_slots[n];
}

/*
 * Count one value of kind under key_id for the statement's audit rows.
 * Refuses when the rows could not be written (read-only transaction,
 * recovery), and in a parallel worker that could not report to its leader.
 */
static void
audit_count(AuditKind kind, int32 key_id)
{
	AuditCounts one;

	if (pending.values == 0)
	{
		if (XactReadOnly || RecoveryInProgress())
			ereport(ERROR,
					(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
					 kind == AUDIT_DECRYPT ?
					 errmsg("cannot decrypt in a read-only transaction while privacy.audit_decrypt is on") :
					 errmsg("cannot detokenize in a read-only transaction"),
					 errdetail("Every statement that %s writes a row to privacy.audit_log.",
							   kind == AUDIT_DECRYPT ? "decrypts" : "detokenizes"),
					 kind == AUDIT_DECRYPT ?
					 errhint("A superuser can turn privacy.audit_decrypt off, e.g. on a standby.") : 0));
		if (IsParallelWorker() && my_slot(true) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot audit in a parallel worker"),
					 errhint("Load privacy through shared_preload_libraries.")));
	}
	memset(&one, 0, sizeof(one));
	one.values = 1;
	one.kind_values[kind] = 1;
	one.nkeys[kind] = 1;
	one.keys[kind][0] = key_id;
	one.key_values[kind][0] = 1;
	counts_merge(&pending, &one);
}

/* Count one decryption under key_id (unless privacy.audit_decrypt is off). */
void
privacy_audit_decrypt(int32 key_id)
{
	if (audit_decrypt)
		audit_count(AUDIT_DECRYPT, key_id);
}

/* Count one detokenized value under key_id (always audited). */
void
privacy_audit_detokenize(int32 key_id)
{
	audit_count(AUDIT_DETOKENIZE, key_id);
}

/* Forget pending counts (end of transaction, or after writing them). */
static void
reset_pending(void)
{
	AuditSlot  *slot = IsParallelWorker() ? NULL : my_slot(false);

	memset(&pending, 0, sizeof(pending));
	memset(&failed, 0, sizeof(failed));
	if (slot)
	{
		SpinLockAcquire(&slot->mutex);
		memset(&slot->counts, 0, sizeof(slot->counts));
		SpinLockRelease(&slot->mutex);
	}
}

/* Parallel worker: hand what this worker decrypted to its leader's slot. */
static void
publish_to_leader(void)
{
	AuditSlot  *slot = my_slot(true);

	if (pending.values == 0 || slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	counts_merge(&slot->counts, &pending);
	SpinLockRelease(&slot->mutex);
	memset(&pending, 0, sizeof(pending));
}

/* Leader: take what its parallel workers decrypted into the pending counts. */
static void
collect_from_workers(void)
{
	AuditSlot  *slot = my_slot(false);

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	counts_merge(&pending, &slot->counts);
	memset(&slot->counts, 0, sizeof(slot->counts));
	SpinLockRelease(&slot->mutex);
}

/*
 * Write the rows of counts c (failed: the statement ended in an error): one
 * "decrypt" row naming the key ids, one "detokenize" row per key.
 */
static void
write_rows(const AuditCounts *c, bool failed_stmt)
{
	StringInfoData details;
	const char *failed_note = failed_stmt ? ", \"failed\": true" : "";
	int			i;

	initStringInfo(&details);
	if (c->kind_values[AUDIT_DECRYPT] > 0)
	{
		appendStringInfo(&details, "{\"values\": " INT64_FORMAT ", \"key_ids\": [",
						 c->kind_values[AUDIT_DECRYPT]);
		for (i = 0; i < c->nkeys[AUDIT_DECRYPT]; i++)
			appendStringInfo(&details, "%s%d", i ? ", " : "", c->keys[AUDIT_DECRYPT][i]);
		appendStringInfo(&details, "]%s}", failed_note);
		privacy_audit("decrypt", NULL, NULL, details.data);
	}
	for (i = 0; i < c->nkeys[AUDIT_DETOKENIZE]; i++)
	{
		const char *name = NULL;

		(void) privacy_key_active_version(c->keys[AUDIT_DETOKENIZE][i], &name);
		resetStringInfo(&details);
		appendStringInfo(&details,
						 "{\"function\": \"privacy.detokenize\", \"scope\": \"statement\", "
						 "\"values\": " INT64_FORMAT "%s}",
						 c->key_values[AUDIT_DETOKENIZE][i], failed_note);
		privacy_audit("detokenize", name, NULL, details.data);
	}
}

/* Write the pending decryption rows, if any. */
static void
flush_pending(void)
{
	AuditCounts now_pending;
	AuditCounts now_failed;
	volatile bool pushed = false;

	if (flushing || !IsTransactionState() || IsParallelWorker())
		return;
	collect_from_workers();
	if (pending.values == 0 && failed.values == 0)
		return;
	now_pending = pending;
	now_failed = failed;
	memset(&pending, 0, sizeof(pending));
	memset(&failed, 0, sizeof(failed));
	flushing = true;
	PG_TRY();
	{
		if (!ActiveSnapshotSet())
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed = true;
		}
		if (now_failed.values > 0)
			write_rows(&now_failed, true);
		if (now_pending.values > 0)
			write_rows(&now_pending, false);
		if (pushed)
			PopActiveSnapshot();
	}
	PG_FINALLY();
	{
		flushing = false;
	}
	PG_END_TRY();
}

/*
 * An executor at the top level failed (the error may be caught by a PL/pgSQL
 * block): keep what it decrypted as a failed statement's counts.
 */
static void
statement_failed(void)
{
	if (nesting_level == 0 && !IsParallelWorker())
	{
		counts_merge(&failed, &pending);
		memset(&pending, 0, sizeof(pending));
	}
}

/* Arguments of ExecutorRun/ExecutorFinish for run_nested. */
typedef struct ExecCall
{
	QueryDesc  *queryDesc;
	ScanDirection direction;
	uint64		count;
	bool		execute_once;
	bool		finish;			/* ExecutorFinish rather than ExecutorRun */
} ExecCall;

/* Call the next ExecutorRun or ExecutorFinish in the chain. */
static void
exec_call(ExecCall *c)
{
	QueryDesc  *queryDesc = c->queryDesc;
	ScanDirection direction = c->direction;
	uint64		count = c->count;
	bool		execute_once PG_USED_FOR_ASSERTS_ONLY = c->execute_once;

	if (c->finish && prev_ExecutorFinish)
		prev_ExecutorFinish(queryDesc);
	else if (c->finish)
		standard_ExecutorFinish(queryDesc);
	else if (prev_ExecutorRun)
		prev_ExecutorRun(PRIVACY_EXECUTOR_RUN_ARGS);
	else
		standard_ExecutorRun(PRIVACY_EXECUTOR_RUN_ARGS);
}

/* Run c one nesting level down; PG_CATCH: the level drops also on error. */
static void
run_nested(ExecCall *c)
{
	nesting_level++;
	PG_TRY();
	{
		exec_call(c);
	}
	PG_CATCH();
	{
		nesting_level--;
		statement_failed();
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;
}

/* ExecutorRun: track nesting. */
static void
audit_ExecutorRun(PRIVACY_EXECUTOR_RUN_PARAMS)
{
	ExecCall	c = {queryDesc, direction, count, PRIVACY_EXECUTE_ONCE, false};

	run_nested(&c);
}

/* ExecutorFinish: track nesting (AFTER triggers run here). */
static void
audit_ExecutorFinish(QueryDesc *queryDesc)
{
	ExecCall	c = {queryDesc, ForwardScanDirection, 0, false, true};

	run_nested(&c);
}

/*
 * ExecutorEnd: at the end of a top-level statement write its decryption row;
 * in a parallel worker, hand the counts to the leader instead.
 */
static void
audit_ExecutorEnd(QueryDesc *queryDesc)
{
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
	if (IsParallelWorker())
		publish_to_leader();
	else if (nesting_level == 0)
		flush_pending();
}

/*
 * Transaction end: before commit, write what a statement left pending (e.g.
 * one ended by an error caught in a PL/pgSQL block); after it, start afresh.
 */
static void
audit_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			flush_pending();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			reset_pending();
			nesting_level = 0;
			break;
		default:
			break;
	}
}

/* Reserve the shared slots (only when loaded by shared_preload_libraries). */
static void
audit_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(mul_size(sizeof(AuditSlot), audit_slot_count()));
}

/* Attach to (or create) the shared slots. */
static void
audit_shmem_startup(void)
{
	bool		found;
	int			i;

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	audit_slots = ShmemInitStruct("privacy audit slots",
								  mul_size(sizeof(AuditSlot), audit_slot_count()), &found);
	if (!found)
		for (i = 0; i < audit_slot_count(); i++)
		{
			SpinLockInit(&audit_slots[i].mutex);
			memset(&audit_slots[i].counts, 0, sizeof(AuditCounts));
		}
	LWLockRelease(AddinShmemInitLock);
}

/* GUC and hooks. */
void
AuditInit(void)
{
	DefineCustomBoolVariable("privacy.audit_decrypt",
							 "Writes one privacy.audit_log row per statement that decrypts.",
							 "Decryption in a read-only transaction is refused while this is on.",
							 &audit_decrypt, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = audit_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = audit_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = audit_ExecutorEnd;
	RegisterXactCallback(audit_xact_callback, NULL);
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request = shmem_request_hook;
		shmem_request_hook = audit_shmem_request;
		prev_shmem_startup = shmem_startup_hook;
		shmem_startup_hook = audit_shmem_startup;
	}
}
