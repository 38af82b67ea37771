/*
 * Fuzz target: security label text of provider "privacy" (src/label_parse.c):
 * column labels (MASKED WITH FUNCTION / VALUE, NOT MASKED), role labels
 * (MASKED), function labels (TRUSTED), and the identifier tokens that
 * column renames rewrite inside a masking expression.
 *
 * Labels reach the provider as C strings, so the input is cut at its first
 * NUL byte.  Properties: no out-of-bounds access (exact-size heap copy under
 * ASan); a masking expression is a non-empty tail of the label that follows
 * "MASKED WITH FUNCTION|VALUE" and white space; "is exactly the keyword"
 * agrees with an independent comparison; identifier lengths stay inside
 * the string.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fuzz_check.h"
#include "label_parse.h"

/* label trimmed of white space equals kw, ASCII case-insensitively. */
static int
is_keyword(const char *label, const char *kw)
{
	size_t		b = 0;
	size_t		e = strlen(label);

	while (b < e && isspace((unsigned char) label[b]))
		b++;
	while (e > b && isspace((unsigned char) label[e - 1]))
		e--;
	return e - b == strlen(kw) && strncasecmp(label + b, kw, e - b) == 0;
}

/* Is [p, end) the three words, any case, each followed by white space? */
static int
prefix_is(const char *p, const char *end, const char *w1, const char *w2, const char *w3)
{
	const char *words[3] = {w1, w2, w3};
	int			w;

	for (w = 0; w < 3; w++)
	{
		size_t		n = strlen(words[w]);

		while (p < end && isspace((unsigned char) *p))
			p++;
		if ((size_t) (end - p) < n || strncasecmp(p, words[w], n) != 0)
			return 0;
		p += n;
		if (p == end || !isspace((unsigned char) *p))
			return 0;
	}
	while (p < end && isspace((unsigned char) *p))
		p++;
	return p == end;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		len = strnlen((const char *) data, size);
	char	   *label = fuzz_alloc(len + 1);
	const char *expr = NULL;
	RuleKind	kind;
	size_t		i;

	memcpy(label, data, len);
	label[len] = '\0';

	kind = privacy_label_parse_column(label, &expr);
	switch (kind)
	{
		case RULE_NOT_MASKED:
			FUZZ_CHECK(expr == NULL);
			FUZZ_CHECK(privacy_label_is(privacy_label_skip_keyword(label, "NOT"), "MASKED"));
			break;
		case RULE_FUNCTION:
		case RULE_VALUE:
			FUZZ_CHECK(expr != NULL && expr > label && expr < label + len);
			FUZZ_CHECK(*expr != '\0' && !isspace((unsigned char) *expr));
			FUZZ_CHECK(isspace((unsigned char) expr[-1]));
			FUZZ_CHECK(prefix_is(label, expr, "masked", "with",
								 kind == RULE_FUNCTION ? "function" : "value"));
			break;
		case RULE_INVALID:
			FUZZ_CHECK(expr == NULL);
			break;
	}

	/* role and function labels */
	FUZZ_CHECK(privacy_label_is(label, "MASKED") == is_keyword(label, "MASKED"));
	FUZZ_CHECK(privacy_label_is(label, "TRUSTED") == is_keyword(label, "TRUSTED"));
	FUZZ_CHECK(privacy_label_skip_keyword(NULL, "MASKED") == NULL);
	{
		const char *rest = privacy_label_skip_keyword(label, "MASKED");

		FUZZ_CHECK(rest == NULL || (rest >= label && rest <= label + len));
	}

	/* identifier tokens at every offset (column renames) */
	for (i = 0; i <= len; i++)
	{
		int			n = privacy_label_identifier_length(label + i);

		FUZZ_CHECK(n >= 0 && (size_t) n <= len - i);
		if (label[i] == '"')
			FUZZ_CHECK(n >= 1);
	}
	free(label);
	return 0;
}
