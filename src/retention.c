/*
 * retention.c
 */
#include "postgres.h"

#include "retention.h"

/* Module initialisation. */
void
RetentionInit(void)
{
}
