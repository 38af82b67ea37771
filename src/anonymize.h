/*
 * anonymize.h — static masking: the masking rules applied in place.
 *
 * SQL entry points: the procedures privacy.anonymize_table and
 * privacy.anonymize_database, refused unless privacy.allow_static_masking
 * is on for the database (ALTER DATABASE ... SET).
 */
#ifndef PRIVACY_ANONYMIZE_H
#define PRIVACY_ANONYMIZE_H

extern void AnonymizeInit(void);

#endif							/* PRIVACY_ANONYMIZE_H */
