/*
 * audit.h — the append-only audit log (privacy.audit_log).
 *
 * Rows are written through SPI in an owner scope, so callers need no
 * privilege on the table; no role may UPDATE or DELETE them.
 */
#ifndef PRIVACY_AUDIT_H
#define PRIVACY_AUDIT_H

#include "postgres.h"

/*
 * Append one audit row.  action is a short verb ("create_key"), object what
 * it acted on (a key name, a table), subject a data subject or NULL, details
 * a JSON object text or NULL.  The calling role is recorded automatically.
 */
extern void AuditInit(void);

/* Count one decrypted value (under key_id) for the statement's audit row. */
extern void privacy_audit_decrypt(int32 key_id);

/* Count one detokenized value (under key_id) for the statement's audit rows. */
extern void privacy_audit_detokenize(int32 key_id);

extern void privacy_audit(const char *action, const char *object,
						  const char *subject, const char *details_json);

#endif							/* PRIVACY_AUDIT_H */
