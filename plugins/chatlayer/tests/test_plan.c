/* test_plan.c - plans from flows and from the external bot's answers, and the handover note. */
#include "cl_plan.h"
#include "unit.h"

#include <switchboard/helpers.h>

static json_object *parse_json(const char *text)
{
    json_object *j = json_tokener_parse(text);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        exit(2);
    }
    return j;
}

static void test_from_flow(void)
{
    json_object *opts = parse_json(
        "{\"flows\":[{\"name\":\"bye\",\"intents\":[{\"keywords\":\"bye\"}],"
        "\"reply\":[\"Bye {{contact.name}}\"],"
        "\"action\":{\"type\":\"close\",\"reason\":\"Closed #{{intercom.conversationId}}\"}}]}");
    struct cl_options o;
    char err[200], where[128];
    CHECK(cl_options_parse(opts, &o, err, sizeof err, where, sizeof where));
    struct cl_vars vars = {"55", "Zoë", "z@x.io"};
    json_object *plan = cl_plan_from_flow(cl_flows_match(&o, "ok bye"), &vars);
    CHECK_STR(sb_json_str(plan, "source"), "flow");
    CHECK_STR(sb_json_str(plan, "flow"), "bye");
    CHECK_STR(json_object_get_string(json_object_array_get_idx(sb_json_arr(plan, "replies"), 0)),
              "Bye Zoë");
    CHECK_INT(cl_plan_action(plan), CL_ACTION_CLOSE);
    CHECK_STR(sb_json_str(plan, "reason"), "Closed #55");
    json_object_put(plan);

    /* Nothing matched and no fallback: a handover with no replies. */
    plan = cl_plan_from_flow(cl_flows_match(&o, "hello"), &vars);
    CHECK_INT(cl_plan_action(plan), CL_ACTION_HANDOVER);
    CHECK_INT(json_object_array_length(sb_json_arr(plan, "replies")), 0);
    CHECK_CONTAINS(sb_json_str(plan, "why"), "no flow matched");
    json_object_put(plan);
    cl_options_clear(&o);
    json_object_put(opts);
}

static void test_endpoint(void)
{
    struct cl_message msg = {.conversation_id = "9", .message_id = "m1", .author_id = "c1",
                             .author_name = "Ann", .text = "hi"};
    json_object *state = parse_json("{\"step\":2}");
    json_object *req = cl_endpoint_request(&msg, "ws1", state);
    CHECK_STR(sb_json_str(req, "conversation_id"), "9");
    CHECK_STR(sb_json_str(req, "text"), "hi");
    CHECK_STR(sb_json_str(sb_json_obj(req, "contact"), "name"), "Ann");
    CHECK(sb_json_is_null(sb_json_obj(req, "contact"), "email"));
    CHECK_INT(sb_json_int(sb_json_obj(req, "state"), "step", 0), 2);
    json_object_put(req);
    json_object_put(state);

    char err[200];
    json_object *answer = parse_json("{\"replies\":[\"one\",\"two\"],\"state\":{\"step\":3},"
                                     "\"action\":{\"type\":\"close\",\"reason\":\"done\"}}");
    json_object *plan = cl_plan_from_endpoint(answer, err, sizeof err);
    CHECK(plan != NULL);
    CHECK_INT(json_object_array_length(sb_json_arr(plan, "replies")), 2);
    CHECK_INT(cl_plan_action(plan), CL_ACTION_CLOSE);
    CHECK_STR(sb_json_str(plan, "reason"), "done");
    CHECK_INT(sb_json_int(sb_json_obj(plan, "bot_state"), "step", 0), 3);
    json_object_put(plan);
    json_object_put(answer);

    answer = parse_json("{\"replies\":[],\"action\":\"handover\"}");
    plan = cl_plan_from_endpoint(answer, err, sizeof err);
    CHECK_INT(cl_plan_action(plan), CL_ACTION_HANDOVER);
    json_object_put(plan);
    json_object_put(answer);

    const char *bad[][2] = {{"[1]", "JSON object"},
                            {"{\"replies\":\"hi\"}", "\"replies\" must be a list"},
                            {"{\"replies\":[\"\"]}", "replies[0]"},
                            {"{\"action\":{\"type\":\"escalate\"}}", "unknown action"},
                            {"{\"action\":{\"type\":\"close\"}}", "close needs a reason"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        answer = parse_json(bad[i][0]);
        CHECK(cl_plan_from_endpoint(answer, err, sizeof err) == NULL);
        CHECK_CONTAINS(err, bad[i][1]);
        json_object_put(answer);
    }
    CHECK(cl_plan_from_endpoint(NULL, err, sizeof err) == NULL);
}

static void test_handover_note(void)
{
    json_object *transcript = parse_json("[{\"from\":\"user\",\"text\":\"<script>x</script>\"},"
                                         "{\"from\":\"bot\",\"text\":\"Hi & welcome\"}]");
    char *html = cl_handover_note_html(transcript, "the flow \"human\" hands over", "Ann",
                                       "ann@x.io");
    CHECK_CONTAINS(html, "<li>User: &lt;script&gt;x&lt;/script&gt;</li>");
    CHECK_CONTAINS(html, "<li>Bot: Hi &amp; welcome</li>");
    CHECK_CONTAINS(html, "Why: the flow &quot;human&quot; hands over");
    CHECK_CONTAINS(html, "Contact: Ann &lt;ann@x.io&gt;");
    CHECK(strstr(html, "<script>") == NULL);
    free(html);
    json_object_put(transcript);
    html = cl_handover_note_html(NULL, NULL, NULL, NULL);
    CHECK_CONTAINS(html, "No transcript.");
    free(html);
}

int main(void)
{
    RUN(test_from_flow);
    RUN(test_endpoint);
    RUN(test_handover_note);
    UNIT_DONE();
}
