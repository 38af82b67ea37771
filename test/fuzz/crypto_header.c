/*
 * Fuzz target: binary ciphertext header and body layout (src/crypto_parse.c),
 * what privacy.decrypt, decrypt_text, key_id, key_version, is_ciphertext,
 * reencrypt and the protected-column code parse before any cryptography.
 *
 * Properties: no out-of-bounds access (the input is an exact-size heap copy
 * under ASan), privacy_is_ciphertext agrees with privacy_ct_parse, a parsed
 * ciphertext's parts tile the input exactly, and every refusal is the first
 * check that fails, in the order crypto.c reports them.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "crypto_parse.h"
#include "fuzz_check.h"

/* Read every byte of [p, p + n): ASan reports any byte outside the input. */
static unsigned
touch(const uint8_t *p, int n)
{
	unsigned	sum = 0;
	int			i;

	for (i = 0; i < n; i++)
		sum += p[i];
	return sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t    *ct;
	int			len;
	CtParsed	p;
	CtStatus	st;
	volatile unsigned sink;

	if (size > INT_MAX)
		return 0;
	len = (int) size;
	ct = fuzz_copy(data, size);
	memset(&p, 0, sizeof(p));
	st = privacy_ct_parse(ct, len, &p);
	FUZZ_CHECK(privacy_is_ciphertext(ct, len) == (st == CT_OK));

	/* the refusal is the first failing check, in crypto.c's order */
	if (len == 0)
		FUZZ_CHECK(st == CT_EMPTY);
	else if (ct[0] != CT_MAGIC)
		FUZZ_CHECK(st == CT_BAD_MAGIC);
	else if (len < CT_HEADER_BYTES)
		FUZZ_CHECK(st == CT_SHORT_HEADER);
	else if ((ct[1] != CT_FORMAT_GCM && ct[1] != CT_FORMAT_SIV) || (ct[2] & ~CT_FLAG_CONTEXT))
		FUZZ_CHECK(st == CT_BAD_FORMAT);
	else if (len < privacy_ct_overhead(ct[1]))
		FUZZ_CHECK(st == CT_SHORT_BODY);
	else
		FUZZ_CHECK(st == CT_OK);

	if (st == CT_OK)
	{
		const uint8_t *end = ct + len;

		FUZZ_CHECK(p.format == ct[1]);
		FUZZ_CHECK(p.has_context == ((ct[2] & CT_FLAG_CONTEXT) != 0));
		FUZZ_CHECK(p.key_id == privacy_ct_key_id(ct));
		FUZZ_CHECK(p.key_version == privacy_ct_key_version(ct));
		FUZZ_CHECK(p.context_check == ct + 11);
		FUZZ_CHECK(p.iv == ct + CT_HEADER_BYTES);
		FUZZ_CHECK(p.body_len >= 0 && p.body >= ct && p.body + p.body_len <= end);
		if (p.format == CT_FORMAT_GCM)
		{
			FUZZ_CHECK(p.body == p.iv + CT_GCM_NONCE_BYTES);
			FUZZ_CHECK(p.tag == p.body + p.body_len && p.tag + CT_TAG_BYTES == end);
			FUZZ_CHECK(p.body_len == len - CT_GCM_OVERHEAD);
			sink = touch(p.iv, CT_GCM_NONCE_BYTES) + touch(p.tag, CT_TAG_BYTES);
		}
		else
		{
			/* SIV: the framed plaintext is never empty (its frame byte) */
			FUZZ_CHECK(p.tag == NULL);
			FUZZ_CHECK(p.body == p.iv + CT_SIV_IV_BYTES && p.body + p.body_len == end);
			FUZZ_CHECK(p.body_len >= 1);
			sink = touch(p.iv, CT_SIV_IV_BYTES);
		}
		sink += touch(ct, CT_HEADER_BYTES) + touch(p.context_check, 4) + touch(p.body, p.body_len);
		(void) sink;

		/* the context binding: exactly one of the two answers is refused */
		FUZZ_CHECK(privacy_ct_check_context(&p, p.has_context) == CT_OK);
		FUZZ_CHECK(privacy_ct_check_context(&p, !p.has_context) ==
				   (p.has_context ? CT_CONTEXT_MISSING : CT_CONTEXT_UNEXPECTED));
	}
	free(ct);
	return 0;
}
