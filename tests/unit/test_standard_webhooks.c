/*
 * Unit tests: the Standard Webhooks signer and secret parser, against a vector
 * computed outside Switchboard:
 *
 *   printf '%s' 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W.1674087231.{"type":...}' |
 *     openssl dgst -sha256 -mac HMAC \
 *       -macopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
 *       -binary | base64
 *
 * (the standardwebhooks npm package's Webhook.sign gives the same), and base64
 * against RFC 4648's test vectors.
 */
#include "crypto.h"
#include "standard_webhooks.h"
#include "unit.h"

#define SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define MSG_ID "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
#define BODY                                                                                   \
    "{\"type\":\"contact.created\",\"timestamp\":\"2022-11-03T20:26:10.344522Z\","             \
    "\"data\":{\"id\":\"1f81eb52\"}}"

static void signs_the_known_vector(void)
{
    unsigned char key[SW_SECRET_MAX_BYTES];
    long len = sw_secret_decode(SECRET, key);
    CHECK_INT(len, 32);
    for (long i = 0; i < len; i++)
        CHECK_INT(key[i], i);
    char *sig = sw_sign(key, (size_t)len, MSG_ID, 1674087231, BODY, strlen(BODY));
    CHECK_STR(sig, "v1,0VuOWyM8Sg36bO0pt9qLmH55D1nw5TyrQm7AJS6Qvws=");
    free(sig);
    /* Every signed part counts: another timestamp, id or body is another signature. */
    sig = sw_sign(key, (size_t)len, MSG_ID, 1674087232, BODY, strlen(BODY));
    CHECK(strcmp(sig, "v1,0VuOWyM8Sg36bO0pt9qLmH55D1nw5TyrQm7AJS6Qvws=") != 0);
    free(sig);
    sig = sw_sign(key, (size_t)len, "msg_other", 1674087231, BODY, strlen(BODY));
    CHECK(strcmp(sig, "v1,0VuOWyM8Sg36bO0pt9qLmH55D1nw5TyrQm7AJS6Qvws=") != 0);
    free(sig);
    sig = sw_sign(key, (size_t)len, MSG_ID, 1674087231, BODY, strlen(BODY) - 1);
    CHECK(strcmp(sig, "v1,0VuOWyM8Sg36bO0pt9qLmH55D1nw5TyrQm7AJS6Qvws=") != 0);
    free(sig);
}

static void refuses_what_is_not_a_secret(void)
{
    unsigned char key[SW_SECRET_MAX_BYTES];
    CHECK_INT(sw_secret_decode(NULL, key), -1);
    CHECK_INT(sw_secret_decode("", key), -1);
    CHECK_INT(sw_secret_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key), -1); /* no prefix */
    CHECK_INT(sw_secret_decode("whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key), -1);
    CHECK_INT(sw_secret_decode("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", key), -1); /* unpadded */
    CHECK_INT(sw_secret_decode("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=x", key), -1);
    CHECK_INT(sw_secret_decode("whsec_AAECAwQF-gcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key), -1); /* url alphabet */
    CHECK_INT(sw_secret_decode("whsec_AAECAwQFBgcICQoLDA0ODxAR", key), -1); /* 18 bytes */
    CHECK_INT(sw_secret_decode("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx", key), -1); /* not /4 */
    /* 24 bytes is the spec's minimum, 64 its maximum. */
    CHECK_INT(sw_secret_decode("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", key), 24);
    CHECK_INT(sw_secret_decode("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXAAAA", key), 27);
    char long_secret[6 + 88 + 1] = "whsec_";
    unsigned char raw[65] = {0};
    char *b64 = base64_encode(raw, 64);
    strcat(long_secret, b64);
    free(b64);
    CHECK_INT(sw_secret_decode(long_secret, key), 64);
    b64 = base64_encode(raw, 65);
    char *too_long = malloc(strlen(b64) + 7);
    sprintf(too_long, "whsec_%s", b64);
    CHECK_INT(sw_secret_decode(too_long, key), -1);
    free(b64);
    free(too_long);
}

static void base64_rfc4648(void)
{
    static const struct {
        const char *plain, *encoded;
    } vectors[] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        char *enc = base64_encode((const unsigned char *)vectors[i].plain,
                                  strlen(vectors[i].plain));
        CHECK_STR(enc, vectors[i].encoded);
        free(enc);
        unsigned char out[8];
        long n = base64_decode(vectors[i].encoded, out, sizeof out);
        CHECK_INT(n, strlen(vectors[i].plain));
        CHECK(n >= 0 && memcmp(out, vectors[i].plain, (size_t)n) == 0);
    }
    unsigned char out[8];
    CHECK_INT(base64_decode("Zm9v=", out, sizeof out), -1);
    CHECK_INT(base64_decode("Zg===", out, sizeof out), -1);
    CHECK_INT(base64_decode("Zm9vYmFy", out, 4), -1); /* does not fit */
    CHECK_INT(base64_decode("+/+/", out, sizeof out), 3);
    CHECK_INT(base64_decode("-_-_", out, sizeof out), -1);
    /* The url variant keeps its own alphabet. */
    CHECK_INT(base64url_decode("-_-_", out, sizeof out), 3);
    char *url = base64url_encode((const unsigned char *)"\xfb\xff", 2);
    CHECK_STR(url, "-_8");
    free(url);
}

int main(void)
{
    RUN(signs_the_known_vector);
    RUN(refuses_what_is_not_a_secret);
    RUN(base64_rfc4648);
    UNIT_DONE();
}
