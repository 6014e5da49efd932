/* test_template.c - reply template rendering. */
#include "ss_template.h"
#include "unit.h"

static const struct ss_template_var vars[] = {
    {"severity", "high"},
    {"affected_service", "checkout-api"},
    {"customer_name", "Ada <admin>"},
    {"window_start", NULL},
};

static void test_html(void)
{
    char *out = ss_template_render_html("Hi {{customer_name}},\n\nWe rate this {{ severity }} "
                                        "({{affected_service}}) & are on it.\r\n",
                                        vars, 4);
    CHECK_STR(out, "<p>Hi Ada &lt;admin&gt;,</p><p>We rate this high (checkout-api) &amp; are on "
                   "it.</p>");
    free(out);
    /* Unknown names and broken braces stay as written; NULL values are empty. */
    out = ss_template_render_html("{{severty}} {severity} {{window_start}}| {{ }} {{severity", vars,
                                  4);
    CHECK_STR(out, "<p>{{severty}} {severity} | {{ }} {{severity</p>");
    free(out);
    out = ss_template_render_html("   \n\n", vars, 4);
    CHECK_STR(out, "");
    free(out);
    out = ss_template_render_html("{{severity}}{{severity}}", vars, 4);
    CHECK_STR(out, "<p>highhigh</p>");
    free(out);
}

static void test_text(void)
{
    char *out = ss_template_render_text("Hi {{customer_name}}\n{{severity}}", vars, 4);
    CHECK_STR(out, "Hi Ada <admin>\nhigh");
    free(out);
}

static void test_unknown(void)
{
    char *u = ss_template_unknown("{{severity}} {{sevrity}} {{x}} {{sevrity}} {{customer_name}}",
                                  ss_reply_placeholders);
    CHECK_STR(u, "sevrity, x");
    free(u);
    CHECK(ss_template_unknown("no placeholders {here}", ss_reply_placeholders) == NULL);
    CHECK(ss_template_unknown("{{window_end}} {{conversation_id}}", ss_reply_placeholders) == NULL);
    u = ss_template_unknown("{{a}} {{ab}} {{b}}", ss_reply_placeholders);
    CHECK_STR(u, "a, ab, b");
    free(u);
}

int main(void)
{
    RUN(test_html);
    RUN(test_text);
    RUN(test_unknown);
    UNIT_DONE();
}
