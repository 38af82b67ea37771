/*
 * label_parse.h — the keyword grammar of security labels of provider
 * "privacy", in plain C with no backend dependency, so that the extension
 * (views.c) and the fuzz target test/fuzz/label_text.c link the same code.
 *
 *   column label:   MASKED WITH FUNCTION <expression> | MASKED WITH VALUE
 *                   <constant> | NOT MASKED
 *   role label:     MASKED
 *   function label: TRUSTED
 *
 * Keywords match in any case, separated by white space.  The expression is
 * handed to PostgreSQL's parser by views.c.
 */
#ifndef PRIVACY_LABEL_PARSE_H
#define PRIVACY_LABEL_PARSE_H

#include <stdbool.h>

/* Kind of a column label. */
typedef enum RuleKind
{
	RULE_NOT_MASKED,
	RULE_FUNCTION,
	RULE_VALUE,
	RULE_INVALID				/* none of the forms above */
} RuleKind;

/*
 * If s starts with keyword kw (any case, after spaces) followed by a space
 * or the end, return what follows it with spaces skipped; else NULL.
 * NULL s gives NULL.
 */
extern const char *privacy_label_skip_keyword(const char *s, const char *kw);

/* Is label exactly the keyword kw (any case, spaces around allowed)? */
extern bool privacy_label_is(const char *label, const char *kw);

/*
 * Kind of a column label; for RULE_FUNCTION and RULE_VALUE, *expr points to
 * the (non-empty) expression inside label.
 */
extern RuleKind privacy_label_parse_column(const char *label, const char **expr);

/* Length of the SQL identifier token (plain or double-quoted) starting at s. */
extern int	privacy_label_identifier_length(const char *s);

#endif							/* PRIVACY_LABEL_PARSE_H */
