/*
 * compat.h — the one place where privacy deals with PostgreSQL versions.
 *
 * Supported: PostgreSQL 15, 16, 17 and 18.  The C files are written against
 * the newest API; this header supplies it on older servers (or, where a
 * signature changed, gives one name to both forms).  No other file tests
 * PG_VERSION_NUM.  Include it right after "postgres.h".
 */
#ifndef PRIVACY_COMPAT_H
#define PRIVACY_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "privacy needs PostgreSQL 15 or later"
#endif

#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "postmaster/bgworker.h"
#include "utils/acl.h"
#include "utils/rangetypes.h"

/* 16 moved VARDATA, VARSIZE and friends out of postgres.h. */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * 16 replaced the per-catalog pg_<kind>_aclcheck / pg_<kind>_ownercheck
 * functions by object_aclcheck / object_ownercheck(classid, ...).  On 15,
 * the catalogs privacy checks map to the old functions.
 */
#if PG_VERSION_NUM < 160000
/* object_aclcheck() of 16+ for functions, schemas and types. */
static inline AclResult
object_aclcheck(Oid classid, Oid objectid, Oid roleid, AclMode mode)
{
	switch (classid)
	{
		case ProcedureRelationId:
			return pg_proc_aclcheck(objectid, roleid, mode);
		case NamespaceRelationId:
			return pg_namespace_aclcheck(objectid, roleid, mode);
		case TypeRelationId:
			return pg_type_aclcheck(objectid, roleid, mode);
		default:
			elog(ERROR, "object_aclcheck: unsupported class %u", classid);
	}
	return ACLCHECK_NO_PRIV;	/* keep the compiler quiet */
}

/* object_ownercheck() of 16+ for relations, functions, schemas and types. */
static inline bool
object_ownercheck(Oid classid, Oid objectid, Oid roleid)
{
	switch (classid)
	{
		case RelationRelationId:
			return pg_class_ownercheck(objectid, roleid);
		case ProcedureRelationId:
			return pg_proc_ownercheck(objectid, roleid);
		case NamespaceRelationId:
			return pg_namespace_ownercheck(objectid, roleid);
		case TypeRelationId:
			return pg_type_ownercheck(objectid, roleid);
		default:
			elog(ERROR, "object_ownercheck: unsupported class %u", classid);
	}
	return false;				/* keep the compiler quiet */
}

/* 16 added a soft-error context argument; 15 always throws. */
#define make_range(typcache, lower, upper, empty, escontext) \
	make_range(typcache, lower, upper, empty)
#endif

/* 17 replaced the IsBackgroundWorker flag by the process-type test. */
#if PG_VERSION_NUM < 170000
#define AmBackgroundWorkerProcess() (IsBackgroundWorker)
#endif

/*
 * ExecutorCheckPerms_hook: 16 moved the permissions out of the range table
 * into a list of RTEPermissionInfo.  A hook is declared
 *     static bool f(PRIVACY_CHECK_PERMS_PARAMS)
 * chains with prev(PRIVACY_CHECK_PERMS_ARGS), and walks PRIVACY_CHECK_PERMS_LIST
 * with privacy_perm_relation() (it also sees ereport_on_violation).  A view's
 * query tells the relations it checks with privacy_rte_checks_perms().
 */
#if PG_VERSION_NUM >= 160000
#define PRIVACY_CHECK_PERMS_PARAMS List *rangeTable, List *rtePermInfos, bool ereport_on_violation
#define PRIVACY_CHECK_PERMS_ARGS rangeTable, rtePermInfos, ereport_on_violation
#define PRIVACY_CHECK_PERMS_LIST rtePermInfos
#else
#define PRIVACY_CHECK_PERMS_PARAMS List *rangeTable, bool ereport_on_violation
#define PRIVACY_CHECK_PERMS_ARGS rangeTable, ereport_on_violation
#define PRIVACY_CHECK_PERMS_LIST rangeTable
#endif

/*
 * One item of PRIVACY_CHECK_PERMS_LIST: true, with the relation and the
 * permissions it requires, when it requires permissions on a relation.
 */
static inline bool
privacy_perm_relation(void *item, Oid *relid, AclMode *perms)
{
#if PG_VERSION_NUM >= 160000
	RTEPermissionInfo *p = (RTEPermissionInfo *) item;

	Assert(IsA(p, RTEPermissionInfo));
	if (p->requiredPerms == 0)
		return false;
	*relid = p->relid;
	*perms = p->requiredPerms;
#else
	RangeTblEntry *rte = (RangeTblEntry *) item;

	Assert(IsA(rte, RangeTblEntry));
	if (rte->rtekind != RTE_RELATION || rte->requiredPerms == 0)
		return false;
	*relid = rte->relid;
	*perms = rte->requiredPerms;
#endif
	return true;
}

/* Is range table entry rte a relation whose permissions the executor checks? */
static inline bool
privacy_rte_checks_perms(RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	return rte->rtekind == RTE_RELATION && rte->perminfoindex != 0;
#else
	return rte->rtekind == RTE_RELATION && rte->requiredPerms != 0;
#endif
}

/*
 * ExecutorRun_hook: 18 dropped the execute_once argument.  A hook is declared
 *     static void f(PRIVACY_EXECUTOR_RUN_PARAMS)
 * and chains with prev(PRIVACY_EXECUTOR_RUN_ARGS) or
 * standard_ExecutorRun(PRIVACY_EXECUTOR_RUN_ARGS).
 */
#if PG_VERSION_NUM >= 180000
#define PRIVACY_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define PRIVACY_EXECUTOR_RUN_ARGS queryDesc, direction, count
#else
#define PRIVACY_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define PRIVACY_EXECUTOR_RUN_ARGS queryDesc, direction, count, execute_once
#endif

/* 18 has no execute_once: the value a hook passes on when it needs one */
#if PG_VERSION_NUM >= 180000
#define PRIVACY_EXECUTE_ONCE true
#else
#define PRIVACY_EXECUTE_ONCE execute_once
#endif

/*
 * This backend's slot in a per-backend shared array, and its parallel
 * leader's (17 replaced BackendId, 1-based, by ProcNumber, 0-based).
 */
#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#define PRIVACY_MY_PROC_SLOT()		((int) MyProcNumber)
#define PRIVACY_LEADER_PROC_SLOT()	((int) ParallelLeaderProcNumber)
#else
#include "storage/backendid.h"
#define PRIVACY_MY_PROC_SLOT()		((int) MyBackendId - 1)
#define PRIVACY_LEADER_PROC_SLOT()	((int) ParallelLeaderBackendId - 1)
#endif

#endif							/* PRIVACY_COMPAT_H */
