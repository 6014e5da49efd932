/*
 * siit's workflow configuration: the seed's two workflows parse into
 * triggers and normalised actions; every broken input is refused with a
 * message naming the workflow and the action, and `where` naming the
 * element (the host turns it into file and line); durations and texts.
 */
#include "unit.h"

#include "si_workflow.h"

#include <switchboard/helpers.h>

/* The commented example of etc/plugins/siit.conf, as the host hands it over. */
static const char seed_workflows[] =
    "{\"workflows\":["
    "{\"name\":\"Customer issue escalation\",\"trigger\":{\"service\":\"Customer issue\"},"
    " \"actions\":[{\"type\":\"create_intercom_ticket\",\"team_id\":\"5017691\",\"priority\":\"high\"},"
    "              {\"type\":\"set_priority\",\"priority\":\"high\"},"
    "              {\"type\":\"notify_requester\",\"message\":\"Hi {{requester.name}}, "
    "{{ request.subject }} is with our customer success team.\"}]},"
    "{\"name\":\"Specialist handoff\",\"trigger\":{\"tag\":\"customer-support\"},"
    " \"actions\":[{\"type\":\"approval\",\"approver\":\"Support manager\",\"timeout\":\"48h\"},"
    "              {\"type\":\"create_intercom_ticket\",\"team_id\":5017692,\"ticket_type_id\":3},"
    "              {\"type\":\"notify_requester\",\"message\":\"A specialist has your request.\"}]}"
    "]}";

static sb_result result;

/* check_config on @p json; the result is in `result`. */
static sb_status check(const char *json)
{
    memset(&result, 0, sizeof result);
    json_object *options = json_tokener_parse(json);
    if (!options) {
        fprintf(stderr, "bad test JSON: %s\n", json);
        exit(2);
    }
    sb_status st = si_workflows_check(options, &result);
    json_object_put(options);
    return st;
}

static void seed_workflows_load(void)
{
    CHECK_INT(check(seed_workflows), SB_OK);
    json_object *options = json_tokener_parse(seed_workflows);
    struct si_workflows *wf = NULL;
    memset(&result, 0, sizeof result);
    CHECK_INT(si_workflows_load(options, &wf, &result), SB_OK);
    json_object_put(options);
    CHECK(wf != NULL);
    if (!wf)
        return;
    CHECK_INT(wf->count, 2);
    CHECK_STR(wf->items[0].name, "Customer issue escalation");
    CHECK_INT(wf->items[0].trigger, SI_TRIGGER_SERVICE);
    CHECK_STR(wf->items[0].trigger_value, "Customer issue");
    CHECK_INT(json_object_array_length(wf->items[0].actions), 3);
    CHECK_INT(wf->items[1].trigger, SI_TRIGGER_TAG);
    CHECK_STR(wf->items[1].trigger_value, "customer-support");
    json_object *approval = json_object_array_get_idx(wf->items[1].actions, 0);
    CHECK_STR(sb_json_str(approval, "type"), "approval");
    CHECK_STR(sb_json_str(approval, "approver"), "Support manager");
    CHECK_INT(sb_json_int(approval, "timeout_s", 0), 48 * 3600);
    /* Ids written bare in libconfig become Intercom's strings. */
    json_object *ticket = json_object_array_get_idx(wf->items[1].actions, 1);
    CHECK(json_object_is_type(sb_json_get(ticket, "team_id"), json_type_string));
    CHECK_STR(sb_json_str(ticket, "team_id"), "5017692");
    CHECK_STR(sb_json_str(ticket, "ticket_type_id"), "3");
    CHECK(sb_json_get(ticket, "priority") == NULL);
    si_workflows_free(wf);
}

static void none_configured(void)
{
    CHECK_INT(check("{}"), SB_OK);
    CHECK_INT(check("{\"workflows\":[]}"), SB_OK);
    json_object *options = json_tokener_parse("{\"workflows\":[]}");
    struct si_workflows *wf = (struct si_workflows *)&result; /* must be overwritten */
    CHECK_INT(si_workflows_load(options, &wf, &result), SB_OK);
    CHECK(wf == NULL);
    json_object_put(options);
}

static void approval_timeout_default(void)
{
    json_object *options = json_tokener_parse(
        "{\"workflows\":[{\"name\":\"a\",\"trigger\":{\"tag\":\"t\"},"
        "\"actions\":[{\"type\":\"approval\",\"approver\":\"m\"}]}]}");
    struct si_workflows *wf = NULL;
    CHECK_INT(si_workflows_load(options, &wf, &result), SB_OK);
    json_object_put(options);
    CHECK(wf != NULL);
    if (wf)
        CHECK_INT(sb_json_int(json_object_array_get_idx(wf->items[0].actions, 0), "timeout_s", 0),
                  SI_APPROVAL_TIMEOUT_DEFAULT_S);
    si_workflows_free(wf);
}

/* One workflow with @p actions (JSON text of the list) and trigger tag "t". */
static sb_status check_actions(const char *actions)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"workflows\":[{\"name\":\"ok\",\"trigger\":{\"service\":\"s\"},\"actions\":"
             "[{\"type\":\"set_priority\",\"priority\":\"low\"}]},"
             "{\"name\":\"Broken\",\"trigger\":{\"tag\":\"t\"},\"actions\":%s}]}",
             actions);
    return check(json);
}

static void refused(const char *json_or_actions, bool actions_only, const char *where,
                    const char *message_part)
{
    sb_status st = actions_only ? check_actions(json_or_actions) : check(json_or_actions);
    CHECK_INT(st, SB_FAIL);
    CHECK_STR(result.where, where);
    CHECK_CONTAINS(result.message, message_part);
    if (st != SB_FAIL || strcmp(result.where, where) != 0 || !strstr(result.message, message_part))
        fprintf(stderr, "  input: %s\n  got where=%s message=%s\n", json_or_actions, result.where,
                result.message);
}

static void broken_workflows(void)
{
    refused("{\"workflows\":{\"name\":\"x\"}}", false, "workflows", "must be a list");
    refused("{\"workflows\":[\"x\"]}", false, "workflows[0]", "workflow 1 must be a group");
    refused("{\"workflows\":[{\"trigger\":{\"tag\":\"t\"},\"actions\":[]}]}", false,
            "workflows[0]", "workflow 1: name must be");
    refused("{\"workflows\":[{\"name\":\"\",\"trigger\":{\"tag\":\"t\"}}]}", false,
            "workflows[0].name", "name must be a non-empty string");
    refused("{\"workflows\":[{\"name\":\"a\",\"trigger\":{\"tag\":\"t\"},\"actions\":"
            "[{\"type\":\"set_priority\",\"priority\":\"low\"}]},{\"name\":\"a\"}]}",
            false, "workflows[1].name", "taken by workflow 1");
    refused("{\"workflows\":[{\"name\":\"a\",\"trigger\":{\"tag\":\"t\"},\"actoins\":[]}]}", false,
            "workflows[0].actoins", "unknown setting 'actoins'");
    refused("{\"workflows\":[{\"name\":\"a\",\"actions\":[]}]}", false, "workflows[0]",
            "workflow \"a\": trigger is missing");
    refused("{\"workflows\":[{\"name\":\"a\",\"trigger\":{\"tag\":\"t\",\"service\":\"s\"}}]}",
            false, "workflows[0].trigger", "one of service");
    refused("{\"workflows\":[{\"name\":\"a\",\"trigger\":{\"label\":\"t\"}}]}", false,
            "workflows[0].trigger.label", "unknown trigger 'label'");
    refused("{\"workflows\":[{\"name\":\"a\",\"trigger\":{\"tag\":\"\"}}]}", false,
            "workflows[0].trigger.tag", "trigger tag must be a non-empty string");
    refused("{\"workflows\":[{\"name\":\"a\",\"trigger\":{\"tag\":\"t\"}}]}", false,
            "workflows[0]", "actions must be a list of 1 to 16");
    refused("{\"workflows\":[{\"name\":\"a\",\"trigger\":{\"tag\":\"t\"},\"actions\":[]}]}",
            false, "workflows[0].actions", "actions must be a list of 1 to 16");
}

static void broken_actions(void)
{
    refused("[\"approval\"]", true, "workflows[1].actions[0]",
            "workflow \"Broken\": action 1 must be a group");
    refused("[{\"approver\":\"m\"}]", true, "workflows[1].actions[0]", "needs type = \"approval\"");
    refused("[{\"type\":\"escalate\"}]", true, "workflows[1].actions[0].type",
            "needs type = \"approval\"");
    refused("[{\"type\":\"approval\"}]", true, "workflows[1].actions[0]",
            "action 1 (approval): approver is missing");
    refused("[{\"type\":\"approval\",\"approver\":\"m\",\"timeout\":\"48x\"}]", true,
            "workflows[1].actions[0].timeout", "timeout must be seconds");
    refused("[{\"type\":\"approval\",\"approver\":\"m\",\"timeout\":0}]", true,
            "workflows[1].actions[0].timeout", "from 1 second to 90 days");
    refused("[{\"type\":\"approval\",\"approver\":\"m\",\"timeout\":\"91d\"}]", true,
            "workflows[1].actions[0].timeout", "timeout must be");
    refused("[{\"type\":\"approval\",\"approver\":\"m\",\"team_id\":\"1\"}]", true,
            "workflows[1].actions[0].team_id", "action 1 (approval): unknown setting 'team_id'");
    refused("[{\"type\":\"set_priority\",\"priority\":\"low\"},{\"type\":\"create_intercom_ticket\"}]",
            true, "workflows[1].actions[1]",
            "action 2 (create_intercom_ticket): name the destination with team_id or admin_id");
    refused("[{\"type\":\"create_intercom_ticket\",\"team_id\":\"1\",\"admin_id\":\"2\"}]", true,
            "workflows[1].actions[0]", "one of them");
    refused("[{\"type\":\"create_intercom_ticket\",\"team_id\":\"a b\"}]", true,
            "workflows[1].actions[0].team_id", "team_id must be an Intercom id");
    refused("[{\"type\":\"create_intercom_ticket\",\"team_id\":-4}]", true,
            "workflows[1].actions[0].team_id", "must be an Intercom id");
    refused("[{\"type\":\"create_intercom_ticket\",\"team_id\":\"1\",\"priority\":\"High\"}]", true,
            "workflows[1].actions[0].priority", "\"low\", \"medium\", \"high\" or \"urgent\"");
    refused("[{\"type\":\"create_intercom_ticket\",\"team_id\":\"1\",\"subject\":\"{{ticket.id}}\"}]",
            true, "workflows[1].actions[0].subject", "unknown placeholder(s) {{ticket.id}}");
    refused("[{\"type\":\"set_priority\"}]", true, "workflows[1].actions[0]",
            "action 1 (set_priority): priority is missing");
    refused("[{\"type\":\"set_priority\",\"priority\":\"critical\"}]", true,
            "workflows[1].actions[0].priority", "priority must be");
    refused("[{\"type\":\"notify_requester\"}]", true, "workflows[1].actions[0]",
            "message is missing");
    refused("[{\"type\":\"notify_requester\",\"message\":\"\"}]", true,
            "workflows[1].actions[0].message", "message must be a non-empty string");
    refused("[{\"type\":\"notify_requester\",\"message\":\"Hi {{name}} {{ name }} {{x}}\"}]", true,
            "workflows[1].actions[0].message", "unknown placeholder(s) {{name}}, {{x}} (known:");
}

static void too_many(void)
{
    char json[16384] = "{\"workflows\":[";
    for (int i = 0; i <= SI_WORKFLOWS_MAX; i++) {
        char one[128];
        snprintf(one, sizeof one,
                 "%s{\"name\":\"w%d\",\"trigger\":{\"tag\":\"t\"},\"actions\":[{\"type\":"
                 "\"set_priority\",\"priority\":\"low\"}]}",
                 i ? "," : "", i);
        strcat(json, one);
    }
    strcat(json, "]}");
    refused(json, false, "workflows", "at most 64 workflows");
    char actions[4096] = "[";
    for (int i = 0; i <= SI_WORKFLOW_ACTIONS_MAX; i++)
        strcat(actions, i ? ",{\"type\":\"set_priority\",\"priority\":\"low\"}"
                          : "{\"type\":\"set_priority\",\"priority\":\"low\"}");
    strcat(actions, "]");
    refused(actions, true, "workflows[1].actions", "1 to 16 actions");
}

static uint32_t duration(const char *json, bool *ok)
{
    json_object *v = json_tokener_parse(json);
    uint32_t s = 0;
    *ok = si_duration_parse(v, SI_APPROVAL_TIMEOUT_MAX_S, &s);
    json_object_put(v);
    return s;
}

static void durations(void)
{
    bool ok;
    CHECK_INT(duration("\"48h\"", &ok), 172800);
    CHECK(ok);
    CHECK_INT(duration("\"30m\"", &ok), 1800);
    CHECK(ok);
    CHECK_INT(duration("\"2d\"", &ok), 172800);
    CHECK(ok);
    CHECK_INT(duration("\"90s\"", &ok), 90);
    CHECK(ok);
    CHECK_INT(duration("\"45\"", &ok), 45);
    CHECK(ok);
    CHECK_INT(duration("3600", &ok), 3600);
    CHECK(ok);
    const char *bad[] = {"\"\"", "\"h\"", "\"4 h\"", "\"-4h\"", "\"4hh\"", "\"1.5h\"", "\"0s\"",
                         "0", "-5", "1.5", "true", "\"99999999999999999999s\"", "\"91d\"",
                         "7776001"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        duration(bad[i], &ok);
        CHECK(!ok);
        if (ok)
            fprintf(stderr, "  accepted %s\n", bad[i]);
    }
    duration("7776000", &ok); /* exactly 90 days */
    CHECK(ok);
}

static void texts(void)
{
    json_object *request = json_tokener_parse(
        "{\"id\":\"R-42\",\"subject\":\"VPN <down>\",\"service\":\"IT\","
        "\"requester\":{\"name\":\"Ada\",\"email\":\"ada@example.com\"}}");
    char *s = si_workflow_text_render(
        "{{requester.name}} ({{ requester.email }}): {{request.subject}} [{{request.id}}] "
        "via {{workflow.name}}; url={{request.url}}; {{nope}} {{ {{request.service}}",
        request, "Handoff");
    CHECK_STR(s, "Ada (ada@example.com): VPN <down> [R-42] via Handoff; url=; {{nope}} {{ IT");
    free(s);
    s = si_workflow_text_render("no placeholders", request, "w");
    CHECK_STR(s, "no placeholders");
    free(s);
    s = si_workflow_text_render("{{request.subject}}", NULL, "w");
    CHECK_STR(s, "");
    free(s);
    CHECK(si_workflow_text_unknown("{{request.id}} {{workflow.name}} {{unclosed") == NULL);
    s = si_workflow_text_unknown("{{a}} {{b}} {{a}}");
    CHECK_STR(s, "{{a}}, {{b}}");
    free(s);
    json_object_put(request);
}

int main(void)
{
    RUN(seed_workflows_load);
    RUN(none_configured);
    RUN(approval_timeout_default);
    RUN(broken_workflows);
    RUN(broken_actions);
    RUN(too_many);
    RUN(durations);
    RUN(texts);
    UNIT_DONE();
}
