/* test_signature.c - what normalisation strips and what it keeps. */
#include "ss_signature.h"
#include "unit.h"

static const struct {
    const char *message;
    const char *signature;
} cases[] = {
    {"timeout after 3000ms calling payments", "timeout after <n>ms calling payments"},
    {"order 12345 failed", "order <n> failed"},
    {"user_42 not found", "user_<n> not found"},
    {"request 550e8400-e29b-41d4-a716-446655440000 failed",
     "request <uuid> failed"},
    {"segfault at 0x7ffe3a2b in worker", "segfault at <hex> in worker"},
    {"bad digest deadbeef00c0ffee", "bad digest <hex>"},
    {"cart ord8F3K2 expired", "cart <id> expired"},
    {"mail to ada@example.com bounced.", "mail to <email> bounced."},
    {"upstream 10.0.3.17:8443 refused", "upstream <n>.<n>.<n>.<n>:<n> refused"},
    {"  lots   of\tspace \n here  ", "lots of space here"},
    {"HTTP/1.1 502 Bad Gateway", "HTTP/<n>.<n> <n> Bad Gateway"},
    {"v2 api", "v2 api"},                        /* one digit in a word is kept */
    {"facade error", "facade error"},            /* hex letters without digits are words */
    {"took 1.5s", "took <n>.<n>s"},
    {"", ""},
};

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char sig[SS_SIGNATURE_MAX + 1];
        ss_signature(cases[i].message, sig);
        CHECK_STR(sig, cases[i].signature);
    }
}

static void test_same_error_same_signature(void)
{
    char a[SS_SIGNATURE_MAX + 1], b[SS_SIGNATURE_MAX + 1];
    ss_signature("Payment 991 for customer cus_8812 declined (trace 4bf92f3577b34da6)", a);
    ss_signature("Payment 17 for customer cus_1 declined (trace 00f067aa0ba902b7)", b);
    CHECK_STR(a, b);
    CHECK_STR(a, "Payment <n> for customer cus_<n> declined (trace <hex>)");
    ss_signature("Timeout", a);
    ss_signature("timeout", b);
    CHECK(strcmp(a, b) != 0); /* case is kept */
}

static void test_length_limit(void)
{
    char message[1000], sig[SS_SIGNATURE_MAX + 1];
    memset(message, 'a', sizeof message - 1);
    message[sizeof message - 1] = '\0';
    ss_signature(message, sig);
    CHECK_INT(strlen(sig), SS_SIGNATURE_MAX);
    /* A cut never splits a UTF-8 character: 239 ASCII bytes, then "é" (2 bytes). */
    memset(message, 'a', 239);
    strcpy(message + 239, "\xc3\xa9 tail");
    ss_signature(message, sig);
    CHECK_INT(strlen(sig), 239);
}

int main(void)
{
    RUN(test_cases);
    RUN(test_same_error_same_signature);
    RUN(test_length_limit);
    UNIT_DONE();
}
