/* test_flows.c - the options: flows parsed and checked (with where), matching, templates. */
#include "cl_flows.h"
#include "cl_template.h"
#include "unit.h"

static json_object *parse_json(const char *text)
{
    json_object *j = json_tokener_parse(text);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        exit(2);
    }
    return j;
}

static const char *GOOD =
    "{\"flows\":["
    " {\"name\":\"greeting\",\"intents\":[{\"keywords\":[\"hello\",\"good morning\"]}],"
    "  \"reply\":\"Hi {{contact.name}}!\"},"
    " {\"name\":\"pricing\",\"intents\":[{\"match\":\"pric(e|ing)|cost\",\"icase\":true}],"
    "  \"reply\":[\"Plans start at 10 EUR.\",\"Anything else?\"]},"
    " {\"name\":\"human\",\"intents\":[{\"keywords\":\"agent\"},{\"match\":\"^HUMAN$\"}],"
    "  \"reply\":\"Passing you on.\",\"action\":\"handover\"},"
    " {\"name\":\"bye\",\"intents\":[{\"keywords\":[\"bye\"]}],"
    "  \"action\":{\"type\":\"close\",\"reason\":\"Solved in {{intercom.conversationId}}\"}}],"
    " \"fallback\":{\"reply\":\"Sorry, I did not get that.\"},"
    " \"endpoint_attempts\":4}";

static void test_parse_and_match(void)
{
    json_object *j = parse_json(GOOD);
    struct cl_options o;
    char err[200], where[128];
    CHECK(cl_options_parse(j, &o, err, sizeof err, where, sizeof where));
    CHECK_INT(o.n_flows, 4);
    CHECK(o.has_fallback);
    CHECK_INT(o.endpoint_attempts, 4);
    CHECK_INT(o.endpoint_timeout_ms, 5000); /* default */
    CHECK_STR(cl_flows_match(&o, "Hello there")->name, "greeting");
    CHECK_STR(cl_flows_match(&o, "well, GOOD MORNING to you")->name, "greeting");
    /* Keywords are whole words: "othello" does not say hello. */
    CHECK_STR(cl_flows_match(&o, "I read Othello")->name, "fallback");
    CHECK_STR(cl_flows_match(&o, "What is the PRICING?")->name, "pricing");
    CHECK_STR(cl_flows_match(&o, "how much does it cost")->name, "pricing");
    /* The regex without icase is case-sensitive; the first matching flow wins. */
    CHECK_STR(cl_flows_match(&o, "HUMAN")->name, "human");
    CHECK_STR(cl_flows_match(&o, "human")->name, "fallback");
    CHECK_STR(cl_flows_match(&o, "agent please, the price is wrong")->name, "pricing");
    const struct cl_flow *bye = cl_flows_match(&o, "bye!");
    CHECK_INT(bye->action, CL_ACTION_CLOSE);
    CHECK_STR(bye->reason, "Solved in {{intercom.conversationId}}");
    CHECK_INT(cl_flows_match(&o, "an agent")->action, CL_ACTION_HANDOVER);
    cl_options_clear(&o);
    json_object_put(j);

    /* No flows, no fallback: nothing matches (the turn hands over). */
    CHECK(cl_options_parse(NULL, &o, err, sizeof err, where, sizeof where));
    CHECK(cl_flows_match(&o, "hello") == NULL);
    cl_options_clear(&o);
}

/* Each broken option fails with its message and the element's path. */
static void expect_refused(const char *options, const char *where_expected, const char *message)
{
    json_object *j = parse_json(options);
    struct cl_options o;
    char err[200], where[128];
    CHECK(!cl_options_parse(j, &o, err, sizeof err, where, sizeof where));
    CHECK_STR(where, where_expected);
    CHECK_CONTAINS(err, message);
    CHECK_INT(o.n_flows, 0); /* cleared */
    json_object_put(j);
}

static void test_refused(void)
{
    expect_refused("{\"flows\":[{\"intents\":[{\"keywords\":\"a\"}],\"reply\":\"x\"},"
                   "{\"intents\":[{\"keywords\":\"b\"}],\"reply\":\"y\"},"
                   "{\"intents\":[{\"match\":\"(unclosed\"}],\"reply\":\"z\"}]}",
                   "flows[2].intents[0].match", "invalid regular expression");
    expect_refused("{\"flows\":[{\"intents\":[{\"keywords\":\"a\"}],"
                   "\"action\":{\"type\":\"escalate\"}}]}",
                   "flows[0].action.type", "unknown action 'escalate'");
    expect_refused("{\"flows\":[{\"intents\":[{\"keywords\":\"a\"}],\"action\":\"explode\"}]}",
                   "flows[0].action", "unknown action 'explode'");
    expect_refused("{\"flows\":[{\"intents\":[{\"keywords\":\"a\"}],\"action\":{\"type\":\"close\"}}]}",
                   "flows[0].action", "close needs a reason");
    expect_refused("{\"flows\":[{\"intents\":[{\"keywords\":\"a\"}],"
                   "\"reply\":[\"ok\",\"Hi {{contact.phone}}\"]}]}",
                   "flows[0].reply[1]", "unknown variable {{contact.phone}}");
    expect_refused("{\"flows\":[{\"intents\":[],\"reply\":\"x\"}]}", "flows[0].intents",
                   "a flow needs intents");
    expect_refused("{\"flows\":[{\"reply\":\"x\"}]}", "flows[0]", "a flow needs intents");
    expect_refused("{\"flows\":[{\"intents\":[{\"keywords\":\"a\",\"match\":\"b\"}],\"reply\":\"x\"}]}",
                   "flows[0].intents[0]", "exactly one of keywords or match");
    expect_refused("{\"flows\":[{\"intents\":[{\"keywords\":\"a\"}]}]}", "flows[0]",
                   "needs a reply, an action or both");
    expect_refused("{\"flows\":[{\"intents\":[{\"keywords\":\"a\"}],\"reply\":\"x\",\"colour\":1}]}",
                   "flows[0].colour", "unknown option 'colour'");
    expect_refused("{\"flow\":[]}", "flow", "unknown option 'flow'");
    expect_refused("{\"fallback\":{\"reply\":\"x\",\"action\":{\"type\":\"handover\","
                   "\"reason\":\"no\"}}}", "fallback.action.reason", "handover takes no reason");
    expect_refused("{\"endpoint_attempts\":0}", "endpoint_attempts", "from 1 to 8");
    expect_refused("{\"flows\":{}}", "flows", "flows must be a list");
}

static void test_templates(void)
{
    char err[200];
    CHECK(cl_template_check("Hi {{ contact.name }}, {{contact.email}} {{intercom.conversationId}}",
                            err, sizeof err));
    CHECK(!cl_template_check("Hi {{contact.name", err, sizeof err));
    CHECK_CONTAINS(err, "without a closing");
    CHECK(!cl_template_check("{{contact.name}} {{ contact.nam }}", err, sizeof err));
    CHECK_CONTAINS(err, "unknown variable {{contact.nam}} (known: ");
    struct cl_vars vars = {"42", "Ada <Lovelace>", NULL};
    char *s = cl_template_render("Hi {{contact.name}} ({{contact.email}}) in #{{intercom.conversationId}}",
                                 &vars);
    CHECK_STR(s, "Hi Ada <Lovelace> () in #42");
    char *html = cl_text_html(s);
    CHECK_STR(html, "<p>Hi Ada &lt;Lovelace&gt; () in #42</p>");
    free(html);
    free(s);
    html = cl_text_html("a & b\nline 2");
    CHECK_STR(html, "<p>a &amp; b<br>line 2</p>");
    free(html);
}

int main(void)
{
    RUN(test_parse_and_match);
    RUN(test_refused);
    RUN(test_templates);
    UNIT_DONE();
}
