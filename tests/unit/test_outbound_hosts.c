/* Unit tests: outbound_hosts.c - allow-list entries, the strict URL form, and matching. */
#include "outbound_hosts.h"
#include "unit.h"
#include "util.h"

#include <stdbool.h>

/* Whether url is allowed by the entries (each must parse). */
static bool allowed(const char *const *entries, const char *url)
{
    struct outbound_host hosts[8];
    size_t n = 0;
    char why[160];
    for (; entries[n]; n++) {
        bool ok = outbound_host_parse(entries[n], &hosts[n], why, sizeof why);
        if (!ok)
            fprintf(stderr, "entry %s refused: %s\n", entries[n], why);
        CHECK(ok);
    }
    struct outbound_target t;
    if (!outbound_target_parse(url, &t, why, sizeof why))
        return false;
    return outbound_hosts_allow(hosts, n, &t);
}

static void names_match_exactly_and_without_case(void)
{
    const char *const list[] = {"api.vendor.com", NULL};
    CHECK(allowed(list, "https://api.vendor.com/v1/x?key=1"));
    CHECK(allowed(list, "https://API.Vendor.COM/"));
    CHECK(allowed(list, "HTTPS://api.vendor.com"));
    CHECK(!allowed(list, "https://vendor.com/"));
    CHECK(!allowed(list, "https://x.api.vendor.com/"));
    CHECK(!allowed(list, "https://api.vendor.com.evil.example/"));
    CHECK(!allowed(list, "https://api.vendor.co/"));
    CHECK(!allowed(list, "https://api.vendor.com./")); /* a trailing dot is not the same text */
    const char *const wild[] = {"*.vendor.com", NULL};
    struct outbound_host h;
    char why[160];
    CHECK(!outbound_host_parse(wild[0], &h, why, sizeof why)); /* no host wildcards */
}

static void ports_default_exact_or_any(void)
{
    const char *const list[] = {"api.vendor.com", "bot.example.com:8443", "http://127.0.0.1:*",
                                NULL};
    CHECK(allowed(list, "https://api.vendor.com:443/"));
    CHECK(!allowed(list, "https://api.vendor.com:8443/"));
    CHECK(allowed(list, "https://bot.example.com:8443/hook"));
    CHECK(!allowed(list, "https://bot.example.com/hook"));
    CHECK(!allowed(list, "https://bot.example.com:8444/hook"));
    CHECK(allowed(list, "http://127.0.0.1:1/"));
    CHECK(allowed(list, "http://127.0.0.1:65535/x"));
    CHECK(allowed(list, "http://127.0.0.1/x"));
}

static void schemes_https_unless_the_entry_says_http(void)
{
    const char *const list[] = {"api.vendor.com", "http://bot.internal", NULL};
    CHECK(!allowed(list, "http://api.vendor.com/"));
    CHECK(allowed(list, "http://bot.internal/"));
    CHECK(!allowed(list, "https://bot.internal/"));
    CHECK(!allowed(list, "http://bot.internal:443/"));
    const char *const explicit_https[] = {"https://api.vendor.com", NULL};
    CHECK(allowed(explicit_https, "https://api.vendor.com/"));
    CHECK(!allowed(explicit_https, "http://api.vendor.com/"));
}

static void ip_literals(void)
{
    const char *const list[] = {"http://[::1]:8080", "http://10.0.0.7", NULL};
    CHECK(allowed(list, "http://[::1]:8080/"));
    CHECK(allowed(list, "http://[0:0:0:0:0:0:0:1]:8080/")); /* the same address */
    CHECK(!allowed(list, "http://[::2]:8080/"));
    CHECK(!allowed(list, "http://[::1]/"));
    CHECK(allowed(list, "http://10.0.0.7/"));
    /* Other spellings of an address are refused outright, never resolved. */
    CHECK(!allowed(list, "http://10.0.7/"));
    CHECK(!allowed(list, "http://167772167/"));
    CHECK(!allowed(list, "http://0xa.0.0.7/"));
    CHECK(!allowed(list, "http://010.0.0.7/"));
    struct outbound_target t;
    char why[160];
    CHECK(!outbound_target_parse("http://2130706433/", &t, why, sizeof why));
    CHECK_CONTAINS(why, "IPv4");
    CHECK(!outbound_target_parse("http://0x7f000001/", &t, why, sizeof why));
    CHECK(!outbound_target_parse("http://[fe80::1%25eth0]/", &t, why, sizeof why));
    CHECK(!outbound_target_parse("http://::1/", &t, why, sizeof why));
    CHECK(outbound_target_parse("https://[2001:DB8::1]:8443/a", &t, why, sizeof why));
    CHECK_STR(t.host, "2001:db8::1");
    CHECK_INT(t.port, 8443);
    CHECK(t.ipv6);
}

static void malformed_urls_are_refused_with_a_reason(void)
{
    static const struct {
        const char *url, *why;
    } bad[] = {
        {"ftp://api.vendor.com/", "only http and https"},
        {"file:///etc/passwd", "only http and https"},
        {"gopher://x/", "only http and https"},
        {"api.vendor.com/x", "not an absolute"},
        {"//api.vendor.com/x", "not an absolute"},
        {"https://user:pw@api.vendor.com/", "user or password"},
        {"https://api.vendor.com@evil.example/", "user or password"},
        {"https:///x", "empty"},
        {"https://api.vendor.com:/", "port"},
        {"https://api.vendor.com:0/", "port"},
        {"https://api.vendor.com:65536/", "port"},
        {"https://api.vendor.com:08443/", "port"},
        {"https://api.vendor.com:44x/", "port"},
        {"https://api vendor.com/", "letters, digits"},
        {"https://api_vendor.com/", "letters, digits"},
        {"https://api.vendor%2ecom/", "letters, digits"},
        {"https://-api.vendor.com/", "starts with '-'"},
        {"https://api..vendor.com/", "empty label"},
        {"https://api.vendor.com/a b", "printable ASCII"},
        {"https://api.vendor.com/a\r\nHost: evil", "printable ASCII"},
        {"https://api.vendor.com/a\\b", "printable ASCII"},
        {"https://api.vendor.com/caf\xc3\xa9", "printable ASCII"},
        {"https://api.vendor.com/%zz", "two hex digits"},
        {"https://api.vendor.com/x#frag", "fragment"},
        {"https://[::1/", "']'"},
        {"https://[::1]x/", "only a port"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct outbound_target t;
        char why[160] = "";
        bool ok = outbound_target_parse(bad[i].url, &t, why, sizeof why);
        if (ok)
            fprintf(stderr, "accepted %s\n", bad[i].url);
        CHECK(!ok);
        CHECK_CONTAINS(why, bad[i].why);
    }
}

static void reasons_never_quote_the_url(void)
{
    struct outbound_target t;
    char why[160];
    CHECK(!outbound_target_parse("https://k3y:s3cr3t@api.vendor.com/", &t, why, sizeof why));
    CHECK(!strstr(why, "s3cr3t"));
    CHECK(!outbound_target_parse("https://api.vendor.com/?token=s3cr3t#x", &t, why, sizeof why));
    CHECK(!strstr(why, "s3cr3t"));
}

static void path_offset_marks_where_the_path_starts(void)
{
    struct outbound_target t;
    char why[160];
    const char *url = "http://127.0.0.1:8080/v1/items?key=1";
    CHECK(outbound_target_parse(url, &t, why, sizeof why));
    CHECK_STR(url + t.path_at, "/v1/items?key=1");
    CHECK(!t.https);
    CHECK_INT(t.port, 8080);
    CHECK(outbound_target_parse("https://api.vendor.com", &t, why, sizeof why));
    CHECK_INT(t.path_at, strlen("https://api.vendor.com"));
    CHECK_INT(t.port, 443);
    const char *with_query = "https://api.vendor.com?x=1";
    CHECK(outbound_target_parse(with_query, &t, why, sizeof why));
    CHECK_STR(with_query + t.path_at, "?x=1");
}

static void bad_entries_are_refused(void)
{
    static const char *const bad[] = {"",
                                      "api.vendor.com/v1",
                                      "user@api.vendor.com",
                                      "ftp://api.vendor.com",
                                      "api.vendor.com:",
                                      "api.vendor.com:99999",
                                      "api.vendor.com:**",
                                      "::1",
                                      "[::1",
                                      "127.1",
                                      "*",
                                      "api.vendor.com?x"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct outbound_host h;
        char why[160] = "";
        bool ok = outbound_host_parse(bad[i], &h, why, sizeof why);
        if (ok)
            fprintf(stderr, "accepted entry %s\n", bad[i]);
        CHECK(!ok);
        CHECK(why[0] != '\0');
    }
    struct outbound_host h;
    char why[160];
    CHECK(outbound_host_parse("HTTP://[::1]:*", &h, why, sizeof why));
    CHECK(h.plain_http);
    CHECK_STR(h.host, "::1");
    CHECK_INT(h.port, -1);
    CHECK(outbound_host_parse("Bot.Example.COM:8443", &h, why, sizeof why));
    CHECK(!h.plain_http);
    CHECK_STR(h.host, "bot.example.com");
    CHECK_INT(h.port, 8443);
}

int main(void)
{
    RUN(names_match_exactly_and_without_case);
    RUN(ports_default_exact_or_any);
    RUN(schemes_https_unless_the_entry_says_http);
    RUN(ip_literals);
    RUN(malformed_urls_are_refused_with_a_reason);
    RUN(reasons_never_quote_the_url);
    RUN(path_offset_marks_where_the_path_starts);
    RUN(bad_entries_are_refused);
    UNIT_DONE();
}
