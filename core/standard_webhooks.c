/* standard_webhooks.c - Standard Webhooks secrets and v1 signatures (see the header). */
#include "standard_webhooks.h"

#include "crypto.h"
#include "util.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_PREFIX "whsec_"

long sw_secret_decode(const char *text, unsigned char key[SW_SECRET_MAX_BYTES])
{
    if (!text || !str_starts_with(text, SECRET_PREFIX))
        return -1;
    long n = base64_decode(text + strlen(SECRET_PREFIX), key, SW_SECRET_MAX_BYTES);
    if (n < SW_SECRET_MIN_BYTES) {
        OPENSSL_cleanse(key, SW_SECRET_MAX_BYTES);
        return -1;
    }
    return n;
}

char *sw_sign(const unsigned char *key, size_t key_len, const char *msg_id, int64_t timestamp,
              const void *body, size_t body_len)
{
    struct buf content;
    buf_init(&content);
    buf_printf(&content, "%s.%" PRId64 ".", msg_id, timestamp);
    buf_append(&content, body, body_len);
    unsigned char mac[32];
    hmac_sha256(key, key_len, content.data, content.len, mac);
    buf_free(&content);
    char *b64 = base64_encode(mac, sizeof mac);
    char *signature = xasprintf("v1,%s", b64);
    free(b64);
    return signature;
}
