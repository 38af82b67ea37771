/*
 * keys.h — master key and data-key ring.
 *
 * The master key (KEK, 256 bits) comes from privacy.master_key_command or
 * privacy.master_key_file and never passes through SQL.  Data keys are random
 * 256-bit root keys stored in privacy.keys, wrapped under the master key with
 * AES-256-GCM (key id, version, purpose and master-key id bound as associated
 * data).  Each algorithm gets its own subkey, derived from the root key with
 * HKDF-SHA-256 under a distinct label, so no key bytes serve two algorithms.
 *
 * Unwrapped keys live in a per-backend cache, dropped (and wiped) when
 * privacy.keys changes in any backend: a statement trigger on the table sends
 * a relcache invalidation that every backend receives.  A PrivacyKey pointer
 * is valid until the next call into this module; use one key at a time.
 */
#ifndef PRIVACY_KEYS_H
#define PRIVACY_KEYS_H

#include "postgres.h"
#include "fmgr.h"

#define PRIVACY_KEY_BYTES 32

typedef enum KeyPurpose
{
	KEY_PURPOSE_ENCRYPT = 0,
	KEY_PURPOSE_DETERMINISTIC,
	KEY_PURPOSE_PSEUDONYMIZE,
	KEY_PURPOSE_TOKENIZE
} KeyPurpose;

/* One subkey per algorithm; the label of each is in keys.c. */
typedef enum KeyUse
{
	KEY_USE_GCM = 0,			/* encrypt: AES-256-GCM key (32 bytes) */
	KEY_USE_SIV,				/* deterministic: AES-256-SIV key (64 bytes) */
	KEY_USE_BLIND_INDEX,		/* pseudonymize: HMAC-SHA-256 key (32 bytes) */
	KEY_USE_PSEUDONYM,			/* pseudonymize: HMAC-SHA-256 key (32 bytes) */
	KEY_USE_FF1,				/* tokenize: FF1 AES-256 key (32 bytes) */
	KEY_USE_FAKE,				/* pseudonymize: SipHash-2-4 key of fake values (16 bytes) */
	KEY_USE_FAKE_FF1,			/* pseudonymize: FF1 AES-256 key of fake digits (32 bytes) */
	KEY_USE_COUNT
} KeyUse;

#define PRIVACY_SUBKEY_MAX 64

/* Per-use state a module keeps with a key (e.g. a keyed cipher context). */
typedef void (*KeyStateFree) (void *state);

typedef struct PrivacyKey
{
	int32		key_id;
	int32		version;
	KeyPurpose	purpose;
	char		name[NAMEDATALEN];
	bool		has_subkey[KEY_USE_COUNT];
	uint8		subkey[KEY_USE_COUNT][PRIVACY_SUBKEY_MAX];
	void	   *state[KEY_USE_COUNT];
	KeyStateFree state_free[KEY_USE_COUNT];
} PrivacyKey;

/*
 * Remembers a name -> key resolution across calls (keep it in fn_extra).
 * Valid while the cache generation it recorded is current.
 */
typedef struct KeyRef
{
	uint64		generation;
	int			namelen;
	char		name[NAMEDATALEN];
	KeyPurpose	purpose;
	PrivacyKey *key;
} KeyRef;

extern void KeysInit(void);

/* Active version of the named key; errors if unknown, destroyed or of another purpose. */
extern PrivacyKey *privacy_key_active(const char *name, int namelen, KeyPurpose purpose);
/* Same, remembered in *ref (which may be NULL) between calls. */
extern PrivacyKey *privacy_key_resolve(KeyRef *ref, text *name, KeyPurpose purpose);
/* A given version of the key with this id, for decryption. */
extern PrivacyKey *privacy_key_version(int32 key_id, int32 version);
/* Active version number of a key id (0 if destroyed), and its name. */
extern int32 privacy_key_active_version(int32 key_id, const char **name);
/* Subkey bytes for one use (length: privacy_subkey_len(use)). */
extern const uint8 *privacy_key_subkey(PrivacyKey *key, KeyUse use);
extern int	privacy_subkey_len(KeyUse use);
/* Keyed state slot for one use; free_fn is called when the key is dropped. */
extern void **privacy_key_state(PrivacyKey *key, KeyUse use, KeyStateFree free_fn);

extern const char *privacy_purpose_name(KeyPurpose purpose);
extern KeyPurpose privacy_purpose_from_name(const char *name);

/* HKDF-SHA-256 (no salt) of ikm under info into out. */
extern void privacy_hkdf(const uint8 *ikm, size_t ikmlen, const char *info,
						 uint8 *out, size_t outlen);
/* Fill buf with cryptographically random bytes (buffered per process). */
extern void privacy_random_bytes(uint8 *buf, size_t len);

/* Error unless DROP EXTENSION privacy may destroy the key ring (keys.c). */
extern void privacy_keys_before_drop_extension(void);

#endif							/* PRIVACY_KEYS_H */
