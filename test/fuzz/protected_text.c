/*
 * Fuzz target: the "$pv1$" stored text form of protected text columns and
 * its base64 (src/crypto_parse.c), what privacy.decrypt_text, key_id,
 * is_ciphertext, reencrypt and the protected-column code read from stored
 * or caller-supplied text.
 *
 * Properties: no out-of-bounds access (exact-size heap copies under ASan);
 * the decoded length fits the buffer privacy_ct_text_max_bytes asked for;
 * what decodes is a ciphertext; and the text form is canonical: a value
 * that decodes re-encodes to exactly the same text (one stored text per
 * ciphertext, so equality of deterministic ciphertexts means equality of
 * plaintexts).  Also raw base64: decode(encode(x)) == x.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "crypto_parse.h"
#include "fuzz_check.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s;
	int			len;
	int			max;

	if (size > INT_MAX / 2)
		return 0;
	len = (int) size;
	s = fuzz_copy(data, size);

	/* the stored text form */
	max = privacy_ct_text_max_bytes(s, len);
	FUZZ_CHECK(max == -1 || (len >= CT_TEXT_PREFIX_LEN + 4 && memcmp(s, CT_TEXT_PREFIX, CT_TEXT_PREFIX_LEN) == 0));
	FUZZ_CHECK(max >= 0 || privacy_ct_text_decode(s, len, NULL) == -1);	/* refused before any write */
	if (max >= 0)
	{
		uint8_t    *ct = fuzz_alloc((size_t) max);
		int			n = privacy_ct_text_decode(s, len, ct);

		FUZZ_CHECK(n >= -1 && n <= max);
		if (n >= 0)
		{
			int			enclen = privacy_b64_enc_len(n);
			char	   *again = fuzz_alloc((size_t) enclen);

			FUZZ_CHECK(privacy_is_ciphertext(ct, n));
			FUZZ_CHECK(privacy_b64_encode(ct, n, again) == enclen);
			FUZZ_CHECK(CT_TEXT_PREFIX_LEN + enclen == len &&
					   memcmp(again, s + CT_TEXT_PREFIX_LEN, enclen) == 0);
			free(again);
		}
		free(ct);
	}

	/* raw base64 of the input: round trip both ways */
	{
		int			enclen = privacy_b64_enc_len(len);
		char	   *enc = fuzz_alloc((size_t) enclen);
		uint8_t    *dec = fuzz_alloc((size_t) (enclen / 4 * 3));
		uint8_t    *dec2 = fuzz_alloc((size_t) (len / 4 * 3));
		int			n;

		FUZZ_CHECK(privacy_b64_encode((const uint8_t *) s, len, enc) == enclen);
		FUZZ_CHECK(privacy_b64_decode(enc, enclen, dec) == len);
		FUZZ_CHECK(len == 0 || memcmp(dec, s, len) == 0);

		/* the input as base64: canonical or refused */
		n = privacy_b64_decode(s, len, dec2);
		FUZZ_CHECK(n >= -1 && n <= len / 4 * 3);
		if (n >= 0)
		{
			char	   *again = fuzz_alloc((size_t) privacy_b64_enc_len(n));

			FUZZ_CHECK(privacy_b64_encode(dec2, n, again) == len);
			FUZZ_CHECK(len == 0 || memcmp(again, s, len) == 0);
			free(again);
		}
		free(enc);
		free(dec);
		free(dec2);
	}
	free(s);
	return 0;
}
