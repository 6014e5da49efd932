/* crypto.h - randomness, HMAC, constant-time compare, AES-256-GCM sealing, encodings. */
#ifndef SB_CORE_CRYPTO_H
#define SB_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_BYTES 32
#define SEAL_OVERHEAD (1 + 12 + 16) /* version, nonce, tag */

int crypto_random(void *out, size_t len);
/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const unsigned char *in, size_t len, char *out);
/* Decode exactly out_len bytes from 2*out_len hex chars; false on bad input. */
bool hex_decode(const char *in, unsigned char *out, size_t out_len);
/* base64url without padding; returns a new string. */
char *base64url_encode(const unsigned char *in, size_t len);
/* Decode base64url (padding optional); returns bytes written or -1. */
long base64url_decode(const char *in, unsigned char *out, size_t out_cap);
/* Standard base64 with padding (RFC 4648 section 4); returns a new string. */
char *base64_encode(const unsigned char *in, size_t len);
/* Decode standard, padded base64 strictly; returns bytes written or -1. */
long base64_decode(const char *in, unsigned char *out, size_t out_cap);

/* HMAC-SHA1 / -SHA256: through a keyed context the calling thread keeps for its last few keys. */
void hmac_sha1(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[20]);
void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[32]);
/* Free the calling thread's keyed HMAC contexts (other threads' go when they end). */
void crypto_release_thread(void);
/* Constant-time equality of two byte strings (length differences are not secret). */
bool ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/*
 * Verify a hex HMAC signature over body, case-insensitively and in constant time.
 * sha1=true: Intercom webhooks ("sha1=" prefix expected); false: Canvas Kit SHA-256, no prefix.
 */
bool signature_valid(const char *header, const char *secret, const void *body, size_t len,
                     bool sha1);

/*
 * AES-256-GCM: seal plaintext bound to aad. out must hold len + SEAL_OVERHEAD.
 * open: out must hold len - SEAL_OVERHEAD; returns plaintext length or -1 if forged.
 */
int seal(const unsigned char key[SEAL_KEY_BYTES], const void *aad, size_t aad_len,
         const void *plain, size_t len, unsigned char *out);
long unseal(const unsigned char key[SEAL_KEY_BYTES], const void *aad, size_t aad_len,
            const unsigned char *sealed, size_t len, unsigned char *out);

/*
 * Read a secret file: its first line, without the line end (an empty one is
 * an error). *mode_out: its permission bits, for the caller's policy on files
 * that group or others can read. On failure returns -1, writes a reason
 * (never the content) to err and leaves errno as the failing call set it
 * (ENOENT: there is no such file).
 */
int secret_file_read(const char *path, char **content_out, unsigned *mode_out, char *err,
                     size_t errlen);

/*
 * Load a secret file, or create it with fresh random content and mode 0600
 * if it does not exist. The content is `bytes` random bytes in hex.
 * On failure returns -1 and writes a reason (never the secret) to err.
 */
int secret_file_load_or_create(const char *path, size_t bytes, char **content_out, char *err,
                               size_t errlen);

#endif
