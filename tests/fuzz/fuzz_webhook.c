/*
 * fuzz_webhook - the webhook envelope: the input is the body of
 * POST /webhooks/testplug, signed with the plugin's client_secret
 * (X-Hub-Signature: sha1=HMAC) so it gets past the signature check into the
 * JSON parsing, validation, dedup and storage behind it. A complete, signed
 * request always gets a verdict: 200 (stored or ignored), 400 or 413, and
 * 200 only for a body that is one JSON object with nothing after it.
 */
#include "logcheck.h"
#include "server_harness.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_log_init(*argc, *argv);
    fuzz_server_boot();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf req;
    buf_init(&req);
    buf_puts(&req, "POST /webhooks/" FUZZ_PLUGIN " HTTP/1.1\r\nHost: fuzz\r\n"
                   "User-Agent: intercom-parrot-service-client/1.0\r\n"
                   "Content-Type: application/json\r\nX-Hub-Signature: sha1=");
    fuzz_append_signature(&req, EVP_sha1(), data, size);
    buf_printf(&req, "\r\nContent-Length: %zu\r\n\r\n", size);
    buf_append(&req, data, size);
    int status = fuzz_server_request(req.data, req.len, NULL);
    buf_free(&req);
    if (status == 200 && !fuzz_strict_json(data, size, true)) {
        fprintf(fuzz_diag(), "fuzz: a signed webhook that is not one JSON object got 200\n");
        abort();
    }
    static const int allowed[] = {200, 400, 413, 0};
    fuzz_expect_status(status, allowed, "a signed webhook");
    return 0;
}
