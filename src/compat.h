/*
 * compat.h — the only place for PostgreSQL version differences.
 */
#ifndef PRIVACY_COMPAT_H
#define PRIVACY_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
/* this backend's slot in a per-backend shared array, and its parallel leader's */
#define PRIVACY_MY_PROC_SLOT()		((int) MyProcNumber)
#define PRIVACY_LEADER_PROC_SLOT()	((int) ParallelLeaderProcNumber)
#else
#include "storage/backendid.h"
#define PRIVACY_MY_PROC_SLOT()		((int) MyBackendId - 1)
#define PRIVACY_LEADER_PROC_SLOT()	((int) ParallelLeaderBackendId - 1)
#endif

/* ExecutorRun lost its execute_once argument in 18 */
#if PG_VERSION_NUM >= 180000
#define PRIVACY_EXECUTOR_RUN_ARGS	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define PRIVACY_EXECUTOR_RUN_PASS	queryDesc, direction, count
#define PRIVACY_EXECUTE_ONCE		true
#else
#define PRIVACY_EXECUTOR_RUN_ARGS	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define PRIVACY_EXECUTOR_RUN_PASS	queryDesc, direction, count, execute_once
#define PRIVACY_EXECUTE_ONCE		execute_once
#endif

#endif							/* PRIVACY_COMPAT_H */
