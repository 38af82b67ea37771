/*
 * mask.c — key-free masking, generalization and k-anonymity.
 *
 * Every function here is deterministic except noise(); none uses a key.
 * Rules (see doc/functions.md):
 *  - only ASCII 0-9 count as digits; other characters are copied as they are;
 *  - text is handled character by character in the database encoding
 *    (a multibyte character is never split);
 *  - a masking function never reveals a whole value: short inputs reveal less.
 */
#include "postgres.h"
#include "compat.h"

#include <math.h>
#include <sys/socket.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rangetypes.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "mask.h"
#include "token_parse.h"
#include "util.h"

PG_FUNCTION_INFO_V1(privacy_mask_email);
PG_FUNCTION_INFO_V1(privacy_mask_phone);
PG_FUNCTION_INFO_V1(privacy_mask_card);
PG_FUNCTION_INFO_V1(privacy_partial);
PG_FUNCTION_INFO_V1(privacy_truncate_ip);
PG_FUNCTION_INFO_V1(privacy_generalize_timestamptz);
PG_FUNCTION_INFO_V1(privacy_generalize_date);
PG_FUNCTION_INFO_V1(privacy_age_range);
PG_FUNCTION_INFO_V1(privacy_noise);
PG_FUNCTION_INFO_V1(privacy_redact);
PG_FUNCTION_INFO_V1(privacy_k_anonymity);

/* What replaces the hidden part of an e-mail local part (fixed: hides its length). */
#define EMAIL_STARS		"****"
/* Phone numbers: last 4 digits shown, never more than half of the digits. */
#define PHONE_SHOWN		4
#define PHONE_MASK		'X'
/* Cards (PCI DSS): at most first 6 + last 4 shown, at least 6 digits hidden. */
#define CARD_FIRST		6
#define CARD_LAST		4
#define CARD_MIN_HIDDEN	6
#define CARD_MASK		'*'

#define IS_ASCII_DIGIT(c)	((c) >= '0' && (c) <= '9')

typedef enum GeneralizeUnit
{
	UNIT_DAY,
	UNIT_MONTH,
	UNIT_YEAR
} GeneralizeUnit;

/* Module initialisation: nothing to set up. */
void
MaskInit(void)
{
}

/* ----------------------------------------------------------------------
 * Text masks
 * ---------------------------------------------------------------------- */

/*
 * privacy.mask_email(email text) RETURNS text
 *
 * The local part (before the last '@', or the whole value without '@')
 * becomes its first character followed by "****"; '@' and the domain stay.
 */
Datum
privacy_mask_email(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(in);
	int			len = VARSIZE_ANY_EXHDR(in);
	int			local_len = len;
	int			first;
	text	   *out;
	char	   *d;
	int			k;

	if (len == 0)
		PG_RETURN_TEXT_P(cstring_to_text(""));

	for (k = len - 1; k >= 0; k--)
		if (s[k] == '@')
		{
			local_len = k;
			break;
		}

	/* first character, stars, '@' and domain, built in place */
	first = local_len > 0 ? Min(pg_mblen(s), local_len) : 0;
	out = palloc(VARHDRSZ + first + strlen(EMAIL_STARS) + (len - local_len));
	SET_VARSIZE(out, VARHDRSZ + first + strlen(EMAIL_STARS) + (len - local_len));
	d = VARDATA(out);
	memcpy(d, s, first);
	memcpy(d + first, EMAIL_STARS, strlen(EMAIL_STARS));
	memcpy(d + first + strlen(EMAIL_STARS), s + local_len, len - local_len);
	PG_RETURN_TEXT_P(out);
}

/*
 * Copy of in with every ASCII digit replaced by maskch except the first
 * `first` and the last `last` digits; other characters are kept.
 */
static text *
mask_digits(text *in, int first, int last, int ndigits, char maskch)
{
	const char *src = VARDATA_ANY(in);
	int			len = VARSIZE_ANY_EXHDR(in);
	text	   *out = (text *) palloc(VARHDRSZ + len);
	char	   *dst = VARDATA(out);
	int			seen = 0;
	int			k;

	SET_VARSIZE(out, VARHDRSZ + len);
	for (k = 0; k < len; k++)
	{
		if (IS_ASCII_DIGIT(src[k]))
		{
			dst[k] = (seen < first || seen >= ndigits - last) ? src[k] : maskch;
			seen++;
		}
		else
			dst[k] = src[k];
	}
	return out;
}

/* Number of ASCII digits in a text value (the digits tokenize transforms). */
static int
count_digits(text *in)
{
	return privacy_token_count_digits(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in));
}

/*
 * privacy.mask_phone(phone text) RETURNS text
 *
 * Digits become 'X' except the last 4 (never more than half of them);
 * every other character stays, so the format is kept.
 */
Datum
privacy_mask_phone(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int			n = count_digits(in);

	PG_RETURN_TEXT_P(mask_digits(in, 0, Min(PHONE_SHOWN, n / 2), n, PHONE_MASK));
}

/*
 * privacy.mask_card(card text) RETURNS text
 *
 * PCI DSS display rule: at most the first 6 and the last 4 digits shown, and
 * at least 6 digits hidden: n digits show min(10, n - 6) digits, the last
 * ones first (up to 4), then the first ones (up to 6).
 */
Datum
privacy_mask_card(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int			n = count_digits(in);
	int			shown = Max(0, Min(CARD_FIRST + CARD_LAST, n - CARD_MIN_HIDDEN));
	int			last = Min(CARD_LAST, shown);
	int			first = Min(CARD_FIRST, shown - last);

	PG_RETURN_TEXT_P(mask_digits(in, first, last, n, CARD_MASK));
}

/*
 * privacy.partial(value text, prefix int, padding text, suffix int) RETURNS text
 *
 * First `prefix` characters || padding || last `suffix` characters.  When
 * prefix + suffix would cover the whole value, only the padding is returned.
 */
Datum
privacy_partial(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int32		prefix = PG_GETARG_INT32(1);
	text	   *padding = PG_GETARG_TEXT_PP(2);
	int32		suffix = PG_GETARG_INT32(3);
	const char *s = VARDATA_ANY(in);
	int			len = VARSIZE_ANY_EXHDR(in);
	int			nchars;
	int			head;
	int			tail;
	StringInfoData buf;

	if (prefix < 0 || suffix < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("prefix and suffix must not be negative")));
	nchars = pg_mbstrlen_with_len(s, len);
	if ((int64) prefix + suffix >= nchars)
		PG_RETURN_TEXT_P(padding);

	head = pg_mbcharcliplen(s, len, prefix);
	tail = pg_mbcharcliplen(s, len, nchars - suffix);
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, s, head);
	appendBinaryStringInfo(&buf, VARDATA_ANY(padding), VARSIZE_ANY_EXHDR(padding));
	appendBinaryStringInfo(&buf, s + tail, len - tail);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/* ----------------------------------------------------------------------
 * Network addresses
 * ---------------------------------------------------------------------- */

/* Error unless 0 <= bits <= maxbits. */
static void
check_prefix_bits(const char *argname, int32 bits, int maxbits)
{
	if (bits < 0 || bits > maxbits)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and %d", argname, maxbits),
				 errdetail("The value given was %d.", bits)));
}

/*
 * privacy.truncate_ip(addr inet, v4_bits int DEFAULT 24, v6_bits int DEFAULT 48)
 * RETURNS inet
 *
 * Keeps the first v4_bits (IPv4) or v6_bits (IPv6) bits, zeroes the rest,
 * and sets the netmask length to that number of bits.
 */
Datum
privacy_truncate_ip(PG_FUNCTION_ARGS)
{
	inet	   *ip = PG_GETARG_INET_PP(0);
	int32		v4_bits = PG_GETARG_INT32(1);
	int32		v6_bits = PG_GETARG_INT32(2);
	inet	   *res;
	int			bits;
	int			nbytes;
	int			k;

	check_prefix_bits("v4_bits", v4_bits, 32);
	check_prefix_bits("v6_bits", v6_bits, 128);

	res = (inet *) palloc0(sizeof(inet));
	ip_family(res) = ip_family(ip);
	bits = (ip_family(ip) == PGSQL_AF_INET) ? v4_bits : v6_bits;
	ip_bits(res) = (unsigned char) bits;
	nbytes = ip_addrsize(ip);
	for (k = 0; k < nbytes; k++)
	{
		int			keep = bits - k * 8;	/* bits of this byte to keep */
		unsigned char byte = ip_addr(ip)[k];

		if (keep <= 0)
			byte = 0;
		else if (keep < 8)
			byte &= (unsigned char) (0xff << (8 - keep));
		ip_addr(res)[k] = byte;
	}
	SET_INET_VARSIZE(res);
	PG_RETURN_INET_P(res);
}

/* ----------------------------------------------------------------------
 * Dates and times
 * ---------------------------------------------------------------------- */

/* Parse a generalization unit: 'day', 'month' or 'year' (any case). */
static GeneralizeUnit
parse_unit(text *unit_text)
{
	char	   *unit = text_to_cstring(unit_text);

	if (pg_strcasecmp(unit, "day") == 0)
		return UNIT_DAY;
	if (pg_strcasecmp(unit, "month") == 0)
		return UNIT_MONTH;
	if (pg_strcasecmp(unit, "year") == 0)
		return UNIT_YEAR;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unit \"%s\" is not supported", unit),
			 errhint("Use \"day\", \"month\" or \"year\".")));
	return UNIT_DAY;			/* keep compiler quiet */
}

/* Name of a unit as date_trunc spells it. */
static const char *
unit_name(GeneralizeUnit unit)
{
	switch (unit)
	{
		case UNIT_DAY:
			return "day";
		case UNIT_MONTH:
			return "month";
		case UNIT_YEAR:
			return "year";
	}
	return "day";				/* keep compiler quiet */
}

/*
 * privacy.generalize(ts timestamptz, unit text) RETURNS timestamptz
 *
 * date_trunc(unit, ts) in the session time zone (hence STABLE).
 */
Datum
privacy_generalize_timestamptz(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	GeneralizeUnit unit = parse_unit(PG_GETARG_TEXT_PP(1));

	return DirectFunctionCall2(timestamptz_trunc,
							   CStringGetTextDatum(unit_name(unit)),
							   TimestampTzGetDatum(ts));
}

/*
 * privacy.generalize(d date, unit text) RETURNS date
 *
 * The first day of the day, month or year of d; infinite dates unchanged.
 */
Datum
privacy_generalize_date(PG_FUNCTION_ARGS)
{
	DateADT		d = PG_GETARG_DATEADT(0);
	GeneralizeUnit unit = parse_unit(PG_GETARG_TEXT_PP(1));
	int			year;
	int			month;
	int			day;

	if (DATE_NOT_FINITE(d) || unit == UNIT_DAY)
		PG_RETURN_DATEADT(d);
	j2date(d + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	if (unit == UNIT_YEAR)
		month = 1;
	PG_RETURN_DATEADT(date2j(year, month, 1) - POSTGRES_EPOCH_JDATE);
}

/*
 * privacy.age_range(birth date, width int DEFAULT 10, at date DEFAULT current_date)
 * RETURNS int4range
 *
 * Age in whole years at `at`, generalized to [w * floor(age / w), + w).
 */
Datum
privacy_age_range(PG_FUNCTION_ARGS)
{
	DateADT		birth = PG_GETARG_DATEADT(0);
	int32		width = PG_GETARG_INT32(1);
	DateADT		at = PG_GETARG_DATEADT(2);
	TypeCacheEntry *typcache;
	RangeBound	lower;
	RangeBound	upper;
	int			by,
				bm,
				bd,
				ay,
				am,
				ad;
	int32		age;
	int32		lo;
	int32		hi;

	if (width <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("width must be positive")));
	if (DATE_NOT_FINITE(birth) || DATE_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("birth date and reference date must be finite")));
	if (birth > at)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("birth date is after the reference date"),
				 errdetail("Birth date %s, reference date %s.",
						   DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(birth))),
						   DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(at))))));

	j2date(birth + POSTGRES_EPOCH_JDATE, &by, &bm, &bd);
	j2date(at + POSTGRES_EPOCH_JDATE, &ay, &am, &ad);
	age = ay - by;
	if (am < bm || (am == bm && ad < bd))
		age--;
	lo = age / width * width;
	if (pg_add_s32_overflow(lo, width, &hi))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("age range is out of range for type int4range")));

	typcache = (TypeCacheEntry *) fcinfo->flinfo->fn_extra;
	if (typcache == NULL)
	{
		typcache = lookup_type_cache(INT4RANGEOID, TYPECACHE_RANGE_INFO);
		fcinfo->flinfo->fn_extra = typcache;
	}
	lower.val = Int32GetDatum(lo);
	lower.infinite = false;
	lower.inclusive = true;
	lower.lower = true;
	upper.val = Int32GetDatum(hi);
	upper.infinite = false;
	upper.inclusive = false;
	upper.lower = false;
	PG_RETURN_RANGE_P(make_range(typcache, &lower, &upper, false, NULL));
}

/* ----------------------------------------------------------------------
 * Numbers and anything
 * ---------------------------------------------------------------------- */

/* A uniformly distributed double in [0, 1) from the strong random source. */
static double
strong_random_unit(void)
{
	uint64		r;

	if (!pg_strong_random(&r, sizeof(r)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random number")));
	return (double) (r >> 11) * (1.0 / 9007199254740992.0);	/* 2^-53 */
}

/*
 * privacy.noise(value numeric, ratio float8) RETURNS numeric
 *
 * value * (1 + ratio * U), U uniform in [-1, 1), rounded to value's scale.
 */
Datum
privacy_noise(PG_FUNCTION_ARGS)
{
	Numeric		value = PG_GETARG_NUMERIC(0);
	float8		ratio = PG_GETARG_FLOAT8(1);
	Datum		factor;
	Datum		scale;
	Datum		noisy;

	if (isnan(ratio) || isinf(ratio) || ratio < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ratio must be a finite number greater than or equal to 0")));
	if (numeric_is_nan(value) || numeric_is_inf(value))
		PG_RETURN_NUMERIC(value);

	factor = DirectFunctionCall1(float8_numeric,
								 Float8GetDatum(1.0 + ratio * (2.0 * strong_random_unit() - 1.0)));
	scale = DirectFunctionCall1(numeric_scale, NumericGetDatum(value));
	noisy = DirectFunctionCall2(numeric_mul, NumericGetDatum(value), factor);
	return DirectFunctionCall2(numeric_round, noisy, scale);
}

/*
 * privacy.redact(value anyelement) RETURNS text
 *
 * '[REDACTED]' for any non-NULL value (STRICT: NULL stays NULL).
 */
Datum
privacy_redact(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text("[REDACTED]"));
}

/* ----------------------------------------------------------------------
 * k-anonymity
 * ---------------------------------------------------------------------- */

/*
 * privacy.k_anonymity(tbl regclass, quasi_identifiers text[]) RETURNS bigint
 *
 * Size of the smallest group of rows sharing the same values of the given
 * columns (NULLs group together); 0 for an empty table.  Each name must be
 * an existing column of tbl, taken as is and quoted as an identifier.  The
 * query runs through SPI as the caller, who needs SELECT on those columns.
 */
Datum
privacy_k_anonymity(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ArrayType  *cols = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			ncols;
	char	   *relname = get_rel_name(relid);
	char	   *nspname;
	StringInfoData sql;
	int			k;
	int			rc;
	bool		isnull;
	Datum		min;
	int64		result = 0;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	nspname = get_namespace_name(get_rel_namespace(relid));

	deconstruct_array(cols, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &ncols);
	if (ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quasi_identifiers must name at least one column")));

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT pg_catalog.min(n) FROM (SELECT pg_catalog.count(*) AS n FROM ");
	appendStringInfoString(&sql, quote_qualified_identifier(nspname, relname));
	appendStringInfoString(&sql, " GROUP BY ");
	for (k = 0; k < ncols; k++)
	{
		char	   *col;
		AttrNumber	attnum;

		if (nulls[k])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("quasi_identifiers must not contain NULL")));
		col = TextDatumGetCString(elems[k]);
		attnum = get_attnum(relid, col);
		if (attnum == InvalidAttrNumber || attnum < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							col, relname),
					 errhint("Column names are matched exactly (case-sensitive), as quoted identifiers.")));
		if (k > 0)
			appendStringInfoString(&sql, ", ");
		appendStringInfoString(&sql, quote_identifier(col));
	}
	appendStringInfoString(&sql, ") s");

	privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
	rc = SPI_execute(sql.data, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "k-anonymity query failed: %s", SPI_result_code_string(rc));
	min = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		result = DatumGetInt64(min);
	SPI_finish();
	PG_RETURN_INT64(result);
}
