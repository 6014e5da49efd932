/*
 * fuzz_admin_api - the admin API with the admin token: the input is
 * "METHOD PATH\nBODY" (PATH under /admin, BODY sent as JSON), e.g.
 * "PUT /installations/1/settings\n{...}" or "GET /jobs?state=dead". Every
 * request gets a well-formed answer that is never a 5xx other than 502/503
 * (an Intercom call meeting the closed port; a store refusing), and settings
 * are accepted only as one strict JSON object.
 */
#include "logcheck.h"
#include "server_harness.h"

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
    fuzz_line_request(&req, data, size, "/admin",
                      "Authorization: Bearer " FUZZ_ADMIN_TOKEN "\r\n");
    int status = fuzz_server_request(req.data, req.len, NULL);
    buf_free(&req);
    if (status == 0 || status == 500 || status == 504 || status > 599) {
        fprintf(fuzz_diag(), "fuzz: the admin API answered %d\n", status);
        abort();
    }
    size_t body_len;
    const uint8_t *body = fuzz_line_body(data, size, &body_len);
    /* The one route taking a body: PUT /installations/{id}/settings, a JSON object. */
    if (status == 200 && size > 4 && memcmp(data, "PUT ", 4) == 0
        && !fuzz_strict_json(body, body_len, true)) {
        fprintf(fuzz_diag(), "fuzz: settings that are not one strict JSON object got 200\n");
        abort();
    }
    return 0;
}
