/*
 * baseline_server - the floor the webhook benchmark compares against: a
 * minimal libevent (evhttp) server that reads each POST, verifies its
 * X-Hub-Signature as Switchboard does (sha1=<hex HMAC-SHA1(SECRET, body)>,
 * compared in constant time) and answers 200 with the same small JSON body
 * Switchboard sends, or 401 with a small JSON error; it stores nothing.
 *
 * usage: baseline_server PORT SECRET
 *   SECRET "-" answers 200 to every request without verifying (for benchmarks
 *   whose requests carry another signature, such as Canvas Kit's).
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA1_BYTES 20

static const char *secret; /* NULL: do not verify */

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
    unsigned int mac_len = SHA1_BYTES;
    if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), body, len, mac, &mac_len))
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
    return 0;
}
