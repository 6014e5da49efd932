/*
 * fuzz_canvas - the Canvas Kit request: the input is the body of
 * POST /canvas/testplug/initialize (or /submit when it mentions
 * "component_id"), signed with the plugin's client_secret (X-Body-Signature:
 * hex HMAC-SHA256) so it reaches the JSON parsing, the workspace lookup, the
 * plugin's canvas callback and the check of its answer. A complete, signed
 * request always gets a verdict: 200 (a canvas), 400 or 413, and 200 only
 * for a body that is one JSON object with nothing after it.
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
    bool submit = memmem(data, size, "component_id", 12) != NULL;
    struct buf req;
    buf_init(&req);
    buf_printf(&req, "POST /canvas/" FUZZ_PLUGIN "/%s HTTP/1.1\r\nHost: fuzz\r\n"
                     "Content-Type: application/json\r\nX-Body-Signature: ",
               submit ? "submit" : "initialize");
    fuzz_append_signature(&req, EVP_sha256(), data, size);
    buf_printf(&req, "\r\nContent-Length: %zu\r\n\r\n", size);
    buf_append(&req, data, size);
    int status = fuzz_server_request(req.data, req.len, NULL);
    buf_free(&req);
    if (status == 200 && !fuzz_strict_json(data, size, true)) {
        fprintf(fuzz_diag(), "fuzz: a signed canvas request that is not one JSON object got 200\n");
        abort();
    }
    static const int allowed[] = {200, 400, 413, 0};
    fuzz_expect_status(status, allowed, "a signed canvas request");
    return 0;
}
