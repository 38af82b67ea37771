/*
 * audit.c — writing to privacy.audit_log.
 *
 * Decryptions are audited per statement, not per value: the decrypting
 * functions count what they decrypt (privacy_audit_decrypt), and an
 * ExecutorEnd hook writes one row per statement that decrypted anything.
 * Counters are backend-local; a statement that fails leaves no row (its
 * results are discarded) and the counters are reset at transaction end.
 * Because the row is written at the end of the statement, decryption in a
 * read-only transaction is refused while privacy.audit_decrypt is on.
 */
#include "postgres.h"
#include "compat.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "audit.h"
#include "util.h"

#define AUDIT_MAX_KEYS 8

static bool audit_decrypt = true;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static int	exec_depth = 0;		/* executors running; rows are written at depth 0 */

/* what the current statement decrypted so far */
static int64 pending_values = 0;
static int	pending_nkeys = 0;
static int32 pending_keys[AUDIT_MAX_KEYS];
static bool flushing = false;

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

/*
 * Count one decryption under key_id for the statement's audit row.  Refuses
 * when the row could not be written (read-only transaction, recovery).
 */
void
privacy_audit_decrypt(int32 key_id)
{
	int			i;

	if (!audit_decrypt)
		return;
	if (pending_values == 0 && (XactReadOnly || RecoveryInProgress()))
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot decrypt in a read-only transaction while privacy.audit_decrypt is on"),
				 errdetail("Every statement that decrypts writes a row to privacy.audit_log."),
				 errhint("A superuser can turn privacy.audit_decrypt off, e.g. on a standby.")));
	pending_values++;
	for (i = 0; i < pending_nkeys; i++)
		if (pending_keys[i] == key_id)
			return;
	if (pending_nkeys < AUDIT_MAX_KEYS)
		pending_keys[pending_nkeys++] = key_id;
}

/* Forget pending counts (end of transaction, or after writing them). */
static void
reset_pending(void)
{
	pending_values = 0;
	pending_nkeys = 0;
}

/* Write the pending decryption row, if any. */
static void
flush_pending(void)
{
	StringInfoData details;
	volatile bool pushed = false;
	int			i;

	if (pending_values == 0 || flushing || !IsTransactionState())
		return;
	initStringInfo(&details);
	appendStringInfo(&details, "{\"values\": " INT64_FORMAT ", \"key_ids\": [", pending_values);
	for (i = 0; i < pending_nkeys; i++)
		appendStringInfo(&details, "%s%d", i ? ", " : "", pending_keys[i]);
	appendStringInfoString(&details, "]}");
	reset_pending();
	flushing = true;
	PG_TRY();
	{
		if (!ActiveSnapshotSet())
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed = true;
		}
		privacy_audit("decrypt", NULL, NULL, details.data);
		if (pushed)
			PopActiveSnapshot();
	}
	PG_FINALLY();
	{
		flushing = false;
	}
	PG_END_TRY();
}

/* ExecutorStart: track nesting, so that only a whole statement is audited. */
static void
audit_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		exec_depth++;
}

/* ExecutorEnd: at the end of a top-level statement, write its decryption row. */
static void
audit_ExecutorEnd(QueryDesc *queryDesc)
{
	bool		counted = !(queryDesc->estate->es_top_eflags & EXEC_FLAG_EXPLAIN_ONLY);

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
	if (counted && exec_depth > 0)
		exec_depth--;
	if (exec_depth == 0)
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
			exec_depth = 0;
			break;
		default:
			break;
	}
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
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = audit_ExecutorStart;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = audit_ExecutorEnd;
	RegisterXactCallback(audit_xact_callback, NULL);
}
