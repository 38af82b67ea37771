/*
 * token_parse.h — parsing of tokenize / detokenize input and of FF1 numeral
 * strings, in plain C with no backend dependency, so that the extension
 * (tokenize.c) and the fuzz target test/fuzz/token_input.c link the same code.
 *
 * Tokenization classifies every byte of the value: an ASCII digit is a
 * numeral of radix 10 that FF1 transforms, any other byte stays in place.
 */
#ifndef PRIVACY_TOKEN_PARSE_H
#define PRIVACY_TOKEN_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* FF1 domain rule: radix^n >= 10^6 (SP 800-38G Rev. 1). */
#define FF1_MIN_DOMAIN		1000000
/* Tokenization uses radix 10, hence at least 6 digits. */
#define TOKEN_MIN_DIGITS	6
/* Longest numeral string accepted (the BIGNUM path is quadratic). */
#define FF1_MAX_LEN			4096

/* Is the byte c a numeral of a token (an ASCII digit)? */
static inline bool
privacy_token_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Number of ASCII digits among the len bytes of src. */
extern int	privacy_token_count_digits(const char *src, int len);

/* Write the ASCII digits of src as numerals 0..9 to digits; returns how many. */
extern int	privacy_token_extract_digits(const char *src, int len, uint8_t *digits);

/*
 * Write len bytes to dst: src with its ASCII digits replaced, in order, by
 * the numerals of digits (as many as privacy_token_extract_digits gave).
 */
extern void privacy_token_merge_digits(const char *src, int len, const uint8_t *digits,
									   char *dst);

/* Is a numeral string of radix and length n inside FF1's domain? */
typedef enum Ff1Domain
{
	FF1_DOMAIN_OK,
	FF1_DOMAIN_TOO_SHORT,		/* radix^n < 10^6 */
	FF1_DOMAIN_TOO_LONG			/* n > FF1_MAX_LEN */
} Ff1Domain;

extern Ff1Domain privacy_ff1_check_domain(int radix, int n);

/*
 * Numerals written 0-9 then a-z (lower case): parse the n characters of in
 * (radix 2..36) into x.  Returns -1 when all are numerals of radix, else the
 * index of the first one that is not.
 */
extern int	privacy_ff1_parse_numerals(const char *in, int n, int radix, uint8_t *x);

/* The character of numeral value v (0..35). */
extern char privacy_ff1_numeral_char(int v);

#endif							/* PRIVACY_TOKEN_PARSE_H */
