/*
 * fuzz_product_api - the plugin's product-side API with its api_key: the
 * input is "METHOD PATH\nBODY" (PATH under /api/testplug, BODY sent as
 * JSON), e.g. "POST /jobs?workspace_id=ws_fuzz\n{...}". The host parses the
 * body and query, finds the installation and the route, and runs the
 * plugin's handler. Every request gets a well-formed answer (a 500 is
 * allowed: testplug fails some routes on purpose, e.g. without workspace_id),
 * and a 2xx only when the body is empty or one strict JSON value.
 */
#include "logcheck.h"
#include "server_harness.h"

#include <stdio.h>
#include <stdlib.h>

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
    fuzz_line_request(&req, data, size, "/api/" FUZZ_PLUGIN,
                      "Authorization: Bearer " FUZZ_API_KEY "\r\n");
    int status = fuzz_server_request(req.data, req.len, NULL);
    buf_free(&req);
    if (status == 0) {
        fprintf(fuzz_diag(), "fuzz: the product API answered %d\n", status);
        abort();
    }
    size_t body_len;
    const uint8_t *body = fuzz_line_body(data, size, &body_len);
    /* The host parses every JSON body before the plugin sees the request. */
    if (status >= 200 && status < 300 && body_len && !fuzz_strict_json(body, body_len, false)) {
        fprintf(fuzz_diag(), "fuzz: a body that is not one strict JSON value got %d\n", status);
        abort();
    }
    return 0;
}
