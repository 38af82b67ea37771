/*
 * citus.h — one key ring for a Citus cluster (see citus.c).
 */
#ifndef PRIVACY_CITUS_H
#define PRIVACY_CITUS_H

#include "postgres.h"
#include "commands/trigger.h"

extern void CitusInit(void);
/* Whether this database is a Citus worker / a Citus coordinator. */
extern bool privacy_citus_is_worker(void);
extern bool privacy_citus_is_coordinator(void);
/* Citus kind of a table ("distributed", "reference", "citus local") or NULL. */
extern const char *privacy_citus_table_kind(Oid relid);
/* The documented refusal of a capability on a Citus table (privacy._citus_refuse). */
extern void privacy_citus_refuse(Oid relid, const char *capability, const char *instead);
/* Error on a Citus worker that does not hold the coordinator's key ring. */
extern void privacy_citus_ring_check(void);
/* Statement trigger part: refuse on workers, copy changes from the coordinator. */
extern void privacy_citus_keys_changed(TriggerData *trigdata);
/* On the coordinator: copy the protected-column rows of a distributed table to every worker. */
extern void privacy_citus_registry_changed(Oid relid);

#endif							/* PRIVACY_CITUS_H */
