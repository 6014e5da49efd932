/* Unit tests: crypto.c against published vectors, and sealing. */
#include "crypto.h"
#include "unit.h"
#include "util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static void hmac_sha1_rfc2202(void)
{
    unsigned char mac[20];
    char hex[41];
    hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, mac);
    hex_encode(mac, 20, hex);
    CHECK_STR(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

static void hmac_sha256_rfc4231(void)
{
    unsigned char mac[32];
    char hex[65];
    hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    hex_encode(mac, 32, hex);
    CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* RFC 4231 test case 6: a key longer than the hash's block (131 bytes, past the keyed
   contexts' limit too), then the same through a cached context (RFC 2202 case 6, 80 bytes). */
static void hmac_long_keys(void)
{
    unsigned char key[131], mac[32];
    char hex[65];
    memset(key, 0xaa, sizeof key);
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    for (int round = 0; round < 2; round++) {
        hmac_sha256(key, 131, msg, strlen(msg), mac);
        hex_encode(mac, 32, hex);
        CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
        hmac_sha1(key, 80, msg, strlen(msg), mac);
        hex_encode(mac, 20, hex);
        CHECK_STR(hex, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    }
}

/*
 * The keyed contexts a thread keeps (found again for a key, or evicted when
 * more keys come than it keeps) give what OpenSSL's one-shot HMAC gives; on
 * two threads at once; and again after the thread let its go.
 */
static int keyed_contexts_mismatches(void)
{
    static const size_t lengths[] = {0, 1, 63, 64, 65, 3000};
    unsigned char message[3000];
    for (size_t i = 0; i < sizeof message; i++)
        message[i] = (unsigned char)(i * 7 + 3);
    int mismatches = 0;
    for (unsigned round = 0; round < 120; round++) {
        /* Five keys in turn (each found again), then 20 in a scrambled order (more than a
           thread keeps: evicted), then three of them again. */
        unsigned k = round < 40 ? round % 5 : round < 80 ? (round * 7) % 20 : round % 3;
        unsigned char key[150];
        size_t key_len = (size_t)k * 7; /* 0 .. 133 bytes: the last past the limit */
        for (size_t i = 0; i < key_len; i++)
            key[i] = (unsigned char)(k + i);
        size_t len = lengths[round % 6];
        unsigned char got1[20], got256[32], want1[20], want256[32];
        unsigned int n1 = 20, n256 = 32;
        hmac_sha1(key, key_len, message, len, got1);
        hmac_sha256(key, key_len, message, len, got256);
        HMAC(EVP_sha1(), key, (int)key_len, message, len, want1, &n1);
        HMAC(EVP_sha256(), key, (int)key_len, message, len, want256, &n256);
        mismatches += memcmp(got1, want1, 20) != 0;
        mismatches += memcmp(got256, want256, 32) != 0;
    }
    return mismatches;
}

static void *keyed_contexts_thread(void *arg)
{
    int *mismatches = arg;
    *mismatches = keyed_contexts_mismatches();
    return NULL;
}

static void hmac_keyed_contexts(void)
{
    pthread_t other;
    int other_mismatches = -1;
    CHECK_INT(pthread_create(&other, NULL, keyed_contexts_thread, &other_mismatches), 0);
    CHECK_INT(keyed_contexts_mismatches(), 0);
    pthread_join(other, NULL);
    CHECK_INT(other_mismatches, 0);
    crypto_release_thread();
    CHECK_INT(keyed_contexts_mismatches(), 0);
    crypto_release_thread();
}

static void webhook_signature(void)
{
    const char *body = "{\"type\":\"notification_event\"}";
    unsigned char mac[20];
    char hex[41], header[48];
    hmac_sha1("secret", 6, body, strlen(body), mac);
    hex_encode(mac, 20, hex);
    snprintf(header, sizeof header, "sha1=%s", hex);
    CHECK(signature_valid(header, "secret", body, strlen(body), true));
    /* Uppercase hex is the same signature. */
    for (char *p = header + 5; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    CHECK(signature_valid(header, "secret", body, strlen(body), true));
    CHECK(!signature_valid(header, "other", body, strlen(body), true));
    CHECK(!signature_valid(hex, "secret", body, strlen(body), true)); /* no sha1= prefix */
    CHECK(!signature_valid(header, "secret", body, strlen(body) - 1, true));
    CHECK(!signature_valid(NULL, "secret", body, strlen(body), true));
    CHECK(!signature_valid("sha1=zz", "secret", body, strlen(body), true));
}

static void canvas_signature(void)
{
    const char *body = "{\"workspace_id\":\"abc\"}";
    unsigned char mac[32];
    char hex[65];
    hmac_sha256("s3cret", 6, body, strlen(body), mac);
    hex_encode(mac, 32, hex);
    CHECK(signature_valid(hex, "s3cret", body, strlen(body), false));
    CHECK(!signature_valid(hex, "s3cret", body, strlen(body), true));
    hex[10] = hex[10] == '0' ? '1' : '0';
    CHECK(!signature_valid(hex, "s3cret", body, strlen(body), false));
}

static void seal_round_trip(void)
{
    unsigned char key[SEAL_KEY_BYTES];
    CHECK_INT(crypto_random(key, sizeof key), 0);
    const char *token = "dG9rOjBiM2E0NjBhXzIxMjVfNDQ4Nl84OGRkXzZlZjVmMjVhYjliMzoxOjA=";
    size_t len = strlen(token);
    unsigned char sealed[256], plain[256];
    CHECK_INT(seal(key, "p/ws", 4, token, len, sealed), 0);
    CHECK(memcmp(sealed + 13, token, 8) != 0); /* not stored in clear */
    long n = unseal(key, "p/ws", 4, sealed, len + SEAL_OVERHEAD, plain);
    CHECK_INT(n, (long)len);
    CHECK(memcmp(plain, token, len) == 0);
    /* Bound to its installation: another AAD does not open it. */
    CHECK_INT(unseal(key, "p/other", 7, sealed, len + SEAL_OVERHEAD, plain), -1);
    /* Any flipped bit is detected. */
    sealed[20] ^= 1;
    CHECK_INT(unseal(key, "p/ws", 4, sealed, len + SEAL_OVERHEAD, plain), -1);
    sealed[20] ^= 1;
    key[0] ^= 1;
    CHECK_INT(unseal(key, "p/ws", 4, sealed, len + SEAL_OVERHEAD, plain), -1);
    CHECK_INT(unseal(key, "p/ws", 4, sealed, 5, plain), -1);
}

static void seal_uses_fresh_nonces(void)
{
    unsigned char key[SEAL_KEY_BYTES] = {0};
    unsigned char a[64], b[64];
    CHECK_INT(seal(key, "x", 1, "same", 4, a), 0);
    CHECK_INT(seal(key, "x", 1, "same", 4, b), 0);
    CHECK(memcmp(a, b, 4 + SEAL_OVERHEAD) != 0);
}

static void base64url(void)
{
    const unsigned char data[] = {0xfb, 0xff, 0x00, 0x10, 0x20};
    char *enc = base64url_encode(data, sizeof data);
    CHECK_STR(enc, "-_8AECA");
    unsigned char out[16];
    CHECK_INT(base64url_decode(enc, out, sizeof out), (long)sizeof data);
    CHECK(memcmp(out, data, sizeof data) == 0);
    CHECK_INT(base64url_decode("a*b", out, sizeof out), -1);
    CHECK_INT(base64url_decode("AAAAAAAAAAAAAAAAAAAAAAAA", out, 4), -1);
    free(enc);
}

static void hex_round_trip(void)
{
    unsigned char out[3];
    CHECK(hex_decode("00ff7A", out, 3));
    CHECK_INT(out[1], 0xff);
    CHECK_INT(out[2], 0x7a);
    CHECK(!hex_decode("00ff7", out, 3));
    CHECK(!hex_decode("00ff7A00", out, 3));
    CHECK(!hex_decode("0g0000", out, 3));
}

/* The one two-digit decoder behind hex_decode and url_decode (util.h). */
static void hex_byte_pairs(void)
{
    CHECK_INT(hex_byte("00"), 0);
    CHECK_INT(hex_byte("fF"), 255);
    CHECK_INT(hex_byte("7a"), 0x7a);
    CHECK_INT(hex_byte("g0"), -1);
    CHECK_INT(hex_byte("0g"), -1);
    CHECK_INT(hex_byte("0"), -1); /* the NUL is no digit */
    CHECK_INT(hex_byte(""), -1);  /* and what follows it is not read */
    char s[] = "a%2Fb%7e", bad[] = "a%2", control[] = "%0A";
    CHECK(url_decode(s, false));
    CHECK_STR(s, "a/b~");
    CHECK(!url_decode(bad, false));
    CHECK(!url_decode(control, false));
}

static void constant_time_equal(void)
{
    CHECK(ct_equal("abc", 3, "abc", 3));
    CHECK(!ct_equal("abc", 3, "abd", 3));
    CHECK(!ct_equal("abc", 3, "abcd", 4));
}

static void secret_file_created_private(void)
{
    char *dir = unit_tempdir();
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/nested/key", dir);
    char *content = NULL;
    CHECK_INT(secret_file_load_or_create(path, 32, &content, err, sizeof err), 0);
    CHECK_INT((int)strlen(content), 64);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    char *again = NULL;
    CHECK_INT(secret_file_load_or_create(path, 32, &again, err, sizeof err), 0);
    CHECK_STR(again, content);
    free(content);
    free(again);
    unit_write(path, "\n");
    CHECK_INT(secret_file_load_or_create(path, 32, &again, err, sizeof err), -1);
    CHECK_CONTAINS(err, "is empty");
    free(dir);
}

static void secret_file_read_first_line_and_mode(void)
{
    char *dir = unit_tempdir();
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/secret", dir);
    unit_write(path, "first-line\r\nsecond\n");
    chmod(path, 0640);
    char *content = NULL;
    unsigned mode = 0;
    CHECK_INT(secret_file_read(path, &content, &mode, err, sizeof err), 0);
    CHECK_STR(content, "first-line");
    CHECK_INT(mode, 0640);
    free(content);
    unit_write(path, "\n");
    CHECK_INT(secret_file_read(path, &content, &mode, err, sizeof err), -1);
    CHECK(errno != ENOENT); /* an empty file is an error, never a file to create */
    CHECK_CONTAINS(err, "is empty");
    unlink(path);
    CHECK_INT(secret_file_read(path, &content, &mode, err, sizeof err), -1);
    CHECK_INT(errno, ENOENT);
    CHECK_CONTAINS(err, "cannot read");
    CHECK_CONTAINS(err, "No such file");
    rmdir(dir);
    free(dir);
}

int main(void)
{
    RUN(hmac_sha1_rfc2202);
    RUN(hmac_sha256_rfc4231);
    RUN(hmac_long_keys);
    RUN(hmac_keyed_contexts);
    RUN(webhook_signature);
    RUN(canvas_signature);
    RUN(seal_round_trip);
    RUN(seal_uses_fresh_nonces);
    RUN(base64url);
    RUN(hex_round_trip);
    RUN(hex_byte_pairs);
    RUN(constant_time_equal);
    RUN(secret_file_created_private);
    RUN(secret_file_read_first_line_and_mode);
    UNIT_DONE();
}
