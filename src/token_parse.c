/*
 * token_parse.c — tokenize / detokenize input and FF1 numeral strings.
 *
 * Plain C without backend headers: tokenize.c calls it inside the server,
 * test/fuzz/token_input.c fuzzes it outside.  Nothing here allocates or
 * raises errors; tokenize.c turns a status into an ereport.
 */
#include <string.h>

#include "token_parse.h"

static const char numeral_chars[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* Number of ASCII digits among the len bytes of src. */
int
privacy_token_count_digits(const char *src, int len)
{
	int			n = 0;
	int			k;

	for (k = 0; k < len; k++)
		if (privacy_token_is_digit(src[k]))
			n++;
	return n;
}

/* The ASCII digits of src as numerals 0..9, in order; returns how many. */
int
privacy_token_extract_digits(const char *src, int len, uint8_t *digits)
{
	int			n = 0;
	int			k;

	for (k = 0; k < len; k++)
		if (privacy_token_is_digit(src[k]))
			digits[n++] = (uint8_t) (src[k] - '0');
	return n;
}

/* src with its ASCII digits replaced, in order, by the numerals of digits. */
void
privacy_token_merge_digits(const char *src, int len, const uint8_t *digits, char *dst)
{
	int			n = 0;
	int			k;

	for (k = 0; k < len; k++)
		dst[k] = privacy_token_is_digit(src[k]) ? (char) ('0' + digits[n++]) : src[k];
}

/* FF1 domain rules: radix^n >= 10^6 and n <= FF1_MAX_LEN. */
Ff1Domain
privacy_ff1_check_domain(int radix, int n)
{
	uint64_t	dom = 1;
	int			k;

	for (k = 0; k < n && dom < FF1_MIN_DOMAIN; k++)
		dom *= radix;
	if (dom < FF1_MIN_DOMAIN)
		return FF1_DOMAIN_TOO_SHORT;
	if (n > FF1_MAX_LEN)
		return FF1_DOMAIN_TOO_LONG;
	return FF1_DOMAIN_OK;
}

/* Parse n numerals of radix (0-9 then a-z) into x; -1, or the index of the first bad one. */
int
privacy_ff1_parse_numerals(const char *in, int n, int radix, uint8_t *x)
{
	int			k;

	for (k = 0; k < n; k++)
	{
		const char *pos = strchr(numeral_chars, in[k]);

		if (in[k] == '\0' || pos == NULL || pos - numeral_chars >= radix)
			return k;
		x[k] = (uint8_t) (pos - numeral_chars);
	}
	return -1;
}

/* The character of numeral value v (0..35). */
char
privacy_ff1_numeral_char(int v)
{
	return numeral_chars[v];
}
