/*
 * retention.h — retention policies, legal holds and the purge.
 */
#ifndef PRIVACY_RETENTION_H
#define PRIVACY_RETENTION_H

extern void RetentionInit(void);

/*
 * One purge run over the current database, committing after each batch.
 * Call it in a transaction that may be committed (a procedure called outside
 * a transaction block, or a background worker's own transaction).
 */
extern void privacy_purge_database(int batch);

/*
 * While on, the retention trigger keeps the expiry of each row an UPDATE
 * rewrites: for the extension's maintenance rewrites (re-encryption,
 * protecting a column).  Returns the previous state; reset at transaction end.
 */
extern bool privacy_retention_keep_expiry(bool on);

#endif
