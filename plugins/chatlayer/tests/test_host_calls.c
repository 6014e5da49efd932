/*
 * chatlayer's host-calling code on the SDK's testing kit, with the built
 * chatlayer.so loaded as the host loads it: a scripted conversation through
 * the flows (greeting, answer, handover with the transcript note, silence
 * after), a close with its reason, what the bot ignores (other teams,
 * teammates, its own echo, a repeated delivery), the external endpoint
 * failing and then recovering or handing over at the last attempt, settings
 * that cannot work, check_config naming the broken element, and the product
 * API.
 */
#include "unit.h"

#include <switchboard/helpers.h>
#include <switchboard/testing.h>

#define BOT "7"

static const char OPTIONS[] =
    "{\"flows\":["
    " {\"name\":\"greeting\",\"intents\":[{\"keywords\":[\"hello\",\"hi\"]}],"
    "  \"reply\":\"Hello {{contact.name}}! Ask me about prices.\"},"
    " {\"name\":\"pricing\",\"intents\":[{\"match\":\"pric(e|ing)\",\"icase\":true}],"
    "  \"reply\":[\"Plans start at 10 EUR.\",\"Conversation {{intercom.conversationId}}.\"]},"
    " {\"name\":\"human\",\"intents\":[{\"keywords\":[\"agent\",\"human\"]}],"
    "  \"reply\":\"Passing you to a colleague.\",\"action\":\"handover\"},"
    " {\"name\":\"bye\",\"intents\":[{\"keywords\":\"bye\"}],"
    "  \"action\":{\"type\":\"close\",\"reason\":\"Glad we could help, {{contact.name}}.\"}}],"
    " \"fallback\":{\"reply\":\"Sorry, I did not get that.\"},"
    " \"endpoint_attempts\":3, \"endpoint_backoff_s\":1}";

static const char SETTINGS[] = "{\"bot_team_ids\":[\"100\",\"101\"],\"bot_admin_id\":\"" BOT "\","
                               "\"offload_team_id\":\"200\"}";

static sbt_kit *kit;
static sb_installation_id inst;

/*
 * Start the plugin with @p options and an installation "ws1" with @p settings,
 * set as the installation's own (checked by check_settings, as the admin API
 * does) or, with @p as_defaults, as plugin-wide defaults from the
 * configuration file (checked against the schema only).
 */
static void setup_settings(const char *options, const char *settings, bool as_defaults)
{
    char err[256];
    kit = sbt_open(CHATLAYER_SO, err, sizeof err);
    if (!kit || sbt_start(kit, options) != SB_OK) {
        fprintf(stderr, "chatlayer did not start: %s\n", kit ? sbt_result(kit)->message : err);
        exit(2);
    }
    if (as_defaults && sbt_settings_set(kit, 0, settings) != 0) {
        fprintf(stderr, "default settings: %s\n", sbt_result(kit)->message);
        exit(2);
    }
    inst = sbt_install(kit, "ws1");
    if (!as_defaults && sbt_settings_set(kit, inst, settings) != 0) {
        fprintf(stderr, "settings: %s\n", sbt_result(kit)->message);
        exit(2);
    }
    /* The channel checks (install, settings change) are not this test's subject. */
    sbt_intercom_on(kit, "GET", "/admins", 200,
                    "{\"type\":\"admin.list\",\"admins\":[{\"type\":\"admin\",\"id\":\"" BOT "\","
                    "\"name\":\"Bot\",\"email\":\"bot@x.io\"},{\"type\":\"admin\",\"id\":\"8\","
                    "\"name\":\"Ada\",\"email\":\"ada@x.io\"}]}");
    sbt_intercom_on(kit, "GET", "/teams", 200,
                    "{\"type\":\"team.list\",\"teams\":[{\"type\":\"team\",\"id\":\"100\"},"
                    "{\"type\":\"team\",\"id\":\"101\"},{\"type\":\"team\",\"id\":\"200\"}]}");
    /* Every write answers with a conversation whose newest part is the bot's. */
    sbt_intercom_on(kit, "POST", "/conversations/*", 200,
                    "{\"type\":\"conversation\",\"id\":\"1\",\"conversation_parts\":{"
                    "\"conversation_parts\":[{\"id\":\"p-bot\",\"part_type\":\"comment\","
                    "\"author\":{\"type\":\"admin\",\"id\":\"" BOT "\"}}]}}");
    while (sbt_run_due(kit) + sbt_deliver_pending(kit) > 0) {
    }
}

static void setup(const char *options, const char *settings)
{
    setup_settings(options, settings, false);
}

/* A user message as the notification's item: the newest part of conversation @p conv. */
static sb_job_id user_says(const char *conv, const char *part, const char *team, const char *text)
{
    char item[1024];
    snprintf(item, sizeof item,
             "{\"type\":\"conversation\",\"id\":\"%s\",\"team_assignee_id\":%s,"
             "\"source\":{\"id\":\"src-%s\",\"body\":\"<p>start</p>\","
             "\"author\":{\"type\":\"user\",\"id\":\"u1\",\"name\":\"Ann\",\"email\":\"ann@x.io\"}},"
             "\"conversation_parts\":{\"conversation_parts\":[{\"id\":\"%s\",\"part_type\":\"comment\","
             "\"body\":\"<p>%s</p>\",\"author\":{\"type\":\"user\",\"id\":\"u1\",\"name\":\"Ann\","
             "\"email\":\"ann@x.io\"}}]}}",
             conv, team, conv, part, text);
    return sbt_webhook(kit, inst, "conversation.user.replied", item);
}

/* Run the queued turns and deliver Intercom's answers until nothing is left. */
static void settle(void)
{
    while (sbt_run_due(kit) + sbt_deliver_pending(kit) > 0) {
    }
}

static size_t calls_since(size_t from, const char *service)
{
    size_t n = 0;
    for (size_t i = from; i < sbt_intercom_count(kit); i++)
        n += strcmp(sbt_intercom_call(kit, i)->service, service) == 0;
    return n;
}

static const sbt_call *last_call(void)
{
    return sbt_intercom_call(kit, sbt_intercom_count(kit) - 1);
}

static void conversation_through_greeting_answer_and_handover(void)
{
    setup(OPTIONS, SETTINGS);
    size_t before = sbt_intercom_count(kit);
    user_says("42", "m1", "100", "Hello there");
    settle();
    CHECK_INT(calls_since(before, "conversation_reply"), 1);
    const sbt_call *reply = last_call();
    CHECK_STR(reply->path, "/conversations/42/reply");
    CHECK_STR(sb_json_str(reply->body, "message_type"), "comment");
    CHECK_STR(sb_json_str(reply->body, "type"), "admin");
    CHECK_STR(sb_json_str(reply->body, "admin_id"), BOT);
    CHECK_STR(sb_json_str(reply->body, "body"), "<p>Hello Ann! Ask me about prices.</p>");

    before = sbt_intercom_count(kit);
    user_says("42", "m2", "100", "What is the PRICE?");
    settle();
    CHECK_INT(calls_since(before, "conversation_reply"), 2);
    CHECK_STR(sb_json_str(last_call()->body, "body"), "<p>Conversation 42.</p>");

    before = sbt_intercom_count(kit);
    user_says("42", "m3", "100", "I want a human");
    settle();
    /* The reply, the note with the transcript, then the assignment to the offload team. */
    CHECK_INT(sbt_intercom_count(kit) - before, 3);
    const sbt_call *note = sbt_intercom_call(kit, before + 1);
    CHECK_STR(sb_json_str(note->body, "message_type"), "note");
    CHECK_CONTAINS(sb_json_str(note->body, "body"), "<li>User: Hello there</li>");
    CHECK_CONTAINS(sb_json_str(note->body, "body"), "<li>Bot: Plans start at 10 EUR.</li>");
    CHECK_CONTAINS(sb_json_str(note->body, "body"), "<li>Bot: Passing you to a colleague.</li>");
    const sbt_call *assign = last_call();
    CHECK_STR(assign->method, "POST");
    CHECK_STR(assign->path, "/conversations/42/parts");
    CHECK_STR(sb_json_str(assign->body, "message_type"), "assignment");
    CHECK_STR(sb_json_str(assign->body, "type"), "team");
    CHECK_STR(sb_json_str(assign->body, "assignee_id"), "200");
    CHECK_STR(sb_json_str(assign->body, "admin_id"), BOT);

    /* Handed over: the bot stays silent, also when the user writes again. */
    before = sbt_intercom_count(kit);
    sb_job_id job = user_says("42", "m4", "100", "hello? anyone?");
    settle();
    CHECK_INT(sbt_intercom_count(kit), before);
    CHECK_INT(sbt_job_get(kit, job)->state, SBT_JOB_DONE);

    const sbt_reply *r = sbt_api(kit, "GET", "/conversations/42?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 200);
    CHECK_STR(sb_json_str(r->json, "status"), "handed_over");
    CHECK_INT(sb_json_int(r->json, "turns", 0), 3);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "transcript")), 7);
    r = sbt_api(kit, "GET", "/stats?workspace_id=ws1", NULL);
    CHECK_INT(sb_json_int(r->json, "handled", -1), 1);
    CHECK_INT(sb_json_int(r->json, "handed_over", -1), 1);
    CHECK_INT(sb_json_int(r->json, "closed", -1), 0);
    sbt_free(kit);
}

static void close_with_a_reason(void)
{
    setup(OPTIONS, SETTINGS);
    size_t before = sbt_intercom_count(kit);
    user_says("43", "m1", "101", "ok bye");
    settle();
    CHECK_INT(sbt_intercom_count(kit) - before, 1);
    const sbt_call *close = last_call();
    CHECK_STR(close->path, "/conversations/43/parts");
    CHECK_STR(sb_json_str(close->body, "message_type"), "close");
    CHECK_STR(sb_json_str(close->body, "type"), "admin");
    CHECK_STR(sb_json_str(close->body, "admin_id"), BOT);
    CHECK_STR(sb_json_str(close->body, "body"), "<p>Glad we could help, Ann.</p>");
    const sbt_reply *r = sbt_api(kit, "GET", "/conversations/43?workspace_id=ws1", NULL);
    CHECK_STR(sb_json_str(r->json, "status"), "closed");
    CHECK_STR(sb_json_str(r->json, "close_reason"), "Glad we could help, Ann.");
    CHECK_INT(sb_json_int(sbt_api(kit, "GET", "/stats?workspace_id=ws1", NULL)->json, "closed", 0), 1);
    sbt_free(kit);
}

static void what_the_bot_ignores(void)
{
    setup(OPTIONS, SETTINGS);
    size_t jobs = sbt_job_count(kit), before = sbt_intercom_count(kit);
    user_says("44", "m1", "200", "hello");  /* the offload team's conversation */
    user_says("45", "m1", "null", "hello"); /* unassigned */
    /* A teammate's reply, and the bot's own reply echoed back. */
    sbt_webhook(kit, inst, "conversation.user.replied",
                "{\"type\":\"conversation\",\"id\":\"46\",\"team_assignee_id\":100,"
                "\"conversation_parts\":{\"conversation_parts\":[{\"id\":\"p9\",\"part_type\":\"comment\","
                "\"body\":\"hello\",\"author\":{\"type\":\"admin\",\"id\":\"8\"}}]}}");
    sbt_webhook(kit, inst, "conversation.user.replied",
                "{\"type\":\"conversation\",\"id\":\"46\",\"team_assignee_id\":100,"
                "\"conversation_parts\":{\"conversation_parts\":[{\"id\":\"p-bot\",\"part_type\":\"comment\","
                "\"body\":\"hello\",\"author\":{\"type\":\"admin\",\"id\":\"" BOT "\"}}]}}");
    settle();
    /* Four webhook deliveries, no message job, nothing sent. */
    CHECK_INT(sbt_job_count(kit) - jobs, 4);
    CHECK_INT(sbt_jobs_in_state(kit, "message", SBT_JOB_DONE), 0);
    CHECK_INT(sbt_intercom_count(kit), before);
    CHECK(sbt_log_find(kit, SB_LOG_INFO, "the bot's own message") == 1);
    CHECK(sbt_log_find(kit, SB_LOG_INFO, "not assigned to a bot team") == 2);

    /* A repeated delivery of an answered message is not answered twice. */
    user_says("47", "m1", "100", "hello");
    settle();
    before = sbt_intercom_count(kit);
    user_says("47", "m1", "100", "hello");
    settle();
    CHECK_INT(sbt_intercom_count(kit), before);
    CHECK(sbt_log_find(kit, SB_LOG_INFO, "already answered") == 1);
    sbt_free(kit);
}

static void external_endpoint_fails_then_recovers(void)
{
    setup(OPTIONS, "{\"bot_team_ids\":[\"100\"],\"bot_admin_id\":\"" BOT "\","
                   "\"offload_team_id\":\"200\",\"bot\":\"external\","
                   "\"endpoint_url\":\"https://bot.example/turn\",\"endpoint_key\":\"k-secret\"}");
    sbt_outbound_allow(kit, "bot.example");
    sbt_outbound_once(kit, "POST", "https://bot.example/turn", 503, "application/json", "{}");
    sbt_outbound_once(kit, "POST", "https://bot.example/turn", 200, "application/json",
                      "{\"replies\":[\"From the engine\"],\"state\":{\"node\":\"n2\"}}");
    size_t before = sbt_intercom_count(kit);
    user_says("50", "m1", "100", "hello");
    settle();
    /* The first call failed: the turn waits for its retry (1 s backoff), nothing posted. */
    CHECK_INT(sbt_outbound_count(kit), 1);
    CHECK_INT(sbt_intercom_count(kit), before);
    const sbt_call *call = sbt_outbound_call(kit, 0);
    CHECK_STR(sb_json_str(call->body, "conversation_id"), "50");
    CHECK_STR(sb_json_str(call->body, "text"), "hello");
    CHECK(sb_json_is_null(call->body, "state"));
    bool bearer = false;
    for (const char *const *h = call->headers; h && *h; h++)
        bearer |= strcmp(*h, "Authorization: Bearer k-secret") == 0;
    CHECK(bearer);
    sbt_clock_advance(kit, 1000);
    settle();
    CHECK_INT(sbt_outbound_count(kit), 2);
    CHECK_INT(calls_since(before, "conversation_reply"), 1);
    CHECK_STR(sb_json_str(last_call()->body, "body"), "<p>From the engine</p>");
    /* The engine's state is kept and sent with the next message. */
    user_says("50", "m2", "100", "more");
    sbt_outbound_once(kit, "POST", "https://bot.example/turn", 200, "application/json",
                      "{\"replies\":[],\"action\":{\"type\":\"close\",\"reason\":\"Bye\"}}");
    settle();
    CHECK_STR(sb_json_str(sb_json_obj(sbt_outbound_call(kit, 2)->body, "state"), "node"), "n2");
    CHECK_STR(sb_json_str(last_call()->body, "message_type"), "close");
    /* The key never reaches the log. */
    CHECK(sbt_log_find(kit, SB_LOG_DEBUG, "k-secret") == 0);
    sbt_free(kit);
}

static void external_endpoint_down_hands_over(void)
{
    setup(OPTIONS, "{\"bot_team_ids\":[\"100\"],\"bot_admin_id\":\"" BOT "\","
                   "\"offload_team_id\":\"200\",\"bot\":\"external\","
                   "\"endpoint_url\":\"https://bot.example/turn\"}");
    sbt_outbound_allow(kit, "bot.example");
    sbt_outbound_on(kit, "POST", "https://bot.example/turn", 200, "application/json", "{\"cut\":");
    size_t before = sbt_intercom_count(kit);
    user_says("51", "m1", "100", "hello");
    settle();
    sbt_clock_advance(kit, 1000);
    settle();
    sbt_clock_advance(kit, 2000);
    settle();
    /* Three attempts (endpoint_attempts), then the handover: note and assignment. */
    CHECK_INT(sbt_outbound_count(kit), 3);
    CHECK_INT(sbt_intercom_count(kit) - before, 2);
    CHECK_CONTAINS(sb_json_str(sbt_intercom_call(kit, before)->body, "body"),
                   "the bot endpoint failed 3 times");
    CHECK_STR(sb_json_str(last_call()->body, "message_type"), "assignment");
    CHECK_INT(sbt_jobs_in_state(kit, "message", SBT_JOB_DONE), 1);
    sbt_free(kit);
}

static void settings_that_cannot_work(void)
{
    /* An installation's own settings that clash are refused before they are stored... */
    setup(OPTIONS, "{\"bot_team_ids\":[\"100\"],\"bot_admin_id\":\"" BOT "\","
                   "\"offload_team_id\":\"200\"}");
    CHECK_INT(sbt_settings_set(kit, inst, "{\"offload_team_id\":\"100\"}"), -1);
    CHECK_STR(sbt_result(kit)->code, "invalid_settings");
    CHECK_CONTAINS(sbt_result(kit)->message, "offload_team_id: the offload team is one of the bot teams");
    CHECK_INT(sbt_settings_set(kit, inst, "{\"bot_admin_id\":\"\"}"), 0); /* not chosen yet: allowed */
    sbt_free(kit);

    /* ...while defaults from the configuration file reach the plugin: it answers nothing. */
    setup_settings(OPTIONS, "{\"bot_team_ids\":[\"100\"],\"bot_admin_id\":\"" BOT "\","
                            "\"offload_team_id\":\"100\"}", true);
    CHECK(sbt_log_find(kit, SB_LOG_WARN, "the offload team is one of the bot teams") >= 1);
    size_t before = sbt_intercom_count(kit);
    sb_job_id hook = user_says("60", "m1", "100", "hello");
    settle();
    CHECK_INT(sbt_job_get(kit, hook)->state, SBT_JOB_DONE);
    CHECK_INT(sbt_jobs_in_state(kit, "message", SBT_JOB_DEAD), 1);
    CHECK_INT(sbt_intercom_count(kit), before);
    const sbt_reply *r = sbt_api(kit, "GET", "/channel?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 200);
    CHECK_STR(sb_json_str(json_object_array_get_idx(sb_json_arr(r->json, "problems"), 0), "setting"),
              "offload_team_id");
    CHECK_CONTAINS(sb_json_str(r->json, "webhook_url"), "/webhooks/chatlayer");
    sbt_free(kit);

    /* A bot agent who is not an admin of the workspace: the live check says so. */
    setup(OPTIONS, "{\"bot_team_ids\":[\"100\"],\"bot_admin_id\":\"999\",\"offload_team_id\":\"200\"}");
    r = sbt_api(kit, "POST", "/channel/check?workspace_id=ws1", NULL);
    settle();
    CHECK_INT(r->status, 200);
    CHECK(!sb_json_bool(r->json, "valid", true));
    CHECK_CONTAINS(r->body, "admin 999 is not an admin of this workspace");
    r = sbt_api(kit, "GET", "/admins?workspace_id=ws1", NULL);
    settle();
    CHECK_INT(r->status, 200);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "admins")), 2);
    sbt_free(kit);
}

static void check_config_names_the_element(void)
{
    char err[256];
    kit = sbt_open(CHATLAYER_SO, err, sizeof err);
    CHECK_INT(sbt_start(kit, "{\"flows\":[{\"intents\":[{\"keywords\":\"a\"}],\"reply\":\"x\"},"
                             "{\"intents\":[{\"match\":\"([\"}],\"reply\":\"y\"}]}"),
              SB_FAIL);
    CHECK_STR(sbt_result(kit)->where, "flows[1].intents[0].match");
    CHECK_CONTAINS(sbt_result(kit)->message, "invalid regular expression");
    sbt_free(kit);
    kit = sbt_open(CHATLAYER_SO, err, sizeof err);
    CHECK_INT(sbt_start(kit, "{\"flows\":[{\"intents\":[{\"keywords\":\"a\"}],"
                             "\"action\":{\"type\":\"transfer\"}}]}"),
              SB_FAIL);
    CHECK_STR(sbt_result(kit)->where, "flows[0].action.type");
    CHECK_CONTAINS(sbt_result(kit)->message, "unknown action 'transfer'");
    sbt_free(kit);
}

static void product_api_refusals(void)
{
    setup(OPTIONS, SETTINGS);
    const sbt_reply *r = sbt_api(kit, "GET", "/conversations/a%2Fb?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 400);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "code"), "invalid_conversation_id");
    r = sbt_api(kit, "GET", "/conversations/77?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 404);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "code"), "unknown_conversation");
    CHECK_INT(sbt_api(kit, "GET", "/stats", NULL)->status, 400);
    CHECK_INT(sbt_api(kit, "GET", "/stats?workspace_id=nope", NULL)->status, 404);
    sbt_free(kit);
}

int main(void)
{
    RUN(conversation_through_greeting_answer_and_handover);
    RUN(close_with_a_reason);
    RUN(what_the_bot_ignores);
    RUN(external_endpoint_fails_then_recovers);
    RUN(external_endpoint_down_hands_over);
    RUN(settings_that_cannot_work);
    RUN(check_config_names_the_element);
    RUN(product_api_refusals);
    UNIT_DONE();
}
