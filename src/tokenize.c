/*
 * tokenize.c
 */
#include "postgres.h"

#include "tokenize.h"

/* Module initialisation. */
void
TokenizeInit(void)
{
}
