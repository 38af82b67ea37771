/*
 * keystatus.c — cluster-wide master-key status.
 *
 * The key ring is per database, but the master key is per cluster: before a
 * master-key switch every database must have rewrapped its data keys.
 * privacy.master_key_status_all() answers for every database that accepts
 * connections, without dblink: it starts one short-lived background worker
 * per database, one after the other; each connects to its database, counts
 * the live data keys by the master key wrapping them (the loaded one, the
 * next one, another) and writes the counts into a dynamic shared memory
 * segment the caller reads.  A database without the extension says so.
 */
#include "postgres.h"
#include "compat.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "util.h"

#define KEY_STATUS_ID_LEN 65
#define KEY_STATUS_ERR_LEN 256

/* What one worker found in its database. */
typedef struct KeyStatusSlot
{
	Oid			dboid;
	NameData	dbname;
	int			state;			/* KS_* */
	int			live;
	int			under_master;
	int			under_new;
	int			under_other;
	char		error[KEY_STATUS_ERR_LEN];
} KeyStatusSlot;

#define KS_NOT_RUN 0
#define KS_NO_EXTENSION 1
#define KS_DONE 2
#define KS_ERROR 3

/* The shared segment: the master key ids to compare with, then one slot per database. */
typedef struct KeyStatusShared
{
	char		master_id[KEY_STATUS_ID_LEN];
	char		new_id[KEY_STATUS_ID_LEN];	/* "" when no next key is configured */
	int			ndb;
	KeyStatusSlot slots[FLEXIBLE_ARRAY_MEMBER];
} KeyStatusShared;

PG_FUNCTION_INFO_V1(privacy_master_key_status_all);

extern PGDLLEXPORT void privacy_key_status_worker_main(Datum arg);

/*
 * Main of a status worker: bgw_main_arg is the segment's handle, bgw_extra
 * the slot index.  Counts the live keys of its database as the bootstrap
 * superuser; any error is written into the slot rather than raised.
 */
void
privacy_key_status_worker_main(Datum arg)
{
	dsm_segment *seg;
	KeyStatusShared *ks;
	KeyStatusSlot *slot;
	int			index;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	memcpy(&index, MyBgworkerEntry->bgw_extra, sizeof(int));
	seg = dsm_attach(DatumGetUInt32(arg));
	if (seg == NULL)
		proc_exit(1);
	ks = (KeyStatusShared *) dsm_segment_address(seg);
	slot = &ks->slots[index];
	BackgroundWorkerInitializeConnectionByOid(slot->dboid, InvalidOid, 0);
	pgstat_report_appname("privacy key status worker");

	StartTransactionCommand();
	PG_TRY();
	{
		if (!OidIsValid(get_extension_oid("privacy", true)))
			slot->state = KS_NO_EXTENSION;
		else
		{
			Oid			types[2] = {TEXTOID, TEXTOID};
			Datum		vals[2];
			char		nulls[2] = {' ', ks->new_id[0] ? ' ' : 'n'};
			bool		isnull;

			vals[0] = CStringGetTextDatum(ks->master_id);
			vals[1] = CStringGetTextDatum(ks->new_id);
			PushActiveSnapshot(GetTransactionSnapshot());
			privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
			privacy_spi_check(SPI_execute_with_args(
								  "SELECT pg_catalog.count(*)::int, "
								  "(pg_catalog.count(*) FILTER (WHERE m OPERATOR(pg_catalog.=) $1))::int, "
								  "(pg_catalog.count(*) FILTER (WHERE m OPERATOR(pg_catalog.=) $2))::int, "
								  "(pg_catalog.count(*) FILTER (WHERE m IS DISTINCT FROM $1 AND m IS DISTINCT FROM $2))::int "
								  "FROM (SELECT pg_catalog.encode(k.master_key_id, 'hex') AS m FROM privacy.keys k "
								  "WHERE k.status OPERATOR(pg_catalog.<>) 'destroyed') x",
								  2, types, vals, nulls, true, 1),
							  SPI_OK_SELECT, "count the data keys");
			slot->live = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			slot->under_master = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			slot->under_new = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
			slot->under_other = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
			SPI_finish();
			PopActiveSnapshot();
			slot->state = KS_DONE;
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata = CopyErrorData();

		strlcpy(slot->error, edata->message ? edata->message : "error", KEY_STATUS_ERR_LEN);
		slot->state = KS_ERROR;
		PG_RE_THROW();
	}
	PG_END_TRY();
	CommitTransactionCommand();
	dsm_detach(seg);
	proc_exit(0);
}

/* Run the status worker of one slot and wait for it to end; false if it could not start. */
static bool
run_status_worker(dsm_segment *seg, int index)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;
	KeyStatusShared *ks = (KeyStatusShared *) dsm_segment_address(seg);

	privacy_dynamic_worker(&bgw, "privacy_key_status_worker_main", "privacy key status worker",
						   psprintf("privacy key status worker for database %s", NameStr(ks->slots[index].dbname)));
	bgw.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	memcpy(bgw.bgw_extra, &index, sizeof(int));
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
		return false;
	if (WaitForBackgroundWorkerShutdown(handle) != BGWH_STOPPED)
		return false;
	return true;
}

/*
 * privacy.master_key_status_all(): per database accepting connections, its
 * live data keys by wrapping master key (see the file comment), with a
 * status: 'ok', 'no extension', or why the database could not be read.
 */
Datum
privacy_master_key_status_all(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	dsm_segment *seg;
	KeyStatusShared *ks;
	char	   *ids[2];
	int			ndb;
	int			i;
	bool		isnull;

	InitMaterializedSRF(fcinfo, 0);

	/* the ids to compare with, and the databases */
	privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
	privacy_spi_check(SPI_execute("SELECT privacy.master_key_id(), privacy._new_master_key_id()", true, 1),
					  SPI_OK_SELECT, "read the master key ids");
	ids[0] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	ids[1] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	privacy_spi_check(SPI_execute("SELECT oid, datname FROM pg_catalog.pg_database WHERE datallowconn ORDER BY datname",
								  true, 0),
					  SPI_OK_SELECT, "list the databases");
	ndb = (int) SPI_processed;
	seg = dsm_create(offsetof(KeyStatusShared, slots) + sizeof(KeyStatusSlot) * Max(ndb, 1), 0);
	ks = (KeyStatusShared *) dsm_segment_address(seg);
	memset(ks, 0, offsetof(KeyStatusShared, slots) + sizeof(KeyStatusSlot) * Max(ndb, 1));
	strlcpy(ks->master_id, ids[0] ? ids[0] : "", KEY_STATUS_ID_LEN);
	strlcpy(ks->new_id, ids[1] ? ids[1] : "", KEY_STATUS_ID_LEN);
	ks->ndb = ndb;
	for (i = 0; i < ndb; i++)
	{
		ks->slots[i].dboid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		namestrcpy(&ks->slots[i].dbname, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
	}
	SPI_finish();

	for (i = 0; i < ndb; i++)
	{
		KeyStatusSlot *slot = &ks->slots[i];
		Datum		values[8];
		bool		nulls[8] = {0};
		const char *status;

		CHECK_FOR_INTERRUPTS();
		if (!run_status_worker(seg, i))
			status = "could not start a background worker (max_worker_processes)";
		else if (slot->state == KS_NO_EXTENSION)
			status = "no extension";
		else if (slot->state == KS_DONE)
			status = "ok";
		else if (slot->state == KS_ERROR)
			status = slot->error;
		else
			status = "the worker ended without an answer";
		values[0] = NameGetDatum(&slot->dbname);
		values[1] = CStringGetTextDatum(ks->master_id);
		values[2] = CStringGetTextDatum(ks->new_id);
		nulls[2] = ks->new_id[0] == '\0';
		values[3] = Int32GetDatum(slot->live);
		values[4] = Int32GetDatum(slot->under_master);
		values[5] = Int32GetDatum(slot->under_new);
		values[6] = Int32GetDatum(slot->under_other);
		values[7] = CStringGetTextDatum(status);
		if (slot->state != KS_DONE)
			nulls[3] = nulls[4] = nulls[5] = nulls[6] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	dsm_detach(seg);
	return (Datum) 0;
}
