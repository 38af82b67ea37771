/*
 * privacy.c — module entry point.
 *
 * _PG_init only dispatches: each module defines its GUCs, hooks and caches
 * in its own XxxInit().  Loaded through shared_preload_libraries the master
 * key is read once in the postmaster (KeysInit) and inherited by backends;
 * loaded on demand, each backend reads it on first need.
 */
#include "postgres.h"
#include "compat.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "audit.h"
#include "anonymize.h"
#include "citus.h"
#include "crypto.h"
#include "fake.h"
#include "keys.h"
#include "mask.h"
#include "protect.h"
#include "retention.h"
#include "subject.h"
#include "tokenize.h"
#include "views.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Module load: one Init per module, then reserve the GUC prefix. */
void
_PG_init(void)
{
	KeysInit();
	AuditInit();
	CryptoInit();
	ProtectInit();
	MaskInit();
	TokenizeInit();
	ViewsInit();
	RetentionInit();
	WorkerInit();
	SubjectInit();
	FakeInit();
	AnonymizeInit();
	CitusInit();
	MarkGUCPrefixReserved("privacy");
}
