/*
 * crypto.h — ciphertext format and the encryption primitives.
 *
 * Binary ciphertext (bytea), all integers big-endian:
 *
 *   0      magic 0xA7
 *   1      format: 1 = AES-256-GCM (randomized), 2 = AES-256-SIV (deterministic)
 *   2      flags: bit 0 set when a context is bound
 *   3..6   key id
 *   7..10  key version
 *   11..14 context check: first 4 bytes of SHA-256(context), zero without context
 *   GCM:   15..26 nonce (12 random bytes) | ciphertext | 16-byte tag
 *   SIV:   15..30 synthetic IV (16 bytes) | ciphertext of 0x01 || plaintext
 *
 * The 15-byte header and the context are authenticated (GCM associated data;
 * SIV S2V components).  Protected text columns store "$pv1$" followed by the
 * base64 of the binary ciphertext.
 */
#ifndef PRIVACY_CRYPTO_H
#define PRIVACY_CRYPTO_H

#include "postgres.h"
#include "fmgr.h"

#define CT_MAGIC 0xA7
#define CT_FORMAT_GCM 1
#define CT_FORMAT_SIV 2
#define CT_FLAG_CONTEXT 0x01
#define CT_HEADER_BYTES 15
#define CT_GCM_OVERHEAD (CT_HEADER_BYTES + 12 + 16)
#define CT_SIV_OVERHEAD (CT_HEADER_BYTES + 16 + 1)
#define CT_TEXT_PREFIX "$pv1$"
#define CT_TEXT_PREFIX_LEN 5

/* Key id and key version named in a ciphertext header (big-endian int32s). */
static inline int32
privacy_ct_key_id(const uint8 *ct)
{
	return (int32) (((uint32) ct[3] << 24) | ((uint32) ct[4] << 16) |
					((uint32) ct[5] << 8) | (uint32) ct[6]);
}

static inline int32
privacy_ct_key_version(const uint8 *ct)
{
	return (int32) (((uint32) ct[7] << 24) | ((uint32) ct[8] << 16) |
					((uint32) ct[9] << 8) | (uint32) ct[10]);
}

/* A context argument: NULL pointer when absent. */
typedef struct CryptoContext
{
	const char *data;
	int			len;
} CryptoContext;

extern void CryptoInit(void);

/* Encrypt with the active version of the named key (randomized or deterministic). */
extern bytea *privacy_encrypt_raw(const char *data, int len, text *key_name,
								  bool deterministic, const CryptoContext *ctx);
/* Decrypt any ciphertext of ours; errors on anything wrong, never wrong data. */
extern bytea *privacy_decrypt_raw(const uint8 *ct, int len, const CryptoContext *ctx);
/* Parse only the header: true if ct looks like one of our ciphertexts. */
extern bool privacy_is_ciphertext(const uint8 *ct, int len);

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
