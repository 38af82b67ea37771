/*
 * crypto_parse.c — ciphertext header and body layout, the "$pv1$" stored
 * text form and base64: every parser of untrusted ciphertext bytes.
 *
 * Plain C without backend headers: crypto.c and protect.c call it inside
 * the server, test/fuzz/crypto_header.c and test/fuzz/protected_text.c
 * fuzz the same functions outside it.  Nothing here allocates or raises
 * errors; callers turn a status into an ereport.
 */
#include <string.h>

#include "crypto_parse.h"

/* Minimum length of a ciphertext of format (header included); 0 if unknown. */
int
privacy_ct_overhead(int format)
{
	if (format == CT_FORMAT_GCM)
		return CT_GCM_OVERHEAD;
	if (format == CT_FORMAT_SIV)
		return CT_SIV_OVERHEAD;
	return 0;
}

/*
 * Parse the header and lay out the body: CT_OK and *out filled, or the first
 * thing that is wrong (empty, magic byte, header length, format or flags,
 * body length).
 */
CtStatus
privacy_ct_parse(const uint8_t *ct, int len, CtParsed *out)
{
	int			overhead;

	if (len <= 0)
		return CT_EMPTY;
	if (ct[0] != CT_MAGIC)
		return CT_BAD_MAGIC;
	if (len < CT_HEADER_BYTES)
		return CT_SHORT_HEADER;
	overhead = privacy_ct_overhead(ct[1]);
	if (overhead == 0 || (ct[2] & ~CT_FLAG_CONTEXT) != 0)
		return CT_BAD_FORMAT;
	if (len < overhead)
		return CT_SHORT_BODY;
	if (out == NULL)
		return CT_OK;
	out->format = ct[1];
	out->has_context = (ct[2] & CT_FLAG_CONTEXT) != 0;
	out->key_id = privacy_ct_key_id(ct);
	out->key_version = privacy_ct_key_version(ct);
	out->context_check = ct + 11;
	out->iv = ct + CT_HEADER_BYTES;
	if (ct[1] == CT_FORMAT_GCM)
	{
		out->body = out->iv + CT_GCM_NONCE_BYTES;
		out->body_len = len - CT_GCM_OVERHEAD;
		out->tag = out->body + out->body_len;
	}
	else
	{
		out->body = out->iv + CT_SIV_IV_BYTES;
		out->body_len = len - CT_HEADER_BYTES - CT_SIV_IV_BYTES;
		out->tag = NULL;
	}
	return CT_OK;
}

/* CT_OK, or which side of the context binding is wrong. */
CtStatus
privacy_ct_check_context(const CtParsed *ct, bool context_given)
{
	if (ct->has_context && !context_given)
		return CT_CONTEXT_MISSING;
	if (!ct->has_context && context_given)
		return CT_CONTEXT_UNEXPECTED;
	return CT_OK;
}

/* True if ct looks like one of our ciphertexts (header and length only). */
bool
privacy_is_ciphertext(const uint8_t *ct, int len)
{
	return privacy_ct_parse(ct, len, NULL) == CT_OK;
}

/* Size of the buffer privacy_ct_text_decode needs, or -1 if s cannot be a stored ciphertext. */
int
privacy_ct_text_max_bytes(const char *s, int len)
{
	if (len < CT_TEXT_PREFIX_LEN + 4 || memcmp(s, CT_TEXT_PREFIX, CT_TEXT_PREFIX_LEN) != 0)
		return -1;
	return (len - CT_TEXT_PREFIX_LEN) / 4 * 3;
}

/*
 * Decode the stored text form s into dst (privacy_ct_text_max_bytes(s, len)
 * bytes): the ciphertext's length, or -1 if s is not "$pv1$" followed by the
 * canonical base64 of something that parses as a ciphertext.
 */
int
privacy_ct_text_decode(const char *s, int len, uint8_t *dst)
{
	int			n;

	if (privacy_ct_text_max_bytes(s, len) < 0)
		return -1;
	n = privacy_b64_decode(s + CT_TEXT_PREFIX_LEN, len - CT_TEXT_PREFIX_LEN, dst);
	if (n < 0 || !privacy_is_ciphertext(dst, n))
		return -1;
	return n;
}

static const char b64_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Length of the base64 encoding of srclen bytes. */
int
privacy_b64_enc_len(int srclen)
{
	return (srclen + 2) / 3 * 4;
}

/* Encode len bytes into dst (privacy_b64_enc_len(len) bytes); returns that length. */
int
privacy_b64_encode(const uint8_t *src, int len, char *dst)
{
	char	   *p = dst;
	int			i;

	for (i = 0; i + 2 < len; i += 3)
	{
		uint32_t	v = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];

		*p++ = b64_alphabet[(v >> 18) & 63];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = b64_alphabet[(v >> 6) & 63];
		*p++ = b64_alphabet[v & 63];
	}
	if (i < len)
	{
		uint32_t	v = src[i] << 16;

		if (i + 1 < len)
			v |= src[i + 1] << 8;
		*p++ = b64_alphabet[(v >> 18) & 63];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = (i + 1 < len) ? b64_alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	return p - dst;
}

/* Value of one base64 character, or -1. */
static inline int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode canonical padded base64 of len characters into dst (at least
 * len / 4 * 3 bytes).  Returns the decoded length, or -1 if the input is not
 * canonical base64.
 */
int
privacy_b64_decode(const char *src, int len, uint8_t *dst)
{
	uint8_t    *p = dst;
	int			i;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4)
	{
		int			a = b64_value(src[i]);
		int			b = b64_value(src[i + 1]);
		int			c = b64_value(src[i + 2]);
		int			d = b64_value(src[i + 3]);
		bool		last = (i + 4 == len);

		if (a < 0 || b < 0)
			return -1;
		if (c < 0 || d < 0)
		{
			/*
			 * padding only at the very end: "xx==" or "xxx=", and the bits
			 * the padding drops must be zero, else "QQ==" and "QR==" would
			 * both decode to "A" (two stored texts for one ciphertext)
			 */
			if (!last || src[i + 3] != '=' || (c < 0 && src[i + 2] != '='))
				return -1;
			if (c < 0 ? (b & 15) != 0 : (c & 3) != 0)
				return -1;
			*p++ = (a << 2) | (b >> 4);
			if (c >= 0)
				*p++ = ((b & 15) << 4) | (c >> 2);
			break;
		}
		*p++ = (a << 2) | (b >> 4);
		*p++ = ((b & 15) << 4) | (c >> 2);
		*p++ = ((c & 3) << 6) | d;
	}
	return p - dst;
}
