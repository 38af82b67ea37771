/*
 * label_parse.c — keywords of security labels and SQL identifier tokens.
 *
 * Plain C without backend headers: views.c calls it inside the server,
 * test/fuzz/label_text.c fuzzes it outside.  Nothing here allocates or
 * raises errors; views.c turns RULE_INVALID into an ereport.
 */
#include <ctype.h>
#include <string.h>

#include "label_parse.h"

/* Fold one byte the way pg_strncasecmp does. */
static unsigned char
fold_case(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c + ('a' - 'A');
	if ((c & 0x80) && isupper(c))
		return (unsigned char) tolower(c);
	return c;
}

/* pg_strncasecmp(s, kw, n) == 0: the first n bytes of s are kw in any case. */
static bool
keyword_matches(const char *s, const char *kw, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned char c1 = fold_case((unsigned char) s[i]);
		unsigned char c2 = fold_case((unsigned char) kw[i]);

		if (c1 != c2)
			return false;
		if (c1 == 0)
			break;
	}
	return true;
}

/* What follows keyword kw at the start of s (spaces skipped), or NULL. */
const char *
privacy_label_skip_keyword(const char *s, const char *kw)
{
	size_t		n = strlen(kw);

	if (s == NULL)
		return NULL;
	while (isspace((unsigned char) *s))
		s++;
	if (!keyword_matches(s, kw, n))
		return NULL;
	s += n;
	if (*s != '\0' && !isspace((unsigned char) *s))
		return NULL;
	while (isspace((unsigned char) *s))
		s++;
	return s;
}

/* Is label exactly the keyword kw (any case, spaces around allowed)? */
bool
privacy_label_is(const char *label, const char *kw)
{
	const char *rest = privacy_label_skip_keyword(label, kw);

	return rest != NULL && *rest == '\0';
}

/* Kind of a column label; *expr gets the expression of a MASKED one. */
RuleKind
privacy_label_parse_column(const char *label, const char **expr)
{
	const char *p = privacy_label_skip_keyword(privacy_label_skip_keyword(label, "MASKED"), "WITH");
	const char *q;

	if (privacy_label_is(privacy_label_skip_keyword(label, "NOT"), "MASKED"))
		return RULE_NOT_MASKED;
	if ((q = privacy_label_skip_keyword(p, "FUNCTION")) != NULL && *q != '\0')
	{
		*expr = q;
		return RULE_FUNCTION;
	}
	if ((q = privacy_label_skip_keyword(p, "VALUE")) != NULL && *q != '\0')
	{
		*expr = q;
		return RULE_VALUE;
	}
	return RULE_INVALID;
}

/* Length of the identifier token (plain or double-quoted) starting at s. */
int
privacy_label_identifier_length(const char *s)
{
	const char *p = s;

	if (*p == '"')
	{
		for (p++; *p; p++)
			if (*p == '"')
			{
				if (p[1] != '"')
					return p + 1 - s;
				p++;
			}
		return p - s;
	}
	while (*p && (isalnum((unsigned char) *p) || *p == '_' || *p == '$' || ((unsigned char) *p & 0x80)))
		p++;
	return p - s;
}
