/*
 * crypto.c — AES-256-GCM, AES-256-SIV and blind indexes over the key ring.
 *
 * Hot paths: a keyed cipher context per key (kept in the key's state slot)
 * is re-initialised with a fresh nonce only, so no call repeats a key
 * schedule or a key unwrap.  AES-SIV (RFC 5297) is built here from AES-CBC
 * (for CMAC) and AES-CTR contexts, because OpenSSL's SIV cipher cannot be
 * re-used without re-keying; privacy._siv_selftest() checks it against
 * OpenSSL's own AES-256-SIV.
 */
#include "postgres.h"
#include "compat.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "audit.h"
#include "crypto.h"
#include "keys.h"
#include "util.h"
#include "views.h"

PG_FUNCTION_INFO_V1(privacy_encrypt);
PG_FUNCTION_INFO_V1(privacy_encrypt_deterministic);
PG_FUNCTION_INFO_V1(privacy_decrypt);
PG_FUNCTION_INFO_V1(privacy_decrypt_text);
PG_FUNCTION_INFO_V1(privacy_blind_index);
PG_FUNCTION_INFO_V1(privacy_key_id_of);
PG_FUNCTION_INFO_V1(privacy_key_version_of);
PG_FUNCTION_INFO_V1(privacy_is_ciphertext_sql);
PG_FUNCTION_INFO_V1(privacy_siv_selftest);

#define GCM_NONCE_BYTES 12
#define TAG_BYTES 16
#define BLOCK 16
#define SIV_FRAME 0x01
#define SIV_PREFIX_CTX 256		/* longest context whose S2V prefix is remembered */
#define CTR_BATCH 32			/* counter blocks encrypted per call */
#define SELFTEST_MAX 1101		/* longest plaintext of _siv_selftest, + 1 */
#define MAX_PLAINTEXT (MaxAllocSize - VARHDRSZ - CT_GCM_OVERHEAD - 64)

/* Keyed AES-256-GCM contexts of one key. */
typedef struct GcmState
{
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
} GcmState;

/* Keyed AES-256-SIV state of one key: CMAC (over CBC) and CTR contexts. */
typedef struct SivState
{
	EVP_CIPHER_CTX *cbc;		/* K1, for CMAC */
	EVP_CIPHER_CTX *ecb;		/* K2, for encryption (CTR keystream) */
	uint8		cmac_k1[BLOCK];
	uint8		cmac_k2[BLOCK];
	uint8		d0[BLOCK];		/* CMAC(K1, 0^128), the S2V start value */
	uint8		chain[BLOCK];	/* the CBC context's IV: its last output block */
	bool		chain_known;	/* false: re-initialise the CBC context */
	bool		starting;		/* the next block starts a new CMAC */
	/* S2V over the last header and context (the same for a column's rows) */
	bool		prefix_valid;
	uint8		prefix_header[CT_HEADER_BYTES];
	int			prefix_ctxlen;	/* -1: no context */
	char		prefix_ctx[SIV_PREFIX_CTX];
	uint8		prefix_d[BLOCK];
} SivState;

static const uint8 zero_block[BLOCK] = {0};

/* Raise the error for a failure inside OpenSSL. */
static void
report_openssl(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("could not %s", what),
			 errdetail("OpenSSL reported an error.")));
}

/* ------------------------------------------------------------------------
 * Per-key cipher state
 * ------------------------------------------------------------------------ */

/* Free a GcmState (OpenSSL cleanses key schedules on free). */
static void
gcm_state_free(void *p)
{
	GcmState   *st = p;

	EVP_CIPHER_CTX_free(st->enc);
	EVP_CIPHER_CTX_free(st->dec);
	pfree(st);
}

/* A new keyed cipher context, or NULL. */
static EVP_CIPHER_CTX *
keyed_ctx(const EVP_CIPHER *cipher, const uint8 *key, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (c == NULL)
		return NULL;
	if (EVP_CipherInit_ex(c, cipher, NULL, key, NULL, enc) != 1)
	{
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	EVP_CIPHER_CTX_set_padding(c, 0);
	return c;
}

/* The GCM contexts of a key, created on first use. */
static GcmState *
gcm_state(PrivacyKey *key)
{
	void	  **slot = privacy_key_state(key, KEY_USE_GCM, gcm_state_free);

	if (*slot == NULL)
	{
		const uint8 *k = privacy_key_subkey(key, KEY_USE_GCM);
		GcmState   *st = MemoryContextAllocZero(TopMemoryContext, sizeof(GcmState));

		st->enc = keyed_ctx(EVP_aes_256_gcm(), k, 1);
		st->dec = keyed_ctx(EVP_aes_256_gcm(), k, 0);
		if (st->enc == NULL || st->dec == NULL)
		{
			gcm_state_free(st);
			report_openssl("set up AES-256-GCM");
		}
		*slot = st;
	}
	return *slot;
}

/* Free a SivState, wiping its CMAC subkeys. */
static void
siv_state_free(void *p)
{
	SivState   *st = p;

	EVP_CIPHER_CTX_free(st->cbc);
	EVP_CIPHER_CTX_free(st->ecb);
	explicit_bzero(st, sizeof(SivState));
	pfree(st);
}

/* Doubling in GF(2^128) (RFC 5297 "dbl"), in place. */
static void
dbl(uint8 *b)
{
	uint8		carry = b[0] >> 7;
	int			i;

	for (i = 0; i < BLOCK - 1; i++)
		b[i] = (uint8) ((b[i] << 1) | (b[i + 1] >> 7));
	b[BLOCK - 1] = (uint8) ((b[BLOCK - 1] << 1) ^ (carry ? 0x87 : 0));
}

/* XOR 16 bytes of src into dst. */
static inline void
xor_block(uint8 *dst, const uint8 *src)
{
	int			i;

	for (i = 0; i < BLOCK; i++)
		dst[i] ^= src[i];
}

/*
 * CMAC: start (CBC-MAC with a zero IV).  The CBC context is not
 * re-initialised (costly in OpenSSL 3): its IV is the last block it output,
 * and XORing that into the first block of the new message is the same as
 * starting from a zero IV.  After a failure the IV is unknown: re-initialise.
 */
static void
cmac_begin(SivState *st)
{
	if (!st->chain_known)
	{
		if (EVP_EncryptInit_ex(st->cbc, NULL, NULL, NULL, zero_block) != 1)
			report_openssl("compute AES-CMAC");
		memset(st->chain, 0, BLOCK);
		st->chain_known = true;
	}
	st->starting = true;
}

/*
 * CMAC: run CBC over n complete blocks (out: n blocks), the first one
 * re-chained when it starts the message; remember the last output block.
 */
static void
cbc_update(SivState *st, const uint8 *in, size_t n, uint8 *out)
{
	uint8		first[BLOCK];
	const uint8 *last = NULL;
	int			outl;

	if (n == 0)
		return;
	st->chain_known = false;
	if (st->starting)
	{
		memcpy(first, in, BLOCK);
		xor_block(first, st->chain);
		if (EVP_EncryptUpdate(st->cbc, out, &outl, first, BLOCK) != 1 || outl != BLOCK)
			report_openssl("compute AES-CMAC");
		st->starting = false;
		last = out;
		in += BLOCK;
		out += BLOCK;
		n--;
	}
	if (n > 0)
	{
		if (EVP_EncryptUpdate(st->cbc, out, &outl, in, (int) (n * BLOCK)) != 1 ||
			outl != (int) (n * BLOCK))
			report_openssl("compute AES-CMAC");
		last = out + (n - 1) * BLOCK;
	}
	memcpy(st->chain, last, BLOCK);
	st->chain_known = true;
}

/* CMAC: absorb nblocks complete blocks that are not the last block. */
static void
cmac_blocks(SivState *st, const uint8 *data, size_t nblocks)
{
	uint8		scratch[4096];

	while (nblocks > 0)
	{
		size_t		n = Min(nblocks, sizeof(scratch) / BLOCK);

		cbc_update(st, data, n, scratch);
		data += n * BLOCK;
		nblocks -= n;
	}
}

/* CMAC: the last block (0..16 bytes), tweaked per RFC 4493; writes the tag. */
static void
cmac_final(SivState *st, const uint8 *last, int len, uint8 *out)
{
	uint8		block[BLOCK];

	if (len == BLOCK)
	{
		memcpy(block, last, BLOCK);
		xor_block(block, st->cmac_k1);
	}
	else
	{
		memset(block, 0, BLOCK);
		if (len > 0)
			memcpy(block, last, len);
		block[len] = 0x80;
		xor_block(block, st->cmac_k2);
	}
	cbc_update(st, block, 1, out);
}

/* CMAC of a whole message. */
static void
cmac(SivState *st, const uint8 *m, size_t len, uint8 *out)
{
	size_t		tail = (len == 0) ? 0 : (len % BLOCK == 0 ? BLOCK : len % BLOCK);

	cmac_begin(st);
	cmac_blocks(st, m, (len - tail) / BLOCK);
	cmac_final(st, m + len - tail, (int) tail, out);
}

/* The SIV state of a key, created on first use. */
static SivState *
siv_state(PrivacyKey *key)
{
	void	  **slot = privacy_key_state(key, KEY_USE_SIV, siv_state_free);

	if (*slot == NULL)
	{
		const uint8 *k = privacy_key_subkey(key, KEY_USE_SIV);
		SivState   *st = MemoryContextAllocZero(TopMemoryContext, sizeof(SivState));
		int			outl;

		st->cbc = keyed_ctx(EVP_aes_256_cbc(), k, 1);
		st->ecb = keyed_ctx(EVP_aes_256_ecb(), k + 32, 1);
		if (st->cbc == NULL || st->ecb == NULL ||
			EVP_EncryptInit_ex(st->cbc, NULL, NULL, NULL, zero_block) != 1 ||
			EVP_EncryptUpdate(st->cbc, st->cmac_k1, &outl, zero_block, BLOCK) != 1)
		{
			siv_state_free(st);
			report_openssl("set up AES-256-SIV");
		}
		dbl(st->cmac_k1);		/* K1 = dbl(L) */
		memcpy(st->cmac_k2, st->cmac_k1, BLOCK);
		dbl(st->cmac_k2);		/* K2 = dbl(K1) */
		*slot = st;
		cmac(st, zero_block, BLOCK, st->d0);
	}
	return *slot;
}

/*
 * S2V (RFC 5297) over the components header, context (when present) and the
 * framed plaintext pt; writes the synthetic IV.
 */
static void
s2v(SivState *st, const uint8 *header, const CryptoContext *ctx,
	const uint8 *pt, size_t len, uint8 *v)
{
	uint8		d[BLOCK];
	uint8		mac[BLOCK];
	int			ctxlen = ctx ? ctx->len : -1;

	if (st->prefix_valid && st->prefix_ctxlen == ctxlen &&
		memcmp(st->prefix_header, header, CT_HEADER_BYTES) == 0 &&
		(ctxlen <= 0 || memcmp(st->prefix_ctx, ctx->data, ctxlen) == 0))
		memcpy(d, st->prefix_d, BLOCK);
	else
	{
		memcpy(d, st->d0, BLOCK);
		dbl(d);
		cmac(st, header, CT_HEADER_BYTES, mac);
		xor_block(d, mac);
		if (ctx)
		{
			dbl(d);
			cmac(st, (const uint8 *) ctx->data, ctx->len, mac);
			xor_block(d, mac);
		}
		/* remember this prefix: the next row of the column has the same */
		st->prefix_valid = ctxlen <= SIV_PREFIX_CTX;
		if (st->prefix_valid)
		{
			memcpy(st->prefix_header, header, CT_HEADER_BYTES);
			st->prefix_ctxlen = ctxlen;
			if (ctxlen > 0)
				memcpy(st->prefix_ctx, ctx->data, ctxlen);
			memcpy(st->prefix_d, d, BLOCK);
		}
	}
	if (len >= BLOCK)
	{
		/* T = pt xorend D: only the last 16 bytes change */
		size_t		start = (len - BLOCK) / BLOCK * BLOCK;
		size_t		tl = len - start;	/* 16..31 */
		uint8		tailbuf[2 * BLOCK];

		memcpy(tailbuf, pt + start, tl);
		xor_block(tailbuf + tl - BLOCK, d);
		cmac_begin(st);
		cmac_blocks(st, pt, start / BLOCK);
		if (tl == BLOCK)
			cmac_final(st, tailbuf, BLOCK, v);
		else
		{
			cmac_blocks(st, tailbuf, 1);
			cmac_final(st, tailbuf + BLOCK, (int) (tl - BLOCK), v);
		}
	}
	else
	{
		uint8		t[BLOCK];

		dbl(d);
		memset(t, 0, BLOCK);
		memcpy(t, pt, len);
		t[len] = 0x80;
		xor_block(t, d);
		cmac(st, t, BLOCK, v);
	}
}

/*
 * AES-CTR with the SIV-derived counter, in place allowed.  The keystream is
 * the counter blocks (a 128-bit big-endian counter, as OpenSSL's CTR mode
 * and RFC 5297 count) encrypted with the keyed ECB context, in batches: a
 * CTR context would need re-initialising (costly in OpenSSL 3) per message.
 */
static void
siv_ctr(SivState *st, const uint8 *v, const uint8 *in, size_t len, uint8 *out)
{
	uint8		q[BLOCK];
	uint8		counters[CTR_BATCH * BLOCK];
	uint8		stream[CTR_BATCH * BLOCK];

	memcpy(q, v, BLOCK);
	q[8] &= 0x7f;
	q[12] &= 0x7f;
	while (len > 0)
	{
		size_t		nblocks = Min((len + BLOCK - 1) / BLOCK, CTR_BATCH);
		size_t		n = Min(len, nblocks * BLOCK);
		size_t		i;
		int			outl;
		int			b;

		for (i = 0; i < nblocks; i++)
		{
			memcpy(counters + i * BLOCK, q, BLOCK);
			for (b = BLOCK - 1; b >= 0 && ++q[b] == 0; b--)
				;
		}
		if (EVP_EncryptUpdate(st->ecb, stream, &outl, counters, (int) (nblocks * BLOCK)) != 1 ||
			outl != (int) (nblocks * BLOCK))
			report_openssl("run AES-CTR");
		for (i = 0; i < n; i++)
			out[i] = in[i] ^ stream[i];
		in += n;
		out += n;
		len -= n;
	}
	explicit_bzero(stream, sizeof(stream));
}

/* ------------------------------------------------------------------------
 * Header and context
 * ------------------------------------------------------------------------ */

/*
 * Contexts whose check was computed (a table with several protected columns
 * alternates between their contexts on every row), replaced in turn.
 */
#define CONTEXT_MEMO 8
#define CONTEXT_MEMO_LEN 256
typedef struct ContextMemo
{
	int			len;			/* -1: unused */
	uint8		check[4];
	char		data[CONTEXT_MEMO_LEN];
} ContextMemo;

static ContextMemo context_memo[CONTEXT_MEMO] = {
	{-1}, {-1}, {-1}, {-1}, {-1}, {-1}, {-1}, {-1}
};
static int	context_memo_next = 0;

/* First 4 bytes of SHA-256(context), remembered for the last contexts seen. */
static void
context_check(const CryptoContext *ctx, uint8 *out)
{
	uint8		md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	ContextMemo *m;
	int			i;

	if (ctx == NULL)
	{
		memset(out, 0, 4);
		return;
	}
	for (i = 0; i < CONTEXT_MEMO; i++)
	{
		m = &context_memo[i];
		if (m->len == ctx->len && memcmp(ctx->data, m->data, ctx->len) == 0)
		{
			memcpy(out, m->check, 4);
			return;
		}
	}
	if (EVP_Digest(ctx->data, ctx->len, md, &mdlen, EVP_sha256(), NULL) != 1)
		report_openssl("hash the context");
	memcpy(out, md, 4);
	if (ctx->len <= CONTEXT_MEMO_LEN)
	{
		m = &context_memo[context_memo_next];
		context_memo_next = (context_memo_next + 1) % CONTEXT_MEMO;
		memcpy(m->data, ctx->data, ctx->len);
		memcpy(m->check, md, 4);
		m->len = ctx->len;
	}
}

/* Write big-endian int32. */
static inline void
put_be32(uint8 *p, int32 v)
{
	p[0] = (uint8) ((uint32) v >> 24);
	p[1] = (uint8) ((uint32) v >> 16);
	p[2] = (uint8) ((uint32) v >> 8);
	p[3] = (uint8) v;
}

/* Fill the 15-byte header. */
static void
write_header(uint8 *p, int format, PrivacyKey *key, const CryptoContext *ctx)
{
	p[0] = CT_MAGIC;
	p[1] = (uint8) format;
	p[2] = ctx ? CT_FLAG_CONTEXT : 0;
	put_be32(p + 3, key->key_id);
	put_be32(p + 7, key->version);
	context_check(ctx, p + 11);
}

/* ------------------------------------------------------------------------
 * Encrypt / decrypt
 * ------------------------------------------------------------------------ */

/* Refuse plaintexts whose ciphertext would not fit in a bytea. */
static void
check_plaintext_size(int len)
{
	if (len > (int) MAX_PLAINTEXT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value is too large to encrypt"),
				 errdetail("The value is %d bytes; at most %d bytes can be encrypted.",
						   len, (int) MAX_PLAINTEXT)));
}

/* AES-256-GCM with a fresh random nonce. */
static bytea *
gcm_encrypt(PrivacyKey *key, const char *data, int len, const CryptoContext *ctx)
{
	GcmState   *st = gcm_state(key);
	bytea	   *res = palloc(VARHDRSZ + CT_GCM_OVERHEAD + len);
	uint8	   *p = (uint8 *) VARDATA(res);
	uint8	   *nonce = p + CT_HEADER_BYTES;
	uint8	   *body = nonce + GCM_NONCE_BYTES;
	int			outl;
	int			finl;
	int			aadl;

	SET_VARSIZE(res, VARHDRSZ + CT_GCM_OVERHEAD + len);
	write_header(p, CT_FORMAT_GCM, key, ctx);
	privacy_random_bytes(nonce, GCM_NONCE_BYTES);
	outl = 0;
	if (EVP_EncryptInit_ex(st->enc, NULL, NULL, NULL, nonce) != 1 ||
		EVP_EncryptUpdate(st->enc, NULL, &aadl, p, CT_HEADER_BYTES) != 1 ||
		(ctx && ctx->len > 0 &&
		 EVP_EncryptUpdate(st->enc, NULL, &aadl, (const uint8 *) ctx->data, ctx->len) != 1) ||
		(len > 0 && EVP_EncryptUpdate(st->enc, body, &outl, (const uint8 *) data, len) != 1) ||
		EVP_EncryptFinal_ex(st->enc, body + outl, &finl) != 1 ||
		EVP_CIPHER_CTX_ctrl(st->enc, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, body + len) != 1)
		report_openssl("encrypt with AES-256-GCM");
	return res;
}

/* AES-256-SIV of 0x01 || data: equal input, equal output. */
static bytea *
siv_encrypt(PrivacyKey *key, const char *data, int len, const CryptoContext *ctx)
{
	SivState   *st = siv_state(key);
	bytea	   *res = palloc(VARHDRSZ + CT_SIV_OVERHEAD + len);
	uint8	   *p = (uint8 *) VARDATA(res);
	uint8	   *v = p + CT_HEADER_BYTES;
	uint8	   *body = v + BLOCK;

	SET_VARSIZE(res, VARHDRSZ + CT_SIV_OVERHEAD + len);
	write_header(p, CT_FORMAT_SIV, key, ctx);
	body[0] = SIV_FRAME;
	memcpy(body + 1, data, len);
	s2v(st, p, ctx, body, len + 1, v);
	siv_ctr(st, v, body, len + 1, body);
	return res;
}

/* Encrypt with the active version of the named key (remembered in ref, if given). */
bytea *
privacy_encrypt_raw(const char *data, int len, text *key_name, KeyRef *ref, bool deterministic,
					const CryptoContext *ctx)
{
	PrivacyKey *key;

	check_plaintext_size(len);
	key = privacy_key_resolve(ref, key_name,
							  deterministic ? KEY_PURPOSE_DETERMINISTIC : KEY_PURPOSE_ENCRYPT);
	return deterministic ? siv_encrypt(key, data, len, ctx) : gcm_encrypt(key, data, len, ctx);
}

/* Raise the error for a ciphertext that failed authentication. */
static void
report_tampered(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("ciphertext failed authentication"),
			 errdetail("The ciphertext was altered, truncated inside its body, or encrypted under other key material.")));
}

/*
 * Check the header of ct against the context given (privacy_ct_parse lays
 * out *parsed); return the key version it names.  Every way of being wrong
 * has its own message (README, "Errors").
 */
static PrivacyKey *
check_header(const uint8 *ct, int len, const CryptoContext *ctx, CtParsed *parsed)
{
	uint8		check[4];
	PrivacyKey *key;
	CtStatus	status = privacy_ct_parse(ct, len, parsed);

	if (status == CT_OK)
		status = privacy_ct_check_context(parsed, ctx != NULL);
	switch (status)
	{
		case CT_OK:
			break;
		case CT_EMPTY:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ciphertext is empty")));
			break;
		case CT_BAD_MAGIC:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("value is not a privacy ciphertext"),
					 errdetail("The first byte is 0x%02x, not 0x%02x.", ct[0], CT_MAGIC)));
			break;
		case CT_SHORT_HEADER:
			ereport(ERROR,
					(errcode(ERRCODE_STRING_DATA_LENGTH_MISMATCH),
					 errmsg("ciphertext is truncated"),
					 errdetail("It is %d bytes long; the header alone is %d bytes.", len, CT_HEADER_BYTES)));
			break;
		case CT_BAD_FORMAT:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unsupported ciphertext format %d (flags 0x%02x)", ct[1], ct[2]),
					 errdetail("This version of privacy reads formats 1 (AES-256-GCM) and 2 (AES-256-SIV).")));
			break;
		case CT_SHORT_BODY:
			ereport(ERROR,
					(errcode(ERRCODE_STRING_DATA_LENGTH_MISMATCH),
					 errmsg("ciphertext is truncated"),
					 errdetail("It is %d bytes long; format %d needs at least %d bytes.", len, ct[1],
							   privacy_ct_overhead(ct[1]))));
			break;
		case CT_CONTEXT_MISSING:
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("ciphertext is bound to a context, but no context was given"),
					 errhint("Pass the context the value was encrypted with.")));
			break;
		case CT_CONTEXT_UNEXPECTED:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ciphertext is not bound to a context, but a context was given"),
					 errhint("Decrypt it with a NULL context.")));
			break;
	}
	context_check(ctx, check);
	if (memcmp(check, parsed->context_check, 4) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("context does not match the ciphertext"),
				 errdetail("The value was encrypted for another context (another column or purpose).")));
	key = privacy_key_version(parsed->key_id, parsed->key_version);
	if (key->purpose != (parsed->format == CT_FORMAT_GCM ? KEY_PURPOSE_ENCRYPT : KEY_PURPOSE_DETERMINISTIC))
		report_tampered();
	return key;
}

/* Decrypt any ciphertext of ours into a new bytea. */
bytea *
privacy_decrypt_raw(const uint8 *ct, int len, const CryptoContext *ctx)
{
	CtParsed	parsed;
	PrivacyKey *key = check_header(ct, len, ctx, &parsed);
	bytea	   *res;
	uint8	   *out;

	if (parsed.format == CT_FORMAT_GCM)
	{
		GcmState   *st = gcm_state(key);
		const uint8 *nonce = parsed.iv;
		const uint8 *body = parsed.body;
		int			n = parsed.body_len;
		int			outl = 0;
		int			finl;
		int			aadl;

		res = palloc(VARHDRSZ + n);
		SET_VARSIZE(res, VARHDRSZ + n);
		out = (uint8 *) VARDATA(res);
		if (EVP_DecryptInit_ex(st->dec, NULL, NULL, NULL, nonce) != 1 ||
			EVP_DecryptUpdate(st->dec, NULL, &aadl, ct, CT_HEADER_BYTES) != 1 ||
			(ctx && ctx->len > 0 &&
			 EVP_DecryptUpdate(st->dec, NULL, &aadl, (const uint8 *) ctx->data, ctx->len) != 1) ||
			(n > 0 && EVP_DecryptUpdate(st->dec, out, &outl, body, n) != 1) ||
			EVP_CIPHER_CTX_ctrl(st->dec, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, (void *) parsed.tag) != 1)
			report_openssl("decrypt with AES-256-GCM");
		if (EVP_DecryptFinal_ex(st->dec, out + outl, &finl) != 1)
		{
			explicit_bzero(out, n);
			report_tampered();
		}
		return res;
	}
	else
	{
		SivState   *st = siv_state(key);
		const uint8 *v = parsed.iv;
		int			n = parsed.body_len;	/* framed length */
		uint8		check[BLOCK];

		res = palloc(VARHDRSZ + n);
		out = (uint8 *) VARDATA(res);
		siv_ctr(st, v, parsed.body, n, out);
		s2v(st, ct, ctx, out, n, check);
		if (CRYPTO_memcmp(check, v, BLOCK) != 0 || out[0] != SIV_FRAME)
		{
			explicit_bzero(out, n);
			report_tampered();
		}
		/* drop the frame byte */
		memmove(out, out + 1, n - 1);
		SET_VARSIZE(res, VARHDRSZ + n - 1);
		return res;
	}
}

/* ------------------------------------------------------------------------
 * Stored text form
 * ------------------------------------------------------------------------ */

/* "$pv1$" + base64 of a binary ciphertext. */
text *
privacy_ciphertext_to_text(bytea *ct)
{
	int			len = VARSIZE_ANY_EXHDR(ct);
	int			enclen = privacy_b64_enc_len(len);
	text	   *res = palloc(VARHDRSZ + CT_TEXT_PREFIX_LEN + enclen);

	memcpy(VARDATA(res), CT_TEXT_PREFIX, CT_TEXT_PREFIX_LEN);
	privacy_b64_encode((uint8 *) VARDATA_ANY(ct), len, VARDATA(res) + CT_TEXT_PREFIX_LEN);
	SET_VARSIZE(res, VARHDRSZ + CT_TEXT_PREFIX_LEN + enclen);
	return res;
}

/* Binary ciphertext of a stored text value, or NULL if it is not one. */
bytea *
privacy_text_to_ciphertext(const char *s, int len)
{
	bytea	   *res;
	int			max = privacy_ct_text_max_bytes(s, len);
	int			n;

	if (max < 0)
		return NULL;
	res = palloc(VARHDRSZ + max);
	n = privacy_ct_text_decode(s, len, (uint8 *) VARDATA(res));
	if (n < 0)
	{
		pfree(res);
		return NULL;
	}
	SET_VARSIZE(res, VARHDRSZ + n);
	return res;
}

/* ------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------ */

/* Optional context argument. */
static CryptoContext *
get_context(FunctionCallInfo fcinfo, int argno, CryptoContext *buf)
{
	text	   *t;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	t = PG_GETARG_TEXT_PP(argno);
	buf->data = VARDATA_ANY(t);
	buf->len = VARSIZE_ANY_EXHDR(t);
	return buf;
}

/* Key name argument (must not be NULL). */
static text *
get_key_name(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("key name must not be null")));
	return PG_GETARG_TEXT_PP(argno);
}

/* The KeyRef kept in fn_extra for this call site. */
static KeyRef *
fn_keyref(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(KeyRef));
	return (KeyRef *) fcinfo->flinfo->fn_extra;
}

/* Shared body of encrypt and encrypt_deterministic. */
static Datum
encrypt_common(FunctionCallInfo fcinfo, bool deterministic)
{
	struct varlena *data;
	CryptoContext cbuf;
	CryptoContext *ctx;
	PrivacyKey *key;
	int			len;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	data = PG_GETARG_VARLENA_PP(0);
	len = VARSIZE_ANY_EXHDR(data);
	ctx = get_context(fcinfo, 2, &cbuf);
	check_plaintext_size(len);
	key = privacy_key_resolve(fn_keyref(fcinfo), get_key_name(fcinfo, 1),
							  deterministic ? KEY_PURPOSE_DETERMINISTIC : KEY_PURPOSE_ENCRYPT);
	if (deterministic)
		PG_RETURN_BYTEA_P(siv_encrypt(key, VARDATA_ANY(data), len, ctx));
	PG_RETURN_BYTEA_P(gcm_encrypt(key, VARDATA_ANY(data), len, ctx));
}

/* privacy.encrypt(data, key_name, context): AES-256-GCM, random nonce. */
Datum
privacy_encrypt(PG_FUNCTION_ARGS)
{
	return encrypt_common(fcinfo, false);
}

/* privacy.encrypt_deterministic(data, key_name, context): AES-256-SIV. */
Datum
privacy_encrypt_deterministic(PG_FUNCTION_ARGS)
{
	return encrypt_common(fcinfo, true);
}

/* Count a decryption for the statement's audit row (key id 0 if unreadable). */
static void
audit_ciphertext(bytea *ct)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(ct);

	privacy_audit_decrypt(VARSIZE_ANY_EXHDR(ct) >= CT_HEADER_BYTES ? privacy_ct_key_id(p) : 0);
}

/* privacy.decrypt(ciphertext, context) -> bytea */
Datum
privacy_decrypt(PG_FUNCTION_ARGS)
{
	bytea	   *ct;
	CryptoContext cbuf;

	privacy_check_not_masked("decrypt");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ct = PG_GETARG_BYTEA_PP(0);
	audit_ciphertext(ct);
	PG_RETURN_BYTEA_P(privacy_decrypt_raw((uint8 *) VARDATA_ANY(ct), VARSIZE_ANY_EXHDR(ct),
										  get_context(fcinfo, 1, &cbuf)));
}

/* privacy.decrypt_text(ciphertext, context) -> text, checked for the database encoding */
Datum
privacy_decrypt_text(PG_FUNCTION_ARGS)
{
	bytea	   *ct;
	bytea	   *pt;
	CryptoContext cbuf;

	privacy_check_not_masked("decrypt_text");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ct = PG_GETARG_BYTEA_PP(0);
	audit_ciphertext(ct);
	pt = privacy_decrypt_raw((uint8 *) VARDATA_ANY(ct), VARSIZE_ANY_EXHDR(ct),
							 get_context(fcinfo, 1, &cbuf));
	if (!pg_verifymbstr(VARDATA(pt), VARSIZE(pt) - VARHDRSZ, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("decrypted value is not valid text in encoding \"%s\"",
						GetDatabaseEncodingName()),
				 errhint("Use privacy.decrypt() for binary values.")));
	PG_RETURN_TEXT_P((text *) pt);
}

/* Free a keyed HMAC context. */
static void
mac_state_free(void *p)
{
	EVP_MAC_CTX_free((EVP_MAC_CTX *) p);
}

/*
 * HMAC-SHA-256 of data under one subkey of key.  The keyed context is built
 * once and kept in the key's state slot; EVP_MAC_init with no key re-uses
 * its precomputed pads.
 */
void
privacy_hmac_sha256(PrivacyKey *key, int use, const uint8 *data, size_t len, uint8 *out)
{
	void	  **slot = privacy_key_state(key, (KeyUse) use, mac_state_free);
	EVP_MAC_CTX *mac;
	size_t		outlen;

	if (*slot == NULL)
	{
		EVP_MAC    *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM	params[2];

		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
		EVP_MAC_free(hmac);
		if (mac == NULL ||
			EVP_MAC_init(mac, privacy_key_subkey(key, (KeyUse) use),
						 privacy_subkey_len((KeyUse) use), params) != 1)
		{
			EVP_MAC_CTX_free(mac);
			report_openssl("set up HMAC-SHA-256");
		}
		*slot = mac;
	}
	mac = *slot;
	if (EVP_MAC_init(mac, NULL, 0, NULL) != 1 ||
		EVP_MAC_update(mac, data, len) != 1 ||
		EVP_MAC_final(mac, out, &outlen, PRIVACY_HMAC_BYTES) != 1 ||
		outlen != PRIVACY_HMAC_BYTES)
		report_openssl("compute HMAC-SHA-256");
}

/* privacy.blind_index(data, key_name, bits): truncated HMAC-SHA-256. */
Datum
privacy_blind_index(PG_FUNCTION_ARGS)
{
	text	   *data = PG_GETARG_TEXT_PP(0);
	int32		bits = PG_GETARG_INT32(2);
	PrivacyKey *key;
	uint8		md[PRIVACY_HMAC_BYTES];
	bytea	   *res;

	if (bits < 8 || bits > 256 || bits % 8 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("blind index size must be a multiple of 8 between 8 and 256 bits, not %d", bits)));
	key = privacy_key_resolve(fn_keyref(fcinfo), PG_GETARG_TEXT_PP(1), KEY_PURPOSE_PSEUDONYMIZE);
	privacy_hmac_sha256(key, KEY_USE_BLIND_INDEX, (uint8 *) VARDATA_ANY(data),
						VARSIZE_ANY_EXHDR(data), md);
	res = palloc(VARHDRSZ + bits / 8);
	SET_VARSIZE(res, VARHDRSZ + bits / 8);
	memcpy(VARDATA(res), md, bits / 8);
	PG_RETURN_BYTEA_P(res);
}

/* Binary ciphertext from a bytea or a stored "$pv1$" text argument. */
static bool
arg_ciphertext(FunctionCallInfo fcinfo, const uint8 **ct, int *len)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 0);

	if (argtype == BYTEAOID)
	{
		*ct = (uint8 *) VARDATA_ANY(v);
		*len = VARSIZE_ANY_EXHDR(v);
	}
	else
	{
		bytea	   *b = privacy_text_to_ciphertext(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));

		if (b == NULL)
			return false;
		*ct = (uint8 *) VARDATA(b);
		*len = VARSIZE(b) - VARHDRSZ;
	}
	return privacy_is_ciphertext(*ct, *len);
}

/* privacy.key_id(ciphertext): id of the key in the header, NULL if not a ciphertext. */
Datum
privacy_key_id_of(PG_FUNCTION_ARGS)
{
	const uint8 *ct;
	int			len;

	if (!arg_ciphertext(fcinfo, &ct, &len))
		PG_RETURN_NULL();
	PG_RETURN_INT32(privacy_ct_key_id(ct));
}

/* privacy.key_version(ciphertext): key version in the header, NULL if not a ciphertext. */
Datum
privacy_key_version_of(PG_FUNCTION_ARGS)
{
	const uint8 *ct;
	int			len;

	if (!arg_ciphertext(fcinfo, &ct, &len))
		PG_RETURN_NULL();
	PG_RETURN_INT32(privacy_ct_key_version(ct));
}

/* privacy.is_ciphertext(value): does the value have our ciphertext format? */
Datum
privacy_is_ciphertext_sql(PG_FUNCTION_ARGS)
{
	const uint8 *ct;
	int			len;

	PG_RETURN_BOOL(arg_ciphertext(fcinfo, &ct, &len));
}

/*
 * privacy._siv_selftest(iterations): compare this AES-256-SIV with OpenSSL's
 * own for random keys, associated data and plaintexts of 1..80 bytes (every
 * tenth case up to 1100 bytes: several batches of the CTR keystream).
 * Returns the number of cases that matched (all of them, or an error).
 */
Datum
privacy_siv_selftest(PG_FUNCTION_ARGS)
{
	int32		iterations = PG_GETARG_INT32(0);
	EVP_CIPHER *siv;
	int32		i;

	if (iterations < 1 || iterations > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("iterations must be between 1 and 1000000")));
	siv = EVP_CIPHER_fetch(NULL, "AES-256-SIV", NULL);
	if (siv == NULL)
		report_openssl("fetch AES-256-SIV");
	for (i = 0; i < iterations; i++)
	{
		PrivacyKey	fake;
		SivState   *st;
		uint8		key[64];
		uint8		hdr[CT_HEADER_BYTES];
		uint8		pt[SELFTEST_MAX];
		uint8		ours[BLOCK + SELFTEST_MAX];
		uint8		again[BLOCK + SELFTEST_MAX];
		uint8		theirs[SELFTEST_MAX];
		uint8		tag[BLOCK];
		char		ctxbuf[40];
		CryptoContext ctx = {ctxbuf, i % 40};
		int			len = (i % 10 == 9) ? 1 + (i * 131) % (SELFTEST_MAX - 1) : 1 + i % 80;
		int			outl;
		EVP_CIPHER_CTX *c;

		if (InterruptPending)
		{
			EVP_CIPHER_free(siv);
			CHECK_FOR_INTERRUPTS();
			siv = EVP_CIPHER_fetch(NULL, "AES-256-SIV", NULL);
			if (siv == NULL)
				report_openssl("fetch AES-256-SIV");
		}
		c = EVP_CIPHER_CTX_new();
		privacy_random_bytes(key, sizeof(key));
		privacy_random_bytes(hdr, sizeof(hdr));
		privacy_random_bytes(pt, sizeof(pt));
		privacy_random_bytes((uint8 *) ctxbuf, sizeof(ctxbuf));
		memset(&fake, 0, sizeof(fake));
		memcpy(fake.subkey[KEY_USE_SIV], key, 64);
		fake.has_subkey[KEY_USE_SIV] = true;
		st = siv_state(&fake);
		s2v(st, hdr, (i % 2) ? &ctx : NULL, pt, len, ours);
		siv_ctr(st, ours, pt, len, ours + BLOCK);
		/* a used state (its contexts carry over) gives the same answer */
		s2v(st, hdr, (i % 2) ? &ctx : NULL, pt, len, again);
		siv_ctr(st, again, pt, len, again + BLOCK);
		siv_state_free(st);

		if (c == NULL ||
			EVP_EncryptInit_ex(c, siv, NULL, key, NULL) != 1 ||
			EVP_EncryptUpdate(c, NULL, &outl, hdr, CT_HEADER_BYTES) != 1 ||
			((i % 2) && EVP_EncryptUpdate(c, NULL, &outl, (uint8 *) ctxbuf, ctx.len) != 1) ||
			EVP_EncryptUpdate(c, theirs, &outl, pt, len) != 1 ||
			EVP_EncryptFinal_ex(c, theirs + outl, &outl) != 1 ||
			EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, BLOCK, tag) != 1)
		{
			EVP_CIPHER_CTX_free(c);
			EVP_CIPHER_free(siv);
			report_openssl("run OpenSSL AES-256-SIV");
		}
		EVP_CIPHER_CTX_free(c);
		if (memcmp(ours, tag, BLOCK) != 0 || memcmp(ours + BLOCK, theirs, len) != 0 ||
			memcmp(ours, again, BLOCK + len) != 0)
		{
			EVP_CIPHER_free(siv);
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("AES-256-SIV self-test failed at case %d (plaintext length %d)", i, len)));
		}
	}
	EVP_CIPHER_free(siv);
	PG_RETURN_INT32(iterations);
}

/* Module initialisation: nothing to set up before first use. */
void
CryptoInit(void)
{
}
