/*
 * keys.c — master key, data-key ring and the per-backend key cache.
 *
 * Master key.  Read from privacy.master_key_command (stdout: 64 hex
 * characters) or else privacy.master_key_file (relative paths are in the data
 * directory; created with mode 0600 holding a random key on first need).
 * Loaded once in the postmaster when the library is preloaded and inherited
 * by every backend; otherwise loaded by each backend on first need.  Only two
 * values derived from it are kept in memory: its 8-byte id and the key that
 * wraps data keys.
 *
 * Data keys.  privacy.keys holds one row per (key, version): a random 256-bit
 * root key wrapped with AES-256-GCM under the master key.  Rows are read and
 * written through SPI as the extension owner, so ordinary roles never see
 * the table.  Changing the master key rewraps data keys only
 * (privacy.rewrap_keys with privacy.new_master_key_command or _file set).
 *
 * Cache.  Unwrapped keys and their derived subkeys stay in a backend-local
 * cache.  Any change to privacy.keys fires a statement trigger that queues a
 * relcache invalidation for the table; every backend's callback marks the
 * cache stale and the next lookup wipes it (explicit_bzero) and reloads.
 */
#include "postgres.h"
#include "compat.h"

#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "tcop/pquery.h"

#include "audit.h"
#include "citus.h"
#include "keys.h"
#include "util.h"

PG_FUNCTION_INFO_V1(privacy_create_key);
PG_FUNCTION_INFO_V1(privacy_rotate_key);
PG_FUNCTION_INFO_V1(privacy_destroy_key);
PG_FUNCTION_INFO_V1(privacy_rewrap_keys);
PG_FUNCTION_INFO_V1(privacy_keys_changed);
PG_FUNCTION_INFO_V1(privacy_master_key_id);
PG_FUNCTION_INFO_V1(privacy_new_master_key_id);

#define MASTER_ID_BYTES 8
#define WRAP_NONCE_BYTES 12
#define WRAP_TAG_BYTES 16
#define WRAPPED_BYTES (1 + WRAP_NONCE_BYTES + PRIVACY_KEY_BYTES + WRAP_TAG_BYTES)
#define WRAP_FORMAT 1

/* GUCs */
static char *master_key_command = NULL;
static char *master_key_file = NULL;
static char *new_master_key_command = NULL;
static char *new_master_key_file = NULL;
static bool allow_drop_with_keys = false;

/* What is kept of a master key: its id and the data-key wrapping key. */
typedef struct MasterKey
{
	bool		loaded;
	uint8		id[MASTER_ID_BYTES];
	uint8		wrap[PRIVACY_KEY_BYTES];
	char		source[MAXPGPATH];	/* which setting it came from, for messages */
} MasterKey;

static MasterKey master = {false};
static MasterKey new_master = {false};

/* Subkey labels (HKDF info) and lengths, one per algorithm. */
static const char *const use_label[KEY_USE_COUNT] = {
	"privacy/v1/aes-256-gcm",
	"privacy/v1/aes-256-siv",
	"privacy/v1/blind-index-hmac-sha256",
	"privacy/v1/pseudonym-hmac-sha256",
	"privacy/v1/ff1-aes-256",
	"privacy/v1/fake-siphash-2-4",
	"privacy/v1/fake-ff1-aes-256",
};
static const int use_len[KEY_USE_COUNT] = {32, 64, 32, 32, 32, 16, 32};

static const char *const purpose_names[] = {
	"encrypt", "deterministic", "pseudonymize", "tokenize"
};

/* One named key with all its versions. */
typedef struct KeyCacheEntry
{
	int32		key_id;			/* hash key */
	char		name[NAMEDATALEN];
	KeyPurpose	purpose;
	bool		destroyed;
	int32		active_version; /* 0: none */
	int32		nversions;
	PrivacyKey **versions;		/* [version - 1]; NULL when destroyed */
} KeyCacheEntry;

typedef struct KeyNameEntry
{
	char		name[NAMEDATALEN];	/* hash key */
	int32		key_id;
} KeyNameEntry;

static MemoryContext key_cxt = NULL;
static HTAB *keys_by_id = NULL;
static HTAB *keys_by_name = NULL;
static bool cache_stale = false;
static uint64 cache_generation = 1;
static Oid	keys_relid = InvalidOid;

/* random bytes for nonces, buffered per process */
static uint8 rand_buf[4096];
static size_t rand_pos = sizeof(rand_buf);
static pid_t rand_pid = 0;

static void keys_relcache_callback(Datum arg, Oid relid);

/* ------------------------------------------------------------------------
 * Primitives
 * ------------------------------------------------------------------------ */

/* Name of a purpose. */
const char *
privacy_purpose_name(KeyPurpose purpose)
{
	return purpose_names[purpose];
}

/* Purpose from its name; errors on anything else. */
KeyPurpose
privacy_purpose_from_name(const char *name)
{
	int			i;

	for (i = 0; i < lengthof(purpose_names); i++)
		if (strcmp(name, purpose_names[i]) == 0)
			return (KeyPurpose) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid key purpose \"%s\"", name),
			 errhint("Valid purposes are \"encrypt\", \"deterministic\", \"pseudonymize\" and \"tokenize\".")));
	return KEY_PURPOSE_ENCRYPT;		/* keep compiler quiet */
}

/* Length in bytes of the subkey for one use. */
int
privacy_subkey_len(KeyUse use)
{
	return use_len[use];
}

/* HKDF-SHA-256 expand-and-extract with an empty salt. */
void
privacy_hkdf(const uint8 *ikm, size_t ikmlen, const char *info,
			 uint8 *out, size_t outlen)
{
	EVP_KDF    *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx;
	OSSL_PARAM	params[4];
	bool		ok;

	if (kdf == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not fetch HKDF from OpenSSL")));
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *) ikm, ikmlen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *) info, strlen(info));
	params[3] = OSSL_PARAM_construct_end();
	ok = (kctx != NULL && EVP_KDF_derive(kctx, out, outlen, params) == 1);
	EVP_KDF_CTX_free(kctx);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not derive a subkey with HKDF")));
}

/* Random bytes for nonces and other public values, buffered per process. */
void
privacy_random_bytes(uint8 *buf, size_t len)
{
	if (len > sizeof(rand_buf))
	{
		if (RAND_bytes(buf, (int) len) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("could not generate random bytes")));
		return;
	}
	if (rand_pid != MyProcPid || rand_pos + len > sizeof(rand_buf))
	{
		if (RAND_bytes(rand_buf, sizeof(rand_buf)) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("could not generate random bytes")));
		rand_pos = 0;
		rand_pid = MyProcPid;
	}
	memcpy(buf, rand_buf + rand_pos, len);
	rand_pos += len;
}

/* Secret random bytes (key material): OpenSSL's private DRBG, unbuffered. */
static void
secret_random_bytes(uint8 *buf, size_t len)
{
	if (RAND_priv_bytes(buf, (int) len) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not generate random key material")));
}

/* ------------------------------------------------------------------------
 * Master key
 * ------------------------------------------------------------------------ */

/* Parse exactly 64 hex characters (surrounding whitespace allowed). */
static bool
parse_hex_key(const char *s, uint8 *out)
{
	int			n = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	for (; n < PRIVACY_KEY_BYTES * 2; n++, s++)
	{
		int			v;

		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return false;
		if (n % 2 == 0)
			out[n / 2] = v << 4;
		else
			out[n / 2] |= v;
	}
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return *s == '\0';
}

/* Run the master-key command and read its stdout; NULL or an error text. */
static char *
read_key_command(const char *command, char *buf, size_t buflen)
{
	FILE	   *fh;
	size_t		n;
	int			rc;

	fflush(NULL);
	fh = popen(command, "r");
	if (fh == NULL)
		return psprintf("could not run master key command \"%s\": %m", command);
	n = fread(buf, 1, buflen - 1, fh);
	buf[n] = '\0';
	rc = pclose(fh);
	if (rc != 0)
	{
		explicit_bzero(buf, buflen);
		return psprintf("master key command \"%s\" failed: %s", command,
						wait_result_to_str(rc));
	}
	return NULL;
}

/* Create a new master-key file (mode 0600) holding a random key. */
static char *
create_key_file(const char *path)
{
	uint8		key[PRIVACY_KEY_BYTES];
	char		hex[PRIVACY_KEY_BYTES * 2 + 2];
	int			fd;
	int			i;
	bool		ok;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0)
		return errno == EEXIST ? NULL : psprintf("could not create master key file \"%s\": %m", path);
	if (RAND_priv_bytes(key, sizeof(key)) != 1)
	{
		close(fd);
		unlink(path);
		return psprintf("could not generate a master key for \"%s\"", path);
	}
	for (i = 0; i < PRIVACY_KEY_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[PRIVACY_KEY_BYTES * 2] = '\n';
	hex[PRIVACY_KEY_BYTES * 2 + 1] = '\0';
	ok = (write(fd, hex, PRIVACY_KEY_BYTES * 2 + 1) == PRIVACY_KEY_BYTES * 2 + 1 &&
		  pg_fsync(fd) == 0);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(hex, sizeof(hex));
	close(fd);
	if (!ok)
	{
		unlink(path);
		return psprintf("could not write master key file \"%s\": %m", path);
	}
	ereport(LOG,
			(errmsg("created master key file \"%s\"", path),
			 errdetail("This file is meant for development; production should set privacy.master_key_command.")));
	return NULL;
}

/*
 * Marker of a set-up master key, in the data directory: written the first
 * time a master key loads from a file.  While it exists, a missing key file is
 * an error, never replaced by a new random key (keys wrapped meanwhile would
 * be lost when the real file came back).  NULL without a data directory.
 */
static char *
setup_marker_path(void)
{
	return DataDir ? psprintf("%s/privacy_master_key.setup", DataDir) : NULL;
}

/* Write the setup marker if it is missing (best effort: a LOG line on failure). */
static void
write_setup_marker(const MasterKey *mk)
{
	char	   *path = setup_marker_path();
	char		line[128];
	int			fd;
	int			len;
	int			i;

	if (path == NULL)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		if (errno != EEXIST)
			ereport(LOG, (errmsg("could not create \"%s\": %m", path)));
		return;
	}
	len = snprintf(line, sizeof(line), "privacy master key set up; master key id ");
	for (i = 0; i < MASTER_ID_BYTES; i++)
		len += snprintf(line + len, sizeof(line) - len, "%02x", mk->id[i]);
	len += snprintf(line + len, sizeof(line) - len, "\n");
	if (write(fd, line, len) != len || pg_fsync(fd) != 0)
		ereport(LOG, (errmsg("could not write \"%s\": %m", path)));
	close(fd);
}

/* Read a master-key file into buf; NULL or an error text. */
static char *
read_key_file(const char *path, bool create, char *buf, size_t buflen)
{
	int			fd;
	struct stat st;
	ssize_t		n;

	if (create)
	{
		char	   *marker = setup_marker_path();
		char	   *err;

		if (marker && access(path, F_OK) != 0 && errno == ENOENT && access(marker, F_OK) == 0)
			return psprintf("master key file \"%s\" is missing, and this cluster's master key was set up before "
							"(\"%s\" exists): no new master key is generated; restore the file", path, marker);
		err = create_key_file(path);

		if (err)
			return err;
	}
	fd = open(path, O_RDONLY | PG_BINARY, 0);
	if (fd < 0)
		return psprintf("could not open master key file \"%s\": %m", path);
	if (fstat(fd, &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		close(fd);
		return psprintf("master key file \"%s\" has group or world access; it must be mode 0600 or less", path);
	}
	n = read(fd, buf, buflen - 1);
	close(fd);
	if (n < 0)
		return psprintf("could not read master key file \"%s\": %m", path);
	buf[n] = '\0';
	return NULL;
}

/* Absolute path of a key file setting (relative: in the data directory). */
static char *
key_file_path(const char *setting)
{
	if (is_absolute_path(setting) || DataDir == NULL)
		return pstrdup(setting);
	return psprintf("%s/%s", DataDir, setting);
}

/*
 * Load a master key from a command or a file into *mk.  Returns NULL on
 * success or a message; never throws, so it can run in the postmaster.
 */
static char *
load_master_key(const char *command, const char *file, bool create, MasterKey *mk)
{
	char		buf[512];
	uint8		raw[PRIVACY_KEY_BYTES];
	char	   *err;
	char	   *source;

	if (command && command[0] != '\0')
	{
		err = read_key_command(command, buf, sizeof(buf));
		source = psprintf("command \"%s\"", command);
	}
	else if (file && file[0] != '\0')
	{
		char	   *path = key_file_path(file);

		err = read_key_file(path, create, buf, sizeof(buf));
		source = psprintf("file \"%s\"", path);
	}
	else
		return pstrdup("no master key is configured");
	if (err)
		return err;
	if (!parse_hex_key(buf, raw))
	{
		explicit_bzero(buf, sizeof(buf));
		explicit_bzero(raw, sizeof(raw));
		return psprintf("master key from %s is not 64 hexadecimal characters", source);
	}
	explicit_bzero(buf, sizeof(buf));

	PG_TRY();
	{
		uint8		idbuf[32];

		privacy_hkdf(raw, sizeof(raw), "privacy/v1/master-key-id", idbuf, sizeof(idbuf));
		memcpy(mk->id, idbuf, MASTER_ID_BYTES);
		privacy_hkdf(raw, sizeof(raw), "privacy/v1/key-wrap", mk->wrap, sizeof(mk->wrap));
	}
	PG_FINALLY();
	{
		explicit_bzero(raw, sizeof(raw));
	}
	PG_END_TRY();
	strlcpy(mk->source, source, sizeof(mk->source));
	mk->loaded = true;
	if (create && !(command && command[0] != '\0'))
		write_setup_marker(mk);
	return NULL;
}

/* The master key, loaded on first need in this backend; errors if unavailable. */
static MasterKey *
get_master_key(void)
{
	if (!master.loaded)
	{
		char	   *err = load_master_key(master_key_command, master_key_file, true, &master);

		if (err)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("could not load the master key"),
					 errdetail("%s", err),
					 errhint("Check privacy.master_key_command and privacy.master_key_file.")));
	}
	return &master;
}

/* The next master key (for rewrapping), or NULL when none is configured. */
static MasterKey *
get_new_master_key(bool required)
{
	static char loaded_from[2 * MAXPGPATH];
	char		setting[2 * MAXPGPATH];
	char	   *err;

	snprintf(setting, sizeof(setting), "%s\n%s",
			 new_master_key_command ? new_master_key_command : "",
			 new_master_key_file ? new_master_key_file : "");
	if (strcmp(setting, "\n") == 0)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no new master key is configured"),
					 errhint("Set privacy.new_master_key_command or privacy.new_master_key_file, then reload.")));
		return NULL;
	}
	if (new_master.loaded && strcmp(setting, loaded_from) == 0)
		return &new_master;
	new_master.loaded = false;
	err = load_master_key(new_master_key_command, new_master_key_file, false, &new_master);
	if (err)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not load the new master key"),
				 errdetail("%s", err)));
	strlcpy(loaded_from, setting, sizeof(loaded_from));
	return &new_master;
}

/* Hex text of a master-key id, for messages. */
static char *
master_id_hex(const uint8 *id)
{
	char	   *s = palloc(MASTER_ID_BYTES * 2 + 1);
	int			i;

	for (i = 0; i < MASTER_ID_BYTES; i++)
		snprintf(s + 2 * i, 3, "%02x", id[i]);
	return s;
}

/* ------------------------------------------------------------------------
 * Wrapping
 * ------------------------------------------------------------------------ */

/* Associated data binding a wrapped key to its row. */
static int
wrap_aad(uint8 *aad, int32 key_id, int32 version, KeyPurpose purpose, const uint8 *mkid)
{
	static const char label[] = "privacy/v1/wrap";
	int			n = sizeof(label) - 1;

	memcpy(aad, label, n);
	aad[n++] = (uint8) (key_id >> 24);
	aad[n++] = (uint8) (key_id >> 16);
	aad[n++] = (uint8) (key_id >> 8);
	aad[n++] = (uint8) key_id;
	aad[n++] = (uint8) (version >> 24);
	aad[n++] = (uint8) (version >> 16);
	aad[n++] = (uint8) (version >> 8);
	aad[n++] = (uint8) version;
	aad[n++] = (uint8) purpose;
	memcpy(aad + n, mkid, MASTER_ID_BYTES);
	return n + MASTER_ID_BYTES;
}

/* AES-256-GCM one-shot for wrapping (rare: no context caching). */
static bool
wrap_gcm(bool enc, const uint8 *key, const uint8 *nonce, const uint8 *aad, int aadlen,
		 const uint8 *in, int inlen, uint8 *out, uint8 *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int			len;
	bool		ok;

	ok = ctx != NULL &&
		EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc ? 1 : 0) == 1 &&
		EVP_CipherUpdate(ctx, NULL, &len, aad, aadlen) == 1 &&
		EVP_CipherUpdate(ctx, out, &len, in, inlen) == 1 &&
		(enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, WRAP_TAG_BYTES, tag) == 1) &&
		EVP_CipherFinal_ex(ctx, out + len, &len) == 1 &&
		(!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, WRAP_TAG_BYTES, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* Wrap a root key under mk; returns a bytea. */
static bytea *
wrap_key(const uint8 *root, int32 key_id, int32 version, KeyPurpose purpose, MasterKey *mk)
{
	bytea	   *res = palloc(VARHDRSZ + WRAPPED_BYTES);
	uint8	   *p = (uint8 *) VARDATA(res);
	uint8		aad[64];
	int			aadlen = wrap_aad(aad, key_id, version, purpose, mk->id);

	SET_VARSIZE(res, VARHDRSZ + WRAPPED_BYTES);
	p[0] = WRAP_FORMAT;
	privacy_random_bytes(p + 1, WRAP_NONCE_BYTES);
	if (!wrap_gcm(true, mk->wrap, p + 1, aad, aadlen, root, PRIVACY_KEY_BYTES,
				  p + 1 + WRAP_NONCE_BYTES, p + 1 + WRAP_NONCE_BYTES + PRIVACY_KEY_BYTES))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not wrap data key")));
	return res;
}

/* The loaded master key with this id, or an error naming both ids. */
static MasterKey *
master_for_id(const char *name, int32 version, const uint8 *mkid)
{
	MasterKey  *mk = get_master_key();
	MasterKey  *nk;

	if (memcmp(mk->id, mkid, MASTER_ID_BYTES) == 0)
		return mk;
	nk = get_new_master_key(false);
	if (nk && memcmp(nk->id, mkid, MASTER_ID_BYTES) == 0)
		return nk;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("key \"%s\" version %d is wrapped under another master key", name, version),
			 errdetail("The key was wrapped under master key %s; the master key loaded from %s has id %s.",
					   master_id_hex(mkid), mk->source, master_id_hex(mk->id)),
			 errhint("Configure the master key this database was set up with.")));
	return NULL;
}

/* Unwrap a stored key into root; errors on any mismatch. */
static void
unwrap_key(const char *name, int32 key_id, int32 version, KeyPurpose purpose,
		   bytea *wrapped, bytea *mkid, uint8 *root)
{
	uint8	   *p = (uint8 *) VARDATA_ANY(wrapped);
	uint8		aad[64];
	int			aadlen;
	MasterKey  *mk;

	if (VARSIZE_ANY_EXHDR(wrapped) != WRAPPED_BYTES || p[0] != WRAP_FORMAT ||
		VARSIZE_ANY_EXHDR(mkid) != MASTER_ID_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored key \"%s\" version %d is malformed", name, version)));
	mk = master_for_id(name, version, (uint8 *) VARDATA_ANY(mkid));
	aadlen = wrap_aad(aad, key_id, version, purpose, mk->id);
	if (!wrap_gcm(false, mk->wrap, p + 1, aad, aadlen, p + 1 + WRAP_NONCE_BYTES,
				  PRIVACY_KEY_BYTES, root, p + 1 + WRAP_NONCE_BYTES + PRIVACY_KEY_BYTES))
	{
		explicit_bzero(root, PRIVACY_KEY_BYTES);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("could not unwrap key \"%s\" version %d", name, version),
				 errdetail("The wrapped key failed authentication under the master key loaded from %s.",
						   mk->source),
				 errhint("The master key is wrong, or the row in privacy.keys was altered.")));
	}
}

/* ------------------------------------------------------------------------
 * Cache
 * ------------------------------------------------------------------------ */

/* Wipe one key version: subkeys, module state. */
static void
wipe_key(PrivacyKey *key)
{
	int			u;

	for (u = 0; u < KEY_USE_COUNT; u++)
	{
		if (key->state[u] && key->state_free[u])
			key->state_free[u] (key->state[u]);
		key->state[u] = NULL;
	}
	explicit_bzero(key, sizeof(PrivacyKey));
}

/* Drop (and wipe) every cached key. */
static void
reset_cache(void)
{
	if (keys_by_id)
	{
		HASH_SEQ_STATUS seq;
		KeyCacheEntry *e;

		hash_seq_init(&seq, keys_by_id);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			int			v;

			for (v = 0; v < e->nversions; v++)
				if (e->versions[v])
					wipe_key(e->versions[v]);
		}
	}
	keys_by_id = NULL;
	keys_by_name = NULL;
	if (key_cxt)
		MemoryContextReset(key_cxt);
	cache_generation++;
	cache_stale = false;
}

/* Relcache callback: privacy.keys changed somewhere (or everything was reset). */
static void
keys_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == keys_relid)
		cache_stale = true;
}

/* Make sure the cache is current and its tables exist. */
static void
prepare_cache(void)
{
	HASHCTL		ctl;

	if (cache_stale)
		reset_cache();
	if (keys_by_id)
		return;
	/* on a Citus worker: refuse a ring that is not the coordinator's */
	privacy_citus_ring_check();
	if (key_cxt == NULL)
		key_cxt = AllocSetContextCreate(TopMemoryContext, "privacy key cache",
										ALLOCSET_SMALL_SIZES);
	keys_relid = get_relname_relid("keys", privacy_schema_oid(false));

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(KeyCacheEntry);
	ctl.hcxt = key_cxt;
	keys_by_id = hash_create("privacy keys by id", 64, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(KeyNameEntry);
	ctl.hcxt = key_cxt;
	keys_by_name = hash_create("privacy keys by name", 64, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/* Raise the error for a key name that does not exist. */
static void
report_unknown_key(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("key \"%s\" does not exist", name),
			 errhint("Create it with privacy.create_key().")));
}

/* Subkeys each purpose may use: no key material serves two algorithms. */
static bool
purpose_uses(KeyPurpose purpose, KeyUse use)
{
	switch (purpose)
	{
		case KEY_PURPOSE_ENCRYPT:
			return use == KEY_USE_GCM;
		case KEY_PURPOSE_DETERMINISTIC:
			return use == KEY_USE_SIV;
		case KEY_PURPOSE_PSEUDONYMIZE:
			return use == KEY_USE_BLIND_INDEX || use == KEY_USE_PSEUDONYM ||
				use == KEY_USE_FAKE || use == KEY_USE_FAKE_FF1;
		case KEY_PURPOSE_TOKENIZE:
			return use == KEY_USE_FF1;
	}
	return false;
}

/* Unwrap one version into a new cache entry holding its subkeys only. */
static PrivacyKey *
unwrap_version(const char *name, int32 key_id, int32 version, KeyPurpose purpose,
			   bytea *wrapped, bytea *mkid)
{
	PrivacyKey *key = MemoryContextAllocZero(key_cxt, sizeof(PrivacyKey));
	uint8		root[PRIVACY_KEY_BYTES];
	int			u;

	key->key_id = key_id;
	key->version = version;
	key->purpose = purpose;
	strlcpy(key->name, name, NAMEDATALEN);
	unwrap_key(name, key_id, version, purpose, wrapped, mkid, root);
	PG_TRY();
	{
		for (u = 0; u < KEY_USE_COUNT; u++)
		{
			if (!purpose_uses(purpose, (KeyUse) u))
				continue;
			privacy_hkdf(root, PRIVACY_KEY_BYTES, use_label[u], key->subkey[u], use_len[u]);
			key->has_subkey[u] = true;
		}
	}
	PG_FINALLY();
	{
		explicit_bzero(root, sizeof(root));
	}
	PG_END_TRY();
	return key;
}

/*
 * Load every version of one key (by name, or by id when name is NULL) from
 * privacy.keys into the cache.  Returns NULL when no such key exists.
 */
static KeyCacheEntry *
load_key(const char *name, int32 key_id)
{
	OwnerScope	scope;
	Oid			argtype = name ? TEXTOID : INT4OID;
	Datum		arg = name ? CStringGetTextDatum(name) : Int32GetDatum(key_id);
	KeyCacheEntry loaded;
	KeyCacheEntry *entry;
	KeyNameEntry *ne;
	int			rc;
	uint64		i;
	uint64		n;

	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args(name ?
							   "SELECT key_id, version, name, purpose, status, wrapped, master_key_id "
							   "FROM privacy.keys WHERE name OPERATOR(pg_catalog.=) $1 ORDER BY version" :
							   "SELECT key_id, version, name, purpose, status, wrapped, master_key_id "
							   "FROM privacy.keys WHERE key_id OPERATOR(pg_catalog.=) $1 ORDER BY version",
							   1, &argtype, &arg, NULL, true, 0);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.keys");
	n = SPI_processed;
	if (n == 0)
	{
		privacy_owner_end(&scope);
		return NULL;
	}
	memset(&loaded, 0, sizeof(loaded));
	loaded.versions = MemoryContextAllocZero(key_cxt, sizeof(PrivacyKey *) * n);

	/* unwrap every version; on any error wipe what was unwrapped */
	PG_TRY();
	{
		for (i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int32		version = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
			char	   *status = SPI_getvalue(tup, desc, 5);
			Datum		wrapped = SPI_getbinval(tup, desc, 6, &isnull);

			if (i == 0)
			{
				loaded.key_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
				strlcpy(loaded.name, SPI_getvalue(tup, desc, 3), NAMEDATALEN);
				loaded.purpose = privacy_purpose_from_name(SPI_getvalue(tup, desc, 4));
			}
			if (version != loaded.nversions + 1)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("versions of key \"%s\" are not contiguous", loaded.name)));
			loaded.nversions = version;
			if (isnull || strcmp(status, "destroyed") == 0)
			{
				loaded.destroyed = true;
				continue;
			}
			if (strcmp(status, "active") == 0)
				loaded.active_version = version;
			loaded.versions[version - 1] =
				unwrap_version(loaded.name, loaded.key_id, version, loaded.purpose,
							   DatumGetByteaPP(wrapped),
							   DatumGetByteaPP(SPI_getbinval(tup, desc, 7, &isnull)));
		}
	}
	PG_CATCH();
	{
		for (i = 0; i < n; i++)
			if (loaded.versions[i])
				wipe_key(loaded.versions[i]);
		PG_RE_THROW();
	}
	PG_END_TRY();
	privacy_owner_end(&scope);

	/* a destroyed key keeps no material at all */
	if (loaded.destroyed)
		for (i = 0; i < n; i++)
			if (loaded.versions[i])
			{
				wipe_key(loaded.versions[i]);
				loaded.versions[i] = NULL;
			}

	entry = hash_search(keys_by_id, &loaded.key_id, HASH_ENTER, NULL);
	memcpy(entry, &loaded, sizeof(loaded));
	ne = hash_search(keys_by_name, entry->name, HASH_ENTER, NULL);
	ne->key_id = entry->key_id;
	return entry;
}

/* Cached entry for a key name, loading it if needed; NULL if unknown. */
static KeyCacheEntry *
lookup_by_name(const char *name)
{
	KeyNameEntry *ne;

	prepare_cache();
	ne = hash_search(keys_by_name, name, HASH_FIND, NULL);
	if (ne)
		return hash_search(keys_by_id, &ne->key_id, HASH_FIND, NULL);
	return load_key(name, 0);
}

/* Cached entry for a key id, loading it if needed; errors if unknown. */
static KeyCacheEntry *
lookup_by_id(int32 key_id)
{
	KeyCacheEntry *e;

	prepare_cache();
	e = hash_search(keys_by_id, &key_id, HASH_FIND, NULL);
	if (e == NULL)
		e = load_key(NULL, key_id);
	if (e == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key with id %d does not exist", key_id),
				 errdetail("The ciphertext names a key that is not in privacy.keys.")));
	return e;
}

/* Active version of the named key, checked for purpose. */
PrivacyKey *
privacy_key_active(const char *name, int namelen, KeyPurpose purpose)
{
	char		buf[NAMEDATALEN];
	KeyCacheEntry *e;

	if (namelen <= 0 || namelen >= NAMEDATALEN)
		report_unknown_key(pnstrdup(name, Max(namelen, 0)));
	memcpy(buf, name, namelen);
	buf[namelen] = '\0';
	e = lookup_by_name(buf);
	if (e == NULL)
		report_unknown_key(buf);
	if (e->destroyed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("key \"%s\" has been destroyed", buf)));
	if (e->purpose != purpose)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("key \"%s\" has purpose \"%s\", not \"%s\"", buf,
						privacy_purpose_name(e->purpose), privacy_purpose_name(purpose)),
				 errhint("Each key serves one purpose; create a key with purpose \"%s\".",
						 privacy_purpose_name(purpose))));
	if (e->active_version == 0 || e->versions[e->active_version - 1] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("key \"%s\" has no active version", buf)));
	return e->versions[e->active_version - 1];
}

/* Active key by name, remembered in ref between calls. */
PrivacyKey *
privacy_key_resolve(KeyRef *ref, text *name, KeyPurpose purpose)
{
	const char *s = VARDATA_ANY(name);
	int			len = VARSIZE_ANY_EXHDR(name);

	if (ref && ref->key && ref->generation == cache_generation && !cache_stale &&
		ref->purpose == purpose && ref->namelen == len && memcmp(ref->name, s, len) == 0)
		return ref->key;
	{
		PrivacyKey *key = privacy_key_active(s, len, purpose);

		if (ref)
		{
			ref->generation = cache_generation;
			ref->namelen = len;
			memcpy(ref->name, s, len);
			ref->purpose = purpose;
			ref->key = key;
		}
		return key;
	}
}

/* A specific version of a key, for decryption. */
PrivacyKey *
privacy_key_version(int32 key_id, int32 version)
{
	static uint64 last_generation = 0;
	static PrivacyKey *last_key = NULL;
	KeyCacheEntry *e;

	/* most calls decrypt a column under one key version: remember the last */
	if (last_key && last_generation == cache_generation && !cache_stale &&
		last_key->key_id == key_id && last_key->version == version)
		return last_key;

	e = lookup_by_id(key_id);
	if (e->destroyed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("key \"%s\" has been destroyed", e->name),
				 errdetail("Data encrypted under a destroyed key cannot be decrypted.")));
	if (version < 1 || version > e->nversions || e->versions[version - 1] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key \"%s\" has no version %d", e->name, version)));
	last_key = e->versions[version - 1];
	last_generation = cache_generation;
	return last_key;
}

/* Active version of the key with this id (0 when destroyed); its name in *name. */
int32
privacy_key_active_version(int32 key_id, const char **name)
{
	KeyCacheEntry *e;

	e = lookup_by_id(key_id);
	if (name)
		*name = e->name;
	return e->destroyed ? 0 : e->active_version;
}

/* Subkey for one use; a key of another purpose has none. */
const uint8 *
privacy_key_subkey(PrivacyKey *key, KeyUse use)
{
	if (!key->has_subkey[use])
		elog(ERROR, "key \"%s\" has no subkey for use %d", key->name, (int) use);
	return key->subkey[use];
}

/* State slot for one use; free_fn runs when the key leaves the cache. */
void	  **
privacy_key_state(PrivacyKey *key, KeyUse use, KeyStateFree free_fn)
{
	key->state_free[use] = free_fn;
	return &key->state[use];
}

/* ------------------------------------------------------------------------
 * SQL-callable key management
 * ------------------------------------------------------------------------ */

/* Validate a key name given to create_key. */
static char *
check_key_name(text *t)
{
	char	   *name = privacy_text_to_cstring_limited(t, NAMEDATALEN - 1, "key name");
	const char *p;

	for (p = name; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("key name must not contain control characters")));
	return name;
}

/* Insert one wrapped key version (inside an owner scope). */
static void
insert_key_row(int32 key_id, int32 version, const char *name, KeyPurpose purpose,
			   const uint8 *root)
{
	MasterKey  *mk = get_master_key();
	Oid			types[7] = {INT4OID, INT4OID, TEXTOID, TEXTOID, BYTEAOID, BYTEAOID, TEXTOID};
	Datum		vals[7];
	bytea	   *mkid = palloc(VARHDRSZ + MASTER_ID_BYTES);
	int			rc;

	SET_VARSIZE(mkid, VARHDRSZ + MASTER_ID_BYTES);
	memcpy(VARDATA(mkid), mk->id, MASTER_ID_BYTES);
	vals[0] = Int32GetDatum(key_id);
	vals[1] = Int32GetDatum(version);
	vals[2] = CStringGetTextDatum(name);
	vals[3] = CStringGetTextDatum(privacy_purpose_name(purpose));
	vals[4] = PointerGetDatum(wrap_key(root, key_id, version, purpose, mk));
	vals[5] = PointerGetDatum(mkid);
	vals[6] = CStringGetTextDatum(GetUserNameFromId(GetSessionUserId(), false));
	rc = SPI_execute_with_args("INSERT INTO privacy.keys "
							   "(key_id, version, name, purpose, status, wrapped, master_key_id, created_by) "
							   "VALUES ($1, $2, $3, $4, 'active', $5, $6, $7::pg_catalog.name)",
							   7, types, vals, NULL, false, 0);
	privacy_spi_check(rc, SPI_OK_INSERT, "insert into privacy.keys");
}

/* privacy.create_key(name, purpose): a new random key; returns its id. */
Datum
privacy_create_key(PG_FUNCTION_ARGS)
{
	char	   *name = check_key_name(PG_GETARG_TEXT_PP(0));
	KeyPurpose	purpose = privacy_purpose_from_name(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	OwnerScope	scope;
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(name);
	uint8		root[PRIVACY_KEY_BYTES];
	int32		key_id;
	bool		isnull;
	int			rc;

	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args("SELECT 1 FROM privacy.keys WHERE name OPERATOR(pg_catalog.=) $1",
							   1, &argtype, &arg, NULL, false, 1);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.keys");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("key \"%s\" already exists", name),
				 errhint("Use privacy.rotate_key() to give it a new version.")));
	rc = SPI_execute("SELECT pg_catalog.nextval('privacy.keys_key_id_seq'::pg_catalog.regclass)::pg_catalog.int4",
					 false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not allocate a key id");
	key_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	secret_random_bytes(root, sizeof(root));
	PG_TRY();
	{
		insert_key_row(key_id, 1, name, purpose, root);
	}
	PG_FINALLY();
	{
		explicit_bzero(root, sizeof(root));
	}
	PG_END_TRY();
	privacy_owner_end(&scope);

	privacy_audit("create_key", name, NULL,
				  psprintf("{\"key_id\": %d, \"version\": 1, \"purpose\": \"%s\"}",
						   key_id, privacy_purpose_name(purpose)));
	PG_RETURN_INT32(key_id);
}

/* A key as lock_key found it: id, purpose, latest version, destroyed or not. */
typedef struct LockedKey
{
	int32		key_id;
	KeyPurpose	purpose;
	int32		latest;
	bool		destroyed;
} LockedKey;

/*
 * Lock every version of a key (owner scope open) and describe it.  Errors if
 * the key is unknown.
 */
static void
lock_key(const char *name, LockedKey *key)
{
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(name);
	bool		isnull;
	int			rc;
	TupleDesc	desc;
	HeapTuple	tup;

	rc = SPI_execute_with_args("SELECT key_id, version, purpose, status FROM privacy.keys "
							   "WHERE name OPERATOR(pg_catalog.=) $1 ORDER BY version DESC FOR UPDATE",
							   1, &argtype, &arg, NULL, false, 0);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.keys");
	if (SPI_processed == 0)
		report_unknown_key(name);
	desc = SPI_tuptable->tupdesc;
	tup = SPI_tuptable->vals[0];
	key->key_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	key->latest = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
	key->purpose = privacy_purpose_from_name(SPI_getvalue(tup, desc, 3));
	key->destroyed = strcmp(SPI_getvalue(tup, desc, 4), "destroyed") == 0;
}

/* Run an UPDATE of privacy.keys whose $1 is a key id (owner scope open). */
static void
update_key_rows(const char *sql, int32 key_id)
{
	Oid			argtype = INT4OID;
	Datum		arg = Int32GetDatum(key_id);

	privacy_spi_check(SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, false, 0),
					  SPI_OK_UPDATE, "update privacy.keys");
}

/* privacy.rotate_key(name): a new active version; returns its number. */
Datum
privacy_rotate_key(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	OwnerScope	scope;
	LockedKey	key;
	uint8		root[PRIVACY_KEY_BYTES];

	privacy_owner_begin(&scope);
	lock_key(name, &key);
	if (key.destroyed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("key \"%s\" has been destroyed", name),
				 errdetail("A destroyed key cannot be rotated.")));
	if (key.purpose == KEY_PURPOSE_TOKENIZE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot rotate tokenize key \"%s\"", name),
				 errdetail("Tokens carry no key version: after a rotation they could no longer be detokenized."),
				 errhint("Create a new tokenize key and re-tokenize the values with it.")));
	if (key.purpose == KEY_PURPOSE_DETERMINISTIC)
		ereport(WARNING,
				(errmsg("rotating deterministic key \"%s\": new values no longer equal old ciphertexts of the same plaintext", name),
				 errdetail("Equality lookups and unique indexes on deterministic ciphertexts see two forms of a value until the old ones are re-encrypted."),
				 errhint("Run privacy.reencrypt() on every column encrypted with this key now.")));
	if (key.purpose == KEY_PURPOSE_PSEUDONYMIZE)
		ereport(WARNING,
				(errmsg("rotating pseudonymize key \"%s\" changes every pseudonym and blind index made with it", name),
				 errhint("Recompute stored pseudonyms and rebuild indexes on privacy.blind_index() or privacy.pseudonymize().")));
	update_key_rows("UPDATE privacy.keys SET status = 'retired', retired_at = pg_catalog.now() "
					"WHERE key_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'active'", key.key_id);
	secret_random_bytes(root, sizeof(root));
	PG_TRY();
	{
		insert_key_row(key.key_id, key.latest + 1, name, key.purpose, root);
	}
	PG_FINALLY();
	{
		explicit_bzero(root, sizeof(root));
	}
	PG_END_TRY();
	privacy_owner_end(&scope);

	privacy_audit("rotate_key", name, NULL,
				  psprintf("{\"key_id\": %d, \"version\": %d}", key.key_id, key.latest + 1));
	PG_RETURN_INT32(key.latest + 1);
}

/* privacy.destroy_key(name): erase every version's material, irrecoverably. */
Datum
privacy_destroy_key(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	OwnerScope	scope;
	LockedKey	key;

	privacy_owner_begin(&scope);
	lock_key(name, &key);
	if (!key.destroyed)
		update_key_rows("UPDATE privacy.keys SET status = 'destroyed', wrapped = NULL, "
						"destroyed_at = pg_catalog.now() WHERE key_id OPERATOR(pg_catalog.=) $1", key.key_id);
	privacy_owner_end(&scope);

	if (key.destroyed)
		ereport(NOTICE,
				(errmsg("key \"%s\" was already destroyed", name)));
	else
		privacy_audit("destroy_key", name, NULL,
					  psprintf("{\"key_id\": %d, \"versions\": %d}", key.key_id, key.latest));
	PG_RETURN_VOID();
}

/*
 * privacy.rewrap_keys(): rewrap every live data key under the new master key
 * (privacy.new_master_key_command / _file).  Data is not touched.
 */
Datum
privacy_rewrap_keys(PG_FUNCTION_ARGS)
{
	MasterKey  *nk = get_new_master_key(true);
	OwnerScope	scope;
	uint64		i;
	uint64		n;
	int			rc;
	int32		count = 0;
	char	   *new_id = master_id_hex(nk->id);
	SPITupleTable *tuptable;

	privacy_owner_begin(&scope);
	rc = SPI_execute("SELECT key_id, version, name, purpose, wrapped, master_key_id "
					 "FROM privacy.keys WHERE wrapped IS NOT NULL FOR UPDATE", false, 0);
	privacy_spi_check(rc, SPI_OK_SELECT, "read privacy.keys");
	n = SPI_processed;
	tuptable = SPI_tuptable;
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = tuptable->vals[i];
		TupleDesc	desc = tuptable->tupdesc;
		bool		isnull;
		int32		key_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		int32		version = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		char	   *name = SPI_getvalue(tup, desc, 3);
		KeyPurpose	purpose = privacy_purpose_from_name(SPI_getvalue(tup, desc, 4));
		bytea	   *wrapped = DatumGetByteaPP(SPI_getbinval(tup, desc, 5, &isnull));
		bytea	   *mkid = DatumGetByteaPP(SPI_getbinval(tup, desc, 6, &isnull));
		uint8		root[PRIVACY_KEY_BYTES];
		Oid			types[4] = {INT4OID, INT4OID, BYTEAOID, BYTEAOID};
		Datum		vals[4];
		bytea	   *newid = palloc(VARHDRSZ + MASTER_ID_BYTES);

		if (memcmp(VARDATA_ANY(mkid), nk->id, MASTER_ID_BYTES) == 0)
			continue;			/* already under the new master key */
		SET_VARSIZE(newid, VARHDRSZ + MASTER_ID_BYTES);
		memcpy(VARDATA(newid), nk->id, MASTER_ID_BYTES);
		unwrap_key(name, key_id, version, purpose, wrapped, mkid, root);
		vals[0] = Int32GetDatum(key_id);
		vals[1] = Int32GetDatum(version);
		vals[2] = PointerGetDatum(wrap_key(root, key_id, version, purpose, nk));
		vals[3] = PointerGetDatum(newid);
		explicit_bzero(root, sizeof(root));
		rc = SPI_execute_with_args("UPDATE privacy.keys SET wrapped = $3, master_key_id = $4 "
								   "WHERE key_id OPERATOR(pg_catalog.=) $1 "
								   "AND version OPERATOR(pg_catalog.=) $2",
								   4, types, vals, NULL, false, 0);
		privacy_spi_check(rc, SPI_OK_UPDATE, "update privacy.keys");
		count++;
	}
	privacy_owner_end(&scope);

	privacy_audit("rewrap_keys", NULL, NULL,
				  psprintf("{\"keys\": %d, \"master_key_id\": \"%s\"}", count, new_id));
	PG_RETURN_INT32(count);
}

/* privacy.master_key_id(): hex id of the loaded master key (not secret). */
Datum
privacy_master_key_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(master_id_hex(get_master_key()->id)));
}

/*
 * privacy._new_master_key_id(): hex id of the next master key
 * (privacy.new_master_key_command / _file), NULL when none is configured.
 */
Datum
privacy_new_master_key_id(PG_FUNCTION_ARGS)
{
	MasterKey  *nk = get_new_master_key(false);

	if (nk == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(master_id_hex(nk->id)));
}

/*
 * Check hook of privacy.master_key_file: a WARNING when it changes while
 * privacy.master_key_command is set, since the command takes precedence and
 * the new file is then never read (someone following a file-based key change
 * on a server using a command would otherwise believe the switch was made).
 * Said to the session running ALTER SYSTEM and once in the server log at a
 * reload (by the postmaster), not by every backend re-reading the file.
 */
static bool
check_master_key_file(char **newval, void **extra, GucSource source)
{
	if (master_key_command && master_key_command[0] != '\0' && *newval && master_key_file &&
		strcmp(*newval, master_key_file) != 0 && source >= PGC_S_FILE &&
		(!IsUnderPostmaster || ActivePortal != NULL))
		ereport(WARNING,
				(errmsg("privacy.master_key_file is ignored while privacy.master_key_command is set"),
				 errdetail("The master key comes from the command \"%s\".", master_key_command),
				 errhint("To switch master keys, set privacy.new_master_key_command, run privacy.rewrap_keys() in "
						 "every database, then change privacy.master_key_command and restart.")));
	return true;
}

/* Statement trigger on privacy.keys: tell every backend to drop its key cache. */
Datum
privacy_keys_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"privacy._keys_changed\" must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	privacy_citus_keys_changed(trigdata);
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------
 * Initialisation
 * ------------------------------------------------------------------------ */

/* GUCs, cache invalidation, and (when preloaded) the master key. */
void
KeysInit(void)
{
	DefineCustomStringVariable("privacy.master_key_command",
							   "Shell command whose standard output is the 256-bit master key as 64 hex characters.",
							   "Takes precedence over privacy.master_key_file. Run once at server start "
							   "when the library is preloaded (a reload does not re-run it), else once per "
							   "backend on first need.",
							   &master_key_command, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("privacy.master_key_file",
							   "File holding the master key as 64 hex characters.",
							   "A relative path is in the data directory. Created with mode 0600 on first need "
							   "(meant for development). Read when the master key is loaded, as for the command.",
							   &master_key_file, "privacy_master.key",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, check_master_key_file, NULL, NULL);
	DefineCustomStringVariable("privacy.new_master_key_command",
							   "Command giving the next master key, used by privacy.rewrap_keys().",
							   NULL, &new_master_key_command, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("privacy.new_master_key_file",
							   "File holding the next master key, used by privacy.rewrap_keys().",
							   NULL, &new_master_key_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);

	DefineCustomBoolVariable("privacy.allow_drop_with_keys",
							 "Allow DROP EXTENSION privacy while data keys that are not destroyed exist.",
							 "Dropping the extension destroys the key ring: every value encrypted under those keys "
							 "becomes unreadable for good.",
							 &allow_drop_with_keys, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	CacheRegisterRelcacheCallback(keys_relcache_callback, (Datum) 0);

	if (process_shared_preload_libraries_in_progress)
	{
		char	   *err = load_master_key(master_key_command, master_key_file, true, &master);

		if (err)
			ereport(WARNING,
					(errmsg("could not load the master key at server start"),
					 errdetail("%s", err),
					 errhint("Each backend will try again when it first needs a key.")));
	}
}

/*
 * Before DROP EXTENSION privacy: refuse while the key ring holds data keys
 * that are not destroyed, unless privacy.allow_drop_with_keys is on; the
 * message says what would be lost.
 */
void
privacy_keys_before_drop_extension(void)
{
	Datum		vals[2];
	bool		nulls[2];

	if (allow_drop_with_keys || !OidIsValid(privacy_schema_oid(true)) ||
		!OidIsValid(get_relname_relid("keys", privacy_schema_oid(true))))
		return;
	(void) privacy_exec_as(privacy_owner_oid(),
						   "SELECT pg_catalog.count(DISTINCT k.key_id), "
						   "pg_catalog.string_agg(DISTINCT k.name, ', ') "
						   "FROM privacy.keys k WHERE k.status OPERATOR(pg_catalog.<>) 'destroyed'",
						   0, NULL, NULL, NULL, true, SPI_OK_SELECT, 2, vals, nulls, NULL);
	if (!nulls[0] && DatumGetInt64(vals[0]) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop extension privacy: %lld data keys are not destroyed",
						(long long) DatumGetInt64(vals[0])),
				 errdetail("Dropping the extension destroys its key ring (%s): every value encrypted under "
						   "those keys, in tables and in backups, becomes unreadable for good.",
						   nulls[1] ? "" : TextDatumGetCString(vals[1])),
				 errhint("Decrypt or export what must be kept first; then SET privacy.allow_drop_with_keys = on "
						 "(superuser) and drop the extension.")));
}
