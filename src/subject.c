/*
 * subject.c
 */
#include "postgres.h"

#include "subject.h"

/* Module initialisation. */
void
SubjectInit(void)
{
}
