/*
 * protect.h — transparent column encryption (privacy.protect_column).
 */
#ifndef PRIVACY_PROTECT_H
#define PRIVACY_PROTECT_H

extern void ProtectInit(void);

#endif							/* PRIVACY_PROTECT_H */
