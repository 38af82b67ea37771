/*
 * views.c
 */
#include "postgres.h"

#include "views.h"

/* Module initialisation. */
void
ViewsInit(void)
{
}
