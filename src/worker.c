/*
 * worker.c — the purge background worker.
 *
 * With shared_preload_libraries = 'privacy', a launcher starts with the
 * server.  Every privacy.purge_interval it starts one short-lived worker per
 * database named in privacy.purge_databases (unless that database's previous
 * worker is still running); the worker runs one purge (each batch committed
 * on its own, failures isolated per table, see retention.c) and exits.
 * Databases that do not exist or lack the extension are skipped.  The
 * launcher re-reads its settings on SIGHUP and exits cleanly on SIGTERM.
 */
#include "postgres.h"
#include "compat.h"

#include <limits.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "retention.h"
#include "util.h"
#include "worker.h"

#define MAX_PURGE_DATABASES 64

static int	purge_interval = 3600;	/* seconds */
static char *purge_databases = NULL;
static int	purge_batch_size = 10000;

/* The worker the launcher last started for a database. */
typedef struct DatabaseWorker
{
	Oid			dboid;
	BackgroundWorkerHandle *handle;
} DatabaseWorker;

static DatabaseWorker workers[MAX_PURGE_DATABASES];
static int	nworkers = 0;

/* Is the worker last started for dboid still running? */
static bool
worker_running(Oid dboid, int *slot)
{
	pid_t		pid;
	int			i;

	for (i = 0; i < nworkers; i++)
	{
		if (workers[i].dboid != dboid)
			continue;
		*slot = i;
		return GetBackgroundWorkerPid(workers[i].handle, &pid) != BGWH_STOPPED;
	}
	*slot = -1;
	return false;
}

/* Start the purge worker of one database. */
static void
start_worker(Oid dboid, const char *dbname)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;
	MemoryContext oldcxt;
	int			slot;
	char	   *name;

	if (worker_running(dboid, &slot))
	{
		ereport(DEBUG1, (errmsg("privacy purge of database \"%s\" still running, not started again", dbname)));
		return;
	}
	name = psprintf("privacy purge worker for database %s", dbname);
	privacy_dynamic_worker(&bgw, "privacy_purge_worker_main", "privacy purge worker", name);
	pfree(name);
	bgw.bgw_main_arg = ObjectIdGetDatum(dboid);

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
	{
		MemoryContextSwitchTo(oldcxt);
		ereport(LOG,
				(errmsg("could not start the privacy purge worker for database \"%s\"", dbname),
				 errhint("Raise max_worker_processes.")));
		return;
	}
	MemoryContextSwitchTo(oldcxt);
	if (slot < 0)
	{
		if (nworkers == MAX_PURGE_DATABASES)
		{
			ereport(LOG,
					(errmsg("privacy.purge_databases names more than %d databases", MAX_PURGE_DATABASES)));
			return;
		}
		slot = nworkers++;
	}
	else
		pfree(workers[slot].handle);
	workers[slot].dboid = dboid;
	workers[slot].handle = handle;
}

/*
 * Oid of a database, InvalidOid if there is none.  A heap scan of
 * pg_database: the launcher is connected to no database, and may run before
 * the shared relcache init file exists.
 */
static Oid
database_oid(const char *dbname)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Oid			dboid = InvalidOid;

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), dbname) == 0 && db->datallowconn)
		{
			dboid = db->oid;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dboid;
}

/* Start a worker for every existing database of privacy.purge_databases. */
static void
start_workers(void)
{
	char	   *names = pstrdup(purge_databases ? purge_databases : "");
	List	   *list;
	ListCell   *lc;

	if (!SplitIdentifierString(names, ',', &list))
	{
		ereport(LOG,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list syntax in privacy.purge_databases")));
		return;
	}
	foreach(lc, list)
	{
		const char *dbname = lfirst(lc);
		Oid			dboid;

		dboid = database_oid(dbname);
		if (OidIsValid(dboid))
			start_worker(dboid, dbname);
		else
			ereport(DEBUG1, (errmsg("privacy purge: database \"%s\" does not exist", dbname)));
	}
	list_free(list);
	pfree(names);
}

/* Main loop of the launcher. */
void
privacy_purge_launcher_main(Datum arg)
{
	TimestampTz last_run = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	/* no database: the shared catalogs are enough to find the databases */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	ereport(LOG, (errmsg("privacy purge launcher started")));

	while (!ShutdownRequestPending)
	{
		TimestampTz now;
		long		wait_ms;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		now = GetCurrentTimestamp();
		if (last_run == 0 ||
			TimestampDifferenceExceeds(last_run, now, purge_interval * 1000))
		{
			last_run = now;
			start_workers();
		}
		wait_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
												  TimestampTzPlusMilliseconds(last_run, purge_interval * 1000));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(wait_ms, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	ereport(LOG, (errmsg("privacy purge launcher shutting down")));
	proc_exit(0);
}

/* Main of a per-database worker: one purge run, then exit. */
void
privacy_purge_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	bool		installed;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("privacy purge worker");

	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("privacy", true));
	if (installed)
		privacy_purge_database(purge_batch_size);
	else
		ereport(DEBUG1, (errmsg("privacy purge: extension \"privacy\" is not installed in database %u", dboid)));
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}

/* GUCs; the launcher when loaded through shared_preload_libraries. */
void
WorkerInit(void)
{
	BackgroundWorker bgw;

	DefineCustomIntVariable("privacy.purge_interval",
							"Time between two purges of the databases in privacy.purge_databases.",
							NULL, &purge_interval, 3600, 1, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("privacy.purge_databases",
							   "Databases purged by the background worker (comma-separated).",
							   "Needs shared_preload_libraries = 'privacy'.",
							   &purge_databases, "", PGC_SIGHUP, 0, privacy_check_identifier_list, NULL, NULL);
	DefineCustomIntVariable("privacy.purge_batch_size",
							"Rows per batch (and per transaction) of the background purge.",
							NULL, &purge_batch_size, 10000, 1, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 10;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "privacy");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "privacy_purge_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "privacy purge launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "privacy purge launcher");
	RegisterBackgroundWorker(&bgw);
}
