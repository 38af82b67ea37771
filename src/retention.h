/*
 * retention.h
 */
#ifndef PRIVACY_RETENTION_H
#define PRIVACY_RETENTION_H

extern void RetentionInit(void);

#endif
