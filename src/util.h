/*
 * util.h — small helpers shared by every module of privacy.
 *
 * Owner scope: catalog bookkeeping (key ring, audit log, protected-column
 * registry) runs through SPI as the owner of the "privacy" schema, with
 * search_path pinned to pg_catalog, whatever the caller's role and settings.
 * That is how ordinary roles can encrypt with a key they can never read.
 */
#ifndef PRIVACY_UTIL_H
#define PRIVACY_UTIL_H

#include "postgres.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "tcop/utility.h"
#include "utils/guc.h"

/* Saved state of an owner scope; opaque to callers. */
typedef struct OwnerScope
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} OwnerScope;

extern Oid	privacy_schema_oid(bool missing_ok);
extern Oid	privacy_owner_oid(void);
extern void privacy_role_scope_begin(Oid role, OwnerScope *scope);
extern void privacy_owner_begin(OwnerScope *scope);
extern void privacy_owner_end(OwnerScope *scope);

/* Table owners: the one ownership check, the owner, an error unless the current user owns it. */
extern bool privacy_owns_relation(Oid relid, Oid roleid);
extern Oid	privacy_relation_owner(Oid relid);
extern void privacy_require_table_owner(Oid relid);
extern char *privacy_qualified_name(Oid relid);
extern void privacy_column_type(Oid relid, const char *col, Oid *typid, int32 *typmod);

/* The tail of a ProcessUtility hook: the previous hook, or the standard one. */
extern void privacy_next_utility(ProcessUtility_hook_type prev, PlannedStmt *pstmt, const char *queryString,
								 bool readOnlyTree,
								 ProcessUtilityContext context, ParamListInfo params,
								 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc);

/* Run SQL as a role in a security-restricted operation; see util.c. */
extern uint64 privacy_exec_as(Oid role, const char *sql, int nargs, Oid *types, Datum *vals,
							  const char *nulls, bool read_only, int expected,
							  int ncols, Datum *out, bool *outnull, Oid *outtypes);

/*
 * A run of batches (purge, anonymize) that commits after each batch when it
 * may: CALLed outside a transaction block, or in a background worker.
 */
typedef struct BatchCommits
{
	bool		commit_each;	/* commit after each batch */
	bool		pushed;			/* we pushed the active snapshot */
} BatchCommits;

extern void privacy_batches_begin(BatchCommits *bc, bool commit_each);
extern void privacy_batches_commit(BatchCommits *bc);
extern void privacy_batches_end(BatchCommits *bc);

/* Append "name": value (a JSON string, or null) to a JSON object being built. */
extern void privacy_json_field(StringInfo buf, const char *name, const char *value);

/* Internal error unless an SPI call returned the expected code. */
extern void privacy_spi_check(int rc, int expected, const char *what);

/* Name of the role that called us (before any owner scope). */
extern char *privacy_calling_role(void);

/* A short-lived, never restarted background worker of this library (worker.c, keystatus.c). */
struct BackgroundWorker;
extern void privacy_dynamic_worker(struct BackgroundWorker *bgw, const char *function, const char *type,
								   const char *name);

/* GUC check hooks shared by the modules' settings */
extern bool privacy_check_positive_interval(char **newval, void **extra, GucSource source);
extern bool privacy_check_identifier_list(char **newval, void **extra, GucSource source);
extern bool privacy_check_identifier(char **newval, void **extra, GucSource source);

/*
 * Per-backend cache of what a row trigger derives from its arguments and its
 * table (attribute numbers, parsed settings), by trigger Oid: a statement's
 * trigger FmgrInfo lives one statement only, so fn_extra would be refilled by
 * every single-row statement.  An entry lasts until a relcache invalidation
 * of its table (DDL, trigger changes) is followed by its next lookup; its
 * data stays valid until then (a trigger must not fire itself while using it).
 * get: the data, or NULL; then fill new data in the context that
 * privacy_trigger_cache_new makes and hand it to privacy_trigger_cache_put.
 */
extern void *privacy_trigger_cache_get(Oid tgoid, Oid relid);
extern MemoryContext privacy_trigger_cache_new(uint64 *generation);
extern void privacy_trigger_cache_put(Oid tgoid, Oid relid, MemoryContext cxt, void *data,
									  uint64 generation);

/* text helpers */
extern char *privacy_text_to_cstring_limited(text *t, int maxlen, const char *what);

#endif							/* PRIVACY_UTIL_H */
