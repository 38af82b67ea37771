/*
 * mask.c
 */
#include "postgres.h"

#include "mask.h"

/* Module initialisation. */
void
MaskInit(void)
{
}
