/*
 * worker.h — the purge background worker (launcher + one worker per database).
 */
#ifndef PRIVACY_WORKER_H
#define PRIVACY_WORKER_H

#include "postgres.h"

extern void WorkerInit(void);

extern PGDLLEXPORT void privacy_purge_launcher_main(Datum arg);
extern PGDLLEXPORT void privacy_purge_worker_main(Datum arg);

#endif
