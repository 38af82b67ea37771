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

#endif							/* PRIVACY_TOKENIZE_H */
