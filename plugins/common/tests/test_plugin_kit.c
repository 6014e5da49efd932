/* test_plugin_kit.c - plugin_kit's growing string, templates, ids and ?limit=. */
#include "plugin_kit.h"
#include "unit.h"

static void buffer_grows_and_escapes(void)
{
    struct pk_buf b = {0};
    char *empty = pk_buf_steal(&b);
    CHECK_STR(empty, "");
    free(empty);

    pk_buf_put(&b, "abc", 2);
    pk_buf_puts(&b, "<&>");
    pk_buf_html(&b, "<&>\"'");
    pk_buf_printf(&b, "|%d|%s", 42, "x");
    CHECK_STR(b.data, "ab<&>&lt;&amp;&gt;&quot;&#39;|42|x");
    CHECK_INT(b.len, strlen(b.data));
    for (int i = 0; i < 1000; i++) /* past several doublings */
        pk_buf_put(&b, "0123456789", 10);
    CHECK_INT(b.len, 34 + 10000);
    CHECK(b.cap > b.len && b.data[b.len] == '\0');
    char *text = pk_buf_steal(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    CHECK_INT(strlen(text), 34 + 10000);
    free(text);

    pk_buf_put(&b, NULL, 0); /* nothing to copy: still a string */
    CHECK_STR(b.data, "");
    pk_buf_free(&b);
    CHECK(b.data == NULL);
    pk_buf_free(&b); /* twice is harmless */
}

/* The placeholders found in @p tmpl, as "name|name|". */
static char *names_in(const char *tmpl)
{
    struct pk_buf out = {0};
    const char *start, *end, *name;
    size_t len;
    for (const char *p = tmpl; pk_template_next(p, &start, &end, &name, &len); p = end)
        pk_buf_printf(&out, "%.*s|", (int)len, name);
    return pk_buf_steal(&out);
}

#define CHECK_NAMES(tmpl, expected)                                                            \
    do {                                                                                       \
        char *names_ = names_in(tmpl);                                                         \
        CHECK_STR(names_, expected);                                                           \
        free(names_);                                                                          \
    } while (0)

static void grammar(void)
{
    CHECK_NAMES("Hi {{a}}, {{ b.c }} and {{  d_e  }}.", "a|b.c|d_e|");
    CHECK_NAMES("{{{{x}}", "x|");           /* the inner pair */
    CHECK_NAMES("{{ {{x}} }}", "x|");
    CHECK_NAMES("{{ }} {{}} {{a", "");      /* empty names, no closing braces */
    CHECK_NAMES("{x} {{a\nb}} {{c\r}}", ""); /* single braces, line breaks */
    CHECK_NAMES("{{a}}{{a}}}}", "a|a|");
    CHECK_NAMES("{{Mixed Case-1}}", "Mixed Case-1|");
    CHECK_NAMES("", "");

    const char *start, *end, *name;
    size_t len;
    const char *tmpl = "ab{{ x }}cd";
    CHECK(pk_template_next(tmpl, &start, &end, &name, &len));
    CHECK(start == tmpl + 2 && end == tmpl + 9 && name == tmpl + 5 && len == 1);
}

struct pair {
    const char *name, *value;
};

/* Looks names up in a NULL-terminated table of pairs. */
static bool from_pairs(void *ctx, const char *name, size_t len, const char **value)
{
    for (const struct pair *p = ctx; p->name; p++)
        if (strlen(p->name) == len && memcmp(p->name, name, len) == 0) {
            *value = p->value;
            return true;
        }
    return false;
}

static const struct pair vars[] = {
    {"who", "Ada <a@x.io>"}, {"none", NULL}, {"brace", "{{who}}"}, {NULL, NULL}};

static char *render(const char *tmpl, enum pk_escape escape)
{
    struct pk_buf out = {0};
    pk_template_render(&out, tmpl, from_pairs, (void *)vars, escape);
    return pk_buf_steal(&out);
}

#define CHECK_RENDER(tmpl, escape, expected)                                                   \
    do {                                                                                       \
        char *rendered_ = render(tmpl, escape);                                                \
        CHECK_STR(rendered_, expected);                                                        \
        free(rendered_);                                                                       \
    } while (0)

static void rendering(void)
{
    CHECK_RENDER("Hi {{ who }}!", PK_ESCAPE_NONE, "Hi Ada <a@x.io>!");
    CHECK_RENDER("Hi {{ who }} & co", PK_ESCAPE_HTML, "Hi Ada &lt;a@x.io&gt; &amp; co");
    /* Unknown names and broken braces stay as written (escaped with the text); NULL is "". */
    CHECK_RENDER("[{{none}}] {{nope}} {{ }} {{who", PK_ESCAPE_NONE, "[] {{nope}} {{ }} {{who");
    CHECK_RENDER("<{{nope}}>", PK_ESCAPE_HTML, "&lt;{{nope}}&gt;");
    /* A value is never read as a template. */
    CHECK_RENDER("{{brace}}", PK_ESCAPE_NONE, "{{who}}");
    CHECK_RENDER("{{{{who}}", PK_ESCAPE_NONE, "{{Ada <a@x.io>");
    CHECK_RENDER("", PK_ESCAPE_NONE, "");
    CHECK_RENDER(NULL, PK_ESCAPE_HTML, "");

    /* Rendering appends. */
    struct pk_buf out = {0};
    pk_buf_puts(&out, "<p>");
    pk_template_render(&out, "{{who}}", from_pairs, (void *)vars, PK_ESCAPE_HTML);
    pk_buf_puts(&out, "</p>");
    CHECK_STR(out.data, "<p>Ada &lt;a@x.io&gt;</p>");
    pk_buf_free(&out);
}

static void unknown_names(void)
{
    static const char *const known[] = {"a", "b.c", NULL};
    char *u = pk_template_unknown("{{a}} {{x}} {{ b.c }} {{y}} {{x}} {{ y }} {{ab}}", known, false);
    CHECK_STR(u, "x, y, ab");
    free(u);
    u = pk_template_unknown("{{a}} {{x}} {{x}} {{Y z}}", known, true);
    CHECK_STR(u, "{{x}}, {{Y z}}");
    free(u);
    /* A name with ", " in it is still listed once, and a shorter one after it too. */
    u = pk_template_unknown("{{p, q}} {{q}} {{p, q}}", known, false);
    CHECK_STR(u, "p, q, q");
    free(u);
    CHECK(pk_template_unknown("{{a}} {{b.c}} {x} {{ }}", known, true) == NULL);
    CHECK(pk_template_unknown("", known, true) == NULL);
    CHECK(pk_template_unknown(NULL, known, true) == NULL);
    u = pk_template_unknown("{{a}}", NULL, false);
    CHECK_STR(u, "a");
    free(u);
}

/* pk_query_limit on a request whose query is @p query_json; @p *limit and @p result filled. */
static bool limit_from(const char *query_json, size_t *limit, sb_result *result)
{
    json_object *query = json_tokener_parse(query_json);
    sb_http_request req = {.query = query};
    memset(result, 0, sizeof *result);
    *limit = 12345;
    bool ok = pk_query_limit(&req, 50, 200, limit, result);
    json_object_put(query);
    return ok;
}

static void query_limits(void)
{
    size_t limit;
    sb_result result;
    CHECK(limit_from("{}", &limit, &result) && limit == 50);
    CHECK(limit_from("{\"limit\":\"\"}", &limit, &result) && limit == 50);
    CHECK(limit_from("{\"limit\":\"1\"}", &limit, &result) && limit == 1);
    CHECK(limit_from("{\"limit\":\"200\"}", &limit, &result) && limit == 200);
    CHECK(limit_from("{\"limit\":\"007\"}", &limit, &result) && limit == 7);
    const char *bad[] = {"0", "201", "-5", "+5", " 5", "5 ", "5x", "abc", "1e2", "2.0",
                         "99999999999999999999999"};
    for (size_t i = 0; i < PK_ARRAY_LEN(bad); i++) {
        char query[96];
        snprintf(query, sizeof query, "{\"limit\":\"%s\"}", bad[i]);
        CHECK(!limit_from(query, &limit, &result));
        CHECK_INT(result.http_status, 400);
        CHECK_STR(result.code, "invalid_limit");
        CHECK_STR(result.message, "limit must be a whole number from 1 to 200");
    }
}

static void ids(void)
{
    CHECK(pk_id_valid("abc-09_Z", 8, "_-"));
    CHECK(pk_id_valid("a", 1, ""));
    CHECK(!pk_id_valid("abc-09_Z", 7, "_-")); /* too long */
    CHECK(!pk_id_valid("", 8, "_-"));
    CHECK(!pk_id_valid(NULL, 8, "_-"));
    CHECK(!pk_id_valid("a.b", 8, "_-"));
    CHECK(pk_id_valid("a.b", 8, "."));
    const char *hostile[] = {"a b", "a/b", "../x", "a\nb", "caf\xc3\xa9", "a%2f", "a|b"};
    for (size_t i = 0; i < PK_ARRAY_LEN(hostile); i++)
        CHECK(!pk_id_valid(hostile[i], 64, "_-.:@+"));
}

static void html_as_text(void)
{
    const struct {
        const char *html, *text;
    } cases[] = {
        {"<div>a<br>b</div><ul><li>c</li><li>d&lt;e&gt;&quot;&#39;&nbsp;f</li></ul>",
         "a\nb\nc\nd<e>\"' f"},
        {"x <span>y</span> &unknown; <broken", "x y &unknown;"},
        {"<p>My   invoice\n\t&amp; order</p>", "My invoice & order"},
        {"a<span>b</span>c", "abc"},                           /* inline tags split nothing */
        {"1 < 2 and 3>2", "1 < 2 and 3>2"},                    /* a '<' that opens no tag is text */
        {"<a title=\"x>y\" href=\"u\">link</a>", "link"},    /* '>' inside a quoted value */
        {"<p>hi</p><script>alert('<p>x</p>')</script>there", "hi\nthere"},
        {"<STYLE>p{color:red}</STYLE>ok", "ok"},
        {"<script>never closed", ""},
        {"a<!-- <p>hidden</p> -->b", "ab"},
        {"&#233;&#xE9;&#X1F600;", "\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80"},
        {"&#0;&#xD800;&#x110000;", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"&#; &#x; &#12a;", "&#; &#x; &#12a;"},              /* not references: kept as written */
        {"a & b && c;&amp", "a & b && c;&amp"},
        {"&#0000000065;", "&#0000000065;"},                   /* longer than any reference */
        {"a\x01" "b\x7f", "ab"},
        {"<br/><br/>  x  <br/>", "x"},
        {NULL, ""},
    };
    for (size_t i = 0; i < PK_ARRAY_LEN(cases); i++) {
        char *t = pk_html_to_text(cases[i].html);
        CHECK_STR(t, cases[i].text);
        free(t);
    }
}

int main(void)
{
    RUN(buffer_grows_and_escapes);
    RUN(grammar);
    RUN(rendering);
    RUN(unknown_names);
    RUN(query_limits);
    RUN(ids);
    RUN(html_as_text);
    UNIT_DONE();
}
