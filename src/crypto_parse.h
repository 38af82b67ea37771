/*
 * crypto_parse.h — parsing of ciphertexts and of their stored text form,
 * in plain C with no backend dependency, so that the extension and the
 * fuzz targets (test/fuzz/) link the same code.
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
 * Protected text columns store "$pv1$" followed by the canonical padded
 * base64 (RFC 4648) of the binary ciphertext.
 */
#ifndef PRIVACY_CRYPTO_PARSE_H
#define PRIVACY_CRYPTO_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#define CT_MAGIC 0xA7
#define CT_FORMAT_GCM 1
#define CT_FORMAT_SIV 2
#define CT_FLAG_CONTEXT 0x01
#define CT_HEADER_BYTES 15
#define CT_GCM_NONCE_BYTES 12
#define CT_TAG_BYTES 16
#define CT_SIV_IV_BYTES 16
#define CT_GCM_OVERHEAD (CT_HEADER_BYTES + CT_GCM_NONCE_BYTES + CT_TAG_BYTES)
#define CT_SIV_OVERHEAD (CT_HEADER_BYTES + CT_SIV_IV_BYTES + 1)
#define CT_TEXT_PREFIX "$pv1$"
#define CT_TEXT_PREFIX_LEN 5

/* Outcome of parsing a ciphertext, in the order the checks are made. */
typedef enum CtStatus
{
	CT_OK,
	CT_EMPTY,					/* no bytes at all */
	CT_BAD_MAGIC,				/* first byte is not CT_MAGIC */
	CT_SHORT_HEADER,			/* shorter than the header */
	CT_BAD_FORMAT,				/* unknown format or flag bits */
	CT_SHORT_BODY,				/* shorter than the format's overhead */
	CT_CONTEXT_MISSING,			/* bound to a context, none given */
	CT_CONTEXT_UNEXPECTED		/* not bound to a context, one given */
} CtStatus;

/* A parsed ciphertext: pointers into the parsed bytes. */
typedef struct CtParsed
{
	int			format;			/* CT_FORMAT_GCM or CT_FORMAT_SIV */
	bool		has_context;	/* CT_FLAG_CONTEXT set */
	int32_t		key_id;
	int32_t		key_version;
	const uint8_t *context_check;	/* 4 bytes */
	const uint8_t *iv;			/* GCM nonce (12 bytes) or SIV synthetic IV (16) */
	const uint8_t *body;		/* encrypted bytes */
	int			body_len;		/* GCM: plaintext length; SIV: framed length (>= 1) */
	const uint8_t *tag;			/* GCM tag (16 bytes); NULL for SIV */
} CtParsed;

/*
 * Parse the header and lay out the body of len bytes at ct.  Returns CT_OK
 * and fills *out (when not NULL), or the first thing that is wrong.
 */
extern CtStatus privacy_ct_parse(const uint8_t *ct, int len, CtParsed *out);

/* CT_OK, or which side of the context binding is wrong (after privacy_ct_parse). */
extern CtStatus privacy_ct_check_context(const CtParsed *ct, bool context_given);

/* Minimum length of a ciphertext of format (header included); 0 if unknown. */
extern int	privacy_ct_overhead(int format);

/* True if ct looks like one of our ciphertexts (header and length only). */
extern bool privacy_is_ciphertext(const uint8_t *ct, int len);

/* Key id and key version named in a ciphertext header (big-endian int32s). */
static inline int32_t
privacy_ct_key_id(const uint8_t *ct)
{
	return (int32_t) (((uint32_t) ct[3] << 24) | ((uint32_t) ct[4] << 16) |
					  ((uint32_t) ct[5] << 8) | (uint32_t) ct[6]);
}

static inline int32_t
privacy_ct_key_version(const uint8_t *ct)
{
	return (int32_t) (((uint32_t) ct[7] << 24) | ((uint32_t) ct[8] << 16) |
					  ((uint32_t) ct[9] << 8) | (uint32_t) ct[10]);
}

/*
 * Stored text form.  privacy_ct_text_max_bytes: -1 if s (len bytes) cannot
 * be a stored ciphertext (no "$pv1$" prefix or too short), else the size of
 * the buffer privacy_ct_text_decode needs.  privacy_ct_text_decode: the
 * binary ciphertext's length written to dst, or -1 if s is not the stored
 * form of a ciphertext.
 */
extern int	privacy_ct_text_max_bytes(const char *s, int len);
extern int	privacy_ct_text_decode(const char *s, int len, uint8_t *dst);

/* base64 (RFC 4648, with padding, no line breaks) */
extern int	privacy_b64_enc_len(int srclen);
extern int	privacy_b64_encode(const uint8_t *src, int len, char *dst);
extern int	privacy_b64_decode(const char *src, int len, uint8_t *dst);	/* -1 on bad input */

#endif							/* PRIVACY_CRYPTO_PARSE_H */
