/*
 * subject.h
 */
#ifndef PRIVACY_SUBJECT_H
#define PRIVACY_SUBJECT_H

#include "nodes/parsenodes.h"

extern void SubjectInit(void);

/*
 * A subject's rows per table (jsonb {relid: [row identity, ...]}), found by
 * the walk of export and erasure, for legal holds; call it as the user whose
 * rights are checked, outside any security-restricted operation.
 */
extern Datum privacy_subject_rows(Datum subject, bool *isnull);

/*
 * The SET clause applying a table's masking rules in place ("col = (expr), ...";
 * NULL without rules); with columns, the columns it changes as JSON text.
 */
extern char *privacy_masking_set_clause(Oid relid, char **columns);

/*
 * Error unless the current user has mode (ACL_SELECT, ACL_UPDATE,
 * ACL_DELETE) on the whole table and no row-level security applies to it:
 * the table is then read or changed as its owner.
 */
extern void privacy_subject_table_access(Oid relid, AclMode mode);

#endif
