/*
 * tokenize.c — keyed pseudonyms and format-preserving tokenization.
 *
 * privacy.pseudonymize: HMAC-SHA-256 of the value's bytes under the key's
 * KEY_USE_PSEUDONYM subkey; the pseudonym is "ps_" followed by the first
 * 128 bits of the MAC in lower-case RFC 4648 base32 (26 characters).
 *
 * privacy.tokenize / privacy.detokenize: FF1 (NIST SP 800-38G) with AES-256
 * under the key's KEY_USE_FF1 subkey, radix 10, empty tweak, applied to the
 * ASCII digits of the value; every other byte stays in place.  FF1 here is
 * the generic algorithm (radix 2..36, any length up to FF1_MAX_LEN), with a
 * 64-bit fast path whenever radix^ceil(n/2) < 2^63 (up to 18 decimal digits)
 * and an OpenSSL BIGNUM path beyond.
 *
 * Keyed OpenSSL contexts (the AES key schedule, the HMAC inner and outer
 * states) are built once per key and kept in the key's state slot
 * (privacy_key_state), so a call costs no key set-up.
 */
#include "postgres.h"
#include "compat.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/builtins.h"

#include "audit.h"
#include "keys.h"
#include "crypto.h"
#include "token_parse.h"
#include "tokenize.h"
#include "views.h"

PG_FUNCTION_INFO_V1(privacy_pseudonymize);
PG_FUNCTION_INFO_V1(privacy_tokenize);
PG_FUNCTION_INFO_V1(privacy_detokenize);
PG_FUNCTION_INFO_V1(privacy_ff1_test);

#define FF1_ROUNDS			10
#define AES_BLOCK			16

#define PSEUDONYM_PREFIX	"ps_"
#define PSEUDONYM_BITS		128
#define PSEUDONYM_CHARS		26	/* ceil(128 / 5) */

static const char base32_chars[] = "abcdefghijklmnopqrstuvwxyz234567";

/* What pseudonymize and tokenize keep in fn_extra between calls. */
typedef struct KeyedCallCache
{
	KeyRef		ref;			/* name -> key resolution (keys.c) */
} KeyedCallCache;

/*
 * One FF1 invocation: lengths fixed for all ten rounds, the P || Q buffer
 * and the CBC-MAC state after the blocks that do not change between rounds.
 */
typedef struct FF1Call
{
	EVP_CIPHER_CTX *ecb;		/* keyed AES-ECB, no padding */
	int			n;				/* numerals */
	int			u;				/* floor(n / 2) */
	int			v;				/* n - u */
	int			b;				/* bytes of NUM_radix(B) */
	int			d;				/* bytes of S used */
	uint8	   *pq;				/* P || Q */
	int			pqlen;
	int			round_off;		/* offset of [i] in pq */
	int			fixed_len;		/* leading bytes of pq equal in every round */
	uint8		mac_fixed[AES_BLOCK];	/* CBC-MAC state after fixed_len bytes */
	uint8	   *s;				/* S, rounded up to whole blocks */
	int			slen;
} FF1Call;

/* Module initialisation: nothing to set up. */
void
TokenizeInit(void)
{
}

/* The fn_extra cache of a keyed function, created zeroed on first call. */
static KeyedCallCache *
keyed_call_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(KeyedCallCache));
	return (KeyedCallCache *) fcinfo->flinfo->fn_extra;
}

/* ----------------------------------------------------------------------
 * AES building blocks
 * ---------------------------------------------------------------------- */

/* A new AES-ECB encryption context (no padding) under a 16, 24 or 32-byte key. */
static EVP_CIPHER_CTX *
ff1_cipher_new(const uint8 *key, int keylen)
{
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;

	switch (keylen)
	{
		case 16:
			cipher = EVP_aes_128_ecb();
			break;
		case 24:
			cipher = EVP_aes_192_ecb();
			break;
		case 32:
			cipher = EVP_aes_256_ecb();
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid AES key length: %d bytes", keylen),
					 errdetail("FF1 needs an AES key of 16, 24 or 32 bytes.")));
			return NULL;		/* keep compiler quiet */
	}
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (EVP_EncryptInit_ex(ctx, cipher, NULL, key, NULL) != 1 ||
		EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
	{
		EVP_CIPHER_CTX_free(ctx);
		elog(ERROR, "could not initialize AES-ECB context");
	}
	return ctx;
}

/* Free callback for the FF1 state slot of a key. */
static void
ff1_cipher_free(void *state)
{
	EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *) state);
}

/* Encrypt len bytes (a multiple of 16) of in into out, block by block. */
static inline void
aes_blocks(EVP_CIPHER_CTX *ecb, const uint8 *in, uint8 *out, int len)
{
	int			outl;

	if (EVP_EncryptUpdate(ecb, out, &outl, in, len) != 1 || outl != len)
		elog(ERROR, "AES block encryption failed");
}

/* CBC-MAC step: state = AES(state XOR block). */
static inline void
cbc_mac_block(EVP_CIPHER_CTX *ecb, uint8 *state, const uint8 *block)
{
	int			i;

	for (i = 0; i < AES_BLOCK; i++)
		state[i] ^= block[i];
	aes_blocks(ecb, state, state, AES_BLOCK);
}

/* ----------------------------------------------------------------------
 * FF1 (NIST SP 800-38G, Algorithms 7 and 8)
 * ---------------------------------------------------------------------- */

/*
 * Prepare one FF1 call: b, d, P || Q with the tweak, and the CBC-MAC state
 * over the leading blocks that no round changes (P and the tweak blocks).
 */
static void
ff1_call_setup(FF1Call *f, EVP_CIPHER_CTX *ecb, const uint8 *tweak, int t,
			   int radix, int n, int b)
{
	int			pad;
	uint8	   *p;
	int			off;

	f->ecb = ecb;
	f->n = n;
	f->u = n / 2;
	f->v = n - f->u;
	f->b = b;
	f->d = 4 * ((b + 3) / 4) + 4;
	pad = ((-(t + b + 1)) % AES_BLOCK + AES_BLOCK) % AES_BLOCK;
	f->pqlen = AES_BLOCK + t + pad + 1 + b;
	f->pq = palloc0(f->pqlen);
	f->round_off = AES_BLOCK + t + pad;
	f->fixed_len = f->round_off / AES_BLOCK * AES_BLOCK;
	f->slen = (f->d + AES_BLOCK - 1) / AES_BLOCK * AES_BLOCK;
	f->s = palloc(f->slen);

	/* P = [1]^1 || [2]^1 || [1]^1 || [radix]^3 || [10]^1 || [u mod 256]^1 || [n]^4 || [t]^4 */
	p = f->pq;
	p[0] = 1;
	p[1] = 2;
	p[2] = 1;
	p[3] = (radix >> 16) & 0xff;
	p[4] = (radix >> 8) & 0xff;
	p[5] = radix & 0xff;
	p[6] = 10;
	p[7] = f->u & 0xff;
	p[8] = (n >> 24) & 0xff;
	p[9] = (n >> 16) & 0xff;
	p[10] = (n >> 8) & 0xff;
	p[11] = n & 0xff;
	p[12] = (t >> 24) & 0xff;
	p[13] = (t >> 16) & 0xff;
	p[14] = (t >> 8) & 0xff;
	p[15] = t & 0xff;
	/* Q = T || [0]^pad || [i]^1 || [NUM_radix(B)]^b; the zeros are there already */
	if (t > 0)
		memcpy(p + AES_BLOCK, tweak, t);

	memset(f->mac_fixed, 0, AES_BLOCK);
	for (off = 0; off < f->fixed_len; off += AES_BLOCK)
		cbc_mac_block(ecb, f->mac_fixed, p + off);
}

/* Wipe and free what ff1_call_setup allocated. */
static void
ff1_call_cleanup(FF1Call *f)
{
	explicit_bzero(f->s, f->slen);
	explicit_bzero(f->mac_fixed, AES_BLOCK);
	explicit_bzero(f->pq, f->pqlen);
	pfree(f->s);
	pfree(f->pq);
}

/*
 * Round function up to S: with [i] and NUM_radix(B) already in place at
 * the end of pq, R = PRF(P || Q), S = R || CIPH(R xor [1]) || ...
 */
static void
ff1_round_s(FF1Call *f, int i)
{
	uint8		r[AES_BLOCK];
	int			off;
	int			j;
	int			extra = f->slen / AES_BLOCK - 1;

	f->pq[f->round_off] = (uint8) i;
	memcpy(r, f->mac_fixed, AES_BLOCK);
	for (off = f->fixed_len; off < f->pqlen; off += AES_BLOCK)
		cbc_mac_block(f->ecb, r, f->pq + off);
	memcpy(f->s, r, AES_BLOCK);
	if (extra > 0)
	{
		for (j = 1; j <= extra; j++)
		{
			uint8	   *blk = f->s + j * AES_BLOCK;

			memcpy(blk, r, AES_BLOCK);
			blk[12] ^= (j >> 24) & 0xff;
			blk[13] ^= (j >> 16) & 0xff;
			blk[14] ^= (j >> 8) & 0xff;
			blk[15] ^= j & 0xff;
		}
		aes_blocks(f->ecb, f->s + AES_BLOCK, f->s + AES_BLOCK, extra * AES_BLOCK);
	}
	explicit_bzero(r, sizeof(r));
}

/* radix^m if it is below 2^63, else 0. */
static uint64
pow_below_2_63(int radix, int m)
{
	uint64		r = 1;
	int			k;

	for (k = 0; k < m; k++)
	{
		if (r > (UINT64CONST(1) << 63) / (uint64) radix)
			return 0;
		r *= (uint64) radix;
	}
	return (r < (UINT64CONST(1) << 63)) ? r : 0;
}

/* Number of bytes needed for the integers below modulus: ceil(ceil(v log2 radix) / 8). */
static int
bytes_below(uint64 modulus)
{
	return (pg_leftmost_one_pos64(modulus - 1) + 1 + 7) / 8;
}

/* NUM_radix of m numerals, for values below 2^63. */
static uint64
num_u64(const uint8 *x, int m, int radix)
{
	uint64		r = 0;
	int			k;

	for (k = 0; k < m; k++)
		r = r * radix + x[k];
	return r;
}

/* STR^m_radix of a value below 2^63. */
static void
str_u64(uint64 val, uint8 *x, int m, int radix)
{
	int			k;

	for (k = m - 1; k >= 0; k--)
	{
		x[k] = (uint8) (val % radix);
		val /= radix;
	}
}

/* NUM(S[0..d)) mod modulus, for d <= 16. */
static uint64
s_mod_u64(const uint8 *s, int d, uint64 modulus)
{
	int			k;

	if (d <= 8)
	{
		uint64		y = 0;

		for (k = 0; k < d; k++)
			y = (y << 8) | s[k];
		return y % modulus;
	}
	else
	{
		uint128		y = 0;

		for (k = 0; k < d; k++)
			y = (y << 8) | s[k];
		return (uint64) (y % modulus);
	}
}

/* FF1 with 64-bit arithmetic: radix^v < 2^63 (so b <= 8 and d <= 12). */
static void
ff1_fast(FF1Call *f, uint8 *x, int radix, bool decrypt,
		 uint64 mod_u, uint64 mod_v)
{
	uint64		a = num_u64(x, f->u, radix);
	uint64		b = num_u64(x + f->u, f->v, radix);
	int			r;

	for (r = 0; r < FF1_ROUNDS; r++)
	{
		int			i = decrypt ? FF1_ROUNDS - 1 - r : r;
		uint64		modulus = (i % 2 == 0) ? mod_u : mod_v;
		uint64		numb = decrypt ? a : b;
		uint8	   *dst = f->pq + f->pqlen - f->b;
		uint64		y;
		int			k;

		for (k = f->b - 1; k >= 0; k--)
		{
			dst[k] = numb & 0xff;
			numb >>= 8;
		}
		ff1_round_s(f, i);
		y = s_mod_u64(f->s, f->d, modulus);
		if (!decrypt)
		{
			uint64		c = (a + y) % modulus;

			a = b;
			b = c;
		}
		else
		{
			uint64		c = (b + modulus - y) % modulus;

			b = a;
			a = c;
		}
	}
	str_u64(a, x, f->u, radix);
	str_u64(b, x + f->u, f->v, radix);
}

/* Fail on a BIGNUM error (allocation failure). */
static inline void
bn_check(int ok)
{
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("OpenSSL BIGNUM arithmetic failed.")));
}

/* bn = NUM_radix(x[0..m)). */
static void
bn_from_numerals(BIGNUM *bn, const uint8 *x, int m, int radix)
{
	int			k;

	BN_zero(bn);
	for (k = 0; k < m; k++)
	{
		bn_check(BN_mul_word(bn, radix));
		bn_check(BN_add_word(bn, x[k]));
	}
}

/* x[0..m) = STR^m_radix(bn); bn is consumed. */
static void
bn_to_numerals(BIGNUM *bn, uint8 *x, int m, int radix)
{
	int			k;

	for (k = m - 1; k >= 0; k--)
	{
		BN_ULONG	rem = BN_div_word(bn, radix);

		bn_check(rem != (BN_ULONG) -1);
		x[k] = (uint8) rem;
	}
}

/* FF1 with OpenSSL BIGNUM arithmetic, for any length. */
static void
ff1_bignum(EVP_CIPHER_CTX *ecb, const uint8 *tweak, int t, int radix,
		   uint8 *x, int n, bool decrypt)
{
	BN_CTX	   *bnctx = BN_CTX_new();
	FF1Call		f;
	volatile bool set_up = false;

	if (bnctx == NULL)
		bn_check(0);
	BN_CTX_start(bnctx);
	PG_TRY();
	{
		BIGNUM	   *a = BN_CTX_get(bnctx);
		BIGNUM	   *b = BN_CTX_get(bnctx);
		BIGNUM	   *c = BN_CTX_get(bnctx);
		BIGNUM	   *y = BN_CTX_get(bnctx);
		BIGNUM	   *mod_u = BN_CTX_get(bnctx);
		BIGNUM	   *mod_v = BN_CTX_get(bnctx);
		int			u = n / 2;
		int			v = n - u;
		int			r;
		int			k;

		bn_check(mod_v != NULL);
		bn_check(BN_one(mod_u));
		for (k = 0; k < u; k++)
			bn_check(BN_mul_word(mod_u, radix));
		bn_check(BN_copy(mod_v, mod_u) != NULL);
		if (v > u)
			bn_check(BN_mul_word(mod_v, radix));

		/* b = bytes of radix^v - 1 */
		bn_check(BN_copy(c, mod_v) != NULL);
		bn_check(BN_sub_word(c, 1));
		ff1_call_setup(&f, ecb, tweak, t, radix, n, (BN_num_bits(c) + 7) / 8);
		set_up = true;

		bn_from_numerals(a, x, u, radix);
		bn_from_numerals(b, x + u, v, radix);
		for (r = 0; r < FF1_ROUNDS; r++)
		{
			int			i = decrypt ? FF1_ROUNDS - 1 - r : r;
			BIGNUM	   *modulus = (i % 2 == 0) ? mod_u : mod_v;
			BIGNUM	   *tmp;

			CHECK_FOR_INTERRUPTS();
			bn_check(BN_bn2binpad(decrypt ? a : b,
								  f.pq + f.pqlen - f.b, f.b) == f.b);
			ff1_round_s(&f, i);
			bn_check(BN_bin2bn(f.s, f.d, y) != NULL);
			if (!decrypt)
			{
				/* C = (A + y) mod radix^m; A = B; B = C */
				bn_check(BN_mod_add(c, a, y, modulus, bnctx));
				tmp = a;
				a = b;
				b = c;
				c = tmp;
			}
			else
			{
				/* C = (B - y) mod radix^m; B = A; A = C */
				bn_check(BN_mod_sub(c, b, y, modulus, bnctx));
				tmp = b;
				b = a;
				a = c;
				c = tmp;
			}
		}
		bn_to_numerals(a, x, u, radix);
		bn_to_numerals(b, x + u, v, radix);
		BN_clear(y);
	}
	PG_FINALLY();
	{
		if (set_up)
			ff1_call_cleanup(&f);
		BN_CTX_end(bnctx);
		BN_CTX_free(bnctx);
	}
	PG_END_TRY();
}

/*
 * FF1 encryption or decryption of n numerals (each below radix), in place,
 * under a keyed AES-ECB context.  The caller checks radix and length.
 */
static void
ff1_crypt(EVP_CIPHER_CTX *ecb, const uint8 *tweak, int t, int radix,
		  uint8 *x, int n, bool decrypt)
{
	int			u = n / 2;
	int			v = n - u;
	uint64		mod_u = pow_below_2_63(radix, u);
	uint64		mod_v = pow_below_2_63(radix, v);

	if (mod_v != 0)
	{
		FF1Call		f;

		ff1_call_setup(&f, ecb, tweak, t, radix, n, bytes_below(mod_v));
		ff1_fast(&f, x, radix, decrypt, mod_u, mod_v);
		ff1_call_cleanup(&f);
	}
	else
		ff1_bignum(ecb, tweak, t, radix, x, n, decrypt);
}

/* Refuse numeral strings outside FF1's domain rules (radix^n >= 10^6, n <= FF1_MAX_LEN). */
static void
ff1_check_domain(int radix, int n)
{
	Ff1Domain	dom = privacy_ff1_check_domain(radix, n);

	if (dom == FF1_DOMAIN_TOO_SHORT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("input is too short for FF1"),
				 errdetail("%d numerals of radix %d give fewer than 10^6 possible values; FF1 requires radix^length >= 10^6.",
						   n, radix)));
	if (dom == FF1_DOMAIN_TOO_LONG)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("input is too long for FF1"),
				 errdetail("The input has %d numerals; at most %d are supported.",
						   n, FF1_MAX_LEN)));
}

/*
 * privacy._ff1_test(key bytea, tweak bytea, radix int, input text,
 *                   decrypt bool) RETURNS text
 *
 * FF1 under a raw AES key, for the NIST SP 800-38G sample vectors.
 * Numerals are written 0-9a-z.  Not executable by PUBLIC.
 */
Datum
privacy_ff1_test(PG_FUNCTION_ARGS)
{
	bytea	   *key = PG_GETARG_BYTEA_PP(0);
	bytea	   *tweak = PG_GETARG_BYTEA_PP(1);
	int32		radix = PG_GETARG_INT32(2);
	text	   *input = PG_GETARG_TEXT_PP(3);
	bool		decrypt = PG_GETARG_BOOL(4);
	const char *in = VARDATA_ANY(input);
	int			n = VARSIZE_ANY_EXHDR(input);
	uint8	   *x;
	char	   *out;
	EVP_CIPHER_CTX *ecb;
	int			k;

	if (radix < 2 || radix > 36)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("radix must be between 2 and 36")));
	x = palloc(n + 1);
	if ((k = privacy_ff1_parse_numerals(in, n, radix, x)) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid numeral \"%c\" for radix %d", in[k], radix),
				 errdetail("Numerals are written 0-9 then a-z (lower case).")));
	ff1_check_domain(radix, n);

	ecb = ff1_cipher_new((const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key));
	PG_TRY();
	{
		ff1_crypt(ecb, (const uint8 *) VARDATA_ANY(tweak), VARSIZE_ANY_EXHDR(tweak),
				  radix, x, n, decrypt);
	}
	PG_FINALLY();
	{
		EVP_CIPHER_CTX_free(ecb);
	}
	PG_END_TRY();

	out = palloc(n + 1);
	for (k = 0; k < n; k++)
		out[k] = privacy_ff1_numeral_char(x[k]);
	out[n] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, n));
}

/* ----------------------------------------------------------------------
 * Tokenization
 * ---------------------------------------------------------------------- */

/* The keyed AES context of one FF1 subkey of a key, built on first use. */
static EVP_CIPHER_CTX *
keyed_ff1_cipher(PrivacyKey *key, KeyUse use)
{
	void	  **slot = privacy_key_state(key, use, ff1_cipher_free);

	if (*slot == NULL)
		*slot = ff1_cipher_new(privacy_key_subkey(key, use), privacy_subkey_len(use));
	return (EVP_CIPHER_CTX *) *slot;
}

/*
 * FF1 encryption (radix 10) of n >= 6 decimal digits (values 0..9) in place,
 * under the FF1 subkey "use" of key, with a tweak of t bytes (for the fake
 * values of src/fake.c).
 */
void
privacy_ff1_encrypt_digits(PrivacyKey *key, KeyUse use, const uint8 *tweak, int t,
						   uint8 *digits, int n)
{
	ff1_check_domain(10, n);
	ff1_crypt(keyed_ff1_cipher(key, use), tweak, t, 10, digits, n, false);
}

/* tokenize and detokenize: FF1 over the ASCII digits, other bytes kept. */
static Datum
tokenize_common(FunctionCallInfo fcinfo, bool decrypt)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	text	   *key_name = PG_GETARG_TEXT_PP(1);
	KeyedCallCache *cache = keyed_call_cache(fcinfo);
	const char *src = VARDATA_ANY(value);
	int			len = VARSIZE_ANY_EXHDR(value);
	text	   *result;
	char	   *dst;
	uint8		digits_buf[64];
	uint8	   *digits = digits_buf;
	int			n = 0;
	PrivacyKey *key;

	n = privacy_token_count_digits(src, len);
	if (n < TOKEN_MIN_DIGITS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 decrypt ? errmsg("token has too few digits to detokenize") :
				 errmsg("value has too few digits to tokenize"),
				 errdetail_plural("It has %d ASCII digit; at least %d are needed so that there are at least 10^6 possible tokens.",
								  "It has %d ASCII digits; at least %d are needed so that there are at least 10^6 possible tokens.",
								  n, n, TOKEN_MIN_DIGITS)));
	if (n > FF1_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 decrypt ? errmsg("token has too many digits to detokenize") :
				 errmsg("value has too many digits to tokenize"),
				 errdetail("It has %d ASCII digits; at most %d are supported.",
						   n, FF1_MAX_LEN)));
	if (n > (int) sizeof(digits_buf))
		digits = palloc(n);
	n = privacy_token_extract_digits(src, len, digits);

	key = privacy_key_resolve(&cache->ref, key_name, KEY_PURPOSE_TOKENIZE);
	/* counted for the statement's audit row (one row per statement and key) */
	if (decrypt)
		privacy_audit_detokenize(key->key_id);
	ff1_crypt(keyed_ff1_cipher(key, KEY_USE_FF1), NULL, 0, 10, digits, n, decrypt);

	result = (text *) palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	dst = VARDATA(result);
	privacy_token_merge_digits(src, len, digits, dst);
	explicit_bzero(digits, n);
	PG_RETURN_TEXT_P(result);
}

/*
 * privacy.tokenize(value text, key_name text DEFAULT 'token') RETURNS text
 *
 * Format-preserving encryption of the value's digits.
 */
Datum
privacy_tokenize(PG_FUNCTION_ARGS)
{
	return tokenize_common(fcinfo, false);
}

/*
 * privacy.detokenize(token text, key_name text DEFAULT 'token') RETURNS text
 *
 * Inverse of tokenize; audited once per statement and key (src/audit.c).
 */
Datum
privacy_detokenize(PG_FUNCTION_ARGS)
{
	privacy_check_not_masked("detokenize");
	return tokenize_common(fcinfo, true);
}

/* ----------------------------------------------------------------------
 * Pseudonyms
 * ---------------------------------------------------------------------- */

/* Lower-case RFC 4648 base32 (no padding) of nbits leading bits of src. */
static void
base32_encode(const uint8 *src, int nbits, char *dst)
{
	int			bit;

	for (bit = 0; bit < nbits; bit += 5)
	{
		int			byte = bit / 8;
		int			shift = bit % 8;
		unsigned int window = (unsigned int) src[byte] << 8;

		if (byte + 1 < (nbits + 7) / 8)
			window |= src[byte + 1];
		*dst++ = base32_chars[(window >> (11 - shift)) & 31];
	}
}

/*
 * privacy.pseudonymize(value text, key_name text DEFAULT 'pseudonym') RETURNS text
 *
 * 'ps_' || base32(first 128 bits of HMAC-SHA-256(subkey, value)).
 */
Datum
privacy_pseudonymize(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	text	   *key_name = PG_GETARG_TEXT_PP(1);
	KeyedCallCache *cache = keyed_call_cache(fcinfo);
	PrivacyKey *key;
	uint8		digest[PRIVACY_HMAC_BYTES];
	char		out[sizeof(PSEUDONYM_PREFIX) - 1 + PSEUDONYM_CHARS];

	key = privacy_key_resolve(&cache->ref, key_name, KEY_PURPOSE_PSEUDONYMIZE);
	privacy_hmac_sha256(key, KEY_USE_PSEUDONYM, (const uint8 *) VARDATA_ANY(value),
						VARSIZE_ANY_EXHDR(value), digest);

	memcpy(out, PSEUDONYM_PREFIX, sizeof(PSEUDONYM_PREFIX) - 1);
	base32_encode(digest, PSEUDONYM_BITS, out + sizeof(PSEUDONYM_PREFIX) - 1);
	explicit_bzero(digest, sizeof(digest));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, sizeof(out)));
}
