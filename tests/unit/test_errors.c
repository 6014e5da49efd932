/* Unit tests for core/errors.c: HTTP status -> kind, the result_from_error classifier, codes. */
#include "errors.h"
#include "unit.h"

static void test_kind_for_status(void)
{
    static const struct {
        int status;
        sb_error_kind kind;
    } cases[] = {
        {200, SB_ERR_NONE},          {204, SB_ERR_NONE},           {0, SB_ERR_NETWORK},
        {401, SB_ERR_NEEDS_REAUTH},  {403, SB_ERR_FORBIDDEN},      {404, SB_ERR_NOT_FOUND},
        {410, SB_ERR_NOT_FOUND},     {429, SB_ERR_RATE_LIMITED},   {400, SB_ERR_INVALID_REQUEST},
        {409, SB_ERR_INVALID_REQUEST}, {422, SB_ERR_INVALID_REQUEST}, {500, SB_ERR_SERVER_ERROR},
        {503, SB_ERR_SERVER_ERROR},  {302, SB_ERR_SERVER_ERROR},   {101, SB_ERR_SERVER_ERROR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (errors_kind_for_status(cases[i].status) != cases[i].kind)
            fprintf(stderr, "status %d\n", cases[i].status);
        CHECK_INT(errors_kind_for_status(cases[i].status), cases[i].kind);
    }
}

/* Every kind: the status the classifier gives, the code, and the http_status that skips a job. */
static void test_every_kind(void)
{
    static const struct {
        sb_error_kind kind;
        sb_status status;
        const char *code;
        int http_status;
    } cases[] = {
        {SB_ERR_RATE_LIMITED, SB_RETRY, "rate_limited", 0},
        {SB_ERR_NEEDS_REAUTH, SB_RETRY, "needs_reauth", 0},
        {SB_ERR_REVOKED, SB_FAIL, "revoked", 410},
        {SB_ERR_NOT_FOUND, SB_FAIL, "not_found", 404},
        {SB_ERR_INVALID_REQUEST, SB_FAIL, "invalid_request", 0},
        {SB_ERR_FORBIDDEN, SB_FAIL, "forbidden", 0},
        {SB_ERR_SERVER_ERROR, SB_RETRY, "server_error", 0},
        {SB_ERR_NETWORK, SB_RETRY, "network", 0},
        {SB_ERR_CANCELLED, SB_RETRY, "cancelled", 0},
        {SB_ERR_NOT_ALLOWED, SB_FAIL, "not_allowed", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sb_intercom_response res = {.status = 418, .error_code = "some_code",
                                    .error_message = "some text", .kind = cases[i].kind,
                                    .retry_after_s = 7};
        sb_result result = {0};
        sb_status st = errors_result_from_response(&res, "doing it", &result);
        if (st != cases[i].status || strcmp(result.code, cases[i].code) != 0)
            fprintf(stderr, "kind %d\n", (int)cases[i].kind);
        CHECK_INT(st, cases[i].status);
        CHECK_INT(st, sb_error_status(cases[i].kind));
        CHECK_STR(result.code, cases[i].code);
        CHECK_INT(result.http_status, cases[i].http_status);
        CHECK_INT(result.retry_after_s, 7);
        CHECK_STR(result.message, "doing it: some_code: some text (HTTP 418)");
    }
}

static void test_success_leaves_result_alone(void)
{
    sb_intercom_response res = {.status = 200, .kind = SB_ERR_NONE};
    sb_result result = {.http_status = 123};
    snprintf(result.message, sizeof result.message, "untouched");
    CHECK_INT(errors_result_from_response(&res, "reading", &result), SB_OK);
    CHECK_STR(result.message, "untouched");
    CHECK_STR(result.code, "");
    CHECK_INT(result.http_status, 123);
}

static void test_message_shapes(void)
{
    sb_result result = {0};
    sb_intercom_response timeout = {.status = 0, .error_code = "timeout",
                                    .error_message = "Operation timed out", .kind = SB_ERR_NETWORK};
    CHECK_INT(errors_result_from_response(&timeout, "fetching the conversation", &result), SB_RETRY);
    CHECK_STR(result.message, "fetching the conversation: timeout: Operation timed out");

    sb_result bare = {0};
    sb_intercom_response no_text = {.status = 404, .kind = SB_ERR_NOT_FOUND};
    CHECK_INT(errors_result_from_response(&no_text, NULL, &bare), SB_FAIL);
    CHECK_STR(bare.message, "not_found (HTTP 404)");
    CHECK_INT(bare.http_status, 404);

    /* A long text is cut, never overflows. */
    char long_text[600];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    sb_result cut = {0};
    sb_intercom_response big = {.status = 500, .error_code = "server_error",
                                .error_message = long_text, .kind = SB_ERR_SERVER_ERROR};
    CHECK_INT(errors_result_from_response(&big, "posting", &cut), SB_RETRY);
    CHECK_INT(strlen(cut.message), sizeof cut.message - 1);

    /* Nothing to classify is the caller's mistake: a permanent failure, not a crash. */
    sb_result none = {0};
    CHECK_INT(errors_result_from_response(NULL, "x", &none), SB_FAIL);
    CHECK_STR(none.code, "invalid_request");
    CHECK_INT(errors_result_from_response(&timeout, "x", NULL), SB_RETRY);
}

static void test_code_clean(void)
{
    char out[48];
    errors_code_clean("bad_project_2", "plugin_error", out, sizeof out);
    CHECK_STR(out, "bad_project_2");
    errors_code_clean("Bad Project-\"x\"", "plugin_error", out, sizeof out);
    CHECK_STR(out, "bad_project__x_");
    errors_code_clean("", "plugin_error", out, sizeof out);
    CHECK_STR(out, "plugin_error");
    errors_code_clean(NULL, "plugin_error", out, sizeof out);
    CHECK_STR(out, "plugin_error");
    errors_code_clean(NULL, NULL, out, sizeof out);
    CHECK_STR(out, "");
    char small[5];
    errors_code_clean("abcdefgh", NULL, small, sizeof small);
    CHECK_STR(small, "abcd");
    errors_code_clean("caf\xc3\xa9", NULL, out, sizeof out);
    CHECK_STR(out, "caf__");
}

int main(void)
{
    RUN(test_kind_for_status);
    RUN(test_every_kind);
    RUN(test_success_leaves_result_alone);
    RUN(test_message_shapes);
    RUN(test_code_clean);
    UNIT_DONE();
}
