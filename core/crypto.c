/* crypto.c - thin, checked wrappers over OpenSSL's libcrypto. */
#include "crypto.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEAL_VERSION 1
#define NONCE_BYTES 12
#define TAG_BYTES 16

int crypto_random(void *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

void hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

bool hex_decode(const char *in, unsigned char *out, size_t out_len)
{
    for (size_t i = 0; i < out_len; i++) {
        int byte = hex_byte(in + 2 * i);
        if (byte < 0)
            return false;
        out[i] = (unsigned char)byte;
    }
    return in[2 * out_len] == '\0';
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* One encoder for both alphabets: RFC 4648 section 4 (padded) and 5 (url, unpadded). */
static char *base64_encode_with(const char *alphabet, bool pad, const unsigned char *in,
                                size_t len)
{
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = alphabet[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (i + 2 < len)
            out[o++] = alphabet[v & 63];
        else if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

/* Decodes up to the first '=' (or the end); *end is set to where it stopped. */
static long base64_decode_with(const char *alphabet, const char *in, const char **end,
                               unsigned char *out, size_t out_cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (; *in && *in != '='; in++) {
        const char *p = strchr(alphabet, *in);
        if (!p)
            return -1;
        acc = (acc << 6) | (uint32_t)(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= out_cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *end = in;
    return (long)o;
}

char *base64url_encode(const unsigned char *in, size_t len)
{
    return base64_encode_with(b64url, false, in, len);
}

long base64url_decode(const char *in, unsigned char *out, size_t out_cap)
{
    const char *end;
    return base64_decode_with(b64url, in, &end, out, out_cap);
}

char *base64_encode(const unsigned char *in, size_t len)
{
    return base64_encode_with(b64std, true, in, len);
}

long base64_decode(const char *in, unsigned char *out, size_t out_cap)
{
    const char *end;
    long n = base64_decode_with(b64std, in, &end, out, out_cap);
    if (n < 0)
        return -1;
    /* Padded to a multiple of four characters, and nothing after the padding. */
    size_t pad = strspn(end, "=");
    if (end[pad] != '\0' || pad > 2 || (size_t)(end - in + (long)pad) % 4 != 0)
        return -1;
    return n;
}

/*
 * HMAC through keyed contexts kept per thread: OpenSSL's one-shot HMAC()
 * fetches the algorithm and allocates, keys and frees a context on every
 * call, which is more than half of what verifying a webhook's signature
 * costs (5.4 against 2.5 us for a 2.9 KB body on the bench machine). A
 * thread keeps a context for each of its last few keys (a plugin's client
 * secret, the seal key's derivations) and re-initializes it with the same
 * key for the next message. Contexts are never shared between threads; a
 * thread's are freed when it ends (crypto_release_thread for the main one).
 * Any failure falls back to the one-shot call.
 */
#define MAC_SLOTS 8
#define MAC_KEY_MAX 128 /* longer keys take the one-shot call */

struct mac_slot {
    EVP_MAC_CTX *ctx; /* NULL: free */
    const char *digest; /* "SHA1" or "SHA256" (static) */
    size_t key_len;
    unsigned char key[MAC_KEY_MAX]; /* the lookup's copy; cleansed when the slot is dropped */
    uint64_t used;                  /* for eviction: the least recently used goes */
};

struct mac_cache {
    EVP_MAC *mac;
    uint64_t clock;
    struct mac_slot slots[MAC_SLOTS];
};

static pthread_key_t mac_cache_key;
static pthread_once_t mac_cache_once = PTHREAD_ONCE_INIT;
static bool mac_cache_ready;

static void mac_slot_drop(struct mac_slot *slot)
{
    EVP_MAC_CTX_free(slot->ctx);
    OPENSSL_cleanse(slot->key, sizeof slot->key);
    memset(slot, 0, sizeof *slot);
}

static void mac_cache_free(void *arg)
{
    struct mac_cache *cache = arg;
    if (!cache)
        return;
    for (size_t i = 0; i < MAC_SLOTS; i++)
        mac_slot_drop(&cache->slots[i]);
    EVP_MAC_free(cache->mac);
    free(cache);
}

static void mac_cache_init(void)
{
    mac_cache_ready = pthread_key_create(&mac_cache_key, mac_cache_free) == 0;
}

void crypto_release_thread(void)
{
    pthread_once(&mac_cache_once, mac_cache_init);
    if (!mac_cache_ready)
        return;
    mac_cache_free(pthread_getspecific(mac_cache_key));
    pthread_setspecific(mac_cache_key, NULL);
}

/* The calling thread's context keyed with key for digest, ready for a new message; NULL if
   none can be had (the caller then uses the one-shot call). */
static EVP_MAC_CTX *keyed_context(const char *digest, const void *key, size_t key_len)
{
    if (key_len > MAC_KEY_MAX)
        return NULL;
    pthread_once(&mac_cache_once, mac_cache_init);
    if (!mac_cache_ready)
        return NULL;
    struct mac_cache *cache = pthread_getspecific(mac_cache_key);
    if (!cache) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (!mac)
            return NULL;
        cache = calloc(1, sizeof *cache);
        if (!cache || pthread_setspecific(mac_cache_key, cache) != 0) {
            EVP_MAC_free(mac);
            free(cache);
            return NULL;
        }
        cache->mac = mac;
    }
    struct mac_slot *slot = NULL, *oldest = &cache->slots[0];
    for (size_t i = 0; i < MAC_SLOTS && !slot; i++) {
        struct mac_slot *s = &cache->slots[i];
        if (s->ctx && strcmp(s->digest, digest) == 0 && s->key_len == key_len
            && CRYPTO_memcmp(s->key, key, key_len) == 0)
            slot = s;
        else if (!s->ctx || (oldest->ctx && s->used < oldest->used))
            oldest = s;
    }
    if (slot) {
        slot->used = ++cache->clock;
        /* The same key again: a NULL key re-initializes with the one the context holds. */
        return EVP_MAC_init(slot->ctx, NULL, 0, NULL) == 1 ? slot->ctx : NULL;
    }
    mac_slot_drop(oldest);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(cache->mac);
    if (!ctx || EVP_MAC_init(ctx, key, key_len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    oldest->ctx = ctx;
    oldest->digest = digest;
    oldest->key_len = key_len;
    memcpy(oldest->key, key, key_len);
    oldest->used = ++cache->clock;
    return ctx;
}

static void hmac_with(const char *digest, const EVP_MD *md, size_t mac_len, const void *key,
                      size_t key_len, const void *data, size_t len, unsigned char *out)
{
    EVP_MAC_CTX *ctx = keyed_context(digest, key, key_len);
    size_t n = 0;
    if (ctx && EVP_MAC_update(ctx, data, len) == 1 && EVP_MAC_final(ctx, out, &n, mac_len) == 1
        && n == mac_len)
        return;
    unsigned int one_shot = (unsigned int)mac_len;
    HMAC(md, key, (int)key_len, data, len, out, &one_shot);
}

void hmac_sha1(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[20])
{
    hmac_with("SHA1", EVP_sha1(), 20, key, key_len, data, len, out);
}

void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[32])
{
    hmac_with("SHA256", EVP_sha256(), 32, key, key_len, data, len, out);
}

bool ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len)
        return false;
    return CRYPTO_memcmp(a, b, a_len) == 0;
}

bool signature_valid(const char *header, const char *secret, const void *body, size_t len,
                     bool sha1)
{
    if (!header || !secret)
        return false;
    unsigned char mac[32], given[32];
    size_t mac_len = sha1 ? 20 : 32;
    if (sha1) {
        if (strncmp(header, "sha1=", 5) != 0)
            return false;
        header += 5;
        hmac_sha1(secret, strlen(secret), body, len, mac);
    } else {
        hmac_sha256(secret, strlen(secret), body, len, mac);
    }
    if (strlen(header) != 2 * mac_len || !hex_decode(header, given, mac_len))
        return false;
    return ct_equal(mac, mac_len, given, mac_len);
}

int seal(const unsigned char key[SEAL_KEY_BYTES], const void *aad, size_t aad_len,
         const void *plain, size_t len, unsigned char *out)
{
    unsigned char *nonce = out + 1, *ct = out + 1 + NONCE_BYTES;
    out[0] = SEAL_VERSION;
    if (crypto_random(nonce, NONCE_BYTES) != 0)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -1;
    int n, ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1
                && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1
                && EVP_EncryptUpdate(ctx, ct, &n, plain, (int)len) == 1
                && EVP_EncryptFinal_ex(ctx, ct + n, &n) == 1
                && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, ct + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

long unseal(const unsigned char key[SEAL_KEY_BYTES], const void *aad, size_t aad_len,
            const unsigned char *sealed, size_t len, unsigned char *out)
{
    if (len < SEAL_OVERHEAD || sealed[0] != SEAL_VERSION)
        return -1;
    const unsigned char *nonce = sealed + 1, *ct = sealed + 1 + NONCE_BYTES;
    size_t ct_len = len - SEAL_OVERHEAD;
    unsigned char tag[TAG_BYTES];
    memcpy(tag, ct + ct_len, TAG_BYTES);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -1;
    int n, ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1
                && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1
                && EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) == 1
                && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1
                && EVP_DecryptFinal_ex(ctx, out + n, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? (long)ct_len : -1;
}

static int create_secret_file(const char *path, size_t bytes, char **content_out, char *err,
                              size_t errlen)
{
    unsigned char *raw = xmalloc(bytes);
    char *hex = xmalloc(2 * bytes + 2);
    int rc = -1;
    if (crypto_random(raw, bytes) != 0) {
        snprintf(err, errlen, "no randomness available");
        goto out;
    }
    hex_encode(raw, bytes, hex);
    if (mkdir_parents(path) != 0) {
        snprintf(err, errlen, "cannot create the folder of %s: %s", path, strerror(errno));
        goto out;
    }
    /* O_EXCL: never clobber a key another process just wrote; 0600 before any byte lands. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    size_t len = 2 * bytes;
    hex[len++] = '\n';
    ssize_t w = write(fd, hex, len);
    int synced = fsync(fd);
    close(fd);
    hex[2 * bytes] = '\0';
    if (w != (ssize_t)len || synced != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        goto out;
    }
    log_info("crypto", "created %s (mode 0600)", path);
    *content_out = hex;
    hex = NULL;
    rc = 0;
out:
    OPENSSL_cleanse(raw, bytes);
    free(raw);
    free(hex);
    return rc;
}

int secret_file_read(const char *path, char **content_out, unsigned *mode_out, char *err,
                     size_t errlen)
{
    struct stat st;
    char *text = stat(path, &st) == 0 ? file_read_all(path, NULL) : NULL;
    if (!text) {
        int why = errno;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(why));
        errno = why;
        return -1;
    }
    text[strcspn(text, "\r\n")] = '\0';
    if (!*text) {
        free(text);
        snprintf(err, errlen, "%s is empty", path);
        errno = ENODATA; /* not ENOENT: an empty file is never replaced */
        return -1;
    }
    *mode_out = (unsigned)(st.st_mode & 0777);
    *content_out = text;
    return 0;
}

int secret_file_load_or_create(const char *path, size_t bytes, char **content_out, char *err,
                               size_t errlen)
{
    unsigned mode;
    if (secret_file_read(path, content_out, &mode, err, errlen) != 0)
        return errno == ENOENT ? create_secret_file(path, bytes, content_out, err, errlen) : -1;
    if (mode & 077)
        log_warn("crypto", "%s is readable by group or others (mode %03o); use chmod 600", path,
                 mode);
    return 0;
}
