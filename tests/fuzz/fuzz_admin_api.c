/*
 * fuzz_admin_api - the admin API with the admin token: the input is
 * "METHOD PATH\nBODY" (PATH under /admin, BODY sent as JSON), e.g.
 * "PUT /installations/1/settings\n{...}" or "GET /jobs?state=dead". Every
 * request gets a well-formed answer that is never a 5xx other than 502/503
 * (an Intercom call meeting the closed port; a store refusing).
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
    fuzz_line_request(&req, data, size, "/admin",
                      "Authorization: Bearer " FUZZ_ADMIN_TOKEN "\r\n");
    int status = fuzz_server_request(req.data, req.len, NULL);
    buf_free(&req);
    if (status == 0 || status == 500 || status == 504 || status > 599) {
        fprintf(fuzz_diag(), "fuzz: the admin API answered %d\n", status);
        abort();
    }
    return 0;
}
