/*
 * crypto.h — ciphertext format and the encryption primitives.
 *
 * The ciphertext format and its parsers live in crypto_parse.h (plain C,
 * fuzzed outside the server).  The 15-byte header and the context are
 * authenticated (GCM associated data; SIV S2V components).  Protected text
 * columns store "$pv1$" followed by the base64 of the binary ciphertext.
 */
#ifndef PRIVACY_CRYPTO_H
#define PRIVACY_CRYPTO_H

#include "postgres.h"
#include "fmgr.h"

#include "crypto_parse.h"

/* A context argument: NULL pointer when absent. */
typedef struct CryptoContext
{
	const char *data;
	int			len;
} CryptoContext;

extern void CryptoInit(void);

/*
 * Encrypt with the active version of the named key (randomized or
 * deterministic); ref (may be NULL) remembers the key between calls.
 */
struct KeyRef;
extern bytea *privacy_encrypt_raw(const char *data, int len, text *key_name, struct KeyRef *ref,
								  bool deterministic, const CryptoContext *ctx);
/* Decrypt any ciphertext of ours; errors on anything wrong, never wrong data. */
extern bytea *privacy_decrypt_raw(const uint8 *ct, int len, const CryptoContext *ctx);

/* HMAC-SHA-256 under one subkey of key (keyed context cached with the key). */
#define PRIVACY_HMAC_BYTES 32
struct PrivacyKey;
extern void privacy_hmac_sha256(struct PrivacyKey *key, int use, const uint8 *data,
								size_t len, uint8 *out);

/* Stored text form of a protected text column ("$pv1$" + base64). */
extern text *privacy_ciphertext_to_text(bytea *ct);
/* Binary ciphertext of a stored text value, or NULL if it is not one. */
extern bytea *privacy_text_to_ciphertext(const char *s, int len);

#endif							/* PRIVACY_CRYPTO_H */
