/*
 * standard_webhooks.h - the Standard Webhooks (1.0) symmetric scheme: secrets
 * written "whsec_<base64>", signatures "v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>" keyed with the decoded secret.
 */
#ifndef SB_CORE_STANDARD_WEBHOOKS_H
#define SB_CORE_STANDARD_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>

/* The spec's bounds on a symmetric secret: 24 to 64 random bytes. */
#define SW_SECRET_MIN_BYTES 24
#define SW_SECRET_MAX_BYTES 64

/*
 * Decode "whsec_<base64>" into key (SW_SECRET_MAX_BYTES). Returns the key's
 * length, or -1 if the text is not such a secret (its bytes never reach a
 * message).
 */
long sw_secret_decode(const char *text, unsigned char key[SW_SECRET_MAX_BYTES]);

/*
 * The webhook-signature value for one attempt: "v1,<base64>". msg_id and the
 * timestamp must not contain '.', which the scheme uses as its separator.
 * Returns a new string.
 */
char *sw_sign(const unsigned char *key, size_t key_len, const char *msg_id, int64_t timestamp,
              const void *body, size_t body_len);

#endif
