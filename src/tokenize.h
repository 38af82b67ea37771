/*
 * tokenize.h — keyed pseudonyms (HMAC-SHA-256) and format-preserving
 * tokenization (FF1, NIST SP 800-38G).
 *
 * SQL entry points: privacy.pseudonymize, privacy.tokenize,
 * privacy.detokenize and the test-only privacy._ff1_test.
 */
#ifndef PRIVACY_TOKENIZE_H
#define PRIVACY_TOKENIZE_H

#include <openssl/evp.h>

#include "keys.h"

extern void TokenizeInit(void);

/* FF1 (radix 10) of n >= 6 digits in place under one FF1 subkey of key. */
extern void privacy_ff1_encrypt_digits(PrivacyKey *key, KeyUse use, const uint8 *tweak,
									   int t, uint8 *digits, int n);

#endif							/* PRIVACY_TOKENIZE_H */
