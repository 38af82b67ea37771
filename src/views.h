/*
 * views.h — masking rules (security labels of provider "privacy") and the
 * masked views that reporting roles read.
 */
#ifndef PRIVACY_VIEWS_H
#define PRIVACY_VIEWS_H

#include "postgres.h"

extern void ViewsInit(void);

/*
 * Is roleid masked: labelled MASKED, or a member of a role that is?
 * Superusers never are.
 */
extern bool privacy_role_is_masked(Oid roleid);

/*
 * Refuse (42501) in a masked session (its session user, outer user or
 * current user is masked), except in the extension's own operations: a
 * function that would reveal protected data (decrypt, detokenize) calls it
 * first.  what names the refused function in the message.
 */
extern void privacy_check_not_masked(const char *what);

#endif							/* PRIVACY_VIEWS_H */
