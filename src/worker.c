/*
 * worker.c
 */
#include "postgres.h"

#include "worker.h"

/* Module initialisation. */
void
WorkerInit(void)
{
}
