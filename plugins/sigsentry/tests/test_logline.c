/* test_logline.c - NDJSON log record validation. */
#include "ss_logline.h"
#include "ss_util.h"
#include "unit.h"

/* 2026-01-15T12:00:00Z */
#define NOW 1768478400000LL

static bool parse(const char *line, struct ss_log_record *rec, char *err)
{
    return ss_logline_parse(line, strlen(line), NOW, NOW - 86400000LL, rec, err, 256);
}

static void test_valid(void)
{
    struct ss_log_record rec;
    char err[256];
    CHECK(parse("{\"time\":\"2026-01-15T11:30:00.250Z\",\"service\":\"Checkout-API\","
                "\"level\":\"ERROR\",\"message\":\"card declined\",\"extra\":1}",
                &rec, err));
    CHECK_INT(rec.time_ms, NOW - 30 * 60000 + 250);
    CHECK_STR(rec.service, "checkout-api");
    CHECK_INT(rec.level, SS_LEVEL_ERROR);
    CHECK_STR(rec.message, "card declined");
    ss_log_record_clear(&rec);

    CHECK(parse("{\"time\":\"2026-01-15T13:30:00+02:00\",\"service\":\"a\",\"level\":\"fatal\","
                "\"message\":\"x\"}  ",
                &rec, err));
    CHECK_INT(rec.time_ms, NOW - 30 * 60000);
    CHECK_INT(rec.level, SS_LEVEL_CRITICAL);
    ss_log_record_clear(&rec);

    /* The SDK's parser (tested in test_sdk_helpers) also reads +hhmm, as Intercom writes it. */
    CHECK(parse("{\"time\":\"2026-01-15t13:30:00.123456+0200\",\"service\":\"a\","
                "\"level\":\"info\",\"message\":\"x\"}",
                &rec, err));
    CHECK_INT(rec.time_ms, NOW - 30 * 60000 + 123);
    ss_log_record_clear(&rec);

    CHECK(parse("{\"time\":1768478399.5,\"service\":\"a.b_c-d\",\"level\":\"warning\","
                "\"message\":\"m\"}",
                &rec, err));
    CHECK_INT(rec.time_ms, NOW - 500);
    CHECK_INT(rec.level, SS_LEVEL_WARN);
    ss_log_record_clear(&rec);
}

static const struct {
    const char *line;
    const char *error;
} invalid[] = {
    {"not json", "not valid JSON: "},
    {"{\"time\":", "not valid JSON: the line ends inside a value"},
    {"{} {}", "not valid JSON: extra bytes after the value"},
    {"[1]", "a log record must be a JSON object"},
    {"{\"service\":\"a\",\"level\":\"info\",\"message\":\"m\"}", "\"time\" is missing"},
    {"{\"time\":\"2026-01-15 11:00:00\",\"service\":\"a\",\"level\":\"info\",\"message\":\"m\"}",
     "\"time\" is not an RFC 3339 time with a zone"},
    {"{\"time\":\"2026-02-30T11:00:00Z\",\"service\":\"a\",\"level\":\"info\",\"message\":\"m\"}",
     "\"time\" is not an RFC 3339 time"},
    {"{\"time\":\"2026-01-15T11:00:00.Z\",\"service\":\"a\",\"level\":\"info\",\"message\":\"m\"}",
     "\"time\" is not an RFC 3339 time"},
    {"{\"time\":\"1969-12-31T23:59:59Z\",\"service\":\"a\",\"level\":\"info\",\"message\":\"m\"}",
     "\"time\" is out of range"},
    {"{\"time\":true,\"service\":\"a\",\"level\":\"info\",\"message\":\"m\"}",
     "\"time\" must be an RFC 3339 string or Unix seconds"},
    {"{\"time\":\"2026-01-15T13:00:00Z\",\"service\":\"a\",\"level\":\"info\",\"message\":\"m\"}",
     "\"time\" is in the future"},
    {"{\"time\":\"2026-01-13T11:00:00Z\",\"service\":\"a\",\"level\":\"info\",\"message\":\"m\"}",
     "\"time\" is older than the project's retention period"},
    {"{\"time\":\"2026-01-15T11:00:00Z\",\"level\":\"info\",\"message\":\"m\"}",
     "\"service\" must be a string"},
    {"{\"time\":\"2026-01-15T11:00:00Z\",\"service\":\"-x\",\"level\":\"info\",\"message\":\"m\"}",
     "\"service\" must be 1-64 characters"},
    {"{\"time\":\"2026-01-15T11:00:00Z\",\"service\":\"a b\",\"level\":\"info\",\"message\":\"m\"}",
     "\"service\" must be 1-64 characters"},
    {"{\"time\":\"2026-01-15T11:00:00Z\",\"service\":\"a\",\"level\":\"loud\",\"message\":\"m\"}",
     "\"level\" must be one of"},
    {"{\"time\":\"2026-01-15T11:00:00Z\",\"service\":\"a\",\"level\":\"info\",\"message\":\"\"}",
     "\"message\" must be a non-empty string"},
    {"{\"time\":\"2026-01-15T11:00:00Z\",\"service\":\"a\",\"level\":\"info\",\"message\":5}",
     "\"message\" must be a non-empty string"},
};

static void test_invalid(void)
{
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        struct ss_log_record rec;
        char err[256] = "";
        CHECK(!parse(invalid[i].line, &rec, err));
        CHECK(rec.message == NULL);
        if (strncmp(err, invalid[i].error, strlen(invalid[i].error)) != 0)
            fprintf(stderr, "line %zu: got \"%s\"\n", i, err);
        CHECK(strncmp(err, invalid[i].error, strlen(invalid[i].error)) == 0);
    }
}

static void test_limits(void)
{
    struct ss_log_record rec;
    char err[256];
    size_t n = SS_LOG_MESSAGE_MAX + 200;
    char *line = malloc(n);
    int head = snprintf(line, n, "{\"time\":\"2026-01-15T11:00:00Z\",\"service\":\"a\","
                                 "\"level\":\"info\",\"message\":\"");
    memset(line + head, 'x', SS_LOG_MESSAGE_MAX + 1);
    strcpy(line + head + SS_LOG_MESSAGE_MAX + 1, "\"}");
    CHECK(!parse(line, &rec, err));
    CHECK_STR(err, "\"message\" is longer than 16384 bytes");
    free(line);
    char big[10]; /* too long is refused before a byte is read */
    CHECK(!ss_logline_parse(big, SS_LOG_LINE_MAX + 1, NOW, 0, &rec, err, sizeof err));
    CHECK_STR(err, "line is longer than 65536 bytes");

    char svc[SS_SERVICE_MAX + 1];
    char long_name[SS_SERVICE_MAX + 2];
    memset(long_name, 'a', SS_SERVICE_MAX + 1);
    long_name[SS_SERVICE_MAX + 1] = '\0';
    CHECK(!ss_service_normalize(long_name, svc));
    long_name[SS_SERVICE_MAX] = '\0';
    CHECK(ss_service_normalize(long_name, svc));
    CHECK(!ss_service_normalize("", svc));
    CHECK(!ss_service_normalize("caf\xc3\xa9", svc));
}

static void test_levels_and_times(void)
{
    enum ss_level l;
    CHECK(ss_level_parse("Notice", &l) && l == SS_LEVEL_INFO);
    CHECK(ss_level_parse("TRACE", &l) && l == SS_LEVEL_DEBUG);
    CHECK(ss_level_parse("err", &l) && l == SS_LEVEL_ERROR);
    CHECK(!ss_level_parse("", &l));
    CHECK_STR(ss_level_name(SS_LEVEL_WARN), "warn");

    char iso[SS_TIME_LEN], human[SS_TIME_LEN];
    ss_time_iso(NOW + 7, iso);
    CHECK_STR(iso, "2026-01-15T12:00:00.007Z");
    ss_time_human(NOW + 59999, human);
    CHECK_STR(human, "2026-01-15 12:00 UTC");
}

int main(void)
{
    RUN(test_valid);
    RUN(test_invalid);
    RUN(test_limits);
    RUN(test_levels_and_times);
    UNIT_DONE();
}
