/*
 * fuzz_oauth_callback - the OAuth callback query: the input is the query
 * string of GET /oauth/testplug/callback (bytes a request target cannot
 * hold are %-escaped, so the fuzzer works on what the handler decodes). The
 * first "STATE" in it is replaced by a fresh, valid state from
 * /oauth/testplug/install, so the code, error and error_description
 * parameters behind the state check are reached too (the token exchange
 * then meets a closed port). Every callback gets a page: 200, 302, 400, 403
 * (Intercom sent an error: the person may not install) or 502.
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

/* A valid state from the install redirect's Location (still %-encoded), or NULL. */
static char *fresh_state(void)
{
    static const char install[] = "GET /oauth/" FUZZ_PLUGIN "/install HTTP/1.1\r\nHost: fuzz\r\n\r\n";
    struct buf response;
    buf_init(&response);
    int status = fuzz_server_request(install, sizeof install - 1, &response);
    char *state = NULL;
    const char *at = status == 302 ? strstr(response.data, "state=") : NULL;
    if (at) {
        at += 6;
        state = xstrndup(at, strcspn(at, "&\r\n"));
    }
    buf_free(&response);
    if (!state) {
        fprintf(fuzz_diag(), "fuzz: /oauth/%s/install gave no state (status %d)\n", FUZZ_PLUGIN, status);
        abort();
    }
    return state;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *mark = memmem(data, size, "STATE", 5);
    struct buf req;
    buf_init(&req);
    buf_puts(&req, "GET /oauth/" FUZZ_PLUGIN "/callback?");
    if (mark) {
        char *state = fresh_state();
        fuzz_append_target(&req, data, (size_t)(mark - data));
        buf_puts(&req, state);
        fuzz_append_target(&req, mark + 5, size - (size_t)(mark - data) - 5);
        free(state);
    } else {
        fuzz_append_target(&req, data, size);
    }
    buf_puts(&req, " HTTP/1.1\r\nHost: fuzz\r\n\r\n");
    int status = fuzz_server_request(req.data, req.len, NULL);
    buf_free(&req);
    static const int allowed[] = {200, 302, 400, 403, 502, 0};
    fuzz_expect_status(status, allowed, "the OAuth callback");
    return 0;
}
