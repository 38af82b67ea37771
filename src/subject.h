/*
 * subject.h
 */
#ifndef PRIVACY_SUBJECT_H
#define PRIVACY_SUBJECT_H

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

#endif
