/*
 * baseline_server - the floor the webhook benchmark compares against: a
 * minimal libevent (evhttp) server that reads each POST, verifies its
 * X-Hub-Signature as Switchboard does (sha1=<hex HMAC-SHA1(SECRET, body)>,
 * through a context keyed once and re-initialized for each body, compared in
 * constant time) and answers 200 with the same small JSON body
 * Switchboard sends, or 401 with a small JSON error; it stores nothing.
 *
 * usage: baseline_server PORT SECRET
 *   SECRET "-" answers 200 to every request without verifying (for benchmarks
 *   whose requests carry another signature, such as Canvas Kit's).
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA1_BYTES 20

static const char *secret; /* NULL: do not verify */
static EVP_MAC_CTX *keyed;  /* HMAC-SHA1 keyed with the secret */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The same checks as Switchboard's signature_valid: "sha1=", exactly 40 hex digits, then the
 * MAC over the whole body compared in constant time. */
static bool signature_matches(const char *header, const unsigned char *body, size_t len)
{
    if (!header || strncmp(header, "sha1=", 5) != 0)
        return false;
    const char *hex = header + 5;
    if (strlen(hex) != 2 * SHA1_BYTES)
        return false;
    unsigned char given[SHA1_BYTES], mac[SHA1_BYTES];
    for (size_t i = 0; i < SHA1_BYTES; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        given[i] = (unsigned char)(hi << 4 | lo);
    }
    size_t mac_len = 0;
    if (EVP_MAC_init(keyed, NULL, 0, NULL) != 1 || EVP_MAC_update(keyed, body, len) != 1
        || EVP_MAC_final(keyed, mac, &mac_len, sizeof mac) != 1 || mac_len != SHA1_BYTES)
        return false;
    return CRYPTO_memcmp(mac, given, SHA1_BYTES) == 0;
}

static void reply(struct evhttp_request *req, int status, const char *reason, const char *json)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(out, json, strlen(json));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, reason, out);
    evbuffer_free(out);
}

static void handle(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (secret) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        /* One contiguous body, as Switchboard hashes it. */
        const unsigned char *body = len ? evbuffer_pullup(in, -1) : (const unsigned char *)"";
        const char *header = evhttp_find_header(evhttp_request_get_input_headers(req),
                                                "X-Hub-Signature");
        if (!body || !signature_matches(header, body, len)) {
            reply(req, 401, "Unauthorized",
                  "{\"error\":{\"status\":401,\"code\":\"bad_signature\"}}");
            return;
        }
    }
    reply(req, 200, "OK", "{\"status\":\"queued\"}");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: baseline_server PORT SECRET (\"-\": do not verify)\n");
        return 2;
    }
    secret = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
    EVP_MAC *hmac = secret ? EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;
    if (secret) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0),
            OSSL_PARAM_construct_end(),
        };
        keyed = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
        if (!keyed
            || EVP_MAC_init(keyed, (const unsigned char *)secret, strlen(secret), params) != 1) {
            fprintf(stderr, "baseline_server: cannot key HMAC-SHA1\n");
            return 1;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (!http) {
        fprintf(stderr, "baseline_server: out of memory\n");
        return 1;
    }
    evhttp_set_gencb(http, handle, NULL);
    evhttp_set_max_body_size(http, 1 << 20);
    if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])) != 0) {
        perror("bind");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    event_base_dispatch(base);
    evhttp_free(http);
    event_base_free(base);
    EVP_MAC_CTX_free(keyed);
    EVP_MAC_free(hmac);
    return 0;
}
