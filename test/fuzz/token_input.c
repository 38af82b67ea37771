/*
 * Fuzz target: tokenize / detokenize input (src/token_parse.c): the byte
 * classification (ASCII digits are numerals, every other byte is kept),
 * digit extraction and merging, the FF1 domain checks and the numeral
 * strings of privacy._ff1_test.
 *
 * Properties: no out-of-bounds access (exact-size heap buffers under ASan);
 * extraction finds exactly the digits counted; merging keeps every other
 * byte and the position of every digit (the format is preserved), and
 * merging the extracted digits back gives the input; the domain check
 * agrees with radix^n >= 10^6 and n <= FF1_MAX_LEN; numeral parsing accepts
 * exactly the strings of numerals below the radix and round-trips.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "token_parse.h"

/* radix^n >= 10^6, computed independently (saturating). */
static int
domain_large_enough(int radix, int n)
{
	double		dom = 1;
	int			k;

	for (k = 0; k < n && dom < 1e6; k++)
		dom *= radix;
	return dom >= 1e6;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src;
	int			len;
	int			count;
	int			n;
	int			k;
	uint8_t    *digits;
	uint8_t    *changed;
	char	   *out;
	Ff1Domain	dom;

	if (size < 1 || size > INT_MAX)
		return 0;
	src = fuzz_copy(data + 1, size - 1);
	len = (int) size - 1;

	/* tokenize: classify, extract, merge */
	count = privacy_token_count_digits(src, len);
	FUZZ_CHECK(count >= 0 && count <= len);
	digits = fuzz_alloc((size_t) count);
	changed = fuzz_alloc((size_t) count);
	out = fuzz_alloc((size_t) len);
	n = privacy_token_extract_digits(src, len, digits);
	FUZZ_CHECK(n == count);
	for (k = 0; k < n; k++)
	{
		FUZZ_CHECK(digits[k] <= 9);
		changed[k] = (uint8_t) ((digits[k] + 1 + data[0] % 9) % 10);
	}
	privacy_token_merge_digits(src, len, changed, out);
	for (k = 0; k < len; k++)
	{
		FUZZ_CHECK(privacy_token_is_digit(out[k]) == privacy_token_is_digit(src[k]));
		FUZZ_CHECK(privacy_token_is_digit(src[k]) || out[k] == src[k]);
		FUZZ_CHECK(privacy_token_is_digit(src[k]) == (src[k] >= '0' && src[k] <= '9'));
	}
	FUZZ_CHECK(privacy_token_extract_digits(out, len, digits) == n);
	for (k = 0; k < n; k++)
		FUZZ_CHECK(digits[k] == changed[k]);
	privacy_token_merge_digits(out, len, changed, out);	/* in place, as detokenize may */
	privacy_token_extract_digits(src, len, digits);
	privacy_token_merge_digits(out, len, digits, out);
	FUZZ_CHECK(len == 0 || memcmp(out, src, len) == 0);

	/* the domain checks tokenize_common and _ff1_test make */
	dom = privacy_ff1_check_domain(10, count);
	FUZZ_CHECK((dom == FF1_DOMAIN_TOO_SHORT) == (count < TOKEN_MIN_DIGITS));
	FUZZ_CHECK((dom == FF1_DOMAIN_TOO_LONG) == (count >= TOKEN_MIN_DIGITS && count > FF1_MAX_LEN));

	/* _ff1_test numerals: radix 2..36 from the first byte */
	{
		int			radix = 2 + data[0] % 35;
		uint8_t    *x = fuzz_alloc((size_t) len);
		int			bad = privacy_ff1_parse_numerals(src, len, radix, x);

		FUZZ_CHECK(bad >= -1 && bad < len);
		for (k = 0; k < (bad < 0 ? len : bad); k++)
		{
			FUZZ_CHECK(x[k] < radix);
			FUZZ_CHECK(privacy_ff1_numeral_char(x[k]) == src[k]);
		}
		if (bad >= 0)
		{
			const char *c = &src[bad];

			FUZZ_CHECK(!((*c >= '0' && *c <= '9' && *c - '0' < radix) ||
						 (*c >= 'a' && *c <= 'z' && *c - 'a' + 10 < radix)));
		}
		dom = privacy_ff1_check_domain(radix, len);
		FUZZ_CHECK((dom == FF1_DOMAIN_TOO_SHORT) == !domain_large_enough(radix, len));
		FUZZ_CHECK((dom == FF1_DOMAIN_TOO_LONG) == (domain_large_enough(radix, len) && len > FF1_MAX_LEN));
		free(x);
	}
	free(digits);
	free(changed);
	free(out);
	free((void *) src);
	return 0;
}
