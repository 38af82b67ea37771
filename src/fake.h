/*
 * fake.h — consistent, realistic fake values keyed by the pseudonym key.
 *
 * SQL entry points: privacy.fake_first_name, fake_last_name, fake_name,
 * fake_email, fake_phone, fake_city, fake_company and fake_iban.  Each is a
 * function of the value and of the "pseudonym" key only: the same input gives
 * the same fake in every table, session and database sharing the key ring,
 * and nothing computes or reverses a fake without the key.
 */
#ifndef PRIVACY_FAKE_H
#define PRIVACY_FAKE_H

extern void FakeInit(void);

#endif							/* PRIVACY_FAKE_H */
