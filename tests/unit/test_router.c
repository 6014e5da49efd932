/* Unit tests: router.c, util.c and hashmap.c. */
#include "hashmap.h"
#include "router.h"
#include "unit.h"
#include "util.h"

static int a, b, c, d;

static void routing(void)
{
    struct router *r = router_new();
    CHECK_INT(router_add(r, "GET", "/projects/{id}", &a), 0);
    CHECK_INT(router_add(r, "POST", "/projects/{id}/logs", &b), 0);
    CHECK_INT(router_add(r, "*", "/api/{plugin}/*", &c), 0);
    CHECK_INT(router_add(r, "PUT", "/projects/{id}", &d), 0);
    CHECK_INT(router_add(r, "GET", "no-slash", &a), -1);
    CHECK_INT(router_add(r, "GET", "/a/*/b", &a), -1);
    CHECK_INT(router_add(r, "GET", "/x/{", &a), -1);

    struct route_match m;
    char *allowed;
    CHECK_INT(router_match(r, "GET", "/projects/p%201", &m, NULL), ROUTE_FOUND);
    CHECK(m.data == &a);
    CHECK_STR(route_param(&m, "id"), "p 1");
    router_match_free(&m);
    CHECK_INT(router_match(r, "HEAD", "/projects/7", &m, NULL), ROUTE_FOUND);
    CHECK(m.data == &a);
    router_match_free(&m);
    CHECK_INT(router_match(r, "POST", "/projects/7/logs/", &m, NULL), ROUTE_FOUND);
    CHECK(m.data == &b);
    router_match_free(&m);
    CHECK_INT(router_match(r, "DELETE", "/projects/7", &m, &allowed), ROUTE_NO_METHOD);
    CHECK_STR(allowed, "GET, PUT");
    free(allowed);
    CHECK_INT(router_match(r, "GET", "/nothing", &m, NULL), ROUTE_NO_PATH);
    CHECK_INT(router_match(r, "GET", "/projects/%zz", &m, NULL), ROUTE_BAD_PATH);
    CHECK_INT(router_match(r, "PATCH", "/api/sigsentry/projects/9/logs", &m, NULL), ROUTE_FOUND);
    CHECK(m.data == &c);
    CHECK_STR(route_param(&m, "plugin"), "sigsentry");
    CHECK_STR(route_param(&m, "*"), "/projects/9/logs");
    router_match_free(&m);
    CHECK_INT(router_match(r, "GET", "/api/x", &m, NULL), ROUTE_FOUND);
    CHECK_STR(route_param(&m, "*"), "");
    router_match_free(&m);
    router_free(r);
}

static void paths(void)
{
    char *p = path_relative_to("/etc/sb/switchboard.conf", "../var/db");
    CHECK_STR(p, "/etc/var/db");
    free(p);
    p = path_relative_to("etc/switchboard.conf", "../var/./x/../db");
    CHECK_STR(p, "var/db");
    free(p);
    p = path_relative_to("etc/switchboard.conf", "/abs/path");
    CHECK_STR(p, "/abs/path");
    free(p);
    p = path_relative_to("a.conf", "../../up");
    CHECK_STR(p, "../../up");
    free(p);
}

static void decoding(void)
{
    char s1[] = "a%20b+c%2Fd";
    CHECK(url_decode(s1, true));
    CHECK_STR(s1, "a b c/d");
    char s2[] = "a+b%3D";
    CHECK(url_decode(s2, false));
    CHECK_STR(s2, "a+b=");
    char s3[] = "bad%g1";
    CHECK(!url_decode(s3, false));
    struct buf b;
    buf_init(&b);
    buf_url_encode(&b, "a b/c=d~");
    CHECK_STR(b.data, "a%20b%2Fc%3Dd~");
    buf_html_escape(&b, "<a href=\"x\">'&'</a>");
    CHECK_STR(b.data, "a%20b%2Fc%3Dd~&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    CHECK_INT(b.len, strlen(b.data));
    buf_free(&b);
    int64_t v;
    CHECK(str_to_i64("-12", &v) && v == -12);
    CHECK(!str_to_i64("12x", &v));
    CHECK(!str_to_i64("", &v));
    CHECK(str_is_token("sig_sentry-1", 32));
    CHECK(!str_is_token("sig sentry", 32));
    CHECK(!str_is_token("", 32));
}

static void hashmap(void)
{
    struct hashmap *m = hashmap_new();
    static int values[5000];
    for (int i = 0; i < 5000; i++)
        CHECK(hashmap_put_u64(m, i, &values[i]) == NULL);
    CHECK_INT(hashmap_count(m), 5000);
    for (int i = 0; i < 5000; i += 2)
        CHECK(hashmap_remove_u64(m, i) == &values[i]);
    CHECK_INT(hashmap_count(m), 2500);
    for (int i = 0; i < 5000; i++)
        CHECK((hashmap_get_u64(m, i) != NULL) == (i % 2 == 1));
    CHECK(hashmap_put(m, "ab", 2, &values[0]) == NULL);
    CHECK(hashmap_put(m, "ab", 2, &values[1]) == &values[0]);
    CHECK(hashmap_get(m, "ab", 2) == &values[1]);
    CHECK(hashmap_get(m, "a", 1) == NULL);
    hashmap_free(m);
}

int main(void)
{
    RUN(routing);
    RUN(paths);
    RUN(decoding);
    RUN(hashmap);
    UNIT_DONE();
}
